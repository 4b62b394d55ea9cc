//! The superblock, group descriptors and the journal superblock, byte for byte.

use super::csum::crc32c;
use super::layout::{DESC_SIZE, FIRST_INO, Geometry, INODE_SIZE, LOG_GROUPS_PER_FLEX};
use crate::ext4::consts::MAGIC;

/// Feature bits norrec sets (those of mke2fs.conf's ext4 type).
pub mod feat {
    pub const COMPAT_HAS_JOURNAL: u32 = 0x4;
    pub const COMPAT_EXT_ATTR: u32 = 0x8;
    pub const COMPAT_RESIZE_INODE: u32 = 0x10;
    pub const COMPAT_DIR_INDEX: u32 = 0x20;
    pub const INCOMPAT_FILETYPE: u32 = 0x2;
    pub const INCOMPAT_EXTENTS: u32 = 0x40;
    pub const INCOMPAT_64BIT: u32 = 0x80;
    pub const INCOMPAT_FLEX_BG: u32 = 0x200;
    pub const RO_SPARSE_SUPER: u32 = 0x1;
    pub const RO_LARGE_FILE: u32 = 0x2;
    pub const RO_HUGE_FILE: u32 = 0x8;
    pub const RO_DIR_NLINK: u32 = 0x20;
    pub const RO_EXTRA_ISIZE: u32 = 0x40;
    pub const RO_METADATA_CSUM: u32 = 0x400;
}

/// Group descriptor flags.
pub const BG_INODE_UNINIT: u16 = 1;
pub const BG_BLOCK_UNINIT: u16 = 2;
pub const BG_INODE_ZEROED: u16 = 4;

/// What the superblock says beyond the geometry.
#[derive(Debug, Clone)]
pub struct SuperFields {
    pub uuid: [u8; 16],
    pub hash_seed: [u8; 16],
    pub label: [u8; 16],
    pub time: i64,
    pub free_blocks: u64,
    pub free_inodes: u32,
    pub overhead: u32,
    /// The journal inode's `i_block`, `i_size_high` and `i_size` (backup in `s_jnl_blocks`).
    pub jnl_blocks: [u32; 17],
    pub kbytes_written: u64,
}

fn p16(b: &mut [u8], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
fn p32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}

/// The 1024-byte superblock as stored in group `group` (`s_block_group_nr`).
pub fn superblock(g: &Geometry, f: &SuperFields, group: u32) -> [u8; 1024] {
    let mut b = [0u8; 1024];
    let log_bs = g.block_size.trailing_zeros() - 10;
    p32(&mut b, 0x00, g.inodes()); // s_inodes_count
    p32(&mut b, 0x04, g.blocks as u32); // s_blocks_count_lo
    p32(&mut b, 0x08, g.reserved_blocks as u32); // s_r_blocks_count_lo
    p32(&mut b, 0x0C, f.free_blocks as u32); // s_free_blocks_count_lo
    p32(&mut b, 0x10, f.free_inodes); // s_free_inodes_count
    p32(&mut b, 0x14, g.first_data_block); // s_first_data_block
    p32(&mut b, 0x18, log_bs); // s_log_block_size
    p32(&mut b, 0x1C, log_bs); // s_log_cluster_size
    p32(&mut b, 0x20, g.blocks_per_group); // s_blocks_per_group
    p32(&mut b, 0x24, g.blocks_per_group); // s_clusters_per_group
    p32(&mut b, 0x28, g.inodes_per_group); // s_inodes_per_group
    let t = f.time as u32;
    let t_hi = (f.time >> 32) as u8;
    p32(&mut b, 0x30, t); // s_wtime
    p16(&mut b, 0x36, 0xFFFF); // s_max_mnt_count = -1
    p16(&mut b, 0x38, MAGIC); // s_magic
    p16(&mut b, 0x3A, 1); // s_state: clean
    p16(&mut b, 0x3C, 1); // s_errors: continue
    p32(&mut b, 0x40, t); // s_lastcheck
    p32(&mut b, 0x4C, 1); // s_rev_level: dynamic
    p32(&mut b, 0x54, FIRST_INO); // s_first_ino
    p16(&mut b, 0x58, INODE_SIZE); // s_inode_size
    p16(&mut b, 0x5A, group as u16); // s_block_group_nr
    use feat::*;
    p32(
        &mut b,
        0x5C,
        COMPAT_HAS_JOURNAL | COMPAT_EXT_ATTR | COMPAT_RESIZE_INODE | COMPAT_DIR_INDEX,
    );
    p32(
        &mut b,
        0x60,
        INCOMPAT_FILETYPE | INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG,
    );
    p32(
        &mut b,
        0x64,
        RO_SPARSE_SUPER
            | RO_LARGE_FILE
            | RO_HUGE_FILE
            | RO_DIR_NLINK
            | RO_EXTRA_ISIZE
            | RO_METADATA_CSUM,
    );
    b[0x68..0x78].copy_from_slice(&f.uuid); // s_uuid
    b[0x78..0x88].copy_from_slice(&f.label); // s_volume_name
    p16(&mut b, 0xCE, g.reserved_gdt as u16); // s_reserved_gdt_blocks
    p32(&mut b, 0xE0, 8); // s_journal_inum
    b[0xEC..0xFC].copy_from_slice(&f.hash_seed); // s_hash_seed
    b[0xFC] = 1; // s_def_hash_version: half_md4
    b[0xFD] = 1; // s_jnl_backup_type: inode blocks
    p16(&mut b, 0xFE, DESC_SIZE as u16); // s_desc_size
    p32(&mut b, 0x100, 0x000C); // s_default_mount_opts: user_xattr acl
    p32(&mut b, 0x108, t); // s_mkfs_time
    for (i, w) in f.jnl_blocks.iter().enumerate() {
        p32(&mut b, 0x10C + 4 * i, *w); // s_jnl_blocks
    }
    p32(&mut b, 0x150, (g.blocks >> 32) as u32); // s_blocks_count_hi
    p32(&mut b, 0x154, (g.reserved_blocks >> 32) as u32); // s_r_blocks_count_hi
    p32(&mut b, 0x158, (f.free_blocks >> 32) as u32); // s_free_blocks_count_hi
    p16(&mut b, 0x15C, 32); // s_min_extra_isize
    p16(&mut b, 0x15E, 32); // s_want_extra_isize
    p32(&mut b, 0x160, 1); // s_flags: signed directory hash
    b[0x174] = LOG_GROUPS_PER_FLEX; // s_log_groups_per_flex
    b[0x175] = 1; // s_checksum_type: crc32c
    b[0x178..0x180].copy_from_slice(&f.kbytes_written.to_le_bytes()); // s_kbytes_written
    p32(&mut b, 0x248, f.overhead); // s_overhead_clusters
    b[0x274] = t_hi; // s_wtime_hi
    b[0x276] = t_hi; // s_mkfs_time_hi
    b[0x277] = t_hi; // s_lastcheck_hi
    let c = crc32c(!0, &b[..0x3FC]);
    p32(&mut b, 0x3FC, c); // s_checksum
    b
}

