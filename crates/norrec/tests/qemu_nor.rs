//! The seed's NOR path in real QEMU, no mocks: the board's QEMU with the IS25WP128 on spi0
//! (`boards/cubieboard/qemu/`), the board's U-Boot with `sf` (`boards/cubieboard/u-boot/`), both
//! from `scripts/board-firmware`, and a host flash.bin behind `-drive if=mtd`.
//!
//! * the seed's own check (`sf probe`, `mw`/`sf write`/`sf read`/`md`, the host file after);
//! * norrec's flash boots: `norrec flash create --place recovery.itb@0` loaded by the commands of
//!   `norrec bootcmd nor`, typed at the prompt and as `bootcmd` in uboot.env (unattended), to the
//!   agent's probe marker;
//! * the seed's bug: a FIT whose totalsize has an inner byte below 0x10 is truncated by the
//!   seed's `setexpr.b` sequence and `bootm` fails, while norrec's sequence boots it; an erased
//!   flash gets norrec's "no FIT" line.
//!
//! Every console log is kept under `$CARGO_TARGET_TMPDIR/qemu-nor/` and named on failure. The
//! boots run one at a time and print their seconds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use norrec_agent::PROBE_MARKER;
use norrec_qemu::nor::{NorFirmware, NorMachine, SF_PROBE_LINE, UbootSession, seed_check};
use norrec_qemu::{Console, Machine};
use norrec_testutil::tools_required;

mod common;
use common::board::{STICK_FILE, board, initramfs, or_log, recovery_its, usb_stick};
use common::ok_os as norrec;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const FLASH_SIZE: usize = 16 << 20;

/// The board's QEMU and U-Boot, or None (skip; panics under NORREC_REQUIRE_TOOLS=1).
fn firmware() -> Option<NorFirmware> {
    match NorFirmware::locate() {
        Ok(fw) => Some(fw),
        Err(why) if tools_required() => panic!("{why} and NORREC_REQUIRE_TOOLS=1"),
        Err(why) => {
            eprintln!("skipping: {why}");
            None
        }
    }
}

/// A directory of its own per test under the target's tmp dir: kept, so logs survive a failure.
fn workdir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("qemu-nor")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn erased_flash(dir: &Path) -> PathBuf {
    let flash = dir.join("flash.bin");
    norrec(&[&"flash", &"create", &"-o", &flash]);
    flash
}

#[test]
fn seed_check_sf_probe_write_read_and_the_host_file() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(fw) = firmware() else { return };
    let dir = workdir("seed-check");
    let flash = erased_flash(&dir);
    let before = std::fs::read(&flash).unwrap();
    assert_eq!(before.len(), FLASH_SIZE);
    assert!(before.iter().all(|&b| b == 0xff), "not erased");

    let nm = NorMachine::new(Machine::from_board(&board()), &fw, &flash);
    let log = dir.join("seed-check.log");
    let r = or_log(seed_check(&nm, &log, false), &log);
    eprintln!(
        "seed check: U-Boot prompt after {:.1} s, QEMU exited 0 after {:.1} s",
        r.prompt_seconds, r.total_seconds
    );
    assert!(r.probe.contains(SF_PROBE_LINE), "sf probe: {:?}", r.probe);
    assert!(
        r.md.lines().any(|l| l.starts_with("40001000: 12345678")),
        "md: {:?} (log {})",
        r.md,
        log.display()
    );
    // the model wrote through to the host file: the word little-endian at 0, nothing else
    let after = std::fs::read(&flash).unwrap();
    assert_eq!(after.len(), FLASH_SIZE);
    assert_eq!(
        after[..4],
        [0x78, 0x56, 0x34, 0x12],
        "log {}",
        log.display()
    );
    assert!(after[4..].iter().all(|&b| b == 0xff));
}

