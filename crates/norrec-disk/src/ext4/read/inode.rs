//! Inodes: 128 bytes of the classic layout plus, in larger inodes, `i_extra_isize` bytes of
//! extra fields (nanosecond times, creation time). Parsed from the inode's bytes.

use super::{le16, le32};

/// `i_flags` (0x20) bits the reader looks at.
pub(crate) const FLAG_HUGE_FILE: u32 = 0x40000;
pub(crate) const FLAG_EXTENTS: u32 = 0x80000;
pub(crate) const FLAG_INLINE_DATA: u32 = 0x1000_0000;
pub(crate) const FLAG_ENCRYPT: u32 = 0x800;

/// What an inode is, from the top four bits of `i_mode` (or a directory entry's file type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
    /// A mode or dirent type no kind matches (0 in a dirent without the filetype feature).
    Unknown,
}

impl FileKind {
    /// From `i_mode & 0xF000`.
    pub fn from_mode(mode: u16) -> Self {
        match mode & 0xF000 {
            0x8000 => FileKind::File,
            0x4000 => FileKind::Dir,
            0xA000 => FileKind::Symlink,
            0x2000 => FileKind::CharDevice,
            0x6000 => FileKind::BlockDevice,
            0x1000 => FileKind::Fifo,
            0xC000 => FileKind::Socket,
            _ => FileKind::Unknown,
        }
    }

    /// From a directory entry's `file_type` byte.
    pub fn from_dirent(t: u8) -> Self {
        match t {
            1 => FileKind::File,
            2 => FileKind::Dir,
            3 => FileKind::CharDevice,
            4 => FileKind::BlockDevice,
            5 => FileKind::Fifo,
            6 => FileKind::Socket,
            7 => FileKind::Symlink,
            _ => FileKind::Unknown,
        }
    }

    /// The letter `ls -l` prints first.
    pub fn letter(self) -> char {
        match self {
            FileKind::File => '-',
            FileKind::Dir => 'd',
            FileKind::Symlink => 'l',
            FileKind::CharDevice => 'c',
            FileKind::BlockDevice => 'b',
            FileKind::Fifo => 'p',
            FileKind::Socket => 's',
            FileKind::Unknown => '?',
        }
    }

    /// A lower-case name for JSON (`file`, `dir`, `symlink`, …).
    pub fn name(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Dir => "dir",
            FileKind::Symlink => "symlink",
            FileKind::CharDevice => "char",
            FileKind::BlockDevice => "block",
            FileKind::Fifo => "fifo",
            FileKind::Socket => "socket",
            FileKind::Unknown => "unknown",
        }
    }
}

/// A time stamp: seconds since the epoch (ext4's 34-bit range) and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    /// From the 32-bit seconds field and, when present, its `_extra` field: the low two bits
    /// extend the (signed) seconds by multiples of 2^32, the upper 30 bits are nanoseconds.
    pub fn new(secs: u32, extra: Option<u32>) -> Self {
        let base = i64::from(secs as i32);
        match extra {
            None => Timestamp {
                secs: base,
                nanos: 0,
            },
            Some(x) => Timestamp {
                secs: base + (i64::from(x & 3) << 32),
                nanos: (x >> 2).min(999_999_999),
            },
        }
    }
}

