//! Choosing a FAT's geometry for a given size the way `mkfs.fat` 4.2 (dosfstools) does by
//! default: FAT type, sectors per cluster, reserved sectors, FAT length, root directory size,
//! CHS geometry and the usable sector count.
//!
//! The rules (learnt from dosfstools 4.2's `mkfs.fat.c` and checked against `mkfs.vfat` by
//! `tests/fat_mkfs.rs`, which parses both boot sectors):
//! - 512-byte sectors, two FATs, media 0xf8, 512 root entries on FAT12/16.
//! - CHS geometry from the size (SD card rules up to 256 MiB, LBA-assist above).
//! - The sector count is rounded down to a whole number of tracks.
//! - FAT32 when the device is at least 512 MiB; its cluster size follows Microsoft's table
//!   (0.5 KiB up to 260 MiB, 4 KiB up to 8 GiB, 8 KiB to 16 GiB, 16 KiB to 32 GiB, 32 KiB above).
//! - Otherwise the cluster size starts at 4 sectors and doubles until FAT12 (≤ 4084 clusters)
//!   or FAT16 (4087..=65524 clusters) fits; the type with more clusters wins.
//! - Reserved sectors (1, or 32 on FAT32), the FAT length and the root directory are rounded up
//!   to whole clusters so clusters are aligned (not on file systems of 8192 sectors or less).
//!
//! One deliberate difference: `mkfs.vfat -F 32` on a device too small for 65525 clusters
//! warns and writes a FAT32 that every driver that counts clusters (the FAT specification,
//! U-Boot, the `fatfs` crate) reads as FAT16; norrec refuses it instead.

use crate::error::{DiskError, Result};

/// Sector size norrec formats with.
pub const SECTOR: u32 = 512;
/// Most clusters a FAT12 may have.
pub const MAX_CLUST_12: u32 = 4084;
/// Fewest clusters of a FAT16 (4085 and 4086 are read as FAT12 by Windows).
pub const MIN_CLUST_16: u32 = 4087;
/// Most clusters a FAT16 may have.
pub const MAX_CLUST_16: u32 = 65524;
/// Fewest clusters of a FAT32.
pub const MIN_CLUST_32: u32 = 65525;
/// Most clusters a FAT32 may have (28-bit entries, the top values reserved).
pub const MAX_CLUST_32: u32 = 268_435_446;

/// The three FAT variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FatType {
    Fat12,
    Fat16,
    Fat32,
}

impl FatType {
    /// Bits per FAT entry.
    pub fn bits(self) -> u32 {
        match self {
            FatType::Fat12 => 12,
            FatType::Fat16 => 16,
            FatType::Fat32 => 32,
        }
    }

    /// The type from a bit count (12, 16, 32).
    pub fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            12 => Some(FatType::Fat12),
            16 => Some(FatType::Fat16),
            32 => Some(FatType::Fat32),
            _ => None,
        }
    }

    /// The type a driver infers from the cluster count (the FAT specification's rule).
    pub fn from_clusters(clusters: u32) -> Self {
        if clusters < 4085 {
            FatType::Fat12
        } else if clusters < MIN_CLUST_32 {
            FatType::Fat16
        } else {
            FatType::Fat32
        }
    }
}

impl std::fmt::Display for FatType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FAT{}", self.bits())
    }
}

/// What the caller may choose; everything else follows `mkfs.fat`'s defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Choice {
    /// Force a FAT type (`mkfs.vfat -F`).
    pub fat_type: Option<FatType>,
    /// Force sectors per cluster (`mkfs.vfat -s`, a power of two up to 128).
    pub sectors_per_cluster: Option<u8>,
}

/// The geometry of a FAT file system, everything the boot sector records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub fat_type: FatType,
    /// Sectors in the file system (BPB total sectors), rounded down to whole tracks.
    pub total_sectors: u32,
    pub sectors_per_cluster: u8,
    pub reserved_sectors: u16,
    pub fats: u8,
    /// Root directory entries (0 on FAT32).
    pub root_entries: u16,
    /// Sectors per FAT.
    pub fat_sectors: u32,
    /// Data clusters.
    pub clusters: u32,
    pub media: u8,
    pub heads: u16,
    pub sectors_per_track: u16,
}

impl Params {
    /// Sectors of the FAT12/16 root directory (0 on FAT32).
    pub fn root_dir_sectors(&self) -> u32 {
        (u32::from(self.root_entries) * 32).div_ceil(SECTOR)
    }

    /// First sector of the data area (cluster 2).
    pub fn first_data_sector(&self) -> u32 {
        u32::from(self.reserved_sectors)
            + u32::from(self.fats) * self.fat_sectors
            + self.root_dir_sectors()
    }

    /// Bytes per cluster.
    pub fn cluster_bytes(&self) -> u32 {
        u32::from(self.sectors_per_cluster) * SECTOR
    }
}

