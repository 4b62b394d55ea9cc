//! The read side: a zero-copy view of a flattened device tree over `&[u8]`.
//!
//! [`Fdt::new`] checks the whole blob once (header, memory reservation map, every token of the
//! structure block, every property name in the strings block) and names the byte offset of the
//! first thing that is wrong. After that, walking nodes and properties cannot fail, so the
//! iterators yield plain values.

use super::{FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_MAGIC, FDT_NOP, FDT_PROP, HEADER_SIZE};
use crate::{Error, Result};

/// The 40-byte header (all fields big-endian in the blob).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub magic: u32,
    pub totalsize: u32,
    pub off_dt_struct: u32,
    pub off_dt_strings: u32,
    pub off_mem_rsvmap: u32,
    pub version: u32,
    pub last_comp_version: u32,
    pub boot_cpuid_phys: u32,
    pub size_dt_strings: u32,
    pub size_dt_struct: u32,
}

fn be32(data: &[u8], off: usize) -> Option<u32> {
    let b = data.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be64(data: &[u8], off: usize) -> Option<u64> {
    let b = data.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_be_bytes(a))
}

fn at(offset: usize, msg: impl Into<String>) -> Error {
    Error::At {
        offset,
        msg: msg.into(),
    }
}

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A checked flattened device tree. `Copy`: it is a few slices and the header.
#[derive(Debug, Clone, Copy)]
pub struct Fdt<'a> {
    blob: &'a [u8],
    header: Header,
    structs: &'a [u8],
    strings: &'a [u8],
}