/// One inode, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    /// The inode number.
    pub ino: u32,
    /// The record's byte offset from the start of the file system (0 when parsed alone).
    pub offset: u64,
    /// `i_mode` (0x00): kind and permission bits.
    pub mode: u16,
    /// `i_uid` (0x02) with `l_i_uid_high` (0x78).
    pub uid: u32,
    /// `i_gid` (0x18) with `l_i_gid_high` (0x7A).
    pub gid: u32,
    /// `i_size_lo` (0x04) with `i_size_high` (0x6C).
    pub size: u64,
    /// `i_links_count` (0x1A).
    pub links: u16,
    /// `i_blocks_lo` (0x1C) with `l_i_blocks_high` (0x74), in 512-byte units (or file system
    /// blocks for huge files).
    pub blocks: u64,
    /// `i_flags` (0x20).
    pub flags: u32,
    /// `i_block` (0x28, 60 bytes): block map, extent tree root, fast symlink or inline data.
    pub i_block: [u8; 60],
    /// `i_file_acl` (0x68, high half at 0x76): the extended attribute block.
    pub file_acl: u64,
    /// `i_atime` (0x08) with `i_atime_extra` (0x8C).
    pub atime: Timestamp,
    /// `i_ctime` (0x0C) with `i_ctime_extra` (0x84).
    pub ctime: Timestamp,
    /// `i_mtime` (0x10) with `i_mtime_extra` (0x88).
    pub mtime: Timestamp,
    /// `i_crtime` (0x90) with `i_crtime_extra` (0x94), when the inode has room for it.
    pub crtime: Option<Timestamp>,
    /// `i_extra_isize` (0x80), 0 in 128-byte inodes.
    pub extra_isize: u16,
}

impl Inode {
    /// Parses inode `ino` from its on-disk bytes (128 or more). Returns the offset (inside
    /// `b`) and a message when `i_extra_isize` does not fit.
    pub fn parse(ino: u32, b: &[u8]) -> Result<Self, (usize, String)> {
        if b.len() < 128 {
            return Err((0, format!("inode record of {} bytes", b.len())));
        }
        let extra_isize = if b.len() >= 0x82 { le16(b, 0x80) } else { 0 };
        if 128 + usize::from(extra_isize) > b.len() || extra_isize % 4 != 0 {
            return Err((
                0x80,
                format!(
                    "i_extra_isize {extra_isize} does not fit a {}-byte inode",
                    b.len()
                ),
            ));
        }
        // An extra field is present when i_extra_isize covers it.
        let end = 128 + usize::from(extra_isize);
        let extra = |off: usize| (off + 4 <= end).then(|| le32(b, off));
        Ok(Inode {
            ino,
            offset: 0,
            mode: le16(b, 0x00),
            uid: u32::from(le16(b, 0x02)) | u32::from(le16(b, 0x78)) << 16,
            gid: u32::from(le16(b, 0x18)) | u32::from(le16(b, 0x7A)) << 16,
            size: u64::from(le32(b, 0x04)) | u64::from(le32(b, 0x6C)) << 32,
            links: le16(b, 0x1A),
            blocks: u64::from(le32(b, 0x1C)) | u64::from(le16(b, 0x74)) << 32,
            flags: le32(b, 0x20),
            i_block: b[0x28..0x64].try_into().expect("60 bytes"),
            file_acl: u64::from(le32(b, 0x68)) | u64::from(le16(b, 0x76)) << 32,
            atime: Timestamp::new(le32(b, 0x08), extra(0x8C)),
            ctime: Timestamp::new(le32(b, 0x0C), extra(0x84)),
            mtime: Timestamp::new(le32(b, 0x10), extra(0x88)),
            crtime: extra(0x90).map(|s| Timestamp::new(s, extra(0x94))),
            extra_isize,
        })
    }

    /// What the inode is.
    pub fn kind(&self) -> FileKind {
        FileKind::from_mode(self.mode)
    }

    /// The permission bits (with set-id and sticky bits).
    pub fn permissions(&self) -> u16 {
        self.mode & 0o7777
    }

    /// Whether the inode maps its data with an extent tree.
    pub fn has_extents(&self) -> bool {
        self.flags & FLAG_EXTENTS != 0
    }

    /// Whether the data lies in the inode itself (inline_data).
    pub fn has_inline_data(&self) -> bool {
        self.flags & FLAG_INLINE_DATA != 0
    }

    /// A device node's (major, minor): the old 16-bit encoding in `i_block[0]` when set, else
    /// the new one in `i_block[1]` (minor's low byte in bits 0–7, major in 8–19, the rest of
    /// the minor in 20–31). `None` for other kinds.
    pub fn device(&self) -> Option<(u32, u32)> {
        if !matches!(self.kind(), FileKind::CharDevice | FileKind::BlockDevice) {
            return None;
        }
        let old = le32(&self.i_block, 0);
        if old != 0 {
            return Some(((old >> 8) & 0xff, old & 0xff));
        }
        let new = le32(&self.i_block, 4);
        Some(((new >> 8) & 0xfff, (new & 0xff) | ((new >> 12) & 0xfff00)))
    }