#[test]
fn erased_flash_gets_norrecs_no_fit_line_not_a_4_gib_read() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(fw) = firmware() else { return };
    let dir = workdir("erased");
    let flash = erased_flash(&dir);
    let nm = NorMachine::new(Machine::from_board(&board()), &fw, &flash);
    let log = dir.join("erased.log");
    let script = norrec(&[&"bootcmd", &"nor"]);
    let mut s = or_log(
        UbootSession::start(&nm, &log, Duration::from_secs(60), false),
        &log,
    );
    or_log(s.type_script(&script), &log);
    or_log(
        s.console
            .expect("norrec: no FIT at NOR 0x0", Duration::from_secs(30)),
        &log,
    );
    or_log(s.console.expect("=> ", Duration::from_secs(10)), &log);
    let t = s.console.transcript();
    assert!(
        t.contains("first word reads ffffffff (little-endian)"),
        "{t}"
    );
    // only the 64-byte header was read, and nothing was booted
    assert_eq!(t.matches("Read: OK").count(), 1, "{t}");
    assert!(t.contains("SF: 64 bytes @ 0x0 Read: OK"), "{t}");
    assert!(!t.contains("## Loading kernel"), "{t}");
    // the prompt still answers
    let out = or_log(s.run("echo still-here", Duration::from_secs(10)), &log);
    assert_eq!(out.trim(), "still-here");
}

// ---------------------------------------------------------------------------------------------
// norrec's recovery FIT in flash

struct Parts {
    dir: PathBuf,
    initrd: PathBuf,
    vmlinuz: PathBuf,
    dtb: PathBuf,
}

fn parts(name: &str) -> Option<Parts> {
    let dir = workdir(name);
    let (assets, initrd) = initramfs(&dir)?;
    Some(Parts {
        dir,
        initrd,
        vmlinuz: assets.vmlinuz,
        dtb: assets.dtb,
    })
}

/// recovery.itb from an .its: Debian's kernel at the board's kernel_load, the Cubieboard dtb,
/// norrec's initramfs, each with a sha256; with `pad` bytes of filler in a fourth image (not
/// in the configuration) to steer totalsize.
fn recovery_itb(p: &Parts, pad: usize) -> PathBuf {
    let padfile = p.dir.join("pad.bin");
    std::fs::write(&padfile, vec![0x5au8; pad]).unwrap();
    let filler = format!(
        r#"
        filler {{
            description = "size padding";
            data = /incbin/("{}");
            type = "firmware"; arch = "arm"; compression = "none";
        }};"#,
        padfile.display()
    );
    let its = p.dir.join("recovery.its");
    let text = recovery_its(
        "norrec recovery (NOR test)",
        &p.vmlinuz,
        &p.dtb,
        &p.initrd,
        &filler,
    );
    std::fs::write(&its, text).unwrap();
    let itb = p.dir.join("recovery.itb");
    norrec(&[&"fit", &"build", &its, &"-o", &itb]);
    itb
}

fn totalsize(itb: &Path) -> u32 {
    let b = std::fs::read(itb).unwrap();
    // FDT header: magic at 0, totalsize (big-endian) at 4
    assert_eq!(b[..4], [0xd0, 0x0d, 0xfe, 0xed]);
    let size = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    assert_eq!(size as usize, b.len(), "FIT data past totalsize");
    size
}

fn flash_with(p: &Parts, itb: &Path) -> PathBuf {
    let flash = p.dir.join("flash.bin");
    norrec(&[
        &"flash",
        &"create",
        &"--place",
        &format!("{}@0", itb.display()),
        &"-o",
        &flash,
    ]);
    flash
}

/// SD (board layout, FAT p1, optionally with `files` on it) and a USB stick with one file.
fn sd_and_usb(p: &Parts, files: &[&Path]) -> (PathBuf, PathBuf) {
    let sd = p.dir.join("sd.img");
    common::board::sd_image(&sd);
    for f in files {
        norrec(&[&"disk", &"cp", f, &format!("{}:1:/", sd.display())]);
    }
    (sd, usb_stick(&p.dir))
}

fn nor_machine(fw: &NorFirmware, flash: &Path, sd: &Path, usb: &Path) -> NorMachine {
    let mut m = Machine::from_board(&board());
    m.sd = Some(sd.to_owned());
    m.usb = Some(usb.to_owned());
    NorMachine::new(m, fw, flash)
}

/// A U-Boot session at the prompt with the kernel's console in `bootargs`.
fn prompt_with_bootargs(nm: &NorMachine, log: &Path) -> UbootSession {
    let mut s = or_log(
        UbootSession::start(nm, log, Duration::from_secs(60), false),
        log,
    );
    or_log(
        s.run(
            "setenv bootargs console=ttyS0,115200",
            Duration::from_secs(10),
        ),
        log,
    );
    s
}

