//! The board in real QEMU (`qemu-system-arm -M cubieboard`, no mocks): norrec's initramfs with the
//! static ARM norrec as /init under Debian's armmp kernel, booted directly and through Debian's
//! U-Boot from an SD image norrec made (SPL at 8 KiB, FAT with boot.scr and a FIT). Each boot's
//! console goes to a timestamped log the failure message names. The boots run one at a time
//! (two cores; their timings are printed).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use norrec_agent::PROBE_MARKER;
use norrec_qemu::{Machine, boot_to_marker};

use norrec_testutil::{BoardAssets, tool};

mod common;
use common::board::{STICK_FILE, STICK_TEXT, board, initramfs, or_log, recovery_its, usb_stick};
use common::ok_os as norrec;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Setup {
    assets: BoardAssets,
    dir: tempfile::TempDir,
    initrd: PathBuf,
}

impl Setup {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Everything a boot needs, or None when a part is missing (skip; panics under
/// NORREC_REQUIRE_TOOLS=1).
fn setup() -> Option<Setup> {
    tool("qemu-system-arm")?;
    let dir = tempfile::tempdir().unwrap();
    let (assets, initrd) = initramfs(dir.path())?;
    // The USB stick: MBR + FAT holding one file, made by norrec.
    usb_stick(dir.path());
    Some(Setup {
        assets,
        dir,
        initrd,
    })
}

/// The rootfs tree norrec builds into p2: a nested file, a 3 MiB file, a symlink to it.
const ROOTFS_OS_RELEASE: &[u8] = b"NAME=norrec-test\n";
const ROOTFS_BIG: usize = (3 << 20) + 17;

/// A 1 GiB sparse SD image with the board's layout: FAT on p1, an ext4 built from a tree by
/// `disk mkfs-from-dir` and written into p2 by `disk write IMG:2`, p3 empty, an empty ext4
/// formatted in place on p4 — all made by norrec, for the kernel to mount.
fn sd_image(s: &Setup) -> PathBuf {
    let sd = s.path("sd.img");
    common::board::sd_image(&sd);
    let tree = s.path("rootfs");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(tree.join("etc/os-release"), ROOTFS_OS_RELEASE).unwrap();
    std::fs::write(tree.join("big.bin"), vec![0x6b; ROOTFS_BIG]).unwrap();
    std::os::unix::fs::symlink("etc/os-release", tree.join("os-release")).unwrap();
    let rootfs = s.path("rootfs.ext4");
    norrec(&[
        &"disk",
        &"mkfs-from-dir",
        &tree,
        &"-o",
        &rootfs,
        &"--size",
        &"16M",
        &"--all-root",
    ]);
    norrec(&[&"disk", &"write", &format!("{}:2", sd.display()), &rootfs]);
    norrec(&[
        &"disk",
        &"format",
        &format!("{}:4", sd.display()),
        &"ext4",
        &"-L",
        &"data",
    ]);
    sd
}

fn machine(s: &Setup, sd: &Path) -> Machine {
    let mut m = Machine::from_board(&board());
    m.sd = Some(sd.to_owned());
    m.usb = Some(s.path("usb.img"));
    m
}

/// The machine booting Debian's kernel directly with norrec's initramfs and `append`.
fn direct(s: &Setup, sd: &Path, append: &str) -> Machine {
    let mut m = machine(s, sd);
    m.kernel = Some(s.assets.vmlinuz.clone());
    m.dtb = Some(s.assets.dtb.clone());
    m.initrd = Some(s.initrd.clone());
    m.append = Some(append.into());
    m
}

/// What the agent must have printed, whatever booted it.
fn assert_probe(transcript: &str) {
    let lines: Vec<&str> = transcript
        .lines()
        .filter_map(|l| l.trim().strip_prefix("norrec-agent: "))
        .collect();
    let has = |want: &str| lines.iter().any(|l| l.starts_with(want));
    assert!(has("norrec 0.1.0 as PID 1 on cubieboard"), "{lines:#?}");
    let modules = lines
        .iter()
        .find(|l| l.starts_with("modules: "))
        .unwrap_or_else(|| panic!("no modules line: {lines:#?}"));
    assert!(modules.contains(", 0 failed"), "{modules}");
    assert!(!has("module "), "a module failed: {lines:#?}");
    assert!(has("found /dev/mmcblk0 after"), "{lines:#?}");
    assert!(has("found /dev/sda1 after"), "{lines:#?}");
    // the SD's four partitions as the kernel sees them (layout.sfdisk: p1 40 MiB FAT)
    assert!(has("block mmcblk0 1 GiB"), "{lines:#?}");
    assert!(has("block mmcblk0p1 40.0 MiB (partition 1)"), "{lines:#?}");
    for n in 2..=4 {
        assert!(has(&format!("block mmcblk0p{n} ")), "p{n}: {lines:#?}");
    }
    assert!(has("block sda1 "), "{lines:#?}");
    // the kernel mounts what norrec made: FAT on p1, the built ext4 on p2, the formatted one
    // on p4, and finds p3 empty
    assert!(has("/dev/mmcblk0p1 (vfat, read-only): "), "{lines:#?}");
    assert!(
        has("/dev/mmcblk0p2 (ext4, read-only): 4 entries"),
        "{lines:#?}"
    );
    assert!(
        has(&format!("sd p2 big.bin {ROOTFS_BIG} bytes")),
        "{lines:#?}"
    );
    assert!(has("sd p2 etc/"), "{lines:#?}");
    assert!(has("sd p2 lost+found/"), "{lines:#?}");
    assert!(has("sd p2 os-release -> etc/os-release"), "{lines:#?}");
    assert!(
        has("/dev/mmcblk0p3: no ext4 or vfat file system"),
        "{lines:#?}"
    );
    assert!(
        has("/dev/mmcblk0p4 (ext4, read-only): 1 entries"),
        "{lines:#?}"
    );
    assert!(has("sd p4 lost+found/"), "{lines:#?}");
    for bad in [
        "EXT4-fs error",
        "EXT4-fs warning",
        "FAT-fs (mmcblk0p1): error",
    ] {
        assert!(
            !transcript.contains(bad),
            "kernel said {bad:?}:\n{transcript}"
        );
    }
    assert!(
        has(&format!("usb {STICK_FILE} {} bytes", STICK_TEXT.len())),
        "{lines:#?}"
    );
    assert!(has(PROBE_MARKER), "{lines:#?}");
}

#[test]
fn direct_boot_agent_probes_sd_and_stick_then_reboots() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = setup() else { return };
    let sd = sd_image(&s);
    let m = direct(&s, &sd, "console=ttyS0,115200");
    let log = s.path("direct.log");
    let r = or_log(
        boot_to_marker(
            &m,
            &log,
            &["Linux version", "Run /init as init process"],
            PROBE_MARKER,
            Duration::from_secs(120),
            Duration::from_secs(30),
            false,
        ),
        &log,
    );
    eprintln!(
        "direct boot: marker after {:.1} s, QEMU exited 0 after {:.1} s ({:?})",
        r.marker_seconds, r.exit_seconds, r.milestones
    );
    assert_probe(&r.transcript);
    // the reboot came from the agent after the marker
    let after = r.transcript.split(PROBE_MARKER).nth(1).unwrap();
    assert!(after.contains("norrec-agent: rebooting"), "{after}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains(PROBE_MARKER) && logged.contains("QEMU exited"));
}

#[test]
fn through_uboot_spl_bootscr_fit_to_the_agent() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = setup() else { return };
    let sd = sd_image(&s);
    // Debian's SPL + U-Boot at the board's 8 KiB, checked before and after it is written.
    norrec(&[&"spl", &"check", &s.assets.uboot_spl_bin]);
    norrec(&[&"disk", &"write", &sd, &s.assets.uboot_spl_bin, &"--spl"]);
    norrec(&[&"spl", &"check", &sd, &"--offset", &"8K"]);

    // The FIT: kernel, dtb, initramfs, each with a sha256 U-Boot checks.
    let its = s.path("recovery.its");
    let text = recovery_its(
        "norrec recovery (QEMU test)",
        &s.assets.vmlinuz,
        &s.assets.dtb,
        &s.initrd,
        "",
    );
    std::fs::write(&its, text).unwrap();
    let itb = s.path("recovery.itb");
    norrec(&[&"fit", &"build", &its, &"-o", &itb]);
    let cmd = s.path("boot.cmd");
    std::fs::write(
        &cmd,
        "echo norrec boot.scr: loading recovery.itb\n\
         load mmc 0:1 ${kernel_addr_r} recovery.itb\n\
         setenv bootargs console=ttyS0,115200\n\
         bootm ${kernel_addr_r}\n",
    )
    .unwrap();
    let scr = s.path("boot.scr");
    norrec(&[&"script", &"build", &cmd, &"-o", &scr]);
    norrec(&[&"disk", &"cp", &scr, &itb, &format!("{}:1:/", sd.display())]);

    let m = machine(&s, &sd);
    let log = s.path("uboot.log");
    let r = or_log(
        boot_to_marker(
            &m,
            &log,
            &[
                "U-Boot SPL",
                "U-Boot 2023.01",
                "Hit any key to stop autoboot",
                "norrec boot.scr: loading recovery.itb",
                "## Loading kernel from FIT Image",
                "Starting kernel",
                "Run /init as init process",
            ],
            PROBE_MARKER,
            Duration::from_secs(180),
            Duration::from_secs(30),
            false,
        ),
        &log,
    );
    eprintln!(
        "through U-Boot: marker after {:.1} s, QEMU exited 0 after {:.1} s ({:?})",
        r.marker_seconds, r.exit_seconds, r.milestones
    );
    // U-Boot checked norrec's hashes of all three images
    let verified = r.transcript.matches("sha256+ OK").count();
    assert!(verified >= 3, "{verified} sha256 checks:\n{}", r.transcript);
    assert!(r.transcript.contains("Using 'recovery' configuration"));
    assert_probe(&r.transcript);
}

#[test]
fn a_missing_marker_names_the_console_log() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = setup() else { return };
    let sd = sd_image(&s);
    // the kernel never runs our /init
    let m = direct(&s, &sd, "console=ttyS0,115200 rdinit=/no-such-init");
    let log = s.path("never.log");
    let mut console = norrec_qemu::Console::start(&m, &log, false).unwrap();
    // the kernel does start (however long that takes on a loaded machine)...
    console
        .expect("Linux version", Duration::from_secs(120))
        .unwrap();
    // ...but the marker never comes
    let err = console
        .expect(PROBE_MARKER, Duration::from_secs(10))
        .unwrap_err();
    drop(console);
    let msg = err.to_string();
    assert!(
        msg.contains(&log.display().to_string()) && msg.contains(PROBE_MARKER),
        "{msg}"
    );
    assert!(matches!(err, norrec_qemu::Error::Timeout { .. }), "{err:?}");
    let logged = std::fs::read_to_string(&log).unwrap();
    // the log holds the command line, the kernel's console with timestamps, and the timeout
    assert!(logged.starts_with("[   0.000] norrec-qemu: "), "{logged}");
    assert!(logged.contains("-append 'console=ttyS0,115200 rdinit=/no-such-init'"));
    let linux = logged
        .lines()
        .find(|l| l.contains("Linux version"))
        .unwrap_or_else(|| panic!("no kernel line in {logged}"));
    assert!(linux.starts_with('['), "{linux}");
    assert!(logged.contains("timed out waiting for"), "{logged}");
    assert!(!logged.contains("norrec-agent:"), "{logged}");
}

