//! MBR ("dos") partition tables: the model ([`DosTable`]), the zero-copy reader ([`read`]) and
//! the writer ([`write`](mod@write)).
//!
//! Sector 0 layout (the classic IBM PC MBR; offsets in bytes):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 440 | boot code (kept as it is, like sfdisk does) |
//! | 440 | 4 | disk identifier, little-endian (`label-id` in sfdisk scripts) |
//! | 444 | 2 | zero |
//! | 446 | 4 × 16 | partition entries |
//! | 510 | 2 | signature `55 aa` |
//!
//! Entry (16 bytes): 0 boot flag (0x80 = bootable), 1..4 CHS of the first sector, 4 type,
//! 5..8 CHS of the last sector, 8..12 first LBA (LE), 12..16 sector count (LE).
//!
//! Written by hand rather than with the `mbrman` crate: the table is 72 bytes, the CHS fields
//! must be computed exactly as libfdisk computes them (255 heads, 63 sectors, capped at cylinder
//! 1023) for byte-identical sectors, the boot code must be kept, and the reader stays zero-copy
//! over `&[u8]` — none of which `mbrman` offers without fighting it.

pub mod read;
pub mod write;

use crate::block::BlockDevice;
use crate::error::{DiskError, Result};

/// The size of sector 0 as far as the MBR is concerned.
pub const SECTOR: usize = 512;

/// One primary partition: sectors, type byte, boot flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DosPartition {
    /// First sector (LBA).
    pub start: u64,
    /// Number of sectors.
    pub size: u64,
    /// The type byte (0x83 Linux, 0x0c FAT32 LBA, …).
    pub ptype: u8,
    /// The boot flag (0x80); U-Boot's env ":auto" looks for it.
    pub bootable: bool,
}

impl DosPartition {
    /// The last sector.
    pub fn end(&self) -> u64 {
        self.start + self.size - 1
    }
}

/// An MBR partition table: the disk identifier and four primary slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DosTable {
    /// The disk identifier (bytes 440..444).
    pub disk_id: u32,
    /// Slots 1..4; `None` is an all-zero entry.
    pub slots: [Option<DosPartition>; 4],
}

impl DosTable {
    /// The used slots with their 1-based numbers.
    pub fn partitions(&self) -> impl Iterator<Item = (usize, &DosPartition)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i + 1, p)))
    }
}

/// Reads sector 0 of `dev` and parses its table.
pub fn read_table(dev: &mut impl BlockDevice) -> Result<DosTable> {
    if dev.len() < SECTOR as u64 {
        return Err(DiskError::Mbr(format!(
            "device is {} bytes, smaller than one sector",
            dev.len()
        )));
    }
    let mut sector = [0u8; SECTOR];
    dev.read_at(0, &mut sector)?;
    read::Mbr::parse(&sector)?.table()
}

/// The signature of a GPT header, at the start of LBA 1 and of the disk's last LBA (backup).
pub const GPT_SIGNATURE: &[u8; 8] = b"EFI PART";

/// Byte offsets of the GPT header signatures found on `dev` (primary at LBA 1, backup at the
/// last LBA).
pub fn gpt_signatures(dev: &mut impl BlockDevice) -> Result<Vec<u64>> {
    let sectors = dev.len() / SECTOR as u64;
    let mut found = Vec::new();
    let mut candidates = vec![1];
    if sectors > 2 {
        candidates.push(sectors - 1);
    }
    for lba in candidates {
        if lba >= sectors {
            continue;
        }
        let mut sig = [0u8; 8];
        dev.read_at(lba * SECTOR as u64, &mut sig)?;
        if &sig == GPT_SIGNATURE {
            found.push(lba * SECTOR as u64);
        }
    }
    Ok(found)
}

/// Writes `table` into sector 0 of `dev`, keeping the boot code (bytes 0..440), and flushes.
///
/// A GPT on the disk is retired the way sfdisk does it when it writes an MBR over one: the
/// 8-byte `EFI PART` signatures of the primary and backup headers are zeroed, nothing else.
pub fn write_table(dev: &mut impl BlockDevice, table: &DosTable) -> Result<()> {
    if dev.len() < SECTOR as u64 {
        return Err(DiskError::Mbr(format!(
            "device is {} bytes, smaller than one sector",
            dev.len()
        )));
    }
    let mut sector = [0u8; SECTOR];
    dev.read_at(0, &mut sector)?;
    write::encode(table, &mut sector)?;
    for offset in gpt_signatures(dev)? {
        dev.write_at(offset, &[0; 8])?;
    }
    dev.write_at(0, &sector)?;
    dev.flush()
}
