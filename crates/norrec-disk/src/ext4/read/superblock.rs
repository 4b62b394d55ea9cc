//! The superblock: 1024 bytes at byte 1024 of the file system, read zero-copy from a byte slice
//! and checked before anything else is trusted (magic, revision, block and inode sizes, counts,
//! the features norrec can read).

use super::{le16, le32};
use crate::error::{DiskError, Result};
use crate::ext4::consts::{MAGIC, SUPERBLOCK_OFFSET};

/// The superblock's size on disk.
pub const SUPERBLOCK_SIZE: usize = 1024;

// Feature bits (`s_feature_compat` at 0x5C, `s_feature_incompat` at 0x60, `s_feature_ro_compat`
// at 0x64), as the kernel's ext4 documentation names them.
pub(crate) const COMPAT_HAS_JOURNAL: u32 = 0x4;
pub(crate) const INCOMPAT_COMPRESSION: u32 = 0x1;
pub(crate) const INCOMPAT_FILETYPE: u32 = 0x2;
pub(crate) const INCOMPAT_RECOVER: u32 = 0x4;
pub(crate) const INCOMPAT_JOURNAL_DEV: u32 = 0x8;
pub(crate) const INCOMPAT_META_BG: u32 = 0x10;
pub(crate) const INCOMPAT_EXTENTS: u32 = 0x40;
pub(crate) const INCOMPAT_64BIT: u32 = 0x80;
pub(crate) const INCOMPAT_MMP: u32 = 0x100;
pub(crate) const INCOMPAT_FLEX_BG: u32 = 0x200;
pub(crate) const INCOMPAT_EA_INODE: u32 = 0x400;
pub(crate) const INCOMPAT_DIRDATA: u32 = 0x1000;
pub(crate) const INCOMPAT_CSUM_SEED: u32 = 0x2000;
pub(crate) const INCOMPAT_LARGEDIR: u32 = 0x4000;
pub(crate) const INCOMPAT_INLINE_DATA: u32 = 0x8000;
pub(crate) const INCOMPAT_ENCRYPT: u32 = 0x10000;
pub(crate) const INCOMPAT_CASEFOLD: u32 = 0x20000;
pub(crate) const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
pub(crate) const RO_COMPAT_HUGE_FILE: u32 = 0x8;
pub(crate) const RO_COMPAT_METADATA_CSUM: u32 = 0x400;
pub(crate) const RO_COMPAT_BIGALLOC: u32 = 0x200;

/// Incompatible features a reader may ignore or handles (encrypt only marks that some inodes
/// may be encrypted; those are refused one by one): everything else is refused, since an
/// unknown incompatible feature means the layout may differ from what this module reads.
const INCOMPAT_READABLE: u32 = INCOMPAT_FILETYPE
    | INCOMPAT_RECOVER
    | INCOMPAT_META_BG
    | INCOMPAT_EXTENTS
    | INCOMPAT_64BIT
    | INCOMPAT_MMP
    | INCOMPAT_FLEX_BG
    | INCOMPAT_EA_INODE
    | INCOMPAT_CSUM_SEED
    | INCOMPAT_LARGEDIR
    | INCOMPAT_INLINE_DATA
    | INCOMPAT_ENCRYPT
    | INCOMPAT_CASEFOLD;

const INCOMPAT_NAMES: &[(u32, &str)] = &[
    (INCOMPAT_COMPRESSION, "compression"),
    (INCOMPAT_FILETYPE, "filetype"),
    (INCOMPAT_RECOVER, "needs_recovery"),
    (INCOMPAT_JOURNAL_DEV, "journal_dev"),
    (INCOMPAT_META_BG, "meta_bg"),
    (INCOMPAT_EXTENTS, "extent"),
    (INCOMPAT_64BIT, "64bit"),
    (INCOMPAT_MMP, "mmp"),
    (INCOMPAT_FLEX_BG, "flex_bg"),
    (INCOMPAT_EA_INODE, "ea_inode"),
    (INCOMPAT_DIRDATA, "dirdata"),
    (INCOMPAT_CSUM_SEED, "metadata_csum_seed"),
    (INCOMPAT_LARGEDIR, "large_dir"),
    (INCOMPAT_INLINE_DATA, "inline_data"),
    (INCOMPAT_ENCRYPT, "encrypt"),
    (INCOMPAT_CASEFOLD, "casefold"),
];

