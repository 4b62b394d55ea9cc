//! FAT12/16/32 on a partition window, no mounting: format as `mkfs.vfat` 4.2 does, list, copy
//! files and trees in and out.
//!
//! - [`params`]: the geometry `mkfs.vfat` picks for a size (hand-written; see there).
//! - [`bpb`]: the boot sector's read side, zero-copy, every field named.
//! - [`format`](mod@format): the formatter's write side (hand-written, not `fatfs::format_volume`, whose
//!   choices differ from `mkfs.vfat`'s; it writes metadata only, so images stay sparse).
//! - [`io`]: a bounded write-back cache that turns a [`BlockDevice`] into the
//!   `Read + Write + Seek` stream `fatfs` wants, merging cluster writes into large ones. A
//!   local file's bytes bypass it: `fatfs` allocates the clusters and writes the chain while
//!   the cache only notes where the data goes, then the kernel copies the file there
//!   ([`BlockDevice::copy_file_in`], `copy_file_range` for image files).
//! - [`fs`]: file operations on top of the `fatfs` crate 0.3.6 (directories, long names, 8.3
//!   short names, FAT chains), with norrec's space check, clean-up of partial files, and
//!   source time stamps.
//! - [`fixup`]: repairs the `.`/`..` entries `fatfs` 0.3.6 writes wrongly in new directories.
//! - [`time`]: DOS time stamps and the clock (`SOURCE_DATE_EPOCH` honoured).
//!
//! Tested against dosfstools 4.2 (`mkfs.vfat`, `fsck.fat -n`) and mtools 4.0 (`mdir`,
//! `mcopy -i img@@offset`) in `tests/fat_*.rs`.

pub mod bpb;
pub mod fixup;
pub mod format;
pub mod fs;
pub mod io;
pub mod params;
pub mod time;

pub use bpb::BootSector;
pub use format::Identity;
pub use fs::{Entry, Info, with_fs, with_fs_read_only};
pub use params::{Choice, FatType, Params};
pub use time::DosDateTime;

use crate::block::BlockDevice;
use crate::error::Result;

/// Formats `dev` (the whole partition) with the geometry `mkfs.vfat` would pick for its size
/// (or the forced type / cluster size in `choice`). Everything is decided before the first
/// write: a size that does not suit the type is refused with the device untouched.
pub fn format(dev: &mut impl BlockDevice, choice: Choice, id: &Identity) -> Result<Params> {
    let p = params::choose(dev.len(), choice)?;
    // Build the boot sector first: a bad label fails here, before any write.
    format::boot_sector(&p, id)?;
    format::write(dev, &p, id)?;
    Ok(p)
}

/// A volume id as `mkfs.fat` derives one from the clock (seconds and microseconds mixed).
pub fn volume_id_now() -> u32 {
    let secs = time::now_unix() as u64;
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_micros()))
        .unwrap_or(0);
    let micros = if std::env::var_os("SOURCE_DATE_EPOCH").is_some() {
        0
    } else {
        micros
    };
    ((secs << 20) | micros) as u32 ^ (secs >> 12) as u32
}