/// One group's descriptor fields.
#[derive(Debug, Clone, Default)]
pub struct GroupDesc {
    pub block_bitmap: u64,
    pub inode_bitmap: u64,
    pub inode_table: u64,
    pub free_blocks: u32,
    pub free_inodes: u32,
    pub used_dirs: u32,
    pub flags: u16,
    pub block_bitmap_csum: u32,
    pub inode_bitmap_csum: u32,
    pub itable_unused: u32,
}

/// The 64-byte descriptor of group `group`, checksummed with the file system seed.
pub fn group_desc(d: &GroupDesc, group: u32, seed: u32) -> [u8; 64] {
    let mut b = [0u8; 64];
    p32(&mut b, 0x00, d.block_bitmap as u32);
    p32(&mut b, 0x04, d.inode_bitmap as u32);
    p32(&mut b, 0x08, d.inode_table as u32);
    p16(&mut b, 0x0C, d.free_blocks as u16);
    p16(&mut b, 0x0E, d.free_inodes as u16);
    p16(&mut b, 0x10, d.used_dirs as u16);
    p16(&mut b, 0x12, d.flags);
    p16(&mut b, 0x18, d.block_bitmap_csum as u16);
    p16(&mut b, 0x1A, d.inode_bitmap_csum as u16);
    p16(&mut b, 0x1C, d.itable_unused as u16);
    p32(&mut b, 0x20, (d.block_bitmap >> 32) as u32);
    p32(&mut b, 0x24, (d.inode_bitmap >> 32) as u32);
    p32(&mut b, 0x28, (d.inode_table >> 32) as u32);
    p16(&mut b, 0x2C, (d.free_blocks >> 16) as u16);
    p16(&mut b, 0x2E, (d.free_inodes >> 16) as u16);
    p16(&mut b, 0x30, (d.used_dirs >> 16) as u16);
    p16(&mut b, 0x32, (d.itable_unused >> 16) as u16);
    p16(&mut b, 0x38, (d.block_bitmap_csum >> 16) as u16);
    p16(&mut b, 0x3A, (d.inode_bitmap_csum >> 16) as u16);
    let c = crc32c(crc32c(seed, &group.to_le_bytes()), &b);
    p16(&mut b, 0x1E, c as u16); // bg_checksum
    b
}

