//! The one place the agent touches the operating system. [`Platform`] is what the agent's steps
//! need (mount, load a module, see devices, reboot); [`Linux`] does it with `rustix` system calls
//! (pure Rust, no libc wrappers to cross-compile). Nothing else in norrec-agent calls the OS.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result, io};

/// A block device or partition as the kernel lists it under `/sys/class/block`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDev {
    /// `mmcblk0`, `mmcblk0p1`, `sda1`.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// The partition number, for partitions.
    pub partition: Option<u32>,
}

/// A directory entry as the probe lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub size: u64,
    pub is_dir: bool,
    /// The target, when the entry is a symbolic link (not followed).
    pub symlink: Option<String>,
}

/// What loading a module did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleLoad {
    Loaded,
    /// The kernel had it already (built in or loaded before).
    AlreadyLoaded,
}

/// The OS services the agent uses.
pub trait Platform {
    /// Mounts `source` (a device or a pseudo file system's name) on `target`, creating `target`.
    /// An already mounted pseudo file system is not an error.
    fn mount(&mut self, source: &str, target: &Path, fstype: &str, read_only: bool) -> Result<()>;
    /// Unmounts `target`.
    fn unmount(&mut self, target: &Path) -> Result<()>;
    /// Loads a kernel module from a `.ko` file.
    fn load_module(&mut self, path: &Path) -> Result<ModuleLoad>;
    /// Whether a device node (or any path) exists.
    fn exists(&self, path: &Path) -> bool;
    /// The block devices and partitions the kernel knows, sorted by name.
    fn block_devices(&self) -> Result<Vec<BlockDev>>;
    /// A directory's entries, sorted by name.
    fn list_dir(&self, path: &Path) -> Result<Vec<DirEntry>>;
    /// A small file's contents (`/proc/cmdline`, the module order).
    fn read_file(&self, path: &Path) -> Result<Vec<u8>>;
    /// Fills `buf` from byte `offset` of a file or device (to recognise a file system).
    fn read_at(&self, path: &Path, offset: u64, buf: &mut [u8]) -> Result<()>;
    /// Waits.
    fn sleep(&self, d: Duration);
    /// Flushes file systems and restarts the machine (through the watchdog on the A10, so QEMU
    /// with `-no-reboot` exits). Returns only on failure.
    fn reboot(&mut self) -> Error;
}

/// The Linux implementation (the board, or a Linux host for the read-only parts).
#[derive(Debug, Default)]
pub struct Linux;

fn os(what: impl Into<String>) -> impl FnOnce(rustix::io::Errno) -> Error {
    let what = what.into();
    move |e| Error::Os {
        what,
        source: e.into(),
    }
}

impl Platform for Linux {
    fn mount(&mut self, source: &str, target: &Path, fstype: &str, read_only: bool) -> Result<()> {
        std::fs::create_dir_all(target).map_err(io(target))?;
        let mut flags = rustix::mount::MountFlags::empty();
        if read_only {
            flags |= rustix::mount::MountFlags::RDONLY;
        }
        match rustix::mount::mount(source, target, fstype, flags, None) {
            Ok(()) => Ok(()),
            // a pseudo file system mounted already (devtmpfs with CONFIG_DEVTMPFS_MOUNT)
            Err(rustix::io::Errno::BUSY) if !source.starts_with('/') => Ok(()),
            Err(e) => Err(os(format!(
                "mount {source} on {} ({fstype}{})",
                target.display(),
                if read_only { ", read-only" } else { "" }
            ))(e)),
        }
    }

    fn unmount(&mut self, target: &Path) -> Result<()> {
        rustix::mount::unmount(target, rustix::mount::UnmountFlags::empty())
            .map_err(os(format!("umount {}", target.display())))
    }

    fn load_module(&mut self, path: &Path) -> Result<ModuleLoad> {
        let file = std::fs::File::open(path).map_err(io(path))?;
        let params = CString::default();
        match rustix::system::finit_module(&file, &params, 0) {
            Ok(()) => Ok(ModuleLoad::Loaded),
            Err(rustix::io::Errno::EXIST) => Ok(ModuleLoad::AlreadyLoaded),
            Err(e) => Err(os(format!("finit_module {}", path.display()))(e)),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn block_devices(&self) -> Result<Vec<BlockDev>> {
        let root = Path::new("/sys/class/block");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(root).map_err(io(root))? {
            let entry = entry.map_err(io(root))?;
            let dir = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let read = |f: &str| -> Option<String> {
                std::fs::read_to_string(dir.join(f))
                    .ok()
                    .map(|s| s.trim().to_owned())
            };
            // `size` counts 512-byte sectors whatever the device's block size.
            let size = read("size")
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
                * 512;
            let partition = read("partition").and_then(|s| s.parse().ok());
            out.push(BlockDev {
                name,
                size,
                partition,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io(path))? {
            let entry = entry.map_err(io(path))?;
            let meta = entry.metadata().map_err(io(entry.path()))?;
            let symlink = if meta.file_type().is_symlink() {
                let target = std::fs::read_link(entry.path()).map_err(io(entry.path()))?;
                Some(target.to_string_lossy().into_owned())
            } else {
                None
            };
            out.push(DirEntry {
                symlink,
                name: entry.file_name().to_string_lossy().into_owned(),
                size: meta.len(),
                is_dir: meta.is_dir(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read_file(&self, path: &Path) -> Result<Vec<u8>> {
        std::fs::read(path).map_err(io(PathBuf::from(path)))
    }

    fn read_at(&self, path: &Path, offset: u64, buf: &mut [u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        std::fs::File::open(path)
            .and_then(|f| f.read_exact_at(buf, offset))
            .map_err(io(PathBuf::from(path)))
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }

    fn reboot(&mut self) -> Error {
        rustix::fs::sync();
        match rustix::system::reboot(rustix::system::RebootCommand::Restart) {
            Ok(()) => Error::Initramfs("reboot returned".into()),
            Err(e) => os("reboot")(e),
        }
    }
}
