//! In-place edits of a blob with libfdt's semantics, for reproducing what mkimage does after
//! dtc: `fdt_setprop` (replace in place, or insert before the node's other properties, names
//! appended to the strings block or reused from any earlier occurrence), `fdt_delprop`,
//! `fdt_open_into` (free space at the end) and `fdt_pack`. Every edit moves the bytes after it
//! the way libfdt's `memmove` does, so the bytes left behind past the new end of a shrunk blob
//! are the same as libfdt leaves them (mkimage `-E` writes a few of them out).
//!
//! The blob must be in canonical order (header, reservation map, structure, strings), as dtc
//! and this crate's writer produce.

use super::{FDT_BEGIN_NODE, FDT_END_NODE, FDT_NOP, FDT_PROP};

/// Not enough free space in the blob for an edit (libfdt's `-FDT_ERR_NOSPACE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSpace;

/// A blob being edited in place.
#[derive(Debug, Clone)]
pub struct FdtRw {
    buf: Vec<u8>,
}

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

impl FdtRw {
    /// Takes a canonical blob (its buffer is `totalsize` long).
    pub fn new(blob: Vec<u8>) -> Self {
        Self { buf: blob }
    }

    /// The buffer (its length is the current `totalsize` plus any bytes past it).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The buffer.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    fn rd(&self, off: usize) -> u32 {
        u32::from_be_bytes([
            self.buf[off],
            self.buf[off + 1],
            self.buf[off + 2],
            self.buf[off + 3],
        ])
    }

    fn wr(&mut self, off: usize, v: u32) {
        self.buf[off..off + 4].copy_from_slice(&v.to_be_bytes());
    }

    /// `totalsize`.
    pub fn totalsize(&self) -> usize {
        self.rd(4) as usize
    }

    /// Sets `totalsize` (the buffer grows with zeros if needed, never shrinks).
    pub fn set_totalsize(&mut self, n: usize) {
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        self.wr(4, n as u32);
    }

    fn off_struct(&self) -> usize {
        self.rd(8) as usize
    }

    fn off_strings(&self) -> usize {
        self.rd(12) as usize
    }

    fn size_strings(&self) -> usize {
        self.rd(32) as usize
    }

    fn size_struct(&self) -> usize {
        self.rd(36) as usize
    }

    fn data_end(&self) -> usize {
        self.off_strings() + self.size_strings()
    }

    /// `fdt_open_into` on a canonical blob: `size` bytes with free space at the end.
    pub fn open_into(&mut self, size: usize) {
        self.buf.resize(size.max(self.buf.len()), 0);
        self.wr(4, size as u32);
    }

    /// `fdt_pack` on a canonical blob: `totalsize` becomes the end of the strings block (the
    /// bytes past it stay in the buffer, as in libfdt's memory).
    pub fn pack(&mut self) {
        let end = self.data_end();
        self.wr(4, end as u32);
    }

    /// Truncates or extends the buffer to `n` bytes (`ftruncate`).
    pub fn truncate_buffer(&mut self, n: usize) {
        self.buf.resize(n, 0);
    }

    fn splice(&mut self, pos: usize, oldlen: usize, newlen: usize) -> Result<(), NoSpace> {
        let end = self.data_end();
        if end - oldlen + newlen > self.totalsize() {
            return Err(NoSpace);
        }
        self.buf.copy_within(pos + oldlen..end, pos + newlen);
        Ok(())
    }

    fn splice_struct(&mut self, pos: usize, oldlen: usize, newlen: usize) -> Result<(), NoSpace> {
        self.splice(pos, oldlen, newlen)?;
        let delta = newlen as i64 - oldlen as i64;
        let ss = (self.size_struct() as i64 + delta) as u32;
        let os = (self.off_strings() as i64 + delta) as u32;
        self.wr(36, ss);
        self.wr(12, os);
        Ok(())
    }

    /// The offset of `name` in the strings block, adding it at the end when absent.
    fn find_add_string(&mut self, name: &str) -> Result<(u32, bool), NoSpace> {
        let (o, n) = (self.off_strings(), self.size_strings());
        let needle_len = name.len() + 1;
        if n >= needle_len {
            let tab = &self.buf[o..o + n];
            for i in 0..=n - needle_len {
                if &tab[i..i + name.len()] == name.as_bytes() && tab[i + name.len()] == 0 {
                    return Ok((i as u32, false));
                }
            }
        }
        let at = o + n;
        self.splice(at, 0, needle_len)?;
        self.buf[at..at + name.len()].copy_from_slice(name.as_bytes());
        self.buf[at + name.len()] = 0;
        self.wr(32, (n + needle_len) as u32);
        Ok((n as u32, true))
    }

    fn name_end(&self, node: usize) -> usize {
        let rest = &self.buf[node + 4..];
        let len = rest.iter().position(|&b| b == 0).unwrap_or(0);
        align4(node + 4 + len + 1)
    }

    fn node_name(&self, node: usize) -> &[u8] {
        let rest = &self.buf[node + 4..];
        let len = rest.iter().position(|&b| b == 0).unwrap_or(0);
        &rest[..len]
    }

    /// Offset just past the token at `off` (a whole subtree for FDT_BEGIN_NODE).
    fn skip(&self, off: usize) -> usize {
        match self.rd(off) {
            FDT_PROP => align4(off + 12 + self.rd(off + 4) as usize),
            FDT_BEGIN_NODE => {
                let mut o = self.name_end(off);
                loop {
                    match self.rd(o) {
                        FDT_END_NODE => return o + 4,
                        _ => o = self.skip(o),
                    }
                }
            }
            _ => off + 4,
        }
    }

    /// Direct children of the node at `node`, as offsets.
    pub fn subnodes(&self, node: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut o = self.name_end(node);
        loop {
            match self.rd(o) {
                FDT_BEGIN_NODE => {
                    out.push(o);
                    o = self.skip(o);
                }
                FDT_PROP | FDT_NOP => o = self.skip(o),
                _ => return out,
            }
        }
    }

    /// The node at an absolute path, as an offset.
    pub fn path_offset(&self, path: &str) -> Option<usize> {
        let mut node = self.off_struct();
        while self.rd(node) == FDT_NOP {
            node += 4;
        }
        for part in path.split('/').filter(|p| !p.is_empty()) {
            node = self
                .subnodes(node)
                .into_iter()
                .find(|&c| self.node_name(c) == part.as_bytes())?;
        }
        Some(node)
    }

    /// `(offset of the FDT_PROP token, value length)` of a property of the node.
    pub fn find_prop(&self, node: usize, name: &str) -> Option<(usize, usize)> {
        let mut o = self.name_end(node);
        loop {
            match self.rd(o) {
                FDT_PROP => {
                    let len = self.rd(o + 4) as usize;
                    let nameoff = self.rd(o + 8) as usize;
                    let s = &self.buf[self.off_strings() + nameoff..];
                    if s.starts_with(name.as_bytes()) && s.get(name.len()) == Some(&0) {
                        return Some((o, len));
                    }
                    o = self.skip(o);
                }
                FDT_NOP => o += 4,
                _ => return None,
            }
        }
    }

    /// A property's value.
    pub fn getprop(&self, node: usize, name: &str) -> Option<&[u8]> {
        let (o, len) = self.find_prop(node, name)?;
        Some(&self.buf[o + 12..o + 12 + len])
    }

    /// `fdt_setprop`.
    pub fn setprop(&mut self, node: usize, name: &str, value: &[u8]) -> Result<(), NoSpace> {
        let len = value.len();
        let data = if let Some((o, oldlen)) = self.find_prop(node, name) {
            self.splice_struct(o + 12, align4(oldlen), align4(len))?;
            self.wr(o + 4, len as u32);
            o + 12
        } else {
            let (nameoff, added) = self.find_add_string(name)?;
            let at = self.name_end(node);
            if let Err(e) = self.splice_struct(at, 0, 12 + align4(len)) {
                if added {
                    let n = self.size_strings() - (name.len() + 1);
                    self.wr(32, n as u32);
                }
                return Err(e);
            }
            self.wr(at, FDT_PROP);
            self.wr(at + 4, len as u32);
            self.wr(at + 8, nameoff);
            at + 12
        };
        self.buf[data..data + len].copy_from_slice(value);
        Ok(())
    }

    /// `fdt_delprop`; false when the property is absent.
    pub fn delprop(&mut self, node: usize, name: &str) -> bool {
        match self.find_prop(node, name) {
            Some((o, len)) => self.splice_struct(o, 12 + align4(len), 0).is_ok(),
            None => false,
        }
    }
}
