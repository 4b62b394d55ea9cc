//! The write side of formatting: boot sector, FSInfo, backup copies, empty FATs and an empty
//! root directory (with the volume label entry), laid out as `mkfs.vfat` 4.2 lays them out.
//!
//! Hand-written rather than `fatfs::format_volume`: fatfs 0.3.6 picks its own cluster sizes
//! and reserved-sector counts (1 reserved sector on FAT16, different FAT32 thresholds), which
//! would not match `mkfs.vfat`'s choices, and it cannot leave the data area untouched.
//! Only the metadata is written: the data area is not zeroed (as `mkfs.vfat` does not), so
//! an image stays sparse; metadata regions that must read as zeros are cleared with
//! [`BlockDevice::zero_range`] (a hole punch on image files).
//!
//! Differences from `mkfs.vfat` output, on purpose: the OEM name is `norrec  ` and the boot
//! code is a two-instruction halt loop (mkfs.fat's message-printing stub is not copied).

use super::bpb::{EBPB_32, EBPB_1216};
use super::params::{FatType, Params, SECTOR};
use super::time::DosDateTime;
use crate::block::BlockDevice;
use crate::error::{DiskError, Result};

/// The OEM name written at offset 3.
pub const OEM_NAME: &[u8; 8] = b"norrec  ";
/// Boot code: `hlt; jmp $-1` — this volume is not bootable on a PC.
const BOOT_CODE: [u8; 3] = [0xf4, 0xeb, 0xfd];

/// What goes into the new file system besides its geometry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Volume id (serial number).
    pub volume_id: u32,
    /// Volume label, up to 11 bytes once upper-cased; `None` writes `NO NAME` and no entry.
    pub label: Option<String>,
    /// Hidden sectors: the partition's first sector on the disk (0 for an unpartitioned image).
    pub hidden_sectors: u32,
    /// Time stamp of the label's directory entry.
    pub time: DosDateTime,
}

/// The 11 bytes of a label: upper-cased, space-padded; refuses what FAT does not allow.
pub fn label_bytes(label: &str) -> Result<[u8; 11]> {
    let up = label.to_ascii_uppercase();
    let bad = |why: &str| DiskError::FatFormat(format!("label {label:?}: {why}"));
    if up.len() > 11 {
        return Err(bad("longer than 11 bytes"));
    }
    if up.starts_with(' ') {
        return Err(bad("starts with a space"));
    }
    if let Some(c) = up
        .bytes()
        .find(|&c| !(0x20..0x7f).contains(&c) || b"*?.,;:/\\|+=<>[]\"".contains(&c))
    {
        return Err(bad(&format!("character {:?} is not allowed", c as char)));
    }
    let mut out = [b' '; 11];
    out[..up.len()].copy_from_slice(up.as_bytes());
    Ok(out)
}