const COMPAT_NAMES: &[(u32, &str)] = &[
    (0x1, "dir_prealloc"),
    (0x2, "imagic_inodes"),
    (COMPAT_HAS_JOURNAL, "has_journal"),
    (0x8, "ext_attr"),
    (0x10, "resize_inode"),
    (0x20, "dir_index"),
    (0x200, "sparse_super2"),
    (0x400, "fast_commit"),
    (0x1000, "orphan_file"),
];

const RO_COMPAT_NAMES: &[(u32, &str)] = &[
    (RO_COMPAT_SPARSE_SUPER, "sparse_super"),
    (0x2, "large_file"),
    (0x4, "btree_dir"),
    (RO_COMPAT_HUGE_FILE, "huge_file"),
    (0x10, "uninit_bg"),
    (0x20, "dir_nlink"),
    (0x40, "extra_isize"),
    (0x100, "quota"),
    (RO_COMPAT_BIGALLOC, "bigalloc"),
    (RO_COMPAT_METADATA_CSUM, "metadata_csum"),
    (0x2000, "project"),
    (0x8000, "verity"),
    (0x10000, "orphan_present"),
];

/// The superblock fields the reader uses, checked for consistency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    /// `s_inodes_count` (0x00).
    pub inodes_count: u32,
    /// `s_blocks_count_lo` (0x04) with `_hi` (0x150) when 64bit.
    pub blocks_count: u64,
    /// `s_r_blocks_count` (0x08, 0x154).
    pub reserved_blocks: u64,
    /// `s_free_blocks_count` (0x0C, 0x158).
    pub free_blocks: u64,
    /// `s_free_inodes_count` (0x10).
    pub free_inodes: u32,
    /// `s_first_data_block` (0x14): 1 with 1 KiB blocks, else 0.
    pub first_data_block: u32,
    /// 1024 << `s_log_block_size` (0x18).
    pub block_size: u32,
    /// `s_blocks_per_group` (0x20).
    pub blocks_per_group: u32,
    /// `s_clusters_per_group` (0x24); equal to the blocks per group without bigalloc.
    pub clusters_per_group: u32,
    /// Blocks per cluster: 1 << (`s_log_cluster_size` (0x1C) − `s_log_block_size`) with
    /// bigalloc, else 1.
    pub cluster_ratio: u32,
    /// `s_inodes_per_group` (0x28).
    pub inodes_per_group: u32,
    /// `s_mtime` (0x2C), last mount.
    pub mount_time: u32,
    /// `s_wtime` (0x30), last write.
    pub write_time: u32,
    /// `s_rev_level` (0x4C).
    pub rev_level: u32,
    /// `s_inode_size` (0x58); 128 for revision 0.
    pub inode_size: u16,
    /// `s_feature_compat` (0x5C).
    pub feature_compat: u32,
    /// `s_feature_incompat` (0x60).
    pub feature_incompat: u32,
    /// `s_feature_ro_compat` (0x64).
    pub feature_ro_compat: u32,
    /// `s_uuid` (0x68).
    pub uuid: [u8; 16],
    /// `s_volume_name` (0x78), up to 16 bytes, NUL-padded.
    pub volume_name: [u8; 16],
    /// `s_desc_size` (0xFE) when 64bit, else 32.
    pub desc_size: u16,
    /// `s_first_meta_bg` (0x104).
    pub first_meta_bg: u32,
    /// `s_mkfs_time` (0x108).
    pub mkfs_time: u32,
}

