//! Inodes as ext4 stores them: 256 bytes, 32 bytes of extra fields (nanoseconds, creation
//! time, the checksum's high half), crc32c over the whole inode.

use super::csum::crc32c;
use super::layout::INODE_SIZE;

/// `EXT4_EXTENTS_FL`: `i_block` holds an extent tree.
pub const EXTENTS_FL: u32 = 0x0008_0000;
/// `EXT4_HUGE_FILE_FL` is never needed: `i_blocks` counts 512-byte sectors up to 2^48.
pub const S_IFREG: u16 = 0o100000;
pub const S_IFDIR: u16 = 0o040000;
pub const S_IFLNK: u16 = 0o120000;
pub const S_IFCHR: u16 = 0o020000;
pub const S_IFBLK: u16 = 0o060000;
pub const S_IFIFO: u16 = 0o010000;
pub const S_IFSOCK: u16 = 0o140000;

/// Extra inode bytes beyond the 128-byte base that norrec fills (`extra_isize`).
pub const EXTRA_ISIZE: u16 = 32;

/// A time stamp: seconds since the epoch (may be negative) and nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Time {
    pub sec: i64,
    pub nsec: u32,
}

impl Time {
    /// The 32-bit base field and the extra field (2 epoch bits, 30 bits of nanoseconds).
    pub fn encode(self) -> (u32, u32) {
        let base = self.sec as u32;
        let epoch = ((self.sec - i64::from(self.sec as i32)) >> 32) as u32 & 3;
        (base, epoch | (self.nsec.min(999_999_999) << 2))
    }
}

/// The fields of an inode that norrec sets.
#[derive(Debug, Clone)]
pub struct Inode {
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime: Time,
    pub ctime: Time,
    pub mtime: Time,
    pub crtime: Time,
    pub links: u16,
    /// 512-byte sectors in use (data, extent and indirect blocks).
    pub sectors: u64,
    pub flags: u32,
    pub block: [u8; 60],
    /// Whether the extra fields are used (false for the zeroed reserved inodes).
    pub extra: bool,
}

impl Default for Inode {
    fn default() -> Self {
        Inode {
            mode: 0,
            uid: 0,
            gid: 0,
            size: 0,
            atime: Time::default(),
            ctime: Time::default(),
            mtime: Time::default(),
            crtime: Time::default(),
            links: 0,
            sectors: 0,
            flags: 0,
            block: [0; 60],
            extra: false,
        }
    }
}

fn put16(b: &mut [u8], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}

/// The per-inode checksum seed: the file system seed, then the inode number and generation.
pub fn inode_seed(fs_seed: u32, ino: u32, generation: u32) -> u32 {
    crc32c(
        crc32c(fs_seed, &ino.to_le_bytes()),
        &generation.to_le_bytes(),
    )
}

impl Inode {
    /// The on-disk bytes of inode `ino`, checksummed with the file system seed.
    pub fn encode(&self, ino: u32, fs_seed: u32) -> [u8; INODE_SIZE as usize] {
        let mut b = [0u8; INODE_SIZE as usize];
        put16(&mut b, 0x00, self.mode);
        put16(&mut b, 0x02, self.uid as u16);
        put32(&mut b, 0x04, self.size as u32);
        let (at, atx) = self.atime.encode();
        let (ct, ctx) = self.ctime.encode();
        let (mt, mtx) = self.mtime.encode();
        let (crt, crx) = self.crtime.encode();
        put32(&mut b, 0x08, at);
        put32(&mut b, 0x0C, ct);
        put32(&mut b, 0x10, mt);
        put16(&mut b, 0x18, self.gid as u16);
        put16(&mut b, 0x1A, self.links);
        put32(&mut b, 0x1C, self.sectors as u32);
        put32(&mut b, 0x20, self.flags);
        b[0x28..0x64].copy_from_slice(&self.block);
        put32(&mut b, 0x6C, (self.size >> 32) as u32);
        put16(&mut b, 0x74, (self.sectors >> 32) as u16);
        put16(&mut b, 0x78, (self.uid >> 16) as u16);
        put16(&mut b, 0x7A, (self.gid >> 16) as u16);
        if self.extra {
            put16(&mut b, 0x80, EXTRA_ISIZE);
            put32(&mut b, 0x84, ctx);
            put32(&mut b, 0x88, mtx);
            put32(&mut b, 0x8C, atx);
            put32(&mut b, 0x90, crt);
            put32(&mut b, 0x94, crx);
        }
        // Checksum over the whole inode with both checksum fields counted as zero
        // (the high half only exists when the extra fields reach it).
        let c = crc32c(inode_seed(fs_seed, ino, 0), &b);
        put16(&mut b, 0x7C, c as u16);
        if self.extra {
            put16(&mut b, 0x82, (c >> 16) as u16);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_encoding() {
        assert_eq!(Time { sec: 1, nsec: 5 }.encode(), (1, 20));
        // 2040: past 2^31, epoch bits 1 (sec - (s32)sec = 2^32).
        let t = Time {
            sec: 2_208_988_800,
            nsec: 0,
        };
        assert_eq!(t.encode(), (2_208_988_800u64 as u32, 1));
        assert_eq!(Time { sec: -1, nsec: 0 }.encode(), (u32::MAX, 0));
    }

    #[test]
    fn layout_offsets() {
        let i = Inode {
            mode: S_IFREG | 0o644,
            uid: 0x1_0002,
            gid: 3,
            size: 0x1_0000_0005,
            links: 1,
            sectors: 8,
            flags: EXTENTS_FL,
            extra: true,
            ..Inode::default()
        };
        let b = i.encode(12, 0);
        assert_eq!(&b[0x00..0x02], &0o100644u16.to_le_bytes()); // i_mode
        assert_eq!(&b[0x02..0x04], &[2, 0]); // i_uid low
        assert_eq!(&b[0x78..0x7A], &[1, 0]); // l_i_uid_high
        assert_eq!(&b[0x04..0x08], &[5, 0, 0, 0]); // i_size_lo
        assert_eq!(&b[0x6C..0x70], &[1, 0, 0, 0]); // i_size_high
        assert_eq!(&b[0x1A..0x1C], &[1, 0]); // i_links_count
        assert_eq!(&b[0x20..0x24], &EXTENTS_FL.to_le_bytes()); // i_flags
        assert_eq!(&b[0x80..0x82], &[32, 0]); // i_extra_isize
        // Recomputing the checksum with both halves zeroed gives the stored value.
        let mut z = b;
        z[0x7C..0x7E].fill(0);
        z[0x82..0x84].fill(0);
        let c = crc32c(inode_seed(0, 12, 0), &z);
        assert_eq!(u16::from_le_bytes([b[0x7C], b[0x7D]]), c as u16);
        assert_eq!(u16::from_le_bytes([b[0x82], b[0x83]]), (c >> 16) as u16);
    }
}