    /// The mode as `ls -l` prints it, e.g. `drwxr-xr-x` or `-rwsr-x--T`.
    pub fn mode_string(&self) -> String {
        mode_string(self.mode)
    }
}

/// `ls -l`'s ten-character mode string for an `i_mode`.
pub fn mode_string(mode: u16) -> String {
    let mut s = String::with_capacity(10);
    s.push(FileKind::from_mode(mode).letter());
    let bit = |m: u16, c: char| if mode & m != 0 { c } else { '-' };
    let special =
        |x: u16, s_bit: u16, set: char, unset: char| match (mode & x != 0, mode & s_bit != 0) {
            (true, true) => set,
            (false, true) => unset,
            (true, false) => 'x',
            (false, false) => '-',
        };
    s.push(bit(0o400, 'r'));
    s.push(bit(0o200, 'w'));
    s.push(special(0o100, 0o4000, 's', 'S'));
    s.push(bit(0o040, 'r'));
    s.push(bit(0o020, 'w'));
    s.push(special(0o010, 0o2000, 's', 'S'));
    s.push(bit(0o004, 'r'));
    s.push(bit(0o002, 'w'));
    s.push(special(0o001, 0o1000, 't', 'T'));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_at_their_offsets() {
        let mut b = vec![0u8; 256];
        b[0x00..0x02].copy_from_slice(&0o104755u16.to_le_bytes()); // regular, setuid 0755
        b[0x02..0x04].copy_from_slice(&0x2345u16.to_le_bytes()); // uid low
        b[0x78..0x7A].copy_from_slice(&0x0001u16.to_le_bytes()); // uid high
        b[0x18..0x1A].copy_from_slice(&0x0064u16.to_le_bytes()); // gid low
        b[0x04..0x08].copy_from_slice(&5u32.to_le_bytes()); // size low
        b[0x6C..0x70].copy_from_slice(&1u32.to_le_bytes()); // size high: 4 GiB + 5
        b[0x10..0x14].copy_from_slice(&0x7fff_ffffu32.to_le_bytes()); // mtime
        b[0x80..0x82].copy_from_slice(&32u16.to_le_bytes()); // i_extra_isize
        b[0x88..0x8C].copy_from_slice(&((123u32 << 2) | 1).to_le_bytes()); // mtime_extra
        let i = Inode::parse(7, &b).unwrap();
        assert_eq!(i.uid, 0x1_2345);
        assert_eq!(i.gid, 100);
        assert_eq!(i.size, (1 << 32) + 5);
        assert_eq!(
            i.mtime,
            Timestamp {
                secs: 0x7fff_ffff + (1 << 32),
                nanos: 123
            }
        );
        assert_eq!(i.kind(), FileKind::File);
        assert_eq!(i.mode_string(), "-rwsr-xr-x");
        assert_eq!(mode_string(0o41777), "drwxrwxrwt");
        assert_eq!(mode_string(0o120644), "lrw-r--r--");
        // Device numbers: new encoding 259:65537 in i_block[1], old 8:1 in i_block[0].
        let mut dev = i.clone();
        dev.mode = 0o060660;
        dev.i_block[4..8].copy_from_slice(&(0x01u32 | 259 << 8 | 0x100 << 12).to_le_bytes());
        assert_eq!(dev.device(), Some((259, 0x101)));
        dev.i_block[0..4].copy_from_slice(&0x0801u32.to_le_bytes());
        assert_eq!(dev.device(), Some((8, 1)));
        assert_eq!(i.device(), None);
        // i_extra_isize beyond the record: refused, naming the field.
        b[0x80] = 200;
        assert_eq!(Inode::parse(7, &b).unwrap_err().0, 0x80);
    }
}