/// The 512-byte boot sector for `p`.
pub fn boot_sector(p: &Params, id: &Identity) -> Result<[u8; 512]> {
    let label = match &id.label {
        Some(l) if !l.trim().is_empty() => label_bytes(l)?,
        _ => *b"NO NAME    ",
    };
    let mut b = [0u8; 512];
    let fat32 = p.fat_type == FatType::Fat32;
    let ebpb = if fat32 { EBPB_32 } else { EBPB_1216 };
    let code = ebpb + 26;
    b[0] = 0xeb;
    b[1] = (code - 2) as u8;
    b[2] = 0x90;
    b[3..11].copy_from_slice(OEM_NAME);
    b[11..13].copy_from_slice(&(SECTOR as u16).to_le_bytes());
    b[13] = p.sectors_per_cluster;
    b[14..16].copy_from_slice(&p.reserved_sectors.to_le_bytes());
    b[16] = p.fats;
    b[17..19].copy_from_slice(&p.root_entries.to_le_bytes());
    if p.total_sectors < 65536 {
        b[19..21].copy_from_slice(&(p.total_sectors as u16).to_le_bytes());
    } else {
        b[32..36].copy_from_slice(&p.total_sectors.to_le_bytes());
    }
    b[21] = p.media;
    if !fat32 {
        b[22..24].copy_from_slice(&(p.fat_sectors as u16).to_le_bytes());
    }
    b[24..26].copy_from_slice(&p.sectors_per_track.to_le_bytes());
    b[26..28].copy_from_slice(&p.heads.to_le_bytes());
    b[28..32].copy_from_slice(&id.hidden_sectors.to_le_bytes());
    if fat32 {
        b[36..40].copy_from_slice(&p.fat_sectors.to_le_bytes());
        // 40 flags 0 (FATs mirrored), 42 version 0.0
        b[44..48].copy_from_slice(&2u32.to_le_bytes()); // root cluster
        b[48..50].copy_from_slice(&1u16.to_le_bytes()); // FSInfo sector
        b[50..52].copy_from_slice(&backup_boot(p).to_le_bytes());
    }
    b[ebpb] = if p.media == 0xf8 { 0x80 } else { 0 };
    b[ebpb + 2] = 0x29;
    b[ebpb + 3..ebpb + 7].copy_from_slice(&id.volume_id.to_le_bytes());
    b[ebpb + 7..ebpb + 18].copy_from_slice(&label);
    let ts: &[u8; 8] = match p.fat_type {
        FatType::Fat12 => b"FAT12   ",
        FatType::Fat16 => b"FAT16   ",
        FatType::Fat32 => b"FAT32   ",
    };
    b[ebpb + 18..ebpb + 26].copy_from_slice(ts);
    b[code..code + BOOT_CODE.len()].copy_from_slice(&BOOT_CODE);
    b[510] = 0x55;
    b[511] = 0xaa;
    Ok(b)
}

/// The backup boot sector's position (sector 6 when there is room, as mkfs.fat chooses).
fn backup_boot(p: &Params) -> u16 {
    let r = p.reserved_sectors;
    if r >= 7 {
        6
    } else if r >= 4 {
        r - 2
    } else if r >= 3 {
        r - 1
    } else {
        0
    }
}

/// The FAT32 FSInfo sector: free clusters (all but the root's) and the next free hint (2).
pub fn fsinfo_sector(p: &Params) -> [u8; 512] {
    let mut b = [0u8; 512];
    b[0..4].copy_from_slice(b"RRaA");
    b[484..488].copy_from_slice(b"rrAa");
    b[488..492].copy_from_slice(&(p.clusters - 1).to_le_bytes());
    b[492..496].copy_from_slice(&2u32.to_le_bytes());
    b[510] = 0x55;
    b[511] = 0xaa;
    b
}

/// The first sector of each FAT: entries 0 and 1 (media and end-of-chain marks), and on
/// FAT32 entry 2 (the root directory's one cluster).
pub fn first_fat_sector(p: &Params) -> [u8; 512] {
    let mut b = [0u8; 512];
    match p.fat_type {
        FatType::Fat12 => b[..3].copy_from_slice(&[p.media, 0xff, 0xff]),
        FatType::Fat16 => b[..4].copy_from_slice(&[p.media, 0xff, 0xff, 0xff]),
        FatType::Fat32 => {
            b[0..4].copy_from_slice(&(0x0fff_ff00 | u32::from(p.media)).to_le_bytes());
            b[4..8].copy_from_slice(&0x0fff_ffffu32.to_le_bytes());
            b[8..12].copy_from_slice(&0x0fff_fff8u32.to_le_bytes());
        }
    }
    b
}

/// The label's directory entry (attribute 0x08) stamped with `time`.
pub fn label_entry(label: &[u8; 11], time: DosDateTime) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[..11].copy_from_slice(label);
    if e[0] == 0xe5 {
        e[0] = 0x05;
    }
    e[11] = 0x08;
    e[14..16].copy_from_slice(&time.time.to_le_bytes()); // created
    e[16..18].copy_from_slice(&time.date.to_le_bytes());
    e[18..20].copy_from_slice(&time.date.to_le_bytes()); // accessed
    e[22..24].copy_from_slice(&time.time.to_le_bytes()); // modified
    e[24..26].copy_from_slice(&time.date.to_le_bytes());
    e
}

