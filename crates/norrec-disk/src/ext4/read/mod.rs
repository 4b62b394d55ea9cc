//! Reading ext2, ext3 and ext4 images (files, directories, symlinks) over any [`BlockDevice`](crate::BlockDevice)
//! (an image file, a partition [`Window`](crate::Window), a real device), without mounting.
//!
//! ```no_run
//! # fn main() -> norrec_disk::Result<()> {
//! use std::io::Read;
//! use norrec_disk::{ImageFile, ext4::read::Ext4};
//! let mut fs = Ext4::open(ImageFile::open_read_only(std::path::Path::new("rootfs.ext4"))?)?;
//! let passwd = fs.lookup("/etc/passwd")?;
//! let mut text = String::new();
//! fs.open_file(passwd.ino)?.read_to_string(&mut text).map_err(|e| norrec_disk::DiskError::io("read", e))?;
//! for e in fs.read_dir(2)? {
//!     println!("{} -> inode {}", e.name_lossy(), e.ino);
//! }
//! println!("{:?}", fs.info());
//! # Ok(()) }
//! ```
//!
//! # What is read
//! - Superblock revision 0 and 1; blocks of 1 KiB to 64 KiB (mke2fs picks 1 KiB below
//!   512 MiB); 32- and 64-byte group descriptors (64bit); meta_bg descriptor placement;
//!   bigalloc (clusters of several blocks; extents still count blocks).
//! - Inodes of 128 bytes or more with their extra fields: nanosecond times, 32-bit uid/gid
//!   (high halves), 64-bit sizes.
//! - File data through extent trees of any depth (uninitialized extents and holes read as
//!   zeros) and through classic block maps (direct, indirect, double and triple indirect) as in
//!   ext2/ext3 images; inline_data (data in the inode and its `system.data` attribute).
//! - Directories read linearly, htree ones included (their leaves are ordinary entry blocks;
//!   the index lives in entries a linear reader skips); metadata_csum tail entries skipped.
//! - Fast symlinks (target in `i_block`) and slow ones (target in a data block).
//!
//! Not read: checksums are **not verified** (metadata_csum, gdt_csum): norrec checks every
//! structure's bounds instead, so a damaged image gives [`DiskError::Ext4`](crate::DiskError::Ext4) naming the byte
//! offset, never a panic or a huge allocation. The journal is not replayed (an image with
//! `needs_recovery` is read as it stands). Encrypted inodes (one by one: a file system with the
//! encrypt feature is read where its inodes are not encrypted), compression and `dirdata` are
//! refused.
//!
//! # Why no crate
//! `ext4-view` (pure Rust, kept, MSRV below 1.85) was the candidate. It takes its data source
//! as a `Box<dyn Ext4Read>` with `'static` lifetime, so the CLI's borrowed partition window
//! cannot be handed to it without copying the partition, and its errors do not name byte
//! offsets, which this crate's errors must. The subset norrec needs is small, so it is
//! hand-written here from the kernel's ext4 disk-layout documentation
//! (`Documentation/filesystems/ext4/`).
//!
//! Reading is streaming: [`File`] implements [`std::io::Read`] and reads straight into the
//! caller's buffer, keeping only one tree node per level of its extent tree or block map.

pub mod copy;
pub mod dir;
pub mod extent;
pub mod fs;
pub mod group;
pub mod inode;
pub mod superblock;

pub use copy::copy_out;
pub use dir::DirEntry;
pub use fs::{Ext4, File, Info};
pub use inode::{FileKind, Inode, Timestamp, mode_string};
pub use superblock::Superblock;

/// A little-endian u16 at `off` (callers check bounds first).
pub(crate) fn le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

/// A little-endian u32 at `off` (callers check bounds first).
pub(crate) fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}
