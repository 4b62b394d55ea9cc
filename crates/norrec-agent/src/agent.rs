//! The agent's steps, over any [`Platform`]: set up the PID-1 world, load the modules, wait for
//! the board's devices, and the probe mode. Every step prints one line a person (or the QEMU
//! test's console driver) can read.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use norrec_board::Board;

use crate::error::{Error, Result};
use crate::initramfs::{BOARD_NAME_FILE, BOARD_TOML_FILE, MODULES_DIR, ORDER_FILE};
use crate::platform::{ModuleLoad, Platform};

/// The line the probe prints when it has seen everything (the QEMU tests wait for it).
pub const PROBE_MARKER: &str = "NORREC-AGENT-PROBE-OK";
/// Where the probe mounts the USB stick's partition.
pub const USB_MOUNT: &str = "/mnt/usb";
/// Where the probe mounts each file system it finds on the eMMC, one after the other.
pub const SD_MOUNT: &str = "/mnt/sd";
/// How long PID 1 waits after a fatal error before it reboots.
pub const FATAL_REBOOT_SECONDS: u64 = 30;

/// Prints one agent line on the console (stdout, flushed: PID 1's stdout is /dev/console).
pub fn say(msg: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "norrec-agent: {msg}");
    let _ = out.flush();
}

/// What the agent does, chosen by `norrec=<mode>` on the kernel command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Show the devices and the stick's files, print [`PROBE_MARKER`], reboot.
    Probe,
    /// Like probe but stay (no reboot): for a person at the console.
    Shell,
}

/// The agent's settings from the kernel command line (`/proc/cmdline`): `norrec=probe|stay`,
/// `norrec_wait=SECONDS` (instead of the manifest's `wait_seconds`),
/// `norrec_fatal_wait=SECONDS` (before the reboot after a fatal error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    pub wait_seconds: Option<u64>,
    pub fatal_wait_seconds: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Probe,
            wait_seconds: None,
            fatal_wait_seconds: FATAL_REBOOT_SECONDS,
        }
    }
}

impl Options {
    /// Parses the command line; unknown words are the kernel's business.
    pub fn from_cmdline(cmdline: &str) -> std::result::Result<Self, String> {
        let mut o = Options::default();
        let secs = |k: &str, v: &str| {
            v.parse::<u64>().map_err(|_| {
                format!("{k}={v} on the kernel command line is not a number of seconds")
            })
        };
        for word in cmdline.split_whitespace() {
            let Some((k, v)) = word.split_once('=') else {
                continue;
            };
            match k {
                "norrec" => {
                    o.mode = match v {
                        "probe" => Mode::Probe,
                        "stay" => Mode::Shell,
                        other => {
                            return Err(format!(
                                "unknown norrec={other} on the kernel command line (probe, stay)"
                            ));
                        }
                    }
                }
                "norrec_wait" => o.wait_seconds = Some(secs(k, v)?),
                "norrec_fatal_wait" => o.fatal_wait_seconds = secs(k, v)?,
                _ => {}
            }
        }
        Ok(o)
    }
}

/// Mounts proc, sysfs and devtmpfs (the kernel mounts none of them for an initramfs).
pub fn mount_pseudo(p: &mut dyn Platform) -> Result<()> {
    p.mount("proc", Path::new("/proc"), "proc", false)?;
    p.mount("sysfs", Path::new("/sys"), "sysfs", false)?;
    p.mount("devtmpfs", Path::new("/dev"), "devtmpfs", false)?;
    Ok(())
}

/// The board the initramfs was built for.
pub fn board(p: &dyn Platform) -> Result<Board> {
    let toml = Path::new("/").join(BOARD_TOML_FILE);
    if p.exists(&toml) {
        return Ok(Board::load(&toml)?);
    }
    let name = p
        .read_file(&Path::new("/").join(BOARD_NAME_FILE))
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_else(|_| "cubieboard".into());
    Ok(Board::builtin(&name)?)
}

/// Loads every module of `/lib/modules/norrec.order` in order; returns how many failed (each
/// failure printed with the module's name).
pub fn load_modules(p: &mut dyn Platform) -> Result<usize> {
    let start = Instant::now();
    let order = p.read_file(&Path::new("/").join(ORDER_FILE))?;
    let order = String::from_utf8_lossy(&order);
    let (mut loaded, mut already, mut failed) = (0, 0, 0);
    for file in order.lines().filter(|l| !l.trim().is_empty()) {
        let path = Path::new("/").join(MODULES_DIR).join(file.trim());
        match p.load_module(&path) {
            Ok(ModuleLoad::Loaded) => loaded += 1,
            Ok(ModuleLoad::AlreadyLoaded) => already += 1,
            Err(e) => {
                failed += 1;
                say(format!(
                    "module {} failed: {e}",
                    file.trim_end_matches(".ko")
                ));
            }
        }
    }
    say(format!(
        "modules: {loaded} loaded, {already} already there, {failed} failed ({:.1} s)",
        start.elapsed().as_secs_f64()
    ));
    Ok(failed)
}