/// CHS geometry `mkfs.fat` assumes for a device of `sectors` 512-byte sectors without one.
pub fn geometry(sectors: u64) -> (u16, u16) {
    if sectors <= 524_288 {
        let heads = match sectors {
            0..=32_768 => 2,
            32_769..=65_536 => 4,
            65_537..=262_144 => 8,
            _ => 16,
        };
        (heads, if sectors <= 4096 { 16 } else { 32 })
    } else {
        let heads = if sectors <= 16 * 63 * 1024 {
            16
        } else if sectors <= 32 * 63 * 1024 {
            32
        } else if sectors <= 64 * 63 * 1024 {
            64
        } else if sectors <= 128 * 63 * 1024 {
            128
        } else {
            255
        };
        (heads, 63)
    }
}

fn align(n: u64, to: u64, on: bool) -> u64 {
    if on { n.div_ceil(to) * to } else { n }
}

/// The parameters `mkfs.vfat` 4.2 picks for a device (or partition) of `bytes` bytes.
pub fn choose(bytes: u64, choice: Choice) -> Result<Params> {
    let too_small = |msg: String| DiskError::FatFormat(msg);
    if let Some(spc) = choice.sectors_per_cluster {
        if spc == 0 || !spc.is_power_of_two() {
            return Err(too_small(format!(
                "sectors per cluster {spc}: must be a power of two from 1 to 128"
            )));
        }
    }
    let dev_sectors = bytes / u64::from(SECTOR);
    let (heads, spt) = geometry(dev_sectors);
    let mut fat_type = choice.fat_type;
    if fat_type.is_none() && bytes >= 512 << 20 {
        fat_type = Some(FatType::Fat32);
    }
    let mut cluster: u64 = 4;
    if fat_type == Some(FatType::Fat32) {
        let s = dev_sectors;
        cluster = if s > 32 * 1024 * 1024 * 2 {
            64
        } else if s > 16 * 1024 * 1024 * 2 {
            32
        } else if s > 8 * 1024 * 1024 * 2 {
            16
        } else if s > 260 * 1024 * 2 {
            8
        } else {
            1
        };
    }
    let max_cluster: u64 = match choice.sectors_per_cluster {
        Some(s) => {
            cluster = u64::from(s);
            u64::from(s)
        }
        None => 128,
    };
    let reserved0: u64 = if fat_type == Some(FatType::Fat32) {
        32
    } else {
        1
    };
    let num_sectors = dev_sectors.min(u64::from(u32::MAX));
    let num_sectors = num_sectors / u64::from(spt) * u64::from(spt);
    // Tiny (floppy-sized) file systems are not cluster-aligned.
    let aligned = num_sectors > 8192;
    let ss = u64::from(SECTOR);
    let nf: u64 = 2;
    let root_entries0: u64 = 512;
    let root_dir_sectors = (root_entries0 * 32).div_ceil(ss);
    let (mut c12, mut c16, mut c32): (u64, u64, u64);
    let (mut f12, mut f16, mut f32): (u64, u64, u64);
    loop {
        let fatdata32 = num_sectors.saturating_sub(align(reserved0, cluster, aligned));
        let fatdata1216 = fatdata32.saturating_sub(align(root_dir_sectors, cluster, aligned));

        c12 = 2 * (fatdata1216 * ss + nf * 3) / (2 * cluster * ss + nf * 3);
        f12 = align((((c12 + 2) * 3 + 1) >> 1).div_ceil(ss), cluster, aligned);
        c12 = fatdata1216.saturating_sub(nf * f12) / cluster;
        let max12 = (f12 * 2 * ss / 3).min(u64::from(MAX_CLUST_12));
        if c12 > max12 {
            c12 = 0;
        }

        c16 = (fatdata1216 * ss + nf * 4) / (cluster * ss + nf * 2);
        f16 = align(((c16 + 2) * 2).div_ceil(ss), cluster, aligned);
        c16 = fatdata1216.saturating_sub(nf * f16) / cluster;
        let max16 = (f16 * ss / 2).min(u64::from(MAX_CLUST_16));
        if c16 > max16 {
            c16 = 0;
        }
        if c16 != 0 && c16 < u64::from(MIN_CLUST_16) {
            c16 = 0;
        }

        c32 = (fatdata32 * ss + nf * 8) / (cluster * ss + nf * 4);
        f32 = align(((c32 + 2) * 4).div_ceil(ss), cluster, aligned);
        c32 = fatdata32.saturating_sub(nf * f32) / cluster;
        let max32 = (f32 * ss / 4).min(u64::from(MAX_CLUST_32));
        if c32 > max32 {
            c32 = 0;
        }
        // Unlike mkfs.vfat -F 32, never a FAT32 that drivers would read as FAT16.
        if c32 != 0 && c32 < u64::from(MIN_CLUST_32) {
            c32 = 0;
        }

        let any = fat_type.is_none();
        if (c12 != 0 && (any || fat_type == Some(FatType::Fat12)))
            || (c16 != 0 && (any || fat_type == Some(FatType::Fat16)))
            || (c32 != 0 && fat_type == Some(FatType::Fat32))
        {
            break;
        }
        cluster <<= 1;
        if cluster > max_cluster || cluster > 128 {
            break;
        }
    }
    let ft = fat_type.unwrap_or(if c16 > c12 {
        FatType::Fat16
    } else {
        FatType::Fat12
    });
    let (clusters, fat_sectors) = match ft {
        FatType::Fat12 => (c12, f12),
        FatType::Fat16 => (c16, f16),
        FatType::Fat32 => (c32, f32),
    };
    let size = format!("{bytes} bytes");
    if clusters == 0 {
        let why = match ft {
            FatType::Fat12 => format!(
                "{size}: no cluster size gives FAT12 its 1..={MAX_CLUST_12} clusters (too large for FAT12?)"
            ),
            FatType::Fat16 => format!(
                "{size}: no cluster size gives FAT16 its {MIN_CLUST_16}..={MAX_CLUST_16} clusters (too small or too large for FAT16)"
            ),
            FatType::Fat32 => {
                format!("{size}: too small for FAT32, which needs at least {MIN_CLUST_32} clusters")
            }
        };
        return Err(too_small(why));
    }
    let reserved = align(reserved0, cluster, aligned);
    let root_entries = match ft {
        FatType::Fat32 => 0,
        _ if aligned => align(root_dir_sectors, cluster, true) * (ss / 32),
        _ => root_entries0,
    };
    let p = Params {
        fat_type: ft,
        total_sectors: num_sectors as u32,
        sectors_per_cluster: cluster as u8,
        reserved_sectors: u16::try_from(reserved)
            .map_err(|_| too_small(format!("{size}: reserved area too large")))?,
        fats: nf as u8,
        root_entries: u16::try_from(root_entries)
            .map_err(|_| too_small(format!("{size}: root directory too large")))?,
        fat_sectors: fat_sectors as u32,
        clusters: clusters as u32,
        media: 0xf8,
        heads,
        sectors_per_track: spt,
    };
    // mkfs.fat's sanity rule: at least 32 KiB of data area past the metadata.
    let data_start_kib = u64::from(p.first_data_sector()).div_ceil(2);
    if bytes / 1024 < data_start_kib + 32 {
        return Err(too_small(format!(
            "{size}: too few blocks for a viable file system"
        )));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    // Figures printed by `mkfs.vfat -v` (dosfstools 4.2) on plain files of these sizes.
    #[test]
    fn matches_mkfs_vfat_defaults() {
        let cases = [
            // size, type, sectors, spc, reserved, fat sectors, clusters, heads, spt
            (16 * MIB, FatType::Fat16, 32768, 4, 4, 32, 8167, 2, 32),
            (40 * MIB, FatType::Fat16, 81920, 4, 4, 80, 20431, 8, 32),
            (256 * MIB, FatType::Fat16, 524_288, 8, 8, 256, 65467, 16, 32),
            (
                1024 * MIB,
                FatType::Fat32,
                2_097_144,
                8,
                32,
                2048,
                261_627,
                64,
                63,
            ),
            (
                2048 * MIB,
                FatType::Fat32,
                4_194_288,
                8,
                32,
                4088,
                523_260,
                128,
                63,
            ),
        ];
        for (size, ft, sectors, spc, rsv, fats, clusters, heads, spt) in cases {
            let p = choose(size, Choice::default()).unwrap();
            assert_eq!(p.fat_type, ft, "{size}");
            assert_eq!(p.total_sectors, sectors, "{size}");
            assert_eq!(p.sectors_per_cluster, spc, "{size}");
            assert_eq!(p.reserved_sectors, rsv, "{size}");
            assert_eq!(p.fat_sectors, fats, "{size}");
            assert_eq!(p.clusters, clusters, "{size}");
            assert_eq!((p.heads, p.sectors_per_track), (heads, spt), "{size}");
        }
    }

    #[test]
    fn refuses_what_cannot_be() {
        let fat32 = Choice {
            fat_type: Some(FatType::Fat32),
            ..Choice::default()
        };
        // mkfs.vfat -F 32 warns and writes 64496 clusters here; norrec refuses.
        let e = choose(32 * MIB, fat32).unwrap_err().to_string();
        assert!(e.contains("too small for FAT32"), "{e}");
        // mkfs.vfat -F 32 on 40 MiB: 1 sector per cluster, FAT 630 sectors, 80628 clusters.
        let p = choose(40 * MIB, fat32).unwrap();
        assert_eq!(
            (
                p.sectors_per_cluster,
                p.fat_sectors,
                p.clusters,
                p.reserved_sectors
            ),
            (1, 630, 80628, 32)
        );
        let fat12 = Choice {
            fat_type: Some(FatType::Fat12),
            ..Choice::default()
        };
        assert!(choose(1024 * MIB, fat12).is_err());
        assert!(choose(20 * 1024, Choice::default()).is_err());
        let bad = Choice {
            sectors_per_cluster: Some(3),
            ..Choice::default()
        };
        assert!(choose(16 * MIB, bad).is_err());
    }
}
