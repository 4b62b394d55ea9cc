//! Block group descriptors: where each group's inode table lies. 32 bytes each, or
//! `s_desc_size` (64) with the 64bit feature; found right after the superblock's block, or with
//! meta_bg in the first group of each meta group.

use super::le32;
use super::superblock::{INCOMPAT_META_BG, RO_COMPAT_SPARSE_SUPER, Superblock};

/// The fields of one group descriptor the reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupDesc {
    /// `bg_inode_table_lo` (0x08) with `_hi` (0x28) in 64-byte descriptors.
    pub inode_table: u64,
}

impl GroupDesc {
    /// Parses one descriptor of `b.len()` (32 or more) bytes.
    pub fn parse(b: &[u8]) -> Self {
        let hi = if b.len() >= 64 {
            u64::from(le32(b, 0x28)) << 32
        } else {
            0
        };
        GroupDesc {
            inode_table: u64::from(le32(b, 0x08)) | hi,
        }
    }
}

/// Whether group `g` holds a superblock backup (and so a descriptor copy): every group without
/// sparse_super, else groups 0, 1 and the powers of 3, 5 and 7.
pub fn has_super(sb: &Superblock, g: u64) -> bool {
    if sb.feature_ro_compat & RO_COMPAT_SPARSE_SUPER == 0 || g <= 1 {
        return true;
    }
    [3u64, 5, 7].iter().any(|&p| {
        let mut n = p;
        while n < g {
            n *= p;
        }
        n == g
    })
}

/// The byte offset (from the start of the file system) of group `g`'s descriptor.
pub fn desc_offset(sb: &Superblock, g: u64) -> u64 {
    let bs = u64::from(sb.block_size);
    let ds = u64::from(sb.desc_size);
    let per_block = bs / ds;
    let meta = g / per_block;
    // The descriptors follow the superblock's block (block 1 with 1 KiB blocks even when
    // bigalloc makes s_first_data_block 0, else block 0).
    let sb_block = 1024 / bs;
    let block = if sb.has_incompat(INCOMPAT_META_BG) && meta >= u64::from(sb.first_meta_bg) {
        let first = meta * per_block;
        // Group 0's first block is block 0 with 1 KiB blocks and bigalloc: the superblock
        // is in block 1, so its descriptors come one block later.
        let zero_adjust = u64::from(first == 0 && bs == 1024 && sb.first_data_block == 0);
        u64::from(sb.first_data_block)
            + first * u64::from(sb.blocks_per_group)
            + u64::from(has_super(sb, first))
            + zero_adjust
    } else {
        sb_block + 1 + meta
    };
    block * bs + (g % per_block) * ds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_in_sparse_groups() {
        let mut b = vec![0u8; 1024];
        b[0x38] = 0x53;
        b[0x39] = 0xEF;
        b[0x4C] = 1;
        b[0x58] = 128;
        b[0x64] = 1; // sparse_super
        b[0x04..0x08].copy_from_slice(&(8192u32 * 30).to_le_bytes());
        b[0x00..0x04].copy_from_slice(&(30u32 * 16).to_le_bytes());
        b[0x14] = 1;
        b[0x20..0x24].copy_from_slice(&8192u32.to_le_bytes());
        b[0x28] = 16;
        let sb = Superblock::parse(&b, 8192 * 30 * 1024).unwrap();
        let with: Vec<u64> = (0..30).filter(|&g| has_super(&sb, g)).collect();
        assert_eq!(with, [0, 1, 3, 5, 7, 9, 25, 27]);
        // 1 KiB blocks: descriptors from block 2, 32 per block.
        assert_eq!(desc_offset(&sb, 0), 2048);
        assert_eq!(desc_offset(&sb, 29), 2048 + 29 * 32);
    }
}
