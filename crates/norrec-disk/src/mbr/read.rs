//! Zero-copy reading of sector 0 (see the layout in [`crate::mbr`]).

use super::{DosPartition, DosTable, SECTOR};
use crate::error::{DiskError, Result};

/// Offset of the disk identifier.
pub const DISK_ID: usize = 440;
/// Offset of the first partition entry.
pub const ENTRIES: usize = 446;
/// Size of one partition entry.
pub const ENTRY: usize = 16;
/// Offset of the `55 aa` signature.
pub const SIGNATURE: usize = 510;

/// A view of an MBR sector.
#[derive(Debug, Clone, Copy)]
pub struct Mbr<'a> {
    bytes: &'a [u8],
}

/// A view of one 16-byte partition entry.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    bytes: &'a [u8],
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl<'a> Mbr<'a> {
    /// Checks length and signature.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() < SECTOR {
            return Err(DiskError::Mbr(format!(
                "sector 0 is {} bytes, need {SECTOR}",
                bytes.len()
            )));
        }
        if bytes[SIGNATURE..SIGNATURE + 2] != [0x55, 0xaa] {
            return Err(DiskError::Mbr(format!(
                "no partition table: bytes {SIGNATURE}..{} are {:02x} {:02x}, not 55 aa",
                SIGNATURE + 2,
                bytes[SIGNATURE],
                bytes[SIGNATURE + 1]
            )));
        }
        Ok(Mbr { bytes })
    }

    /// The disk identifier (bytes 440..444, little-endian).
    pub fn disk_id(&self) -> u32 {
        le32(&self.bytes[DISK_ID..])
    }

    /// Entry `i` (0..4).
    pub fn entry(&self, i: usize) -> Entry<'a> {
        let o = ENTRIES + i * ENTRY;
        Entry {
            bytes: &self.bytes[o..o + ENTRY],
        }
    }

    /// The table; entries with a zero sector count are unused (libfdisk's rule). A GPT
    /// protective MBR (type 0xee) is refused: norrec reads MBR tables only.
    pub fn table(&self) -> Result<DosTable> {
        let mut t = DosTable {
            disk_id: self.disk_id(),
            slots: [None; 4],
        };
        for i in 0..4 {
            let e = self.entry(i);
            if e.sectors() == 0 {
                continue;
            }
            if e.ptype() == 0xee {
                return Err(DiskError::Mbr(format!(
                    "entry {} (byte {}) is a GPT protective partition: GPT is not supported",
                    i + 1,
                    ENTRIES + i * ENTRY
                )));
            }
            t.slots[i] = Some(DosPartition {
                start: u64::from(e.start_lba()),
                size: u64::from(e.sectors()),
                ptype: e.ptype(),
                bootable: e.boot_flag() == 0x80,
            });
        }
        Ok(t)
    }
}

impl Entry<'_> {
    /// Byte 0: 0x80 bootable, 0 not.
    pub fn boot_flag(&self) -> u8 {
        self.bytes[0]
    }
    /// Bytes 1..4: CHS of the first sector as stored.
    pub fn chs_start(&self) -> [u8; 3] {
        [self.bytes[1], self.bytes[2], self.bytes[3]]
    }
    /// Byte 4: the type.
    pub fn ptype(&self) -> u8 {
        self.bytes[4]
    }
    /// Bytes 5..8: CHS of the last sector as stored.
    pub fn chs_end(&self) -> [u8; 3] {
        [self.bytes[5], self.bytes[6], self.bytes[7]]
    }
    /// Bytes 8..12: first LBA.
    pub fn start_lba(&self) -> u32 {
        le32(&self.bytes[8..])
    }
    /// Bytes 12..16: number of sectors.
    pub fn sectors(&self) -> u32 {
        le32(&self.bytes[12..])
    }
}

/// Whether a partition type is an extended (container) partition norrec does not follow.
pub fn is_extended(ptype: u8) -> bool {
    matches!(ptype, 0x05 | 0x0f | 0x85)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_missing_signature_naming_offset() {
        let s = [0u8; 512];
        let err = Mbr::parse(&s).unwrap_err().to_string();
        assert!(err.contains("510..512"), "{err}");
        assert!(Mbr::parse(&s[..100]).is_err());
    }

    #[test]
    fn reads_entries() {
        let mut s = [0u8; 512];
        s[440..444].copy_from_slice(&0x348a_a4b8u32.to_le_bytes());
        // Entry 1 at 446: bootable, type 0x0c, LBA 4096, 81920 sectors.
        s[446] = 0x80;
        s[450] = 0x0c;
        s[454..458].copy_from_slice(&4096u32.to_le_bytes());
        s[458..462].copy_from_slice(&81920u32.to_le_bytes());
        // Entry 3 at 478 has a type but no sectors: unused.
        s[482] = 0x83;
        s[510] = 0x55;
        s[511] = 0xaa;
        let m = Mbr::parse(&s).unwrap();
        let t = m.table().unwrap();
        assert_eq!(t.disk_id, 0x348a_a4b8);
        assert_eq!(
            t.slots[0],
            Some(DosPartition {
                start: 4096,
                size: 81920,
                ptype: 0x0c,
                bootable: true
            })
        );
        assert_eq!(t.slots[2], None);
        s[450] = 0xee;
        assert!(Mbr::parse(&s).unwrap().table().is_err());
    }
}