/// Writes a new, empty FAT with geometry `p` onto `dev` (offset 0 is the boot sector).
/// `dev` must hold at least `p.total_sectors` sectors. Everything is checked before the first
/// write.
pub fn write(dev: &mut impl BlockDevice, p: &Params, id: &Identity) -> Result<()> {
    let ss = u64::from(SECTOR);
    let need = u64::from(p.total_sectors) * ss;
    if dev.len() < need {
        return Err(DiskError::FatFormat(format!(
            "device holds {} bytes, the file system needs {need}",
            dev.len()
        )));
    }
    let boot = boot_sector(p, id)?;
    let label = match &id.label {
        Some(l) if !l.trim().is_empty() => Some(label_bytes(l)?),
        _ => None,
    };
    let reserved = u64::from(p.reserved_sectors) * ss;
    let fat_bytes = u64::from(p.fat_sectors) * ss;
    let root_at = reserved + u64::from(p.fats) * fat_bytes;
    let root_len = match p.fat_type {
        FatType::Fat32 => u64::from(p.cluster_bytes()),
        _ => u64::from(p.root_dir_sectors()) * ss,
    };
    // Clear reserved sectors, FATs and the root directory in one go (holes in an image file).
    dev.zero_range(0, root_at + root_len)?;
    dev.write_at(0, &boot)?;
    if p.fat_type == FatType::Fat32 {
        let info = fsinfo_sector(p);
        dev.write_at(ss, &info)?;
        let bb = u64::from(backup_boot(p));
        if bb != 0 {
            dev.write_at(bb * ss, &boot)?;
            if bb + 1 < u64::from(p.reserved_sectors) {
                dev.write_at((bb + 1) * ss, &info)?;
            }
        }
    }
    let fat0 = first_fat_sector(p);
    for i in 0..u64::from(p.fats) {
        dev.write_at(reserved + i * fat_bytes, &fat0)?;
    }
    if let Some(l) = label {
        dev.write_at(root_at, &label_entry(&l, id.time))?;
    }
    dev.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::MemDevice;
    use crate::fat::bpb::BootSector;
    use crate::fat::params::{Choice, choose};

    #[test]
    fn boot_sector_fields_read_back() {
        let p = choose(64 << 20, Choice::default()).unwrap();
        let id = Identity {
            volume_id: 0x1234_abcd,
            label: Some("boot".into()),
            hidden_sectors: 2048,
            time: DosDateTime::EPOCH,
        };
        let b = boot_sector(&p, &id).unwrap();
        let s = BootSector::parse(&b).unwrap();
        assert_eq!(&b[0..3], &[0xeb, 0x3c, 0x90]); // 0: jump to offset 0x3e
        assert_eq!(s.fat_type(), FatType::Fat16);
        assert_eq!(s.hidden_sectors(), 2048); // 28
        assert_eq!(s.volume_id(), Some(0x1234_abcd)); // 39
        assert_eq!(s.label(), Some(&b"BOOT       "[..])); // 43
        assert_eq!(s.type_string(), Some(&b"FAT16   "[..])); // 54
        assert_eq!(s.clusters(), p.clusters);
    }

    #[test]
    fn fat32_layout_and_backup() {
        let p = choose(600 << 20, Choice::default()).unwrap();
        assert_eq!(p.fat_type, FatType::Fat32);
        let mut dev = MemDevice::zeroed(600 << 20);
        let id = Identity {
            volume_id: 1,
            label: None,
            hidden_sectors: 0,
            time: DosDateTime::EPOCH,
        };
        write(&mut dev, &p, &id).unwrap();
        assert_eq!(&dev.data[0..3], &[0xeb, 0x58, 0x90]); // jump to 0x5a
        assert_eq!(&dev.data[..512], &dev.data[6 * 512..7 * 512]); // backup at sector 6
        assert_eq!(&dev.data[512..516], b"RRaA"); // FSInfo at sector 1
        let fat = usize::from(p.reserved_sectors) * 512;
        assert_eq!(
            &dev.data[fat..fat + 12],
            &[
                0xf8, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff, 0x0f, 0xf8, 0xff, 0xff, 0x0f
            ]
        );
        assert!(label_bytes("a.b").is_err());
        assert!(label_bytes("twelve chars").is_err());
    }
}
