//! Directories as linear blocks of `ext4_dir_entry_2` records (inode, rec_len, name_len,
//! file_type, name), each block ending in the 12-byte checksum tail `metadata_csum` wants.
//! No htree index: e2fsck and the kernel read linear directories of any size (the kernel
//! indexes a directory itself when it grows past one block and `dir_index` is on).

use super::csum::crc32c;

/// Size of the checksum tail at the end of every directory block.
pub const TAIL: usize = 12;

/// `file_type` values of directory entries.
pub mod ft {
    pub const REG: u8 = 1;
    pub const DIR: u8 = 2;
    pub const CHR: u8 = 3;
    pub const BLK: u8 = 4;
    pub const FIFO: u8 = 5;
    pub const SOCK: u8 = 6;
    pub const LNK: u8 = 7;
}

/// Bytes a record for a name of `len` bytes needs.
pub fn rec_len(len: usize) -> usize {
    (8 + len + 3) & !3
}

/// Blocks needed for entries with these name lengths (including `.` and `..`).
pub fn blocks_needed(name_lens: impl Iterator<Item = usize>, block_size: u32) -> u32 {
    let cap = block_size as usize - TAIL;
    let mut blocks = 1u32;
    let mut used = 0usize;
    for l in name_lens {
        let r = rec_len(l);
        if used + r > cap {
            blocks += 1;
            used = 0;
        }
        used += r;
    }
    blocks
}

/// An entry to write.
pub struct Entry<'a> {
    pub ino: u32,
    pub ftype: u8,
    pub name: &'a [u8],
}

/// Fills `out` (a multiple of the block size, at least the blocks [`blocks_needed`] counts)
/// with the entries in order; blocks after the last entry hold one empty record.
pub fn build(entries: &[Entry<'_>], block_size: u32, seed: u32, out: &mut [u8]) {
    let bs = block_size as usize;
    let cap = bs - TAIL;
    out.fill(0);
    let mut block = 0usize;
    let mut used = 0usize;
    let mut last: Option<usize> = None; // offset of the last record in the current block
    let close = |out: &mut [u8], block: usize, last: Option<usize>| {
        let base = block * bs;
        match last {
            Some(o) => {
                let len = base + cap - o;
                out[o + 4..o + 6].copy_from_slice(&(len as u16).to_le_bytes());
            }
            None => out[base + 4..base + 6].copy_from_slice(&(cap as u16).to_le_bytes()),
        }
    };
    for e in entries {
        let r = rec_len(e.name.len());
        if used + r > cap {
            close(out, block, last);
            block += 1;
            used = 0;
        }
        let o = block * bs + used;
        out[o..o + 4].copy_from_slice(&e.ino.to_le_bytes());
        out[o + 4..o + 6].copy_from_slice(&(r as u16).to_le_bytes());
        out[o + 6] = e.name.len() as u8;
        out[o + 7] = e.ftype;
        out[o + 8..o + 8 + e.name.len()].copy_from_slice(e.name);
        last = Some(o);
        used += r;
    }
    close(out, block, last);
    for b in block + 1..out.len() / bs {
        close(out, b, None);
    }
    for b in 0..out.len() / bs {
        let blk = &mut out[b * bs..(b + 1) * bs];
        let t = cap;
        blk[t + 4..t + 6].copy_from_slice(&(TAIL as u16).to_le_bytes());
        blk[t + 7] = 0xDE;
        let c = crc32c(seed, &blk[..t]);
        blk[t + 8..t + 12].copy_from_slice(&c.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_block_like_mke2fs() {
        // The root directory block of a fresh mkfs.ext4 (4 KiB): ".", "..", "lost+found".
        let e = [
            Entry {
                ino: 2,
                ftype: ft::DIR,
                name: b".",
            },
            Entry {
                ino: 2,
                ftype: ft::DIR,
                name: b"..",
            },
            Entry {
                ino: 11,
                ftype: ft::DIR,
                name: b"lost+found",
            },
        ];
        let mut b = vec![0u8; 4096];
        build(&e, 4096, 0x1234, &mut b);
        assert_eq!(&b[0..12], &[2, 0, 0, 0, 12, 0, 1, 2, b'.', 0, 0, 0]);
        assert_eq!(&b[12..24], &[2, 0, 0, 0, 12, 0, 2, 2, b'.', b'.', 0, 0]);
        // "lost+found" stretches to the tail: 4096 - 12 - 24 = 4060 = 0x0fdc.
        assert_eq!(&b[24..32], &[11, 0, 0, 0, 0xdc, 0x0f, 10, 2]);
        assert_eq!(&b[4084..4092], &[0, 0, 0, 0, 12, 0, 0, 0xde]);
        assert_eq!(&b[4092..], &crc32c(0x1234, &b[..4084]).to_le_bytes());
    }

    #[test]
    fn spills_into_more_blocks() {
        let names: Vec<Vec<u8>> = (0..500)
            .map(|i| format!("file-{i:05}").into_bytes())
            .collect();
        let n = blocks_needed(names.iter().map(|n| n.len()), 1024);
        // 20-byte records, 50 per 1012-byte block.
        assert_eq!(n, 10);
        let e: Vec<Entry> = names
            .iter()
            .map(|n| Entry {
                ino: 12,
                ftype: ft::REG,
                name: n,
            })
            .collect();
        let mut b = vec![0u8; 1024 * 11];
        build(&e, 1024, 0, &mut b);
        // The eleventh block is empty: one record spanning it.
        assert_eq!(&b[10 * 1024..10 * 1024 + 6], &[0, 0, 0, 0, 0xf4, 0x03]);
    }
}
