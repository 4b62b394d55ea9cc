//! The recovery's journal: what the recovery has done, kept on the eMMC itself so that a run
//! after a power cut knows where to go on.
//!
//! **Where.** In the raw area just before the board layout's first partition: [`AREA`] bytes
//! ending at the first partition's start (for the Cubieboard, p1 at sector 4096, so bytes
//! 0x1fe000..0x200000). That area is outside every partition (no file system or installed image
//! writes there), and after the SPL and U-Boot, which the bundle writes from 8 KiB on and which
//! end before 1 MiB ([`SPL_END`]; a layout whose first partition leaves no room above it is
//! refused). It is also outside the MBR sector, so writing the partition table never touches it
//! and the journal can be written before the card has any table.
//!
//! **What.** A fixed [`RECORD`]-byte record (little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `NORRECJ\0` |
//! | 8..12 | version (1) |
//! | 12..20 | sequence number, +1 for every record written |
//! | 20 | last step completed ([`crate::recovery::Step`] number, 0 = none) |
//! | 21 | step started and not yet completed (0 = none) |
//! | 22 | flags: bit 0 = the data partition is (being) formatted in this run |
//! | 23 | reserved (0) |
//! | 24..32 | outcome of steps 1..8 (0 not run, 1 done, 2 skipped: already as wanted) |
//! | 32..36 | FAT volume id of the boot partition |
//! | 36..40 | MBR disk identifier |
//! | 40..56 | ext4 UUID of the data partition |
//! | 56..72 | ext4 directory hash seed |
//! | 72..80 | creation time of the file systems (Unix seconds) |
//! | 80..88 | size of the bundle on the stick |
//! | 88..152 | name of the bundle on the stick (NUL padded, 64 bytes) |
//! | 152..4092 | zero |
//! | 4092..4096 | CRC-32 (IEEE, as zlib) of bytes 0..4092 |
//!
//! **Why twice.** A record is written to slot `seq % 2` (slot A at the area's start, slot B
//! 4 KiB later) and flushed; the other slot keeps the previous record. A write cut by a power
//! loss leaves at most one slot torn, which its CRC shows, and the other one is the last good
//! state: reading takes the valid slot with the higher sequence number. One slot alone would,
//! after a torn write, lose the whole history and with it the identity below.
//!
//! **Why the identity.** The volume id, disk id, UUID, hash seed and time that go into what the
//! recovery formats are chosen once, on the first run, and kept in the journal: a re-run after
//! an interruption formats with the same ones, so it ends in the same bytes as a run that was
//! never interrupted (the boot partition is reformatted on every run).

use norrec_disk::BlockDevice;

use crate::error::{Error, Result};

/// Size of one record (one slot).
pub const RECORD: usize = 4096;
/// Size of the journal area: two slots.
pub const AREA: u64 = 2 * RECORD as u64;
/// The SPL and U-Boot must end before this byte of the eMMC (Allwinner's SPL at 8 KiB plus
/// U-Boot proper take up to about 1 MiB); the journal must lie at or beyond it.
pub const SPL_END: u64 = 1 << 20;
/// The record's magic.
pub const MAGIC: &[u8; 8] = b"NORRECJ\0";
/// The record layout's version.
pub const VERSION: u32 = 1;

/// What the recovery puts into the file systems it makes; chosen once, kept in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub volume_id: u32,
    pub disk_id: u32,
    pub uuid: [u8; 16],
    pub hash_seed: [u8; 16],
    pub time: i64,
}

/// One journal record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    /// The last step completed (0 = none).
    pub done: u8,
    /// The step started and not completed (0 = none).
    pub started: u8,
    /// The data partition is (being) formatted in this run.
    pub format_data: bool,
    /// Outcome of steps 1..=8: 0 not run, 1 done, 2 skipped.
    pub outcomes: [u8; 8],
    pub identity: Identity,
    pub bundle_size: u64,
    pub bundle_name: String,
}

