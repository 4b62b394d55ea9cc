//! cpio writer: deterministic bytes (inode = index, mtime 0, uid/gid 0, mode 0644 regular).

use std::io::{self, Read, Write};

use super::{Format, HEADER_LEN, TRAILER, check_name, pad4, sum32};
use crate::error::{Error, Result};

/// Writes entries one after another and the trailer at [`CpioWriter::finish`].
#[derive(Debug)]
pub struct CpioWriter<W> {
    out: W,
    format: Format,
    ino: u32,
    written: u64,
}

impl<W: Write> CpioWriter<W> {
    /// Starts an archive in `format`.
    pub fn new(out: W, format: Format) -> Self {
        Self {
            out,
            format,
            ino: 0,
            written: 0,
        }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.out.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }

    fn header(&mut self, name: &str, mode: u32, nlink: u32, size: u32, check: u32) -> Result<()> {
        self.header_rdev(name, mode, nlink, size, check, (0, 0))
    }

    fn header_rdev(
        &mut self,
        name: &str,
        mode: u32,
        nlink: u32,
        size: u32,
        check: u32,
        rdev: (u32, u32),
    ) -> Result<()> {
        let namesize = name.len() + 1;
        let mut h = String::with_capacity(HEADER_LEN);
        h.push_str(std::str::from_utf8(self.format.magic()).unwrap_or("070701"));
        for v in [
            self.ino,
            mode,
            0,
            0,
            nlink,
            0,
            size,
            0,
            0,
            rdev.0,
            rdev.1,
            namesize as u32,
            check,
        ] {
            h.push_str(&format!("{v:08x}"));
        }
        self.put(h.as_bytes())?;
        self.put(name.as_bytes())?;
        let pad = 1 + pad4((HEADER_LEN + namesize) as u64) as usize;
        self.put(&[0u8; 4][..pad])?;
        Ok(())
    }

    /// Adds a regular file from memory.
    pub fn add(&mut self, name: &str, data: &[u8]) -> Result<()> {
        check_name(name).map_err(|why| Error::UnsafeName {
            name: name.into(),
            offset: self.written,
            why,
        })?;
        let size = u32::try_from(data.len()).map_err(|_| Error::TooLarge {
            name: name.into(),
            size: data.len() as u64,
        })?;
        let check = match self.format {
            Format::Crc => sum32(0, data),
            Format::Newc => 0,
        };
        self.ino += 1;
        self.header(name, 0o100644, 1, size, check)?;
        self.put(data)?;
        self.put(&[0u8; 3][..pad4(data.len() as u64) as usize])
    }

    /// Adds a regular file of `size` bytes streamed from `data`. In the crc format the sum must
    /// be known beforehand (`check`); pass `None` for newc.
    pub fn add_stream(
        &mut self,
        name: &str,
        size: u64,
        check: Option<u32>,
        data: &mut impl Read,
    ) -> Result<()> {
        check_name(name).map_err(|why| Error::UnsafeName {
            name: name.into(),
            offset: self.written,
            why,
        })?;
        let size32 = u32::try_from(size).map_err(|_| Error::TooLarge {
            name: name.into(),
            size,
        })?;
        self.ino += 1;
        self.header(name, 0o100644, 1, size32, check.unwrap_or(0))?;
        let copied = io::copy(&mut data.take(size), &mut self.out)?;
        self.written += copied;
        if copied != size {
            return Err(Error::BadEntry {
                name: name.into(),
                offset: self.written,
                what: format!("source gave {copied} bytes, {size} expected"),
            });
        }
        self.put(&[0u8; 3][..pad4(size) as usize])
    }

    /// Adds an entry with an explicit `mode` (file type and permission bits, as in `st_mode`) and
    /// device numbers: an executable (`0o100755`), a directory (`0o040755`, no data), a
    /// character device (`0o020600`, `rdev = (5, 1)` for `/dev/console`). An initramfs needs these;
    /// the kernel creates nothing on its own, not even parent directories.
    pub fn add_entry(
        &mut self,
        name: &str,
        mode: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> Result<()> {
        check_name(name).map_err(|why| Error::UnsafeName {
            name: name.into(),
            offset: self.written,
            why,
        })?;
        let size = u32::try_from(data.len()).map_err(|_| Error::TooLarge {
            name: name.into(),
            size: data.len() as u64,
        })?;
        let check = match self.format {
            Format::Crc => sum32(0, data),
            Format::Newc => 0,
        };
        let nlink = if mode & 0o170000 == 0o040000 { 2 } else { 1 };
        self.ino += 1;
        self.header_rdev(name, mode, nlink, size, check, rdev)?;
        self.put(data)?;
        self.put(&[0u8; 3][..pad4(data.len() as u64) as usize])
    }

    /// Writes the trailer and returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.ino = 0;
        self.header(TRAILER, 0, 1, 0, 0)?;
        self.out.flush()?;
        Ok(self.out)
    }
}
