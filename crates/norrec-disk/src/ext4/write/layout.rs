//! Geometry: how many blocks, groups and inodes an ext4 of a given size gets, computed as
//! mke2fs 1.47 computes it with this machine's `/etc/mke2fs.conf` (the size in whole 4 KiB
//! pages, usage types by size, inode ratio, inode table rounding, the last group dropped when
//! it is too small for its own metadata, groups made 8 blocks shorter until the inodes fit
//! the remaining groups, reserved GDT blocks for growing 1024 times, the default journal size
//! table).

use crate::error::{DiskError, Result};

/// Inode size in bytes (mke2fs.conf `inode_size = 256`).
pub const INODE_SIZE: u16 = 256;
/// Group descriptor size with the `64bit` feature.
pub const DESC_SIZE: u32 = 64;
/// `log2` of the groups per flex group (`flex_bg` of 16).
pub const LOG_GROUPS_PER_FLEX: u8 = 4;
/// The first inode that is not reserved.
pub const FIRST_INO: u32 = 11;

/// What the caller may choose; everything else follows from the size.
#[derive(Debug, Clone)]
pub struct Params {
    /// 1024, 2048 or 4096.
    pub block_size: u32,
    /// Bytes per inode (default: by usage type, like mke2fs).
    pub inode_ratio: Option<u32>,
    /// Exact number of inodes wanted (rounded up to fill the inode tables), overrides the ratio.
    pub inode_count: Option<u32>,
    /// Per cent of blocks reserved for root.
    pub reserved_percent: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            block_size: 4096,
            inode_ratio: None,
            inode_count: None,
            reserved_percent: 5.0,
        }
    }
}

/// The computed shape of the file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    pub block_size: u32,
    pub blocks: u64,
    pub first_data_block: u32,
    pub blocks_per_group: u32,
    pub groups: u32,
    pub inodes_per_group: u32,
    pub itable_blocks: u32,
    pub desc_blocks: u32,
    pub reserved_gdt: u32,
    pub journal_blocks: u32,
    pub reserved_blocks: u64,
}

/// mke2fs's usage type for a size in bytes: (name, inode ratio).
pub fn usage_type(bytes: u64) -> (&'static str, u32) {
    const MIB: u64 = 1 << 20;
    if bytes < 3 * MIB {
        ("floppy", 8192)
    } else if bytes < 512 * MIB {
        ("small", 4096)
    } else if bytes < 4 << 40 {
        ("default", 16384)
    } else if bytes < 16 << 40 {
        ("big", 32768)
    } else {
        ("huge", 65536)
    }
}

/// ext2fs_default_journal_size: journal blocks for a file system of `blocks` blocks.
pub fn default_journal_blocks(blocks: u64) -> Option<u32> {
    Some(match blocks {
        b if b < 2048 => return None,
        b if b < 32768 => 1024,
        b if b < 256 * 1024 => 4096,
        b if b < 512 * 1024 => 8192,
        b if b < 4096 * 1024 => 16384,
        b if b < 8192 * 1024 => 32768,
        b if b < 16384 * 1024 => 65536,
        b if b < 32768 * 1024 => 131072,
        _ => 262144,
    })
}

fn too_small(msg: String) -> DiskError {
    DiskError::Ext4Format(msg)
}

/// Whether group `g` holds a superblock copy with `sparse_super`: 0, 1 and powers of 3, 5, 7.
fn has_super(g: u32) -> bool {
    fn power_of(mut n: u32, b: u32) -> bool {
        while n % b == 0 {
            n /= b;
        }
        n == 1
    }
    g <= 1 || power_of(g, 3) || power_of(g, 5) || power_of(g, 7)
}