/// Outcome code: done.
pub const DONE: u8 = 1;
/// Outcome code: skipped, the card was already as wanted.
pub const SKIPPED: u8 = 2;

impl Record {
    /// The record's bytes with its CRC.
    pub fn encode(&self) -> [u8; RECORD] {
        let mut b = [0u8; RECORD];
        b[0..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&VERSION.to_le_bytes());
        b[12..20].copy_from_slice(&self.seq.to_le_bytes());
        b[20] = self.done;
        b[21] = self.started;
        b[22] = u8::from(self.format_data);
        b[24..32].copy_from_slice(&self.outcomes);
        let id = &self.identity;
        b[32..36].copy_from_slice(&id.volume_id.to_le_bytes());
        b[36..40].copy_from_slice(&id.disk_id.to_le_bytes());
        b[40..56].copy_from_slice(&id.uuid);
        b[56..72].copy_from_slice(&id.hash_seed);
        b[72..80].copy_from_slice(&id.time.to_le_bytes());
        b[80..88].copy_from_slice(&self.bundle_size.to_le_bytes());
        let name = self.bundle_name.as_bytes();
        let n = name.len().min(64);
        b[88..88 + n].copy_from_slice(&name[..n]);
        let crc = crc32fast::hash(&b[..RECORD - 4]);
        b[RECORD - 4..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Parses a slot; `Err` names the field that is wrong (an empty or torn slot is an error
    /// here, and simply not used by [`read`]).
    pub fn decode(b: &[u8]) -> std::result::Result<Record, String> {
        if b.len() != RECORD {
            return Err(format!("record is {} bytes, not {RECORD}", b.len()));
        }
        if &b[0..8] != MAGIC {
            return Err("magic (bytes 0..8) is not NORRECJ".into());
        }
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        let stored = u32_at(RECORD - 4);
        let crc = crc32fast::hash(&b[..RECORD - 4]);
        if stored != crc {
            return Err(format!(
                "crc32 at byte {} is {stored:#010x}, the record's is {crc:#010x} (torn write)",
                RECORD - 4
            ));
        }
        let version = u32_at(8);
        if version != VERSION {
            return Err(format!(
                "version (bytes 8..12) {version}, norrec knows {VERSION}"
            ));
        }
        let name_end = b[88..152].iter().position(|&c| c == 0).unwrap_or(64);
        Ok(Record {
            seq: u64_at(12),
            done: b[20],
            started: b[21],
            format_data: b[22] & 1 != 0,
            outcomes: b[24..32].try_into().expect("8 bytes"),
            identity: Identity {
                volume_id: u32_at(32),
                disk_id: u32_at(36),
                uuid: b[40..56].try_into().expect("16 bytes"),
                hash_seed: b[56..72].try_into().expect("16 bytes"),
                time: u64_at(72) as i64,
            },
            bundle_size: u64_at(80),
            bundle_name: String::from_utf8_lossy(&b[88..88 + name_end]).into_owned(),
        })
    }
}

/// Where the journal lives for a first partition starting at byte `first_partition`: the
/// [`AREA`] bytes before it. Refused when that reaches below [`SPL_END`].
pub fn area_offset(first_partition: u64) -> Result<u64> {
    match first_partition.checked_sub(AREA) {
        Some(o) if o >= SPL_END => Ok(o),
        _ => Err(Error::Recovery(format!(
            "the layout's first partition starts at byte {first_partition:#x}: no room for the \
             {AREA}-byte journal between the SPL/U-Boot area (up to {SPL_END:#x}) and it"
        ))),
    }
}

/// The newest valid record of the journal at `offset`, if any.
pub fn read(dev: &mut dyn BlockDevice, offset: u64) -> Result<Option<Record>> {
    let mut best: Option<Record> = None;
    for slot in 0..2u64 {
        let mut b = vec![0u8; RECORD];
        dev.read_at(offset + slot * RECORD as u64, &mut b)
            .map_err(|e| Error::Recovery(format!("journal at {offset:#x}: {e}")))?;
        if let Ok(r) = Record::decode(&b) {
            if best.as_ref().is_none_or(|x| r.seq > x.seq) {
                best = Some(r);
            }
        }
    }
    Ok(best)
}

/// Writes `r` into its slot (`seq % 2`) and flushes.
pub fn write(dev: &mut dyn BlockDevice, offset: u64, r: &Record) -> Result<()> {
    let at = offset + (r.seq % 2) * RECORD as u64;
    dev.write_at(at, &r.encode())
        .and_then(|()| dev.flush())
        .map_err(|e| Error::Recovery(format!("journal at {at:#x}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use norrec_disk::MemDevice;

    fn record(seq: u64) -> Record {
        Record {
            seq,
            done: 3,
            started: 4,
            format_data: true,
            outcomes: [1, 2, 1, 0, 0, 0, 0, 0],
            identity: Identity {
                volume_id: 0x1234_5678,
                disk_id: 0x9abc_def0,
                uuid: [7; 16],
                hash_seed: [9; 16],
                time: 1_700_000_000,
            },
            bundle_size: 12345,
            bundle_name: "update.swu".into(),
        }
    }

    #[test]
    fn encode_is_byte_exact_and_round_trips() {
        let r = record(5);
        let b = r.encode();
        assert_eq!(&b[0..8], b"NORRECJ\0"); // magic
        assert_eq!(&b[8..12], &[1, 0, 0, 0]); // version 1, LE
        assert_eq!(&b[12..20], &[5, 0, 0, 0, 0, 0, 0, 0]); // seq
        assert_eq!(&b[20..23], &[3, 4, 1]); // done, started, flags
        assert_eq!(&b[32..36], &[0x78, 0x56, 0x34, 0x12]); // volume id LE
        assert_eq!(&b[88..98], b"update.swu"); // bundle name
        assert_eq!(b[98], 0);
        let crc = crc32fast::hash(&b[..4092]);
        assert_eq!(&b[4092..], &crc.to_le_bytes()); // crc32 at 4092
        assert_eq!(Record::decode(&b).unwrap(), r);
    }

    #[test]
    fn torn_or_foreign_slots_are_refused_by_field() {
        let mut b = record(1).encode();
        b[100] ^= 1;
        let e = Record::decode(&b).unwrap_err();
        assert!(e.contains("crc32 at byte 4092"), "{e}");
        let e = Record::decode(&[0u8; RECORD]).unwrap_err();
        assert!(e.contains("magic (bytes 0..8)"), "{e}");
    }

    #[test]
    fn newest_valid_slot_wins_and_a_torn_write_falls_back() {
        let mut dev = MemDevice::zeroed(3 << 20);
        let at = area_offset(2 << 20).unwrap();
        assert_eq!(at, 0x1f_e000);
        assert_eq!(read(&mut dev, at).unwrap(), None);
        write(&mut dev, at, &record(1)).unwrap(); // slot B
        write(&mut dev, at, &record(2)).unwrap(); // slot A
        assert_eq!(read(&mut dev, at).unwrap().unwrap().seq, 2);
        // record 3 goes to slot B; tear it (only its first half lands)
        let three = record(3).encode();
        dev.write_at(at + RECORD as u64, &three[..RECORD / 2])
            .unwrap();
        assert_eq!(read(&mut dev, at).unwrap().unwrap().seq, 2);
        write(&mut dev, at, &record(3)).unwrap();
        assert_eq!(read(&mut dev, at).unwrap().unwrap().seq, 3);
    }

    #[test]
    fn journal_must_stay_above_the_spl() {
        assert!(area_offset(1 << 20).is_err());
        assert!(area_offset(0).is_err());
        assert_eq!(area_offset((1 << 20) + AREA).unwrap(), 1 << 20);
    }
}