/// From a FIT being loaded to the agent's marker, then QEMU's exit (the agent reboots under
/// -no-reboot). Returns the seconds to the marker.
fn follow_fit_to_marker(c: &mut Console, log: &Path) -> f64 {
    for m in [
        "## Loading kernel from FIT Image",
        "Using 'recovery' configuration",
        "Verifying Hash Integrity ... sha256+ OK",
        "Starting kernel",
        "Run /init as init process",
        "norrec-agent: found /dev/mmcblk0 after",
        "norrec-agent: found /dev/sda1 after",
    ] {
        or_log(c.expect(m, Duration::from_secs(120)), log);
    }
    let at = or_log(c.expect(PROBE_MARKER, Duration::from_secs(60)), log);
    let status = or_log(c.wait_exit(Duration::from_secs(30), "the marker"), log);
    assert!(status.success(), "QEMU {status}; log {}", log.display());
    let t = c.transcript();
    // U-Boot checked the sha256 of kernel, fdt and ramdisk
    assert!(
        t.matches("sha256+ OK").count() >= 3,
        "log {}",
        log.display()
    );
    assert!(
        t.contains(&format!("norrec-agent: usb {STICK_FILE} 16 bytes")),
        "log {}",
        log.display()
    );
    at.as_secs_f64()
}

#[test]
fn norrecs_flash_boots_typed_at_the_prompt_and_unattended() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(fw) = firmware() else { return };
    let Some(p) = parts("flash-boots") else {
        return;
    };
    let itb = recovery_itb(&p, 0);
    let size = totalsize(&itb);
    assert!((size as usize) < FLASH_SIZE, "FIT {size} bytes");
    let flash = flash_with(&p, &itb);

    // 1. typed at the prompt
    let (sd, usb) = sd_and_usb(&p, &[]);
    let nm = nor_machine(&fw, &flash, &sd, &usb);
    let log = p.dir.join("typed.log");
    let mut s = prompt_with_bootargs(&nm, &log);
    let script = norrec(&[&"bootcmd", &"nor"]);
    or_log(s.type_script(&script), &log);
    let typed = follow_fit_to_marker(&mut s.console, &log);
    eprintln!(
        "NOR boot typed: prompt after {:.1} s, marker after {typed:.1} s (FIT {size} bytes)",
        s.prompt_seconds
    );
    let t = s.console.transcript();
    assert!(
        t.contains(&format!("SF: {size} bytes @ 0x0 Read: OK")),
        "log {}",
        log.display()
    );
    drop(s);

    // 2. unattended: bootcmd in the SD's uboot.env, nothing typed
    let bootcmd = norrec(&[&"bootcmd", &"nor", &"--format", &"bootcmd"]);
    let envtxt = p.dir.join("env.txt");
    std::fs::write(
        &envtxt,
        format!(
            // bootm_size as in U-Boot's sunxi default environment (which uboot.env replaces
            // whole): without it bootm moves the fdt and initrd to the top of the 1 GiB, out
            // of the kernel's lowmem, and the kernel dies silently
            "bootargs=console=ttyS0,115200\nbootm_size=0xa000000\nbootdelay=1\nbootcmd={}\n",
            bootcmd.trim_end()
        ),
    )
    .unwrap();
    let env = p.dir.join("uboot.env");
    norrec(&[&"env", &"build", &envtxt, &"-o", &env]);
    let (sd, usb) = sd_and_usb(&p, &[&env]);
    let nm = nor_machine(&fw, &flash, &sd, &usb);
    let log = p.dir.join("unattended.log");
    let mut c = or_log(nm.start(&log, false), &log);
    or_log(
        c.expect("Hit any key to stop autoboot", Duration::from_secs(60)),
        &log,
    );
    let unattended = follow_fit_to_marker(&mut c, &log);
    eprintln!("NOR boot unattended (bootcmd from uboot.env): marker after {unattended:.1} s");
    let t = c.transcript();
    assert!(
        !t.contains("Using default environment"),
        "uboot.env not read; log {}",
        log.display()
    );
}

/// The seed's glued size: each byte as %x without padding, concatenated.
fn seed_glue(size: u32) -> String {
    size.to_be_bytes()
        .iter()
        .map(|b| format!("{b:x}"))
        .collect::<String>()
}