fn bad(field_offset: usize, msg: impl Into<String>) -> DiskError {
    DiskError::Ext4 {
        offset: SUPERBLOCK_OFFSET + field_offset as u64,
        msg: format!("superblock: {}", msg.into()),
    }
}

impl Superblock {
    /// Parses and checks the 1024 superblock bytes; `fs_len` is the partition's length, which
    /// the block count must fit in.
    pub fn parse(b: &[u8], fs_len: u64) -> Result<Self> {
        if b.len() < SUPERBLOCK_SIZE {
            return Err(DiskError::NotExt4(format!(
                "{} bytes, too short for a superblock at byte 1024",
                fs_len
            )));
        }
        let magic = le16(b, 0x38);
        if magic != MAGIC {
            return Err(DiskError::NotExt4(format!(
                "superblock magic s_magic at byte 0x438 is {magic:#06x}, not 0xef53"
            )));
        }
        let rev_level = le32(b, 0x4C);
        if rev_level > 1 {
            return Err(bad(
                0x4C,
                format!("revision s_rev_level {rev_level} (0 or 1 known)"),
            ));
        }
        let log = le32(b, 0x18);
        if log > 6 {
            return Err(bad(
                0x18,
                format!("s_log_block_size {log}: blocks of 1 KiB to 64 KiB only"),
            ));
        }
        let block_size = 1024u32 << log;
        let log_cluster = le32(b, 0x1C);
        let (feature_compat, feature_incompat, feature_ro_compat, inode_size) = if rev_level == 0 {
            (0, 0, 0, 128)
        } else {
            (le32(b, 0x5C), le32(b, 0x60), le32(b, 0x64), le16(b, 0x58))
        };
        let unknown = feature_incompat & !INCOMPAT_READABLE;
        if unknown != 0 {
            return Err(bad(
                0x60,
                format!(
                    "incompatible features norrec does not read: {}",
                    names(unknown, INCOMPAT_NAMES).join(", ")
                ),
            ));
        }
        if !inode_size.is_power_of_two() || inode_size < 128 || u32::from(inode_size) > block_size {
            return Err(bad(0x58, format!("inode size s_inode_size {inode_size}")));
        }
        let is64 = feature_incompat & INCOMPAT_64BIT != 0;
        let hi = |off: usize| {
            if is64 {
                u64::from(le32(b, off)) << 32
            } else {
                0
            }
        };
        let desc_size = if is64 { le16(b, 0xFE) } else { 32 };
        if desc_size < 32 || !desc_size.is_power_of_two() || u32::from(desc_size) > block_size {
            return Err(bad(
                0xFE,
                format!("group descriptor size s_desc_size {desc_size}"),
            ));
        }
        let mut sb = Superblock {
            inodes_count: le32(b, 0x00),
            blocks_count: u64::from(le32(b, 0x04)) | hi(0x150),
            reserved_blocks: u64::from(le32(b, 0x08)) | hi(0x154),
            free_blocks: u64::from(le32(b, 0x0C)) | hi(0x158),
            free_inodes: le32(b, 0x10),
            first_data_block: le32(b, 0x14),
            block_size,
            blocks_per_group: le32(b, 0x20),
            clusters_per_group: le32(b, 0x24),
            cluster_ratio: 1,
            inodes_per_group: le32(b, 0x28),
            mount_time: le32(b, 0x2C),
            write_time: le32(b, 0x30),
            rev_level,
            inode_size,
            feature_compat,
            feature_incompat,
            feature_ro_compat,
            uuid: b[0x68..0x78].try_into().expect("16 bytes"),
            volume_name: b[0x78..0x88].try_into().expect("16 bytes"),
            desc_size,
            first_meta_bg: le32(b, 0x104),
            mkfs_time: le32(b, 0x108),
        };
        if feature_ro_compat & RO_COMPAT_BIGALLOC != 0 {
            if log_cluster < log || log_cluster - log > 16 {
                return Err(bad(
                    0x1C,
                    format!("s_log_cluster_size {log_cluster} with s_log_block_size {log}"),
                ));
            }
            sb.cluster_ratio = 1 << (log_cluster - log);
        }
        sb.check(fs_len)?;
        Ok(sb)
    }

