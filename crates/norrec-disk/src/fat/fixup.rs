//! Repairs what `fatfs` 0.3.6 gets wrong when it creates a directory, so `fsck.fat -n` stays
//! clean and U-Boot, Linux and Windows see what they expect:
//!
//! - It writes a long-name slot before `.` and before `..` (slots 0..4 become
//!   LFN, `.`, LFN, `..`); the FAT specification wants `.` in slot 0 and `..` in slot 1.
//!   `fsck.fat` reports "Expected a valid '.' entry in this slot". Fixed by moving `.` and
//!   `..` to slots 0 and 1 and marking the two long-name slots deleted (0xe5).
//! - On FAT32 it points `..` of a directory in the root at the root's cluster; it must be 0.
//!
//! The pass walks the directory tree with norrec's own reader of the raw structures (FAT
//! chains, 32-byte entries) after `fatfs` has unmounted, and rewrites only the first 128 bytes
//! of directories that need it. Directories written correctly (by mtools, Linux, older norrec
//! runs) are left alone.

use super::bpb::BootSector;
use super::params::FatType;
use crate::block::BlockDevice;
use crate::error::{DiskError, Result};

const DOT: &[u8; 11] = b".          ";
const DOTDOT: &[u8; 11] = b"..         ";
const ATTR_LFN: u8 = 0x0f;

struct Layout {
    fat_type: FatType,
    fat_at: u64,
    data_at: u64,
    cluster: u64,
    clusters: u32,
    root: Root,
}

enum Root {
    Region { at: u64, len: u64 },
    Chain(u32),
}

fn fat_entry(dev: &mut impl BlockDevice, l: &Layout, n: u32) -> Result<u32> {
    let n = u64::from(n);
    Ok(match l.fat_type {
        FatType::Fat12 => {
            let mut b = [0u8; 2];
            dev.read_at(l.fat_at + n + n / 2, &mut b)?;
            let v = u32::from(u16::from_le_bytes(b));
            if n & 1 == 1 { v >> 4 } else { v & 0xfff }
        }
        FatType::Fat16 => {
            let mut b = [0u8; 2];
            dev.read_at(l.fat_at + 2 * n, &mut b)?;
            u32::from(u16::from_le_bytes(b))
        }
        FatType::Fat32 => {
            let mut b = [0u8; 4];
            dev.read_at(l.fat_at + 4 * n, &mut b)?;
            u32::from_le_bytes(b) & 0x0fff_ffff
        }
    })
}

/// The clusters of a chain, stopping at its end, a bad link or a loop.
fn chain(dev: &mut impl BlockDevice, l: &Layout, first: u32) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    let mut c = first;
    while c >= 2 && c < l.clusters + 2 && out.len() <= l.clusters as usize {
        out.push(c);
        c = fat_entry(dev, l, c)?;
    }
    Ok(out)
}

fn cluster_at(l: &Layout, c: u32) -> u64 {
    l.data_at + u64::from(c - 2) * l.cluster
}

/// Reads a directory's clusters.
fn read_dir(dev: &mut impl BlockDevice, l: &Layout, first: u32) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    for c in chain(dev, l, first)? {
        let at = data.len();
        data.resize(at + l.cluster as usize, 0);
        dev.read_at(cluster_at(l, c), &mut data[at..])?;
    }
    Ok(data)
}

/// Subdirectories (first clusters) listed in a directory's bytes.
fn subdirs(l: &Layout, data: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    for e in data.chunks_exact(32) {
        match e[0] {
            0 => break,
            0xe5 => continue,
            _ => {}
        }
        let attr = e[11];
        if attr == ATTR_LFN || attr & 0x08 != 0 || attr & 0x10 == 0 || e[0] == b'.' {
            continue;
        }
        let hi = if l.fat_type == FatType::Fat32 {
            u32::from(u16::from_le_bytes([e[20], e[21]]))
        } else {
            0
        };
        let c = (hi << 16) | u32::from(u16::from_le_bytes([e[26], e[27]]));
        if c >= 2 && c < l.clusters + 2 {
            out.push(c);
        }
    }
    out
}