impl Geometry {
    /// Plans an ext4 for a device of `bytes` bytes.
    pub fn plan(bytes: u64, p: &Params) -> Result<Geometry> {
        let bs = p.block_size;
        if !matches!(bs, 1024 | 2048 | 4096) {
            return Err(too_small(format!(
                "block size {bs}: must be 1024, 2048 or 4096"
            )));
        }
        if !(0.0..=50.0).contains(&p.reserved_percent) {
            return Err(too_small(format!(
                "reserved blocks {} %: must be from 0 to 50",
                p.reserved_percent
            )));
        }
        let bs64 = u64::from(bs);
        // mke2fs takes the device size in whole pages (4 KiB) when the blocks are smaller.
        let mut blocks = (bytes / bs64) & !(4096 / bs64 - 1);
        let orig_blocks = blocks;
        let min_blocks = 2048u64;
        if blocks < min_blocks {
            return Err(too_small(format!(
                "too small for ext4: needs at least {min_blocks} blocks of {bs} bytes ({} KiB), the device has {blocks}",
                min_blocks * bs64 / 1024
            )));
        }
        if blocks > (1u64 << 32) * 16 {
            return Err(too_small(format!(
                "{blocks} blocks: norrec writes ext4 up to 2^36 blocks"
            )));
        }
        let ratio = match p.inode_ratio {
            Some(r) if r < bs || r > 1 << 26 || !r.is_power_of_two() && r % 1024 != 0 => {
                return Err(too_small(format!(
                    "inode ratio {r}: must be from the block size ({bs}) to 64 MiB"
                )));
            }
            Some(r) => r,
            None => usage_type(blocks * bs64).1,
        };
        let first_data_block: u32 = if bs == 1024 { 1 } else { 0 };
        let mut bpg = bs * 8;
        let ipb = bs / u32::from(INODE_SIZE);
        let gdpb = bs / DESC_SIZE;
        let wanted_inodes: u64 = match p.inode_count {
            Some(n) => u64::from(n),
            None => blocks * bs64 / u64::from(ratio),
        }
        .max(u64::from(FIRST_INO) + 1);
        // mke2fs sets the reserve from the first block count and, each time it drops a last
        // group, scales it by the ratio that reserve had (so 13106, not 13107, for
        // 1 GiB + 100 KiB); a retry with smaller groups keeps the last scaled value.
        let first_reserve = (p.reserved_percent * orig_blocks as f64 / 100.0) as u64;
        let mut reserved_blocks = first_reserve;
        loop {
            let data = blocks - u64::from(first_data_block);
            let groups = data.div_ceil(u64::from(bpg));
            let groups32 = u32::try_from(groups)
                .map_err(|_| too_small(format!("{groups} groups are too many")))?;
            let desc_blocks = groups32.div_ceil(gdpb);
            // Inodes per group: at most one bitmap block's worth. When more are wanted (a
            // group dropped at the end), mke2fs retries the whole size with groups 8 blocks
            // shorter, so that the inodes spread over one more group.
            let mut ipg = u32::try_from(wanted_inodes.div_ceil(groups)).unwrap_or(u32::MAX);
            if ipg > bs * 8 {
                if bpg >= 256 {
                    bpg -= 8;
                    blocks = orig_blocks;
                    continue;
                }
                return Err(too_small(format!(
                    "{wanted_inodes} inodes do not fit: the inode tables would fill whole groups"
                )));
            }
            // Reserved GDT blocks: room to grow to 1024 times the size (or 2^32 blocks).
            let mut max_blocks: u64 = 0xffff_ffff;
            if blocks < max_blocks / 1024 {
                max_blocks = blocks * 1024;
            }
            let rsv_groups = (max_blocks - u64::from(first_data_block)).div_ceil(u64::from(bpg));
            let rsv = (rsv_groups.div_ceil(u64::from(gdpb)) as i64 - i64::from(desc_blocks))
                .clamp(0, i64::from(bs / 4)) as u32;
            // Filling whole inode table blocks, a multiple of 8.
            ipg = ipg.min(65536 - ipb);
            let itb = (ipg * u32::from(INODE_SIZE)).div_ceil(bs);
            ipg = ((itb * bs / u32::from(INODE_SIZE)).max(8)) & !7;
            let itable_blocks = (ipg * u32::from(INODE_SIZE)).div_ceil(bs);
            if u64::from(ipg) * groups > u64::from(u32::MAX) {
                return Err(too_small("more than 2^32 inodes".into()));
            }
            if 3 + itable_blocks + rsv + desc_blocks > bpg {
                return Err(too_small(format!(
                    "{} inodes do not fit: the inode tables would fill whole groups",
                    wanted_inodes
                )));
            }
            // The last group must hold its bitmaps and inode table, and its superblock,
            // descriptors and reserved GDT blocks if it has a backup; if it has under 50
            // blocks besides, it is dropped.
            let mut overhead = 2 + itable_blocks;
            if has_super(groups32 - 1) {
                overhead += 1 + desc_blocks + rsv;
            }
            let rem = (data % u64::from(bpg)) as u32;
            if groups == 1 && rem != 0 && rem < overhead {
                return Err(too_small(format!(
                    "too small for ext4: needs at least {} blocks of {bs} bytes, the device has {blocks}",
                    u64::from(overhead) + u64::from(first_data_block)
                )));
            }
            if rem != 0 && rem < overhead + 50 {
                blocks -= u64::from(rem);
                let ratio = 100.0 * first_reserve as f64 / orig_blocks as f64;
                reserved_blocks = (ratio * blocks as f64 / 100.0) as u64;
                continue;
            }
            let journal_blocks = default_journal_blocks(blocks).ok_or_else(|| {
                too_small(format!(
                    "too small for ext4: needs at least {min_blocks} blocks"
                ))
            })?;
            return Ok(Geometry {
                block_size: bs,
                blocks,
                first_data_block,
                blocks_per_group: bpg,
                groups: groups32,
                inodes_per_group: ipg,
                itable_blocks,
                desc_blocks,
                reserved_gdt: rsv,
                journal_blocks,
                reserved_blocks,
            });
        }
    }