    fn check(&self, fs_len: u64) -> Result<()> {
        let bs = u64::from(self.block_size);
        if self.blocks_count == 0 || self.blocks_count.saturating_mul(bs) > fs_len {
            return Err(bad(
                0x04,
                format!(
                    "s_blocks_count {} blocks of {bs} bytes do not fit the {fs_len}-byte partition",
                    self.blocks_count
                ),
            ));
        }
        // 1 with 1 KiB blocks (0 with bigalloc, whose first cluster holds block 0), else 0.
        let first_ok = self.first_data_block == 0 || (self.first_data_block == 1 && bs == 1024);
        if !first_ok {
            return Err(bad(
                0x14,
                format!(
                    "s_first_data_block {} with {bs}-byte blocks",
                    self.first_data_block
                ),
            ));
        }
        if self.cluster_ratio > 1 {
            let cpg = u64::from(self.clusters_per_group);
            if cpg == 0
                || cpg > bs * 8
                || cpg * u64::from(self.cluster_ratio) != u64::from(self.blocks_per_group)
            {
                return Err(bad(
                    0x24,
                    format!(
                        "s_clusters_per_group {cpg} with {} blocks per group in clusters of {}",
                        self.blocks_per_group, self.cluster_ratio
                    ),
                ));
            }
        } else if self.blocks_per_group == 0 || u64::from(self.blocks_per_group) > bs * 8 {
            return Err(bad(
                0x20,
                format!("s_blocks_per_group {}", self.blocks_per_group),
            ));
        }
        if self.inodes_per_group == 0 || u64::from(self.inodes_per_group) > bs * 8 {
            return Err(bad(
                0x28,
                format!("s_inodes_per_group {}", self.inodes_per_group),
            ));
        }
        let groups = self.group_count();
        if u64::from(self.inodes_count) != groups * u64::from(self.inodes_per_group) {
            return Err(bad(
                0x00,
                format!(
                    "s_inodes_count {} is not {groups} groups of {} inodes",
                    self.inodes_count, self.inodes_per_group
                ),
            ));
        }
        Ok(())
    }

    /// The number of block groups.
    pub fn group_count(&self) -> u64 {
        (self.blocks_count - u64::from(self.first_data_block))
            .div_ceil(u64::from(self.blocks_per_group))
    }

    /// Whether an incompatible feature bit is set.
    pub fn has_incompat(&self, bit: u32) -> bool {
        self.feature_incompat & bit != 0
    }

    /// The volume label, NUL padding removed.
    pub fn label(&self) -> String {
        let end = self.volume_name.iter().position(|&c| c == 0).unwrap_or(16);
        String::from_utf8_lossy(&self.volume_name[..end]).into_owned()
    }

    /// The UUID in the usual 8-4-4-4-12 form.
    pub fn uuid_string(&self) -> String {
        let h: String = self.uuid.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// Every feature set, by e2fsprogs' names (unknown bits as hex).
    pub fn feature_names(&self) -> Vec<String> {
        let mut v = names(self.feature_compat, COMPAT_NAMES);
        v.extend(names(self.feature_incompat, INCOMPAT_NAMES));
        v.extend(names(self.feature_ro_compat, RO_COMPAT_NAMES));
        v
    }
}

fn names(bits: u32, table: &[(u32, &str)]) -> Vec<String> {
    (0..32)
        .map(|i| 1u32 << i)
        .filter(|bit| bits & bit != 0)
        .map(|bit| {
            table
                .iter()
                .find(|(b, _)| *b == bit)
                .map(|(_, n)| (*n).to_string())
                .unwrap_or_else(|| format!("{bit:#x}"))
        })
        .collect()
}