/// Fixes slots 0..4 of a directory's first cluster; returns whether anything changed.
fn fix_head(head: &mut [u8; 128], parent_is_root: bool, fat32: bool) -> bool {
    let mut changed = false;
    if head[11] == ATTR_LFN
        && &head[32..43] == DOT
        && head[64 + 11] == ATTR_LFN
        && &head[96..107] == DOTDOT
    {
        let mut fixed = [0u8; 128];
        fixed[0..32].copy_from_slice(&head[32..64]);
        fixed[32..64].copy_from_slice(&head[96..128]);
        fixed[64..96].copy_from_slice(&head[0..32]);
        fixed[96..128].copy_from_slice(&head[64..96]);
        fixed[64] = 0xe5;
        fixed[96] = 0xe5;
        *head = fixed;
        changed = true;
    }
    if parent_is_root && &head[32..43] == DOTDOT {
        let hi_nonzero = fat32 && (head[32 + 20] != 0 || head[32 + 21] != 0);
        let lo_nonzero = head[32 + 26] != 0 || head[32 + 27] != 0;
        if hi_nonzero || lo_nonzero {
            head[32 + 20] = 0;
            head[32 + 21] = 0;
            head[32 + 26] = 0;
            head[32 + 27] = 0;
            changed = true;
        }
    }
    changed
}

/// Walks the whole tree and repairs directories as described above. Returns how many.
pub fn fix_dot_entries(dev: &mut impl BlockDevice) -> Result<usize> {
    let mut sector = [0u8; 512];
    dev.read_at(0, &mut sector)?;
    let bs = BootSector::parse(&sector)?;
    let ss = u64::from(bs.bytes_per_sector());
    let fat_type = bs.fat_type();
    let l = Layout {
        fat_type,
        fat_at: u64::from(bs.reserved_sectors()) * ss,
        data_at: u64::from(bs.first_data_sector()) * ss,
        cluster: u64::from(bs.sectors_per_cluster()) * ss,
        clusters: bs.clusters(),
        root: match bs.root_cluster() {
            Some(c) if fat_type == FatType::Fat32 => Root::Chain(c),
            _ => Root::Region {
                at: u64::from(bs.first_data_sector() - bs.root_dir_sectors()) * ss,
                len: u64::from(bs.root_dir_sectors()) * ss,
            },
        },
    };
    let root = match l.root {
        Root::Region { at, len } => {
            let mut v = vec![0u8; len as usize];
            dev.read_at(at, &mut v)?;
            v
        }
        Root::Chain(c) => read_dir(dev, &l, c)?,
    };
    let mut todo: Vec<(u32, bool)> = subdirs(&l, &root).into_iter().map(|c| (c, true)).collect();
    let mut seen = std::collections::HashSet::new();
    let mut fixed = 0;
    while let Some((c, parent_is_root)) = todo.pop() {
        if !seen.insert(c) {
            continue;
        }
        if seen.len() > l.clusters as usize {
            return Err(DiskError::NotFat("directory tree loops".into()));
        }
        let mut head = [0u8; 128];
        let at = cluster_at(&l, c);
        if l.cluster < 128 {
            continue;
        }
        dev.read_at(at, &mut head)?;
        if fix_head(&mut head, parent_is_root, fat_type == FatType::Fat32) {
            dev.write_at(at, &head)?;
            fixed += 1;
        }
        let data = read_dir(dev, &l, c)?;
        todo.extend(subdirs(&l, &data).into_iter().map(|s| (s, false)));
    }
    Ok(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &[u8; 11], attr: u8, cluster: u16) -> [u8; 32] {
        let mut e = [0u8; 32];
        e[..11].copy_from_slice(name);
        e[11] = attr;
        e[26..28].copy_from_slice(&cluster.to_le_bytes());
        e
    }

    #[test]
    fn moves_dots_first_and_zeroes_root_dotdot() {
        let mut head = [0u8; 128];
        head[0..32].copy_from_slice(&entry(b"A.\0\0\0\xff\xff\xff\xff\xff\xff", ATTR_LFN, 0));
        head[32..64].copy_from_slice(&entry(DOT, 0x10, 7));
        head[64..96].copy_from_slice(&entry(b"A.\0.\0\0\0\xff\xff\xff\xff", ATTR_LFN, 0));
        head[96..128].copy_from_slice(&entry(DOTDOT, 0x10, 2));
        assert!(fix_head(&mut head, true, true));
        assert_eq!(&head[0..11], DOT); // slot 0: "."
        assert_eq!(&head[26..28], &[7, 0]); // its cluster kept
        assert_eq!(&head[32..43], DOTDOT); // slot 1: ".."
        assert_eq!(&head[58..60], &[0, 0]); // ".." of a root child is cluster 0
        assert_eq!((head[64], head[96]), (0xe5, 0xe5)); // LFN slots deleted
        assert!(!fix_head(&mut head, true, true)); // idempotent
    }
}
