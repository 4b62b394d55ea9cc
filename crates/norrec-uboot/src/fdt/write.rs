//! The write side: flattens a [`Tree`] into a blob laid out as dtc and libfdt's `fdt_pack` lay it
//! out: header, memory reservation map at 0x28, structure block, strings block, then optional
//! free space (counted in `totalsize`, as libfdt leaves it after `fdt_open_into`).
//!
//! Hand-written rather than `vm-fdt`: vm-fdt orders its strings block by first use in the
//! structure walk and cannot leave free space, while mkimage's output keeps dtc's strings first
//! and appends the ones libfdt added later (`timestamp`, `value`, `data-offset`…) at the end,
//! and keeps the free space `fdt_open_into` made. Matching mkimage byte for byte needs both.

use super::tree::{Node, Tree};
use super::{FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_MAGIC, FDT_PROP, HEADER_SIZE};

/// A strings block that reuses any earlier occurrence of `name\0`, including a suffix of a
/// longer name, as dtc 1.6 and libfdt both do.
#[derive(Debug, Clone, Default)]
pub struct StringTable {
    bytes: Vec<u8>,
}

impl StringTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The offset of `name`, appending it when it is not there yet.
    pub fn offset_of(&mut self, name: &str) -> u32 {
        let n = name.len() + 1;
        if self.bytes.len() >= n {
            for i in 0..=self.bytes.len() - n {
                if &self.bytes[i..i + n - 1] == name.as_bytes() && self.bytes[i + n - 1] == 0 {
                    return i as u32;
                }
            }
        }
        let off = self.bytes.len() as u32;
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        off
    }

    /// Adds every property name of `node` and its descendants in document order.
    pub fn add_tree(&mut self, node: &Node) {
        for p in &node.props {
            self.offset_of(&p.name);
        }
        for c in &node.children {
            self.add_tree(c);
        }
    }

    /// The table's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Layout choices for [`write_with`].
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Free bytes after the strings block, counted in `totalsize`.
    pub free_space: usize,
    /// `last_comp_version` (dtc and `fdt_open_into` write 16).
    pub last_comp_version: u32,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            free_space: 0,
            last_comp_version: 16,
        }
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

pub(crate) fn struct_size(node: &Node) -> usize {
    let mut n = 4 + align4(node.name.len() + 1);
    for p in &node.props {
        n += 12 + align4(p.value.len());
    }
    for c in &node.children {
        n += struct_size(c);
    }
    n + 4
}

/// Flattens `tree` as dtc does: strings in first-use order.
pub fn write(tree: &Tree) -> Vec<u8> {
    write_with(tree, &mut StringTable::new(), &WriteOptions::default())
}

/// Flattens `tree` with a strings table that may already hold names (their offsets are kept;
/// new names are appended) and with the layout options.
pub fn write_with(tree: &Tree, strings: &mut StringTable, opts: &WriteOptions) -> Vec<u8> {
    strings.add_tree(&tree.root);
    let mut out = Vec::with_capacity(blob_size(tree, strings, opts));
    // Writing into a Vec cannot fail.
    let _ = write_to(tree, strings, opts, &mut out);
    out
}

/// The size [`write_to`] will write once `strings` holds every name of the tree.
pub fn blob_size(tree: &Tree, strings: &StringTable, opts: &WriteOptions) -> usize {
    HEADER_SIZE
        + 16 * (tree.reservations.len() + 1)
        + struct_size(&tree.root)
        + 4
        + strings.as_bytes().len()
        + opts.free_space
}

/// Streams the blob to `w` without building it in memory (large property values are written
/// straight from the tree). Returns the number of bytes written.
pub fn write_to(
    tree: &Tree,
    strings: &mut StringTable,
    opts: &WriteOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<usize> {
    strings.add_tree(&tree.root);
    let rsv_off = HEADER_SIZE; // 0x28, already 8-aligned
    let struct_off = rsv_off + 16 * (tree.reservations.len() + 1);
    let ssize = struct_size(&tree.root) + 4;
    let strings_off = struct_off + ssize;
    let total = strings_off + strings.as_bytes().len() + opts.free_space;
    let fields = [
        FDT_MAGIC,
        total as u32,
        struct_off as u32,
        strings_off as u32,
        rsv_off as u32,
        17,
        opts.last_comp_version,
        tree.boot_cpuid_phys,
        strings.as_bytes().len() as u32,
        ssize as u32,
    ];
    let mut head = Vec::with_capacity(struct_off);
    for f in fields {
        head.extend_from_slice(&f.to_be_bytes());
    }
    for (a, s) in &tree.reservations {
        head.extend_from_slice(&a.to_be_bytes());
        head.extend_from_slice(&s.to_be_bytes());
    }
    head.extend_from_slice(&[0u8; 16]);
    w.write_all(&head)?;
    let mut small = Vec::with_capacity(4096);
    stream_node(&tree.root, strings, &mut small, w)?;
    small.extend_from_slice(&FDT_END.to_be_bytes());
    small.extend_from_slice(strings.as_bytes());
    w.write_all(&small)?;
    let zeros = [0u8; 4096];
    let mut left = opts.free_space;
    while left > 0 {
        let n = left.min(zeros.len());
        w.write_all(&zeros[..n])?;
        left -= n;
    }
    Ok(total)
}

/// Values at least this long go to the writer directly rather than through `small`.
const DIRECT: usize = 64 * 1024;

fn stream_node(
    node: &Node,
    strings: &mut StringTable,
    small: &mut Vec<u8>,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    small.extend_from_slice(&FDT_BEGIN_NODE.to_be_bytes());
    small.extend_from_slice(node.name.as_bytes());
    // The name and its NUL, padded to 4 (the token before it is 4-aligned).
    let named = node.name.len() + 1;
    small.resize(small.len() + align4(named) - node.name.len(), 0);
    for p in &node.props {
        small.extend_from_slice(&FDT_PROP.to_be_bytes());
        small.extend_from_slice(&(p.value.len() as u32).to_be_bytes());
        small.extend_from_slice(&strings.offset_of(&p.name).to_be_bytes());
        if p.value.len() >= DIRECT {
            w.write_all(small)?;
            small.clear();
            w.write_all(&p.value)?;
        } else {
            small.extend_from_slice(&p.value);
        }
        let pad = (4 - p.value.len() % 4) % 4;
        small.extend_from_slice(&[0u8; 3][..pad]);
    }
    for c in &node.children {
        stream_node(c, strings, small, w)?;
    }
    small.extend_from_slice(&FDT_END_NODE.to_be_bytes());
    Ok(())
}
