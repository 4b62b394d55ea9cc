//! Extent trees: up to four extents in the inode (depth 0), else index entries in the inode
//! pointing to leaf blocks of `(block_size - 12) / 12` extents each (depth 1), each leaf with
//! its checksum tail.

use super::csum::crc32c;
use crate::error::{DiskError, Result};

const MAGIC: u16 = 0xF30A;

/// One extent: `len` blocks of the file from logical block `logical` at physical `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub logical: u32,
    pub start: u64,
    pub len: u16,
}

/// Extents covering `runs` in order, the first at logical block 0.
pub fn from_runs(runs: &[(u64, u32)]) -> Vec<Extent> {
    let mut out = Vec::with_capacity(runs.len());
    let mut logical = 0u32;
    for &(start, len) in runs {
        let mut done = 0u32;
        while done < len {
            let n = (len - done).min(32768);
            out.push(Extent {
                logical: logical + done,
                start: start + u64::from(done),
                len: n as u16,
            });
            done += n;
        }
        logical += len;
    }
    out
}

/// Extents per leaf block.
pub fn per_leaf(block_size: u32) -> usize {
    (block_size as usize - 12) / 12
}

/// Leaf blocks needed for `n` extents (0 when they fit in the inode).
pub fn leaves_needed(n: usize, block_size: u32, what: &str) -> Result<usize> {
    if n <= 4 {
        return Ok(0);
    }
    let l = n.div_ceil(per_leaf(block_size));
    if l > 4 {
        return Err(DiskError::Ext4Format(format!(
            "{what}: {n} extents need an extent tree deeper than norrec writes (depth 1, {} extents)",
            4 * per_leaf(block_size)
        )));
    }
    Ok(l)
}

fn header(b: &mut [u8], entries: usize, max: usize, depth: u16) {
    b[0..2].copy_from_slice(&MAGIC.to_le_bytes());
    b[2..4].copy_from_slice(&(entries as u16).to_le_bytes());
    b[4..6].copy_from_slice(&(max as u16).to_le_bytes());
    b[6..8].copy_from_slice(&depth.to_le_bytes());
}

fn put_extent(b: &mut [u8], e: &Extent) {
    b[0..4].copy_from_slice(&e.logical.to_le_bytes());
    b[4..6].copy_from_slice(&e.len.to_le_bytes());
    b[6..8].copy_from_slice(&((e.start >> 32) as u16).to_le_bytes());
    b[8..12].copy_from_slice(&(e.start as u32).to_le_bytes());
}

/// The inode's `i_block` for `extents` with `leaves` (from [`leaves_needed`]) leaf blocks.
pub fn root(extents: &[Extent], leaves: &[u64], block_size: u32) -> [u8; 60] {
    let mut b = [0u8; 60];
    if leaves.is_empty() {
        header(&mut b, extents.len(), 4, 0);
        for (i, e) in extents.iter().enumerate() {
            put_extent(&mut b[12 + 12 * i..24 + 12 * i], e);
        }
    } else {
        header(&mut b, leaves.len(), 4, 1);
        for (i, (chunk, &leaf)) in extents.chunks(per_leaf(block_size)).zip(leaves).enumerate() {
            let o = 12 + 12 * i;
            b[o..o + 4].copy_from_slice(&chunk[0].logical.to_le_bytes());
            b[o + 4..o + 8].copy_from_slice(&(leaf as u32).to_le_bytes());
            b[o + 8..o + 10].copy_from_slice(&((leaf >> 32) as u16).to_le_bytes());
        }
    }
    b
}

/// Leaf block `i` of the tree, checksummed with the inode's seed.
pub fn leaf(extents: &[Extent], i: usize, block_size: u32, inode_seed: u32) -> Vec<u8> {
    let per = per_leaf(block_size);
    let chunk = &extents[i * per..((i + 1) * per).min(extents.len())];
    let mut b = vec![0u8; block_size as usize];
    header(&mut b, chunk.len(), per, 0);
    for (k, e) in chunk.iter().enumerate() {
        put_extent(&mut b[12 + 12 * k..24 + 12 * k], e);
    }
    let tail = 12 + 12 * per;
    let c = crc32c(inode_seed, &b[..tail]);
    b[tail..tail + 4].copy_from_slice(&c.to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_long_runs() {
        let e = from_runs(&[(100, 40000), (50000, 3)]);
        assert_eq!(
            e,
            [
                Extent {
                    logical: 0,
                    start: 100,
                    len: 32768
                },
                Extent {
                    logical: 32768,
                    start: 32868,
                    len: 7232
                },
                Extent {
                    logical: 40000,
                    start: 50000,
                    len: 3
                },
            ]
        );
        let r = root(&e, &[], 4096);
        assert_eq!(&r[0..8], &[0x0A, 0xF3, 3, 0, 4, 0, 0, 0]); // magic, entries, max, depth
        assert_eq!(&r[12..24], &[0, 0, 0, 0, 0, 0x80, 0, 0, 100, 0, 0, 0]);
    }

    #[test]
    fn depth_one_beyond_four() {
        let runs: Vec<(u64, u32)> = (0..10).map(|i| (1000 + 10 * i, 5)).collect();
        let e = from_runs(&runs);
        assert_eq!(leaves_needed(e.len(), 4096, "f").unwrap(), 1);
        let r = root(&e, &[777], 4096);
        assert_eq!(&r[0..8], &[0x0A, 0xF3, 1, 0, 4, 0, 1, 0]);
        assert_eq!(&r[16..20], &777u32.to_le_bytes());
        let l = leaf(&e, 0, 4096, 0);
        assert_eq!(&l[0..6], &[0x0A, 0xF3, 10, 0, 0x54, 1]); // 340 entries max
        assert_eq!(&l[4092..], &crc32c(0, &l[..4092]).to_le_bytes());
    }
}
