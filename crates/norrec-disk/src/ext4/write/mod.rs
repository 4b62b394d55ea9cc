//! Writing ext4: formatting an empty file system ([`format()`]) and building one from a directory
//! tree ([`build_from_dir`], what `mke2fs -t ext4 -d DIR` does).
//!
//! Hand-written: no maintained Rust crate writes ext4 (the crates that exist read it, or write
//! ext2 without journal and checksums), and norrec needs exactly what the seed's
//! `mkfs.ext4 -F -E lazy_itable_init` makes, on a [`BlockDevice`] (an image file, a partition
//! window, or the board's eMMC), in pure Rust.
//!
//! What is written — the subset of ext4 that mke2fs 1.47 writes with this machine's
//! `/etc/mke2fs.conf`:
//! - features `has_journal ext_attr resize_inode dir_index filetype extent 64bit flex_bg
//!   sparse_super large_file huge_file dir_nlink extra_isize metadata_csum`;
//! - the geometry mke2fs computes (see [`layout`]): inode count by usage type, 256-byte inodes,
//!   reserved GDT blocks and the resize inode (7), flex groups of 16, the default journal size
//!   placed in the middle group, 5 % reserved; 4 KiB blocks by default, 1 and 2 KiB on request;
//! - crc32c checksums on the superblock, group descriptors, bitmaps, inodes, extent blocks and
//!   directory blocks (tail entries);
//! - uninitialised groups (`INODE_UNINIT`, `BLOCK_UNINIT`, `itable_unused`), so inode tables
//!   are written only where inodes are used, and the journal is not zeroed when the device
//!   reads as zeros (holes in an image file);
//! - from a directory: regular files (streamed, extents, an extent tree of depth 1 beyond four
//!   extents), directories (linear blocks with checksum tails, no htree), fast and slow
//!   symlinks, hard links, character and block devices, fifos, sockets, modes with
//!   setuid/setgid/sticky, owners, times with nanoseconds.
//!
//! Not written: htree directory indexes (mke2fs -d writes none either; the kernel indexes a
//! directory when it next grows), extended attributes (mke2fs -d copies them), inline data,
//! sparse files (holes are written as zero blocks), quota, orphan file, extent trees deeper
//! than 1 (about 1,360 extents a file), `meta_bg`, file systems over 2^36 blocks, symlinks
//! longer than a block (refused, as the kernel refuses them).
//!
//! Differences from mke2fs 1.47 that remain (`dumpe2fs -h` is otherwise equal; the tests
//! compare it field by field): the `ITABLE_ZEROED` group flag is set only when the device is
//! known to read as zeros (an image file after its hole punch), so on a real device the
//! kernel's lazy init zeroes the inode tables, as after `-E lazy_itable_init`; the journal is
//! left as holes there, and zeroed elsewhere; the root directory's mode is 0755 and its owner
//! 0:0 unless `root_owner` says otherwise (as mke2fs); directory entries are in name order
//! (mke2fs: readdir order), so a big directory may take a block less; the hash seed follows
//! the UUID when the caller asks for reproducible output (mke2fs: always random);
//! `s_kbytes_written` counts norrec's writes.
//!
//! Everything is planned in memory first (geometry, metadata placement, inode numbers, every
//! block of every file): a tree or a size that does not fit fails before the first write.
//! The primary superblock is written last.

mod alloc;
mod build;
pub mod csum;
mod dir;
mod extent;
mod inode;
pub mod layout;
mod meta;
pub mod tree;

use std::path::Path;

pub use build::{Options, Plan, Summary, plan};
pub use inode::Time;
pub use layout::{Geometry, Params};
pub use tree::Tree;

use crate::block::BlockDevice;
use crate::error::Result;

/// Formats `dev` as an empty ext4 (root directory, lost+found, resize inode, journal).
pub fn format<D: BlockDevice + ?Sized>(dev: &mut D, o: &Options) -> Result<Summary> {
    let t = Tree::empty(0o755, o.time);
    let p = build::plan(dev.len(), &t, o)?;
    build::write(dev, &p, &t, o, &mut |_| {})
}

/// Builds an ext4 on `dev` holding the tree under `dir`; `progress` gets the file bytes
/// copied so far.
pub fn build_from_dir<D: BlockDevice + ?Sized>(
    dev: &mut D,
    dir: &Path,
    o: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Summary> {
    let t = tree::scan(dir)?;
    build_tree(dev, &t, o, progress)
}

/// Builds an ext4 on `dev` holding an already scanned tree.
pub fn build_tree<D: BlockDevice + ?Sized>(
    dev: &mut D,
    t: &Tree,
    o: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Summary> {
    let p = build::plan(dev.len(), t, o)?;
    build::write(dev, &p, t, o, progress)
}

/// The smallest size (a multiple of 1 MiB) at which `t` fits with at least `margin_percent`
/// of the blocks left free.
pub fn size_for(t: &Tree, o: &Options, margin_percent: u64) -> Result<u64> {
    const MIB: u64 = 1 << 20;
    let bs = u64::from(o.params.block_size);
    let data = t.file_bytes + t.nodes.len() as u64 * bs;
    let mut size = (data + data * margin_percent / 100).div_ceil(MIB).max(8) * MIB;
    let mut last_err = None;
    for _ in 0..200 {
        match build::plan(size, t, o) {
            Ok(p) if p.free_blocks() * 100 >= p.geometry().blocks * margin_percent => {
                return Ok(size);
            }
            Ok(_) => {}
            Err(e) => last_err = Some(e),
        }
        size = (size + size / 16).div_ceil(MIB) * MIB;
    }
    Err(last_err.unwrap_or_else(|| {
        crate::error::DiskError::Ext4Format("no size found that fits the tree".into())
    }))
}

/// A random version-4 UUID (also used for the directory hash seed). Randomness comes from the
/// standard library's per-process hash keys (seeded by the OS), so no OS call is made here.
pub fn random_uuid() -> [u8; 16] {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 16];
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    for (i, half) in out.chunks_mut(8).enumerate() {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_usize(i);
        h.write_u32(std::process::id());
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    out[6] = (out[6] & 0x0f) | 0x40;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}

/// A directory hash seed that follows from the UUID, for reproducible images (the same tree,
/// UUID and SOURCE_DATE_EPOCH give the same bytes); mke2fs always picks a random one.
pub fn hash_seed_from(uuid: &[u8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, w) in out.chunks_mut(4).enumerate() {
        let c = csum::crc32c(0x6861_7368 ^ i as u32, uuid);
        w.copy_from_slice(&c.to_le_bytes());
    }
    out[6] = (out[6] & 0x0f) | 0x40;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}

/// Parses a UUID in its 36-character form (`5e1f0c6a-213b-4c7d-8e9f-a0b1c2d3e4f5`).
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let hex: Vec<u8> = b.iter().copied().filter(|&c| c != b'-').collect();
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let pair = std::str::from_utf8(&hex[2 * i..2 * i + 2]).ok()?;
        *o = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// The 36-character form of a UUID.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let h: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_round_trip() {
        let s = "5e1f0c6a-213b-4c7d-8e9f-a0b1c2d3e4f5";
        assert_eq!(format_uuid(&parse_uuid(s).unwrap()), s);
        assert!(parse_uuid("5e1f0c6a213b4c7d8e9fa0b1c2d3e4f5").is_none());
        assert!(parse_uuid("5e1f0c6a-213b-4c7d-8e9f-a0b1c2d3e4fg").is_none());
        let (a, b) = (random_uuid(), random_uuid());
        assert_ne!(a, b);
        assert_eq!(a[6] >> 4, 4);
    }
}
