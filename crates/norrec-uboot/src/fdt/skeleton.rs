//! A blob's metadata without its big property values, for checking a large FIT in bounded
//! memory: [`read_skeleton`] fills a zeroed buffer of the file's length with the header, the
//! memory reservation block, the strings block and the structure block, except property values
//! longer than a limit (a FIT's image `data`), which stay zero and are never read. [`Fdt`] and
//! [`crate::fit::Fit`] parse that buffer as they parse the whole file; whoever needs a skipped
//! value reads its byte range from the file (the FIT verifier hashes it in chunks).
//!
//! Untouched pages of a large zeroed allocation are never faulted in, so a 10 MiB FIT costs the
//! few KiB of its metadata, not 10 MiB of copies.
//!
//! [`Fdt`]: super::Fdt

use std::io::{BufReader, Read, Seek};

use super::{FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_MAGIC, FDT_NOP, FDT_PROP, HEADER_SIZE};
use crate::{Error, Result};

fn at(offset: usize, msg: impl Into<String>) -> Error {
    Error::At {
        offset,
        msg: msg.into(),
    }
}

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// What [`read_skeleton`] read.
#[derive(Debug, Clone)]
pub struct Skeleton {
    /// The file's length in bytes: its blob's metadata, zeros elsewhere.
    pub bytes: Vec<u8>,
    /// The skipped property values, as `start..end` byte ranges.
    pub skipped: Vec<(usize, usize)>,
}

/// Reads the blob at the start of `r` (a file of `len` bytes) into a zeroed `len`-byte buffer,
/// skipping property values longer than `skip_over` bytes. A structural error names its offset; the caller may then read the
/// whole file and let the full parser report it.
pub fn read_skeleton<R: Read + Seek>(r: R, len: usize, skip_over: usize) -> Result<Skeleton> {
    let mut out = vec![0u8; len];
    let mut skipped = Vec::new();
    let mut rd = Cursor {
        r: BufReader::with_capacity(16 << 10, r),
        pos: 0,
    };
    if len < HEADER_SIZE {
        return Err(at(0, format!("{len} bytes: shorter than an FDT header")));
    }
    rd.read_into(&mut out, 0, HEADER_SIZE)?;
    if be32(&out, 0) != FDT_MAGIC {
        return Err(at(0, "bad magic (not 0xd00dfeed)"));
    }
    let field = |o: usize| be32(&out, o) as usize;
    let (total, off_struct, off_strings, off_rsv) = (field(4), field(8), field(12), field(16));
    let (size_strings, size_struct) = (field(32), field(36));
    let inside = |o: usize, n: usize, what: &str| {
        if o.checked_add(n).is_some_and(|e| e <= total && e <= len) {
            Ok(())
        } else {
            Err(at(
                o,
                format!("{what} ({n:#x} bytes) runs past the blob or file"),
            ))
        }
    };
    inside(off_struct, size_struct, "structure block")?;
    inside(off_strings, size_strings, "strings block")?;
    inside(off_rsv, 0, "memory reservation block")?;
    // the reservation map: 16-byte entries up to a zero one, before the structure block
    let rsv_end = off_struct.min(off_strings).max(off_rsv);
    if rsv_end > HEADER_SIZE {
        rd.read_into(&mut out, HEADER_SIZE, rsv_end - HEADER_SIZE)?;
    }
    rd.read_into(&mut out, off_strings, size_strings)?;
    let end = off_struct + size_struct;
    let mut p = off_struct;
    let word = |rd: &mut Cursor<R>, out: &mut Vec<u8>, p: usize| -> Result<u32> {
        if p + 4 > end {
            return Err(at(p, "structure block ends inside a token"));
        }
        rd.read_into(out, p, 4)?;
        Ok(be32(out, p))
    };
    loop {
        let token = word(&mut rd, &mut out, p)?;
        p += 4;
        match token {
            FDT_BEGIN_NODE => loop {
                // the name, NUL-terminated and padded to 4
                word(&mut rd, &mut out, p)?;
                p += 4;
                if out[p - 4..p].contains(&0) {
                    break;
                }
            },
            FDT_PROP => {
                let n = word(&mut rd, &mut out, p)? as usize;
                word(&mut rd, &mut out, p + 4)?;
                p += 8;
                let padded = n.checked_add(3).map(|x| x & !3).unwrap_or(usize::MAX);
                if p.checked_add(padded).is_none_or(|e| e > end) {
                    return Err(at(
                        p - 8,
                        format!("property of {n:#x} bytes runs past the structure block"),
                    ));
                }
                if n > skip_over {
                    skipped.push((p, p + n));
                } else {
                    rd.read_into(&mut out, p, n)?;
                }
                p += padded;
            }
            FDT_END_NODE | FDT_NOP => {}
            FDT_END => {
                return Ok(Skeleton {
                    bytes: out,
                    skipped,
                });
            }
            other => return Err(at(p - 4, format!("unknown token {other:#x}"))),
        }
    }
}

/// A reader that knows its position and moves forward by skipping buffered bytes.
struct Cursor<R> {
    r: BufReader<R>,
    pos: usize,
}

impl<R: Read + Seek> Cursor<R> {
    fn read_into(&mut self, out: &mut [u8], at_: usize, n: usize) -> Result<()> {
        if at_ != self.pos {
            let delta = at_ as i64 - self.pos as i64;
            self.r.seek_relative(delta).map_err(|e| io(at_, e))?;
        }
        self.r
            .read_exact(&mut out[at_..at_ + n])
            .map_err(|e| io(at_, e))?;
        self.pos = at_ + n;
        Ok(())
    }
}

fn io(offset: usize, source: std::io::Error) -> Error {
    Error::Io {
        what: format!("reading the blob at {offset:#x}"),
        source,
    }
}
