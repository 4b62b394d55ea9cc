//! The read side of the boot sector: a zero-copy view over its 512 bytes that names every
//! field, and the checks that tell a FAT from something else.
//!
//! Layout (offsets in bytes, little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 3 | jump (`eb xx 90`) |
//! | 3 | 8 | OEM name |
//! | 11 | 2 | bytes per sector |
//! | 13 | 1 | sectors per cluster |
//! | 14 | 2 | reserved sectors |
//! | 16 | 1 | number of FATs |
//! | 17 | 2 | root directory entries (0 on FAT32) |
//! | 19 | 2 | total sectors (16-bit; 0 if the 32-bit field is used) |
//! | 21 | 1 | media |
//! | 22 | 2 | sectors per FAT (FAT12/16; 0 on FAT32) |
//! | 24 | 2 | sectors per track |
//! | 26 | 2 | heads |
//! | 28 | 4 | hidden sectors (the partition's first LBA) |
//! | 32 | 4 | total sectors (32-bit) |
//! | FAT12/16: 36 | 1, 1, 1, 4, 11, 8 | drive, reserved, `0x29`, volume id, label, type string |
//! | FAT32: 36 | 4 | sectors per FAT |
//! | FAT32: 40, 42, 44, 48, 50 | 2, 2, 4, 2, 2 | flags, version, root cluster, FSInfo sector, backup boot sector |
//! | FAT32: 64 | 1, 1, 1, 4, 11, 8 | drive, reserved, `0x29`, volume id, label, type string |
//! | 510 | 2 | `55 aa` |

use super::params::FatType;
use crate::error::{DiskError, Result};

/// Offset of the extended BPB (drive number …) on FAT12/16.
pub const EBPB_1216: usize = 36;
/// Offset of the extended BPB on FAT32.
pub const EBPB_32: usize = 64;

/// A parsed boot sector, borrowing its bytes.
#[derive(Debug, Clone, Copy)]
pub struct BootSector<'a> {
    b: &'a [u8],
}

fn le16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

impl<'a> BootSector<'a> {
    /// Checks that `b` (at least 512 bytes) is a FAT boot sector; every refusal names the field.
    pub fn parse(b: &'a [u8]) -> Result<Self> {
        let bad = |field: &str, off: usize, why: String| {
            DiskError::NotFat(format!("boot sector offset {off} ({field}): {why}"))
        };
        if b.len() < 512 {
            return Err(DiskError::NotFat(format!(
                "boot sector: {} bytes, need 512",
                b.len()
            )));
        }
        if b[510] != 0x55 || b[511] != 0xaa {
            return Err(bad(
                "signature",
                510,
                format!("{:02x} {:02x}, not 55 aa", b[510], b[511]),
            ));
        }
        if b[0] != 0xeb && b[0] != 0xe9 {
            return Err(bad("jump", 0, format!("{:#04x}, not a jump", b[0])));
        }
        let s = BootSector { b };
        let bps = s.bytes_per_sector();
        if !bps.is_power_of_two() || !(512..=4096).contains(&bps) {
            return Err(bad("bytes per sector", 11, bps.to_string()));
        }
        let spc = s.sectors_per_cluster();
        if spc == 0 || !spc.is_power_of_two() {
            return Err(bad("sectors per cluster", 13, spc.to_string()));
        }
        if s.reserved_sectors() == 0 {
            return Err(bad("reserved sectors", 14, "0".into()));
        }
        if s.fats() == 0 {
            return Err(bad("number of FATs", 16, "0".into()));
        }
        if s.fat_sectors() == 0 {
            return Err(bad("sectors per FAT", 22, "0".into()));
        }
        if s.total_sectors() <= s.first_data_sector() {
            return Err(bad(
                "total sectors",
                19,
                format!(
                    "{} leaves no data area (data starts at sector {})",
                    s.total_sectors(),
                    s.first_data_sector()
                ),
            ));
        }
        if s.clusters() == 0 {
            return Err(bad("total sectors", 19, "no clusters".into()));
        }
        Ok(s)
    }