impl<'a> Fdt<'a> {
    /// Checks `data` (which may be longer than `totalsize`, as with FITs that carry external
    /// data) and returns a view of it.
    pub fn new(data: &'a [u8]) -> Result<Self> {
        if data.len() < HEADER_SIZE {
            return Err(at(
                data.len(),
                format!("truncated FDT header ({} of 40 bytes)", data.len()),
            ));
        }
        let f = |i: usize| be32(data, i * 4).unwrap_or(0);
        let header = Header {
            magic: f(0),
            totalsize: f(1),
            off_dt_struct: f(2),
            off_dt_strings: f(3),
            off_mem_rsvmap: f(4),
            version: f(5),
            last_comp_version: f(6),
            boot_cpuid_phys: f(7),
            size_dt_strings: f(8),
            size_dt_struct: f(9),
        };
        if header.magic != FDT_MAGIC {
            return Err(at(0, format!("bad FDT magic {:#010x}", header.magic)));
        }
        let total = header.totalsize as usize;
        if total > data.len() {
            return Err(at(
                4,
                format!(
                    "totalsize {total:#x} is past the end of the data ({:#x} bytes)",
                    data.len()
                ),
            ));
        }
        if header.version < 16 || header.last_comp_version > 17 {
            return Err(at(
                20,
                format!(
                    "unsupported FDT version {} (last compatible {})",
                    header.version, header.last_comp_version
                ),
            ));
        }
        let blob = &data[..total];
        let block = |field_off: usize, off: u32, size: u32, what: &str| -> Result<&'a [u8]> {
            let (o, s) = (off as usize, size as usize);
            if o < HEADER_SIZE || o.checked_add(s).is_none_or(|end| end > total) {
                return Err(at(
                    field_off,
                    format!("{what} block {o:#x}+{s:#x} lies outside totalsize {total:#x}"),
                ));
            }
            Ok(&blob[o..o + s])
        };
        let structs = block(8, header.off_dt_struct, header.size_dt_struct, "structure")?;
        let strings = block(12, header.off_dt_strings, header.size_dt_strings, "strings")?;
        let rsv = header.off_mem_rsvmap as usize;
        if rsv < HEADER_SIZE || rsv % 8 != 0 || rsv >= total {
            return Err(at(
                16,
                format!("memory reservation map offset {rsv:#x} is invalid"),
            ));
        }
        let fdt = Self {
            blob,
            header,
            structs,
            strings,
        };
        // The reservation map must end with a (0, 0) entry inside the blob.
        let mut off = rsv;
        loop {
            let (Some(addr), Some(size)) = (be64(blob, off), be64(blob, off + 8)) else {
                return Err(at(off, "memory reservation map runs past totalsize"));
            };
            if addr == 0 && size == 0 {
                break;
            }
            off += 16;
        }
        fdt.check_structure()?;
        Ok(fdt)
    }

    /// Walks every token once so that later walks cannot fail.
    fn check_structure(&self) -> Result<()> {
        let base = self.header.off_dt_struct as usize;
        let mut off = 0usize;
        let mut depth = 0usize;
        let mut seen_root = false;
        loop {
            let tok = be32(self.structs, off)
                .ok_or_else(|| at(base + off, "structure block ends without FDT_END"))?;
            match tok {
                FDT_BEGIN_NODE => {
                    if depth == 0 && seen_root {
                        return Err(at(base + off, "second root node"));
                    }
                    seen_root = true;
                    let name_off = off + 4;
                    let rest = &self.structs[name_off.min(self.structs.len())..];
                    let len = rest.iter().position(|&b| b == 0).ok_or_else(|| {
                        at(base + name_off, "node name runs past the structure block")
                    })?;
                    if std::str::from_utf8(&rest[..len]).is_err() {
                        return Err(at(base + name_off, "node name is not UTF-8"));
                    }
                    off = align4(name_off + len + 1);
                    depth += 1;
                }
                FDT_END_NODE => {
                    if depth == 0 {
                        return Err(at(base + off, "FDT_END_NODE without a node"));
                    }
                    depth -= 1;
                    off += 4;
                }
                FDT_PROP => {
                    if depth == 0 {
                        return Err(at(base + off, "property outside any node"));
                    }
                    let len = be32(self.structs, off + 4)
                        .ok_or_else(|| at(base + off + 4, "property header truncated"))?
                        as usize;
                    let nameoff = be32(self.structs, off + 8)
                        .ok_or_else(|| at(base + off + 8, "property header truncated"))?
                        as usize;
                    if off + 12 + len > self.structs.len() {
                        return Err(at(
                            base + off + 4,
                            format!("property length {len:#x} runs past the structure block"),
                        ));
                    }
                    self.string_at(nameoff).ok_or_else(|| {
                        at(
                            base + off + 8,
                            format!(
                                "property name offset {nameoff:#x} is past the strings block \
                                 ({:#x} bytes) or not terminated",
                                self.strings.len()
                            ),
                        )
                    })?;
                    off = align4(off + 12 + len);
                }
                FDT_NOP => off += 4,
                FDT_END => {
                    if depth != 0 {
                        return Err(at(base + off, "FDT_END inside a node"));
                    }
                    if !seen_root {
                        return Err(at(base + off, "no root node"));
                    }
                    return Ok(());
                }
                t => return Err(at(base + off, format!("unknown structure token {t:#x}"))),
            }
        }
    }

    fn string_at(&self, off: usize) -> Option<&'a str> {
        let rest = self.strings.get(off..)?;
        let len = rest.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&rest[..len]).ok()
    }

    /// The header fields.
    pub fn header(&self) -> Header {
        self.header
    }

    /// `totalsize` from the header: the length of the blob proper.
    pub fn totalsize(&self) -> usize {
        self.header.totalsize as usize
    }

    /// The blob (`totalsize` bytes).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.blob
    }

    /// The strings block.
    pub fn strings_block(&self) -> &'a [u8] {
        self.strings
    }

    /// Memory reservations `(address, size)`, without the terminating entry.
    pub fn reservations(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut off = self.header.off_mem_rsvmap as usize;
        while let (Some(a), Some(s)) = (be64(self.blob, off), be64(self.blob, off + 8)) {
            if a == 0 && s == 0 {
                break;
            }
            out.push((a, s));
            off += 16;
        }
        out
    }

    /// The root node.
    pub fn root(&self) -> Node<'a> {
        let mut off = 0;
        while be32(self.structs, off) == Some(FDT_NOP) {
            off += 4;
        }
        self.node_at(off)
    }

    fn node_at(&self, off: usize) -> Node<'a> {
        let rest = &self.structs[off + 4..];
        let len = rest.iter().position(|&b| b == 0).unwrap_or(0);
        let name = std::str::from_utf8(&rest[..len]).unwrap_or("");
        Node {
            fdt: *self,
            offset: off,
            name,
            body: align4(off + 4 + len + 1),
        }
    }

    /// The node at an absolute path such as `/images/kernel-1`.
    pub fn find(&self, path: &str) -> Option<Node<'a>> {
        let mut node = self.root();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            node = node.child(part)?;
        }
        Some(node)
    }

    /// Every node in document order with its depth (root = 0).
    pub fn walk(&self) -> Vec<(usize, Node<'a>)> {
        fn rec<'a>(n: Node<'a>, d: usize, out: &mut Vec<(usize, Node<'a>)>) {
            out.push((d, n));
            for c in n.children() {
                rec(c, d + 1, out);
            }
        }
        let mut out = Vec::new();
        rec(self.root(), 0, &mut out);
        out
    }
}

/// One node; cheap to copy.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    fdt: Fdt<'a>,
    /// Offset of the FDT_BEGIN_NODE token in the structure block.
    offset: usize,
    name: &'a str,
    /// Offset of the first token after the name.
    body: usize,
}

