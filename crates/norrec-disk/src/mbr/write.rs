//! Writing the table part of sector 0 (bytes 440..512), exactly as libfdisk does: the disk
//! identifier, two zero bytes, four entries (unused ones all zero), `55 aa`. Bytes 0..440 are
//! left as they are.

use super::read::{DISK_ID, ENTRIES, ENTRY, SIGNATURE};
use super::{DosTable, SECTOR};
use crate::error::{DiskError, Result};

/// The geometry libfdisk assumes for image files and modern devices.
pub const HEADS: u64 = 255;
/// Sectors per track of that geometry.
pub const SECTORS: u64 = 63;

/// The 3 CHS bytes (head, sector | cylinder high bits, cylinder low byte) for `lba`, with LBAs
/// past cylinder 1023 pinned to the last addressable CHS (1023/254/63), as libfdisk does.
pub fn chs(lba: u64) -> [u8; 3] {
    let spc = HEADS * SECTORS;
    let lba = if lba / spc > 1023 {
        spc * 1024 - 1
    } else {
        lba
    };
    let cyl = lba / spc;
    let head = (lba / SECTORS) % HEADS;
    let sector = lba % SECTORS + 1;
    [
        head as u8,
        ((sector & 0x3f) | ((cyl >> 2) & 0xc0)) as u8,
        (cyl & 0xff) as u8,
    ]
}

/// Writes `table` into `sector` (bytes 440..512).
pub fn encode(table: &DosTable, sector: &mut [u8; SECTOR]) -> Result<()> {
    sector[DISK_ID..DISK_ID + 4].copy_from_slice(&table.disk_id.to_le_bytes());
    sector[DISK_ID + 4..ENTRIES].fill(0);
    for (i, slot) in table.slots.iter().enumerate() {
        let e = &mut sector[ENTRIES + i * ENTRY..ENTRIES + (i + 1) * ENTRY];
        e.fill(0);
        let Some(p) = slot else { continue };
        let start = u32::try_from(p.start).ok();
        let size = u32::try_from(p.size).ok().filter(|&s| s > 0);
        let (Some(start), Some(size)) = (start, size) else {
            return Err(DiskError::Mbr(format!(
                "partition {}: start {} / size {} do not fit an MBR entry (32-bit sectors)",
                i + 1,
                p.start,
                p.size
            )));
        };
        e[0] = if p.bootable { 0x80 } else { 0 };
        e[1..4].copy_from_slice(&chs(p.start));
        e[4] = p.ptype;
        e[5..8].copy_from_slice(&chs(p.end()));
        e[8..12].copy_from_slice(&start.to_le_bytes());
        e[12..16].copy_from_slice(&size.to_le_bytes());
    }
    sector[SIGNATURE] = 0x55;
    sector[SIGNATURE + 1] = 0xaa;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mbr::DosPartition;

    #[test]
    fn chs_as_sfdisk_writes_it() {
        // From sfdisk 2.38 on a 1 GiB image: LBA 4096 → 41 02 00, 86015 → 5a 15 05,
        // 2097151 → 8a 08 82.
        assert_eq!(chs(4096), [0x41, 0x02, 0x00]);
        assert_eq!(chs(86015), [0x5a, 0x15, 0x05]);
        assert_eq!(chs(2_097_151), [0x8a, 0x08, 0x82]);
        // Past cylinder 1023 (8 GiB): pinned to fe ff ff.
        assert_eq!(chs(100_000_000), [0xfe, 0xff, 0xff]);
    }

    #[test]
    fn encodes_entries_and_keeps_boot_code() {
        let mut s = [0xabu8; 512];
        let mut t = DosTable {
            disk_id: 0x1122_3344,
            ..Default::default()
        };
        t.slots[0] = Some(DosPartition {
            start: 2048,
            size: 2_095_104,
            ptype: 0x0c,
            bootable: false,
        });
        encode(&t, &mut s).unwrap();
        assert!(s[..440].iter().all(|&b| b == 0xab));
        // 440: id LE, 444: 00 00, 446: entry 1.
        assert_eq!(&s[440..446], &[0x44, 0x33, 0x22, 0x11, 0, 0]);
        assert_eq!(
            &s[446..462],
            &[
                0x00, 0x20, 0x21, 0x00, 0x0c, 0x8a, 0x08, 0x82, 0x00, 0x08, 0x00, 0x00, 0x00, 0xf8,
                0x1f, 0x00
            ]
        );
        assert!(s[462..510].iter().all(|&b| b == 0));
        assert_eq!(&s[510..], &[0x55, 0xaa]);
        t.slots[1] = Some(DosPartition {
            start: 1 << 32,
            size: 1,
            ptype: 0x83,
            bootable: false,
        });
        assert!(
            encode(&t, &mut s)
                .unwrap_err()
                .to_string()
                .contains("partition 2")
        );
    }
}