#[test]
fn a_fatal_error_is_one_line_then_pid1_reboots() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = setup() else { return };
    let sd = sd_image(&s);
    let mut m = direct(
        &s,
        &sd,
        "console=ttyS0,115200 norrec_wait=2 norrec_fatal_wait=1",
    );
    m.usb = None; // the stick the board waits for is not there
    let log = s.path("fatal.log");
    let r = or_log(
        boot_to_marker(
            &m,
            &log,
            &[
                "norrec-agent: found /dev/mmcblk0",
                "norrec-agent: fatal: waited 2 s, still missing: /dev/sda1",
            ],
            "norrec-agent: rebooting in 1 s",
            Duration::from_secs(120),
            Duration::from_secs(30),
            false,
        ),
        &log,
    );
    eprintln!(
        "fatal path: reboot line after {:.1} s, QEMU exited 0 after {:.1} s",
        r.marker_seconds, r.exit_seconds
    );
    // the agent's one fatal line, and no "halted" (the reboot worked)
    let fatal: Vec<&str> = r
        .transcript
        .lines()
        .filter(|l| l.contains("norrec-agent: fatal"))
        .collect();
    assert_eq!(fatal.len(), 1, "{fatal:?}");
    assert!(!r.transcript.contains(PROBE_MARKER));
    assert!(!r.transcript.contains("halted"));
}
