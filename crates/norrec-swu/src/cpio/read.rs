//! Streaming cpio reader over any `Read`: headers one by one, each entry's data through
//! [`CpioReader::read_data`], the crc sum checked when an entry's last byte has been read.

use std::collections::HashSet;
use std::io::{self, Read};

use super::{Format, HEADER_LEN, TRAILER, check_name, pad4, sum32};
use crate::error::{Error, Result};

/// One entry's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The member name (without `./` prefix stripping: as stored).
    pub name: String,
    /// Data size in bytes.
    pub size: u64,
    /// File mode (type and permission bits).
    pub mode: u32,
    /// Modification time.
    pub mtime: u32,
    /// The `check` field (the data sum in the crc format, 0 in newc).
    pub check: u32,
    /// newc or crc.
    pub format: Format,
    /// Offset of the header in the archive.
    pub offset: u64,
    /// Offset of the data in the archive.
    pub data_offset: u64,
}

#[derive(Debug)]
struct Current {
    header: Header,
    remaining: u64,
    sum: u32,
}

/// Reads a cpio archive entry by entry, never holding more than a buffer of data.
#[derive(Debug)]
pub struct CpioReader<R> {
    inner: R,
    offset: u64,
    current: Option<Current>,
    seen: HashSet<String>,
    done: bool,
}

fn hex_field(h: &[u8; HEADER_LEN], idx: usize, field: &'static str, offset: u64) -> Result<u32> {
    let start = 6 + idx * 8;
    let text = &h[start..start + 8];
    let s = std::str::from_utf8(text).ok();
    s.and_then(|s| {
        if s.bytes().all(|b| b.is_ascii_hexdigit()) {
            u32::from_str_radix(s, 16).ok()
        } else {
            None
        }
    })
    .ok_or_else(|| Error::BadHeaderField {
        offset: offset + start as u64,
        field,
        text: String::from_utf8_lossy(text).into_owned(),
    })
}