    /// Total inodes.
    pub fn inodes(&self) -> u32 {
        self.inodes_per_group * self.groups
    }

    /// The first block of group `g`.
    pub fn group_first(&self, g: u32) -> u64 {
        u64::from(self.first_data_block) + u64::from(g) * u64::from(self.blocks_per_group)
    }

    /// Blocks in group `g` (the last one may be shorter).
    pub fn group_len(&self, g: u32) -> u32 {
        let first = self.group_first(g);
        (self.blocks - first).min(u64::from(self.blocks_per_group)) as u32
    }

    /// Whether group `g` holds a superblock copy (`sparse_super`: 0, 1 and powers of 3, 5, 7).
    pub fn has_super(&self, g: u32) -> bool {
        has_super(g)
    }

    /// Blocks at the start of group `g` taken by the superblock, descriptors and reserved GDT.
    pub fn super_overhead(&self, g: u32) -> u32 {
        if self.has_super(g) {
            1 + self.desc_blocks + self.reserved_gdt
        } else {
            0
        }
    }

    /// Groups per flex group.
    pub fn flex(&self) -> u32 {
        1 << LOG_GROUPS_PER_FLEX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(bytes: u64) -> Geometry {
        Geometry::plan(bytes, &Params::default()).unwrap()
    }

    #[test]
    fn matches_mke2fs_at_4k() {
        // Figures from dumpe2fs -h of mkfs.ext4 (-b 4096) images on this machine.
        let g = plan(1 << 30);
        assert_eq!((g.blocks, g.groups, g.inodes()), (262144, 8, 65536));
        assert_eq!(
            (g.reserved_gdt, g.journal_blocks, g.reserved_blocks),
            (127, 8192, 13107)
        );
        assert_eq!(g.itable_blocks, 512);
        let g = plan(3 << 30);
        assert_eq!(
            (g.inodes(), g.reserved_gdt, g.journal_blocks),
            (196608, 383, 16384)
        );
        let g = plan(16 << 20);
        assert_eq!(
            (g.blocks, g.inodes(), g.reserved_gdt, g.journal_blocks),
            (4096, 4096, 1, 1024)
        );
        assert_eq!(g.reserved_blocks, 204);
        let g = plan(300 << 20);
        assert_eq!(
            (g.inodes(), g.reserved_gdt, g.inodes_per_group),
            (76800, 37, 25600)
        );
    }

    #[test]
    fn matches_mke2fs_at_awkward_sizes() {
        // dumpe2fs -h of mkfs.ext4 images. 8 MiB at 4 KiB: one descriptor block is all that
        // growing 1024 times needs, so no reserved GDT blocks.
        let g = plan(8 << 20);
        assert_eq!((g.blocks, g.groups, g.reserved_gdt), (2048, 1, 0));
        // 129 MiB at 4 KiB: 33024 inodes do not fit one group once the 256-block second
        // group is dropped, so the groups shrink to 31920 blocks and both stay.
        let g = plan(129 << 20);
        assert_eq!(
            (g.blocks, g.blocks_per_group, g.groups, g.inodes_per_group),
            (33024, 31920, 2, 16512)
        );
        assert_eq!(
            (g.reserved_gdt, g.itable_blocks, g.reserved_blocks),
            (16, 1032, 1596)
        );
        // 128 MiB + 5000 bytes: the same, from a second group of 1 block.
        let g = plan((128 << 20) + 5000);
        assert_eq!(
            (g.blocks, g.blocks_per_group, g.inodes()),
            (32769, 31672, 32800)
        );
        // 1 KiB blocks: whole 4 KiB pages, so 3 MiB - 1 byte is 3068 blocks, not 3071.
        let p = Params {
            block_size: 1024,
            ..Params::default()
        };
        let g = Geometry::plan((3 << 20) - 1, &p).unwrap();
        assert_eq!((g.blocks, g.inodes(), g.reserved_gdt), (3068, 384, 23));
        let g = Geometry::plan((8 << 20) + 4095, &p).unwrap();
        assert_eq!((g.blocks, g.groups, g.reserved_gdt), (8192, 1, 63));
    }

    #[test]
    fn sparse_super_groups() {
        let g = plan(1 << 30);
        let with: Vec<u32> = (0..30).filter(|&i| g.has_super(i)).collect();
        assert_eq!(with, [0, 1, 3, 5, 7, 9, 25, 27]);
    }

    #[test]
    fn too_small_names_the_minimum() {
        let e = Geometry::plan(4 << 20, &Params::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs at least 2048 blocks"), "{e}");
    }
}
