//! Extent tree nodes: a 12-byte header (magic 0xF30A, entries, max, depth) then 12-byte index
//! entries (depth > 0) or leaf extents (depth 0). The root is the inode's 60-byte `i_block`;
//! other nodes fill a block. Parsed zero-copy; every count is checked against the node's size.

use super::{le16, le32};

/// The extent header's magic (`eh_magic`, 0x00).
pub const EXTENT_MAGIC: u16 = 0xF30A;
/// The deepest tree ext4 makes (the kernel's limit).
pub const MAX_DEPTH: u16 = 5;
/// `ee_len` above this marks an uninitialized (preallocated) extent that reads as zeros.
const INIT_MAX_LEN: u16 = 32768;

/// An index entry: the subtree at `leaf` covers logical blocks from `block` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    /// `ei_block` (0x00).
    pub block: u32,
    /// `ei_leaf_lo` (0x04) with `ei_leaf_hi` (0x08).
    pub leaf: u64,
}

/// A leaf extent: `len` logical blocks from `block` stored from physical block `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// `ee_block` (0x00).
    pub block: u32,
    /// `ee_len` (0x04) without the uninitialized flag.
    pub len: u32,
    /// `ee_start_lo` (0x08) with `ee_start_hi` (0x06).
    pub start: u64,
    /// Whether the extent is preallocated but unwritten (reads as zeros).
    pub uninit: bool,
}

/// A node's entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Index { depth: u16, entries: Vec<Index> },
    Leaf(Vec<Extent>),
}

/// Parses a node from `b` (the 60-byte root or a whole block). Errors carry the offset inside
/// `b` and what is wrong.
pub fn parse_node(b: &[u8]) -> Result<Node, (usize, String)> {
    if b.len() < 12 {
        return Err((0, "extent node shorter than its header".into()));
    }
    let magic = le16(b, 0);
    if magic != EXTENT_MAGIC {
        return Err((0, format!("extent header magic {magic:#06x}, not 0xf30a")));
    }
    let entries = usize::from(le16(b, 2));
    let max = usize::from(le16(b, 4));
    let depth = le16(b, 6);
    let room = (b.len() - 12) / 12;
    if entries > max || max > room {
        return Err((
            2,
            format!("extent node with {entries} entries of at most {max} in room for {room}"),
        ));
    }
    if depth > MAX_DEPTH {
        return Err((
            6,
            format!("extent tree depth {depth} (at most {MAX_DEPTH})"),
        ));
    }
    let at = |i: usize| &b[12 + 12 * i..24 + 12 * i];
    let mut prev: Option<u32> = None;
    let mut ascending = |block: u32, i: usize| -> Result<(), (usize, String)> {
        if prev.is_some_and(|p| block <= p) {
            return Err((
                12 + 12 * i,
                format!(
                    "extent entry {i} starts at logical block {block}, not after the one before"
                ),
            ));
        }
        prev = Some(block);
        Ok(())
    };
    if depth > 0 {
        let mut v = Vec::with_capacity(entries);
        for i in 0..entries {
            let e = at(i);
            let ix = Index {
                block: le32(e, 0),
                leaf: u64::from(le32(e, 4)) | u64::from(le16(e, 8)) << 32,
            };
            ascending(ix.block, i)?;
            v.push(ix);
        }
        Ok(Node::Index { depth, entries: v })
    } else {
        let mut v = Vec::with_capacity(entries);
        for i in 0..entries {
            let e = at(i);
            let raw = le16(e, 4);
            let (len, uninit) = if raw > INIT_MAX_LEN {
                (raw - INIT_MAX_LEN, true)
            } else {
                (raw, false)
            };
            let x = Extent {
                block: le32(e, 0),
                len: u32::from(len),
                start: u64::from(le32(e, 8)) | u64::from(le16(e, 6)) << 32,
                uninit,
            };
            ascending(x.block, i)?;
            if x.len == 0 {
                return Err((12 + 12 * i + 4, format!("extent entry {i} of length 0")));
            }
            v.push(x);
        }
        Ok(Node::Leaf(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_leaf_with_uninit_extent() {
        let mut b = [0u8; 60];
        b[0..2].copy_from_slice(&EXTENT_MAGIC.to_le_bytes());
        b[2] = 2; // eh_entries
        b[4] = 4; // eh_max
        // Extent 0: logical 0, 8 blocks at physical 0x1_0000_0100.
        b[12..16].copy_from_slice(&0u32.to_le_bytes());
        b[16..18].copy_from_slice(&8u16.to_le_bytes());
        b[18..20].copy_from_slice(&1u16.to_le_bytes());
        b[20..24].copy_from_slice(&0x100u32.to_le_bytes());
        // Extent 1: logical 100, 3 blocks, uninitialized (32768 + 3).
        b[24..28].copy_from_slice(&100u32.to_le_bytes());
        b[28..30].copy_from_slice(&32771u16.to_le_bytes());
        b[32..36].copy_from_slice(&0x200u32.to_le_bytes());
        let Node::Leaf(v) = parse_node(&b).unwrap() else {
            panic!("leaf expected")
        };
        assert_eq!(v[0].start, 0x1_0000_0100);
        assert_eq!((v[1].len, v[1].uninit), (3, true));
        // Five entries cannot fit 60 bytes.
        b[4] = 5;
        assert_eq!(parse_node(&b).unwrap_err().0, 2);
    }
}