impl<R: Read> CpioReader<R> {
    /// Starts reading at the beginning of an archive.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            current: None,
            seen: HashSet::new(),
            done: false,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Gives the underlying reader back.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Reads exactly `buf.len()` bytes; `what` names them in the truncation error.
    fn fill(&mut self, buf: &mut [u8], what: impl FnOnce() -> String) -> Result<()> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(Error::Truncated {
                        offset: self.offset + got as u64,
                        what: what(),
                    });
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Io(e)),
            }
        }
        self.offset += buf.len() as u64;
        Ok(())
    }

    /// The next entry's header, skipping whatever is left of the current entry's data (its crc
    /// sum is still checked). `None` after the trailer.
    pub fn next_header(&mut self) -> Result<Option<Header>> {
        if self.done {
            return Ok(None);
        }
        self.skip_current()?;
        let offset = self.offset;
        let mut h = [0u8; HEADER_LEN];
        self.fill(&mut h, || {
            "archive: header expected (no TRAILER!!! entry)".to_owned()
        })?;
        let format = match &h[..6] {
            b"070701" => Format::Newc,
            b"070702" => Format::Crc,
            other => {
                return Err(Error::BadMagic {
                    offset,
                    found: String::from_utf8_lossy(other).into_owned(),
                });
            }
        };
        let mode = hex_field(&h, 1, "mode", offset)?;
        let mtime = hex_field(&h, 5, "mtime", offset)?;
        let size = u64::from(hex_field(&h, 6, "filesize", offset)?);
        let namesize = hex_field(&h, 11, "namesize", offset)? as usize;
        let check = hex_field(&h, 12, "check", offset)?;
        if namesize == 0 || namesize > 4096 {
            return Err(Error::BadHeaderField {
                offset: offset + 94,
                field: "namesize",
                text: format!("{namesize:08x} (must be 1..=4096)"),
            });
        }
        let mut name = vec![0u8; namesize];
        self.fill(&mut name, || {
            format!("name of the entry at offset {offset}")
        })?;
        if name.pop() != Some(0) {
            return Err(Error::BadEntry {
                name: String::from_utf8_lossy(&name).into_owned(),
                offset,
                what: "name is not NUL-terminated".into(),
            });
        }
        let name = String::from_utf8(name).map_err(|e| Error::BadEntry {
            name: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            offset,
            what: "name is not UTF-8".into(),
        })?;
        let mut pad = [0u8; 3];
        let np = pad4((HEADER_LEN + namesize) as u64) as usize;
        self.fill(&mut pad[..np], || {
            format!("padding after the name {name:?}")
        })?;
        if name == TRAILER {
            self.done = true;
            return Ok(None);
        }
        check_name(&name).map_err(|why| Error::UnsafeName {
            name: name.clone(),
            offset,
            why,
        })?;
        if mode & 0o170000 != 0o100000 {
            return Err(Error::BadEntry {
                name,
                offset,
                what: format!("not a regular file (mode {mode:o})"),
            });
        }
        if !self.seen.insert(name.clone()) {
            return Err(Error::Duplicate { name, offset });
        }
        let header = Header {
            name,
            size,
            mode,
            mtime,
            check,
            format,
            offset,
            data_offset: self.offset,
        };
        self.current = Some(Current {
            header: header.clone(),
            remaining: size,
            sum: 0,
        });
        if size == 0 {
            self.finish_current()?;
        }
        Ok(Some(header))
    }

    /// Reads the current entry's data; 0 at its end. Errors (truncation, crc sum) come as
    /// `io::Error`s wrapping [`Error`] (see [`Error::from_io`]).
    pub fn read_data(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(cur) = self.current.as_mut() else {
            return Ok(0);
        };
        if cur.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(cur.remaining).unwrap_or(usize::MAX));
        let n = loop {
            match self.inner.read(&mut buf[..want]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            let h = &cur.header;
            return Err(Error::Truncated {
                offset: self.offset,
                what: format!(
                    "data of entry {:?}: header says {} bytes from offset {}, the archive ends after {}",
                    h.name,
                    h.size,
                    h.data_offset,
                    h.size - cur.remaining
                ),
            }
            .into_io());
        }
        self.offset += n as u64;
        cur.remaining -= n as u64;
        if cur.header.format == Format::Crc {
            cur.sum = sum32(cur.sum, &buf[..n]);
        }
        if cur.remaining == 0 {
            self.finish_current().map_err(Error::into_io)?;
        }
        Ok(n)
    }

    /// Reads the data padding and checks the crc sum of a fully read entry.
    fn finish_current(&mut self) -> Result<()> {
        let Some(cur) = self.current.take() else {
            return Ok(());
        };
        let h = cur.header;
        let mut pad = [0u8; 3];
        let np = pad4(h.size) as usize;
        self.fill(&mut pad[..np], || {
            format!("padding after the data of {:?}", h.name)
        })?;
        if h.format == Format::Crc && cur.sum != h.check {
            return Err(Error::Checksum {
                name: h.name,
                offset: h.offset,
                expected: h.check,
                actual: cur.sum,
            });
        }
        Ok(())
    }

    fn skip_current(&mut self) -> Result<()> {
        let mut buf = [0u8; 64 * 1024];
        while self.current.is_some() {
            self.read_data(&mut buf).map_err(Error::from_io)?;
        }
        Ok(())
    }

    /// Reads the whole current entry into memory, refusing more than `limit` bytes.
    pub fn read_to_vec(&mut self, limit: u64) -> Result<Vec<u8>> {
        let Some(cur) = self.current.as_ref() else {
            return Ok(Vec::new());
        };
        if cur.remaining > limit {
            return Err(Error::BadEntry {
                name: cur.header.name.clone(),
                offset: cur.header.offset,
                what: format!("{} bytes, more than the limit of {limit}", cur.remaining),
            });
        }
        let mut v = vec![0u8; cur.remaining as usize];
        let mut got = 0;
        while got < v.len() {
            let n = self.read_data(&mut v[got..]).map_err(Error::from_io)?;
            if n == 0 {
                break;
            }
            got += n;
        }
        Ok(v)
    }
}