#[test]
fn seeds_setexpr_sequence_truncates_a_fit_that_norrecs_sequence_boots() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(fw) = firmware() else { return };
    let Some(p) = parts("seed-bug") else { return };
    // Pad until totalsize's third byte (bits 8..15) is below 0x10: the seed drops its leading 0.
    let mut pad = 4096;
    let mut itb = recovery_itb(&p, pad);
    for _ in 0..4 {
        let size = totalsize(&itb);
        if (size >> 8) & 0xff < 0x10 && (size >> 16) & 0xff >= 0x10 {
            break;
        }
        // grow to the next 64 KiB boundary + 0x400 (byte 2 = 0x04)
        let target = ((size >> 16) + 1) << 16 | 0x400;
        pad += (target - size) as usize;
        itb = recovery_itb(&p, pad);
    }
    let size = totalsize(&itb);
    assert!((size >> 8) & 0xff < 0x10, "totalsize {size:#x} not steered");
    let glued = seed_glue(size);
    let short = u32::from_str_radix(&glued, 16).unwrap();
    assert!(short < size / 16, "{glued} vs {size:#x}");
    let flash = flash_with(&p, &itb);
    let (sd, usb) = sd_and_usb(&p, &[]);
    let nm = nor_machine(&fw, &flash, &sd, &usb);
    let log = p.dir.join("seed-bug.log");
    let mut s = prompt_with_bootargs(&nm, &log);

    // the seed's sequence: reads `short` bytes, bootm refuses the truncated FIT
    let fit_addr = board().memory.fit_addr.0;
    let mut seen = String::new();
    for line in norrec_qemu::nor::seed_sequence(fit_addr).lines() {
        seen += &or_log(s.run(line, Duration::from_secs(60)), &log);
    }
    assert!(
        seen.contains(&format!("fit_size={glued}\n")),
        "{seen}\nlog {}",
        log.display()
    );
    assert!(
        seen.contains(&format!("SF: {short} bytes @ 0x0 Read: OK")),
        "{seen}"
    );
    // U-Boot's FIT check sees the header's totalsize over a blob that ends after `short`
    // bytes (the rest of RAM never written): the structure does not parse
    let failed = seen
        .lines()
        .find(|l| l.contains("Bad FIT kernel image format!"))
        .unwrap_or_else(|| panic!("no bootm error:\n{seen}\nlog {}", log.display()));
    eprintln!("seed's sequence: fit_size={glued} for totalsize {size:#x}; bootm: {failed}");
    assert!(!seen.contains("Starting kernel"), "{seen}");

    // norrec's sequence on the same flash, same session: boots
    let script = norrec(&[&"bootcmd", &"nor"]);
    or_log(s.type_script(&script), &log);
    let at = follow_fit_to_marker(&mut s.console, &log);
    eprintln!("norrec's sequence after the seed's failed: marker after {at:.1} s");
    let t = s.console.transcript();
    assert!(
        t.contains(&format!("SF: {size} bytes @ 0x0 Read: OK")),
        "log {}",
        log.display()
    );
}

#[test]
fn cli_types_commands_reports_json_and_names_the_log_on_a_missing_marker() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if firmware().is_none() {
        return;
    }
    let dir = workdir("cli");
    let flash = erased_flash(&dir);
    let log = dir.join("cli.log");
    let out = norrec(&[
        &"qemu",
        &"nor",
        &"--flash",
        &flash,
        &"--type",
        &"sf probe",
        &"--type",
        &"sf read 40000000 0 10",
        &"--type",
        &"md.b 40000000 10",
        &"--log",
        &log,
        &"--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let outputs = v["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 3, "{out}");
    assert_eq!(outputs[0][0], "sf probe");
    assert!(
        outputs[0][1].as_str().unwrap().contains(SF_PROBE_LINE),
        "{out}"
    );
    // erased flash reads 0xff
    assert!(
        outputs[2][1]
            .as_str()
            .unwrap()
            .starts_with("40000000: ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff"),
        "{out}"
    );
    assert!(v["prompt_seconds"].as_f64().unwrap() > 0.0);
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("-drive if=mtd")
    );

    // a marker that never comes: one line, non-zero, naming the log
    let never = dir.join("never.log");
    let out = Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args([
            "qemu",
            "nor",
            "--unattended",
            "--marker",
            "NEVER-THERE",
            "--timeout",
            "15",
        ])
        .arg("--flash")
        .arg(&flash)
        .arg("--log")
        .arg(&never)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("NEVER-THERE") && err.contains(&never.display().to_string()),
        "{err}"
    );
}