/// The journal superblock (JBD2, big-endian, version 2, no journal features), a full block.
pub fn journal_super(block_size: u32, blocks: u32, uuid: &[u8; 16]) -> Vec<u8> {
    let mut b = vec![0u8; block_size as usize];
    let be = |b: &mut [u8], o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_be_bytes());
    be(&mut b, 0x00, 0xC03B_3998); // h_magic
    be(&mut b, 0x04, 4); // h_blocktype: superblock v2
    be(&mut b, 0x0C, block_size); // s_blocksize
    be(&mut b, 0x10, blocks); // s_maxlen
    be(&mut b, 0x14, 1); // s_first
    be(&mut b, 0x18, 1); // s_sequence
    b[0x30..0x40].copy_from_slice(uuid); // s_uuid
    be(&mut b, 0x40, 1); // s_nr_users
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext4::write::layout::Params;

    #[test]
    fn superblock_offsets() {
        let g = Geometry::plan(1 << 30, &Params::default()).unwrap();
        let f = SuperFields {
            uuid: [0x11; 16],
            hash_seed: [0x22; 16],
            label: *b"data\0\0\0\0\0\0\0\0\0\0\0\0",
            time: 0x6b06_8e7e,
            free_blocks: 249_189,
            free_inodes: 65_525,
            overhead: 12_949,
            jnl_blocks: [0; 17],
            kbytes_written: 0,
        };
        let b = superblock(&g, &f, 3);
        assert_eq!(&b[0x00..0x04], &65536u32.to_le_bytes()); // s_inodes_count
        assert_eq!(&b[0x04..0x08], &262_144u32.to_le_bytes()); // s_blocks_count_lo
        assert_eq!(&b[0x08..0x0C], &13_107u32.to_le_bytes()); // s_r_blocks_count_lo
        assert_eq!(&b[0x0C..0x10], &249_189u32.to_le_bytes()); // s_free_blocks_count_lo
        assert_eq!(&b[0x18..0x1C], &2u32.to_le_bytes()); // s_log_block_size: 4096
        assert_eq!(&b[0x20..0x24], &32768u32.to_le_bytes()); // s_blocks_per_group
        assert_eq!(&b[0x28..0x2C], &8192u32.to_le_bytes()); // s_inodes_per_group
        assert_eq!(&b[0x38..0x3A], &[0x53, 0xEF]); // s_magic
        assert_eq!(&b[0x58..0x5A], &256u16.to_le_bytes()); // s_inode_size
        assert_eq!(&b[0x5A..0x5C], &3u16.to_le_bytes()); // s_block_group_nr
        // Feature words exactly as mkfs.ext4 1.47 writes them here.
        assert_eq!(
            &b[0x5C..0x68],
            &[0x3C, 0, 0, 0, 0xC2, 0x02, 0, 0, 0x6B, 0x04, 0, 0]
        );
        assert_eq!(&b[0x68..0x78], &[0x11; 16]); // s_uuid
        assert_eq!(&b[0x78..0x7C], b"data"); // s_volume_name
        assert_eq!(&b[0xCE..0xD0], &127u16.to_le_bytes()); // s_reserved_gdt_blocks
        assert_eq!(&b[0xE0..0xE4], &8u32.to_le_bytes()); // s_journal_inum
        assert_eq!(&b[0xFC..0x100], &[1, 1, 0x40, 0]); // hash version, jnl backup, s_desc_size
        assert_eq!(&b[0x174..0x176], &[4, 1]); // s_log_groups_per_flex, s_checksum_type
        assert_eq!(&b[0x248..0x24C], &12_949u32.to_le_bytes()); // s_overhead_clusters
        assert_eq!(&b[0x3FC..], &crc32c(!0, &b[..0x3FC]).to_le_bytes()); // s_checksum
    }

    #[test]
    fn group_desc_offsets() {
        let d = GroupDesc {
            block_bitmap: 129,
            inode_bitmap: 137,
            inode_table: 145,
            free_blocks: 28521,
            free_inodes: 8181,
            used_dirs: 2,
            flags: BG_INODE_ZEROED,
            itable_unused: 8181,
            ..GroupDesc::default()
        };
        let b = group_desc(&d, 0, 7);
        assert_eq!(&b[0..12], &[129, 0, 0, 0, 137, 0, 0, 0, 145, 0, 0, 0]);
        assert_eq!(&b[0x0C..0x14], &[0x69, 0x6F, 0xF5, 0x1F, 2, 0, 4, 0]);
        let mut z = b;
        z[0x1E..0x20].fill(0);
        let c = crc32c(crc32c(7, &0u32.to_le_bytes()), &z) as u16;
        assert_eq!(&b[0x1E..0x20], &c.to_le_bytes());
    }
}