    pub fn oem_name(&self) -> &'a [u8] {
        &self.b[3..11]
    }
    pub fn bytes_per_sector(&self) -> u16 {
        le16(self.b, 11)
    }
    pub fn sectors_per_cluster(&self) -> u8 {
        self.b[13]
    }
    pub fn reserved_sectors(&self) -> u16 {
        le16(self.b, 14)
    }
    pub fn fats(&self) -> u8 {
        self.b[16]
    }
    pub fn root_entries(&self) -> u16 {
        le16(self.b, 17)
    }
    pub fn media(&self) -> u8 {
        self.b[21]
    }
    pub fn sectors_per_track(&self) -> u16 {
        le16(self.b, 24)
    }
    pub fn heads(&self) -> u16 {
        le16(self.b, 26)
    }
    pub fn hidden_sectors(&self) -> u32 {
        le32(self.b, 28)
    }
    /// The 16-bit total if set, else the 32-bit one.
    pub fn total_sectors(&self) -> u32 {
        match le16(self.b, 19) {
            0 => le32(self.b, 32),
            n => u32::from(n),
        }
    }
    /// Whether the BPB has the FAT32 shape (16-bit FAT length zero).
    pub fn is_fat32_layout(&self) -> bool {
        le16(self.b, 22) == 0
    }
    pub fn fat_sectors(&self) -> u32 {
        match le16(self.b, 22) {
            0 => le32(self.b, 36),
            n => u32::from(n),
        }
    }
    pub fn root_dir_sectors(&self) -> u32 {
        (u32::from(self.root_entries()) * 32).div_ceil(u32::from(self.bytes_per_sector()))
    }
    pub fn first_data_sector(&self) -> u32 {
        u32::from(self.reserved_sectors())
            + u32::from(self.fats()) * self.fat_sectors()
            + self.root_dir_sectors()
    }
    pub fn clusters(&self) -> u32 {
        (self
            .total_sectors()
            .saturating_sub(self.first_data_sector()))
            / u32::from(self.sectors_per_cluster())
    }
    /// The type by cluster count, as drivers decide it.
    pub fn fat_type(&self) -> FatType {
        FatType::from_clusters(self.clusters())
    }
    fn ebpb(&self) -> usize {
        if self.is_fat32_layout() {
            EBPB_32
        } else {
            EBPB_1216
        }
    }
    /// FAT32 only: the root directory's first cluster.
    pub fn root_cluster(&self) -> Option<u32> {
        self.is_fat32_layout().then(|| le32(self.b, 44))
    }
    /// FAT32 only: the FSInfo sector.
    pub fn fsinfo_sector(&self) -> Option<u16> {
        self.is_fat32_layout().then(|| le16(self.b, 48))
    }
    /// FAT32 only: the backup boot sector.
    pub fn backup_boot_sector(&self) -> Option<u16> {
        self.is_fat32_layout().then(|| le16(self.b, 50))
    }
    pub fn drive_number(&self) -> u8 {
        self.b[self.ebpb()]
    }
    /// The volume id, when the extended signature 0x29 is there.
    pub fn volume_id(&self) -> Option<u32> {
        let o = self.ebpb();
        (self.b[o + 2] == 0x29).then(|| le32(self.b, o + 3))
    }
    /// The boot sector's copy of the label (`NO NAME    ` when none).
    pub fn label(&self) -> Option<&'a [u8]> {
        let o = self.ebpb();
        (self.b[o + 2] == 0x29).then(|| &self.b[o + 7..o + 18])
    }
    /// The informational type string (`FAT16   `…).
    pub fn type_string(&self) -> Option<&'a [u8]> {
        let o = self.ebpb();
        (self.b[o + 2] == 0x29).then(|| &self.b[o + 18..o + 26])
    }
}