/// Waits until every path in `devices` exists, for at most `seconds`.
pub fn wait_devices(p: &dyn Platform, devices: &[String], seconds: u64) -> Result<()> {
    let start = Instant::now();
    say(format!(
        "waiting up to {seconds} s for {}",
        devices.join(", ")
    ));
    let mut pending: Vec<&String> = devices.iter().collect();
    loop {
        pending.retain(|d| {
            if p.exists(Path::new(d.as_str())) {
                say(format!(
                    "found {d} after {:.1} s",
                    start.elapsed().as_secs_f64()
                ));
                false
            } else {
                true
            }
        });
        if pending.is_empty() {
            return Ok(());
        }
        if start.elapsed() >= Duration::from_secs(seconds) {
            return Err(Error::DevicesMissing {
                missing: pending
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                seconds,
            });
        }
        p.sleep(Duration::from_millis(50));
    }
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes % (1 << 30) == 0 {
        format!("{} GiB", bytes >> 30)
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{bytes} bytes")
    }
}

/// The file system a partition holds, from its first 2 KiB: `ext4` (superblock magic 0xEF53 at
/// byte 1024 + 0x38), `vfat` (boot sector signature 0x55AA and "FAT" in the FAT12/16 or FAT32
/// type field), or `None`.
pub fn sniff_fs(head: &[u8; 2048]) -> Option<&'static str> {
    use norrec_disk::ext4::consts::{MAGIC, SUPERBLOCK_OFFSET};
    let sb = SUPERBLOCK_OFFSET as usize + 0x38;
    if head[sb..sb + 2] == MAGIC.to_le_bytes() {
        Some("ext4")
    } else if head[510..512] == [0x55, 0xaa]
        && (&head[0x36..0x39] == b"FAT" || &head[0x52..0x55] == b"FAT")
    {
        Some("vfat")
    } else {
        None
    }
}

/// Mounts `dev` read-only as `fstype` on `mnt`, lists its top directory, unmounts it.
fn list_fs(p: &mut dyn Platform, dev: &str, mnt: &Path, fstype: &str, tag: &str) -> Result<()> {
    p.mount(dev, mnt, fstype, true)?;
    let listed = p.list_dir(mnt);
    let unmounted = p.unmount(mnt);
    let entries = listed?;
    say(format!(
        "{dev} ({fstype}, read-only): {} entries",
        entries.len()
    ));
    for e in &entries {
        if let Some(target) = &e.symlink {
            say(format!("{tag} {} -> {target}", e.name));
        } else if e.is_dir {
            say(format!("{tag} {}/", e.name));
        } else {
            say(format!("{tag} {} {} bytes", e.name, e.size));
        }
    }
    unmounted
}

/// The probe: block devices and partitions, the file systems on the eMMC's partitions and the
/// USB stick's files (each mounted read-only and listed), then [`PROBE_MARKER`].
pub fn probe(p: &mut dyn Platform, board: &Board) -> Result<()> {
    for dev in p.block_devices()? {
        match dev.partition {
            Some(n) => say(format!(
                "block {} {} (partition {n})",
                dev.name,
                human(dev.size)
            )),
            None => say(format!("block {} {}", dev.name, human(dev.size))),
        }
    }
    let emmc = board
        .storage
        .emmc
        .rsplit('/')
        .next()
        .unwrap_or(&board.storage.emmc)
        .to_owned();
    for dev in p.block_devices()? {
        let Some(n) = dev.partition else { continue };
        if Board::partition_device(&emmc, n) != dev.name {
            continue;
        }
        let path = format!("/dev/{}", dev.name);
        let mut head = [0u8; 2048];
        if dev.size < head.len() as u64 {
            continue;
        }
        p.read_at(Path::new(&path), 0, &mut head)?;
        match sniff_fs(&head) {
            Some(fstype) => list_fs(p, &path, Path::new(SD_MOUNT), fstype, &format!("sd p{n}"))?,
            None => say(format!("{path}: no ext4 or vfat file system")),
        }
    }
    let usb = Board::partition_device(&board.storage.usb, board.storage.usb_partition);
    list_fs(p, &usb, Path::new(USB_MOUNT), "vfat", "usb")?;
    say(PROBE_MARKER);
    Ok(())
}

