//! norrec-disk: disks as norrec's installer and agent see them.
//!
//! Modules:
//! - [`block`]: the [`BlockDevice`] trait (positioned read/write, length, flush, zero-range,
//!   discard, copy-in from a file) and an in-memory device.
//! - [`image`]: image files as block devices; long zero runs become holes, not written zeros.
//! - [`window`]: a partition window that cannot read or write outside its partition.
//! - [`platform`]: every OS call of the crate (Linux: `fallocate` hole punching and
//!   preallocation, `copy_file_range` in-kernel copies into image files, block-device size,
//!   `BLKDISCARD`, `BLKZEROOUT`, `BLKRRPART` through `rustix`).
//! - [`mbr`]: MBR partition tables, read zero-copy from sector 0 and written byte for byte as
//!   sfdisk writes them (hand-written; [`mbr`] says why not `mbrman`).
//! - [`script`]: sfdisk's script dialect: parsing, placing partitions as sfdisk does, printing
//!   in `sfdisk -d` form.
//!
//! Where the format facts come from: the MBR layout is the classic IBM PC one (documented in
//! [`mbr`]); the script dialect, the alignment rules, the CHS geometry and the dump format are
//! those of util-linux 2.38.1's sfdisk and libfdisk (`sfdisk(8)`, `libfdisk/src/script.c`,
//! `dos.c`, `alignment.c`, read for facts only), checked by experiment against the `sfdisk` on
//! this machine and by the interop tests in `tests/`, which run the real tool on what norrec
//! wrote and norrec on what sfdisk wrote.
//!
//! - [`fat`]: FAT12/16/32 on a partition window without mounting: formatted as `mkfs.vfat` 4.2
//!   formats (hand-written formatter), files and trees copied in and out and listed through the
//!   `fatfs` crate behind a write-back cache (see [`fat`] for what norrec works around).
//!
//! - [`ext4`]: ext4 read (files out of any image) and write (format, build from a directory).
//!
//! Not here (yet): GPT, logical partitions in an extended partition (refused clearly).

pub mod block;
pub mod error;
pub mod ext4;
pub mod fat;
pub mod image;
pub mod mbr;
pub mod platform;
pub mod script;
pub mod window;

pub use block::{BlockDevice, MemDevice};
pub use error::{DiskError, Result};
pub use image::ImageFile;
pub use mbr::{DosPartition, DosTable};
#[cfg(target_os = "linux")]
pub use platform::linux::LinuxBlockDevice;
pub use window::Window;