/// One item of a node's body, as the tokens come.
enum Item<'a> {
    Prop(Prop<'a>),
    Child(Node<'a>),
}

impl<'a> Node<'a> {
    /// Full name with unit address (`""` for the root).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The name without `@unit-address`.
    pub fn base_name(&self) -> &'a str {
        self.name.split('@').next().unwrap_or(self.name)
    }

    /// Byte offset of this node's FDT_BEGIN_NODE token in the blob.
    pub fn blob_offset(&self) -> usize {
        self.fdt.header.off_dt_struct as usize + self.offset
    }

    /// Walks the body; the structure was checked in [`Fdt::new`].
    fn items(&self) -> Vec<Item<'a>> {
        let s = self.fdt.structs;
        let mut out = Vec::new();
        let mut off = self.body;
        loop {
            match be32(s, off) {
                Some(FDT_PROP) => {
                    let len = be32(s, off + 4).unwrap_or(0) as usize;
                    let nameoff = be32(s, off + 8).unwrap_or(0) as usize;
                    out.push(Item::Prop(Prop {
                        name: self.fdt.string_at(nameoff).unwrap_or(""),
                        value: &s[off + 12..off + 12 + len],
                        offset: self.fdt.header.off_dt_struct as usize + off + 12,
                    }));
                    off = align4(off + 12 + len);
                }
                Some(FDT_NOP) => off += 4,
                Some(FDT_BEGIN_NODE) => {
                    let child = self.fdt.node_at(off);
                    off = child.end();
                    out.push(Item::Child(child));
                }
                _ => return out,
            }
        }
    }

    /// Offset just past this node's FDT_END_NODE.
    fn end(&self) -> usize {
        let s = self.fdt.structs;
        let mut off = self.body;
        let mut depth = 1usize;
        while depth > 0 {
            match be32(s, off) {
                Some(FDT_BEGIN_NODE) => {
                    let rest = &s[off + 4..];
                    let len = rest.iter().position(|&b| b == 0).unwrap_or(0);
                    off = align4(off + 4 + len + 1);
                    depth += 1;
                }
                Some(FDT_END_NODE) => {
                    depth -= 1;
                    off += 4;
                }
                Some(FDT_PROP) => {
                    let len = be32(s, off + 4).unwrap_or(0) as usize;
                    off = align4(off + 12 + len);
                }
                Some(FDT_NOP) => off += 4,
                _ => return off,
            }
        }
        off
    }

    /// The properties, in order.
    pub fn props(&self) -> impl Iterator<Item = Prop<'a>> + use<'a> {
        self.items().into_iter().filter_map(|i| match i {
            Item::Prop(p) => Some(p),
            Item::Child(_) => None,
        })
    }

    /// The child nodes, in order.
    pub fn children(&self) -> impl Iterator<Item = Node<'a>> + use<'a> {
        self.items().into_iter().filter_map(|i| match i {
            Item::Child(c) => Some(c),
            Item::Prop(_) => None,
        })
    }

    /// The property called `name`.
    pub fn prop(&self, name: &str) -> Option<Prop<'a>> {
        self.props().find(|p| p.name == name)
    }

    /// A property read as a string (`None` when absent or not a string).
    pub fn prop_str(&self, name: &str) -> Option<&'a str> {
        self.prop(name).and_then(|p| p.as_str())
    }

    /// A property read as one big-endian u32.
    pub fn prop_u32(&self, name: &str) -> Option<u32> {
        self.prop(name).and_then(|p| p.as_u32())
    }

    /// The child called `name` (exact, or by base name when unique and `name` has no '@').
    pub fn child(&self, name: &str) -> Option<Node<'a>> {
        let mut kids = self.children();
        if let Some(c) = self.children().find(|c| c.name == name) {
            return Some(c);
        }
        if name.contains('@') {
            return None;
        }
        kids.find(|c| c.base_name() == name)
    }
}

/// One property: its name, its value (borrowed from the blob) and where the value lies.
#[derive(Debug, Clone, Copy)]
pub struct Prop<'a> {
    pub name: &'a str,
    pub value: &'a [u8],
    /// Byte offset of the value in the blob.
    pub offset: usize,
}

impl<'a> Prop<'a> {
    /// The value as one NUL-terminated UTF-8 string.
    pub fn as_str(&self) -> Option<&'a str> {
        let (last, body) = self.value.split_last()?;
        if *last != 0 || body.contains(&0) {
            return None;
        }
        std::str::from_utf8(body).ok()
    }

    /// The value as a list of NUL-terminated strings.
    pub fn as_strs(&self) -> Option<Vec<&'a str>> {
        let (last, body) = self.value.split_last()?;
        if *last != 0 {
            return None;
        }
        body.split(|&b| b == 0)
            .map(|s| std::str::from_utf8(s).ok())
            .collect()
    }

    /// The value as one big-endian u32.
    pub fn as_u32(&self) -> Option<u32> {
        (self.value.len() == 4).then(|| be32(self.value, 0).unwrap_or(0))
    }

    /// The value as one u64 (8 bytes) or a u32 (4 bytes).
    pub fn as_u64(&self) -> Option<u64> {
        match self.value.len() {
            4 => be32(self.value, 0).map(u64::from),
            8 => be64(self.value, 0),
            _ => None,
        }
    }

    /// The value as big-endian u32 cells.
    pub fn cells(&self) -> Option<Vec<u32>> {
        if self.value.len() % 4 != 0 {
            return None;
        }
        Some(
            self.value
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        )
    }
}
