//! The device map: which file (an image or a real block device) stands for each device name a
//! sw-description uses.
//!
//! A disk mapped with [`DeviceMap::add_disk`] (`/dev/mmcblk0=sd.img`) also brings its MBR
//! partitions as names of their own (`/dev/mmcblk0p1`…, the kernel's naming: a `p` when the
//! disk's name ends in a digit), each a [`Window`] over its sectors, so `device =
//! "/dev/mmcblk0p2"` lands in partition 2 of `sd.img` and cannot spill out of it. An explicit
//! entry for a name replaces a derived one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use norrec_disk::{BlockDevice, ImageFile, Window};
use serde::Serialize;

use crate::error::{Error, Result};

/// One device name's target: `len` bytes of `path` from byte `start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub name: String,
    pub path: PathBuf,
    pub start: u64,
    pub len: u64,
    /// Partition number when derived from a disk's MBR.
    pub partition: Option<usize>,
}

/// Device names to targets.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeviceMap {
    targets: BTreeMap<String, Target>,
}

/// The kernel's name of partition `n` of `disk` (`/dev/mmcblk0` → `/dev/mmcblk0p2`,
/// `/dev/sda` → `/dev/sda2`).
pub fn partition_name(disk: &str, n: usize) -> String {
    let sep = if disk.ends_with(|c: char| c.is_ascii_digit()) {
        "p"
    } else {
        ""
    };
    format!("{disk}{sep}{n}")
}

/// An open image file or block device (`Box<dyn BlockDevice>` is one itself).
pub type Device = Box<dyn BlockDevice>;

/// Opens a file or a block device for reading and writing (it must exist, as SWUpdate's raw
/// handler wants).
pub fn open_device(path: &Path) -> Result<Device> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::FileTypeExt;
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        if meta.file_type().is_block_device() {
            return Ok(Box::new(norrec_disk::LinuxBlockDevice::open(path)?));
        }
    }
    Ok(Box::new(ImageFile::open(path)?))
}

impl DeviceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `NAME=FILE` and adds it as a disk ([`DeviceMap::add_disk`]).
    pub fn add_spec(&mut self, spec: &str) -> Result<()> {
        let (name, file) = spec.split_once('=').ok_or_else(|| Error::DeviceSpec {
            spec: spec.into(),
            msg: "expected NAME=FILE, e.g. /dev/mmcblk0=sd.img".into(),
        })?;
        if name.is_empty() || file.is_empty() {
            return Err(Error::DeviceSpec {
                spec: spec.into(),
                msg: "empty name or file".into(),
            });
        }
        self.add_disk(name, Path::new(file))
            .map_err(|e| Error::DeviceSpec {
                spec: spec.into(),
                msg: e.to_string(),
            })
    }

    /// Maps `name` to the whole of `path` (which must exist) and, when it holds an MBR, each of
    /// its partitions to `name` + `p`N (or + N).
    pub fn add_disk(&mut self, name: &str, path: &Path) -> Result<()> {
        let mut dev = open_device(path)?;
        let len = dev.len();
        // No (or no usable) MBR: the whole disk only.
        if let Ok(table) = norrec_disk::mbr::read_table(&mut dev) {
            let ss = u64::from(dev.sector_size());
            for (n, p) in table.partitions() {
                let pname = partition_name(name, n);
                // An explicit entry wins over a derived one.
                if self
                    .targets
                    .get(&pname)
                    .is_some_and(|t| t.partition.is_none())
                {
                    continue;
                }
                let (start, plen) = (p.start.saturating_mul(ss), p.size.saturating_mul(ss));
                if start.checked_add(plen).is_none_or(|end| end > len) {
                    continue; // a partition past the end is not usable; not mapped
                }
                self.targets.insert(
                    pname.clone(),
                    Target {
                        name: pname,
                        path: path.to_owned(),
                        start,
                        len: plen,
                        partition: Some(n),
                    },
                );
            }
        }
        self.targets.insert(
            name.to_owned(),
            Target {
                name: name.to_owned(),
                path: path.to_owned(),
                start: 0,
                len,
                partition: None,
            },
        );
        Ok(())
    }

    /// The target of a device name.
    pub fn get(&self, name: &str) -> Option<&Target> {
        self.targets.get(name)
    }

    /// Every mapped name, for messages.
    pub fn names(&self) -> String {
        let v: Vec<&str> = self.targets.keys().map(String::as_str).collect();
        if v.is_empty() {
            "nothing".into()
        } else {
            v.join(", ")
        }
    }

    /// All targets.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.targets.values()
    }
}

impl Target {
    /// Opens the target as a window of its file: reads and writes outside it fail.
    pub fn open(&self) -> Result<Window<Device>> {
        let dev = open_device(&self.path)?;
        Ok(Window::new(dev, self.start, self.len)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_the_kernel() {
        assert_eq!(partition_name("/dev/mmcblk0", 2), "/dev/mmcblk0p2");
        assert_eq!(partition_name("/dev/sda", 1), "/dev/sda1");
    }

    #[test]
    fn partitions_come_from_the_mbr() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("sd.img");
        let mut sector = vec![0u8; 4 << 20];
        // slot 0 (offset 446): type 0x0c, LBA 2048, 2048 sectors; slot 1 (462): 0x83 at 4096, one sector too long
        sector[446 + 4] = 0x0c;
        sector[446 + 8..446 + 12].copy_from_slice(&2048u32.to_le_bytes());
        sector[446 + 12..446 + 16].copy_from_slice(&2048u32.to_le_bytes());
        sector[462 + 4] = 0x83;
        sector[462 + 8..462 + 12].copy_from_slice(&4096u32.to_le_bytes());
        sector[462 + 12..462 + 16].copy_from_slice(&4097u32.to_le_bytes());
        sector[510] = 0x55;
        sector[511] = 0xaa;
        std::fs::write(&img, &sector).unwrap();
        let mut m = DeviceMap::new();
        m.add_spec(&format!("/dev/mmcblk0={}", img.display()))
            .unwrap();
        let p1 = m.get("/dev/mmcblk0p1").unwrap();
        assert_eq!((p1.start, p1.len), (1 << 20, 1 << 20));
        // partition 2 reaches past the 4 MiB file: not mapped
        assert!(m.get("/dev/mmcblk0p2").is_none());
        assert_eq!(m.get("/dev/mmcblk0").unwrap().len, 4 << 20);
        assert!(m.add_spec("nonsense").is_err());
    }
}