/// The command line's options (after proc is mounted).
pub fn options(p: &dyn Platform) -> Result<Options> {
    let cmdline = p
        .read_file(Path::new("/proc/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Options::from_cmdline(&cmdline).map_err(Error::Initramfs)
}

/// Everything PID 1 does after the pseudo file systems are mounted, in order.
pub fn run_pid1_steps(p: &mut dyn Platform, opts: &Options) -> Result<()> {
    let board = board(p)?;
    say(format!(
        "norrec {} as PID 1 on {} ({:?})",
        env!("CARGO_PKG_VERSION"),
        board.board.name,
        opts.mode
    ));
    load_modules(p)?;
    wait_devices(
        p,
        &board.recovery.wait_devices,
        opts.wait_seconds.unwrap_or(board.recovery.wait_seconds),
    )?;
    probe(p, &board)
}

/// PID 1's whole life: never returns. A fatal error prints one line (`fatal: …`), waits
/// (`norrec_fatal_wait`, default [`FATAL_REBOOT_SECONDS`]) and reboots; if even that fails it
/// sleeps forever (PID 1 exiting would panic the kernel).
pub fn pid1(p: &mut dyn Platform) -> ! {
    let mut opts = Options::default();
    let result = mount_pseudo(p).and_then(|()| options(p)).and_then(|o| {
        opts = o;
        run_pid1_steps(p, &o)
    });
    match (result, opts.mode) {
        (Ok(()), Mode::Probe) => say("rebooting"),
        (Ok(()), Mode::Shell) => {
            say("staying (norrec=stay): nothing more to do");
            loop {
                p.sleep(Duration::from_secs(3600));
            }
        }
        (Err(e), _) => {
            say(format!("fatal: {e}"));
            say(format!("rebooting in {} s", opts.fatal_wait_seconds));
            p.sleep(Duration::from_secs(opts.fatal_wait_seconds));
        }
    }
    let e = p.reboot();
    say(format!("fatal: {e}; halted"));
    loop {
        p.sleep(Duration::from_secs(3600));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe recognises what the real mkfs tools make, and nothing in zeros.
    #[test]
    fn sniff_fs_of_real_file_systems() {
        let dir = tempfile::tempdir().unwrap();
        let head = |name: &str| -> [u8; 2048] {
            let mut h = [0u8; 2048];
            let bytes = std::fs::read(dir.path().join(name)).unwrap();
            h.copy_from_slice(&bytes[..2048]);
            h
        };
        assert_eq!(sniff_fs(&[0u8; 2048]), None);
        for (tool, args, want) in [
            ("mkfs.vfat", &["-C"][..], "vfat"),
            ("mkfs.ext4", &["-q", "-F"][..], "ext4"),
        ] {
            let Some(t) = norrec_testutil::tool(tool) else {
                continue;
            };
            let img = dir.path().join(want);
            if want == "ext4" {
                std::fs::File::create(&img)
                    .unwrap()
                    .set_len(8 << 20)
                    .unwrap();
                norrec_testutil::run_ok(&t, args.iter().copied().chain([img.to_str().unwrap()]));
            } else {
                norrec_testutil::run_ok(
                    &t,
                    args.iter().copied().chain([img.to_str().unwrap(), "8192"]),
                );
            }
            assert_eq!(sniff_fs(&head(want)), Some(want), "{tool}");
        }
        // A FAT32 boot sector has its type name at 0x52, not 0x36.
        let mut fat32 = [0u8; 2048];
        fat32[510..512].copy_from_slice(&[0x55, 0xaa]);
        fat32[0x52..0x5a].copy_from_slice(b"FAT32   ");
        assert_eq!(sniff_fs(&fat32), Some("vfat"));
        fat32[510] = 0;
        assert_eq!(sniff_fs(&fat32), None);
    }

    #[test]
    fn options_from_cmdline() {
        assert_eq!(
            Options::from_cmdline("console=ttyS0,115200 quiet"),
            Ok(Options::default())
        );
        let o =
            Options::from_cmdline("console=ttyS0 norrec=stay norrec_wait=3 norrec_fatal_wait=0")
                .unwrap();
        assert_eq!(
            o,
            Options {
                mode: Mode::Shell,
                wait_seconds: Some(3),
                fatal_wait_seconds: 0
            }
        );
        let e = Options::from_cmdline("norrec=fly").unwrap_err();
        assert!(e.contains("norrec=fly"), "{e}");
        let e = Options::from_cmdline("norrec_wait=soon").unwrap_err();
        assert!(
            e.contains("norrec_wait=soon on the kernel command line is not a number"),
            "{e}"
        );
    }
}
