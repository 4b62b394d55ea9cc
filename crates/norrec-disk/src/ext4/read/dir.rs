//! Directory blocks: linear entries (`inode` u32, `rec_len` u16, `name_len` u8, `file_type` u8,
//! name). htree directories are read the same way: their root block holds `.` and a `..` whose
//! `rec_len` covers the index, interior index blocks are one empty entry spanning the block, and
//! the leaves are ordinary blocks. Empty entries (inode 0) and metadata_csum's 12-byte tail
//! (inode 0, `file_type` 0xDE) are skipped.

use super::inode::FileKind;
use super::{le16, le32};

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name's bytes (ext4 names are bytes, not necessarily UTF-8).
    pub name: Vec<u8>,
    /// The inode the entry points at.
    pub ino: u32,
    /// The kind from the entry's `file_type` (Unknown without the filetype feature).
    pub kind: FileKind,
}

impl DirEntry {
    /// The name, with invalid UTF-8 replaced.
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// Whether this is `.` or `..`.
    pub fn is_dot(&self) -> bool {
        self.name == b"." || self.name == b".."
    }
}

/// Appends the entries of one directory block to `out`. `filetype` says whether byte 7 is a
/// file type (the filetype feature) or the high byte of the name length. Errors carry the
/// offset inside the block.
pub fn parse_block(
    b: &[u8],
    filetype: bool,
    out: &mut Vec<DirEntry>,
) -> Result<(), (usize, String)> {
    let mut off = 0usize;
    while off < b.len() {
        if b.len() - off < 8 {
            return Err((
                off,
                format!(
                    "{} bytes left, too few for a directory entry",
                    b.len() - off
                ),
            ));
        }
        let ino = le32(b, off);
        let rec_len = usize::from(le16(b, off + 4));
        let (name_len, ftype) = if filetype {
            (usize::from(b[off + 6]), b[off + 7])
        } else {
            (usize::from(le16(b, off + 6)), 0)
        };
        if rec_len < 8 || rec_len % 4 != 0 || rec_len > b.len() - off {
            return Err((
                off + 4,
                format!(
                    "directory entry rec_len {rec_len} (block has {} bytes left)",
                    b.len() - off
                ),
            ));
        }
        if ino != 0 {
            if name_len == 0 || 8 + name_len > rec_len {
                return Err((
                    off + 6,
                    format!("directory entry name_len {name_len} in a record of {rec_len} bytes"),
                ));
            }
            out.push(DirEntry {
                name: b[off + 8..off + 8 + name_len].to_vec(),
                ino,
                kind: FileKind::from_dirent(ftype),
            });
        }
        off += rec_len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ino: u32, rec_len: u16, name: &[u8], ftype: u8) -> Vec<u8> {
        let mut e = ino.to_le_bytes().to_vec();
        e.extend(rec_len.to_le_bytes());
        e.push(name.len() as u8);
        e.push(ftype);
        e.extend(name);
        e.resize(usize::from(rec_len), 0);
        e
    }

    #[test]
    fn entries_skip_empty_and_checksum_tail() {
        let mut b = entry(2, 12, b".", 2);
        b.extend(entry(0, 12, b"", 0)); // deleted entry
        b.extend(entry(12, 16, b"hello", 1));
        b.extend(entry(13, 1024 - 40 - 12, b"ln", 7));
        // metadata_csum tail at 1024 - 12: inode 0, rec_len 12, name_len 0, type 0xde.
        b.extend(entry(0, 12, b"", 0xDE));
        assert_eq!(b.len(), 1024);
        let mut v = Vec::new();
        parse_block(&b, true, &mut v).unwrap();
        let names: Vec<_> = v.iter().map(|e| (e.name_lossy(), e.ino, e.kind)).collect();
        assert_eq!(
            names,
            [
                (".".to_string(), 2, FileKind::Dir),
                ("hello".to_string(), 12, FileKind::File),
                ("ln".to_string(), 13, FileKind::Symlink)
            ]
        );
        // A rec_len that runs past the block: refused at the field's offset (24 + 4).
        b[28] = 0xff;
        b[29] = 0x0f;
        assert_eq!(parse_block(&b, true, &mut v).unwrap_err().0, 28);
    }
}
