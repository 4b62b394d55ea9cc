//! Image files as block devices: positioned I/O on a regular file of fixed length, sparse-aware.
//!
//! A write whose data holds long runs of zeros (at least [`HOLE_MIN`] bytes, aligned to
//! [`HOLE_ALIGN`] in the file) does not write those zeros: it punches a hole there instead
//! (Linux `fallocate(PUNCH_HOLE)`, in [`crate::platform`]), or, beyond the end of the data ever
//! written, leaves the never-allocated hole as it is. A 1 GiB card image with a few MiB of data
//! thus stays a few MiB on the host. Where holes are not supported the zeros are written.
//!
//! Files copied into an image ([`BlockDevice::copy_file_in`]) are copied by the kernel
//! (`copy_file_range`) into a preallocated range: one copy, no trip through user memory.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::block::{BlockDevice, check_range};
use crate::error::{DiskError, Result};

/// The shortest zero run that becomes a hole instead of written zeros.
pub const HOLE_MIN: usize = 64 * 1024;
/// Holes start and end on this alignment in the file (the usual file-system block size).
pub const HOLE_ALIGN: u64 = 4096;

/// A regular file used as a disk image.
#[derive(Debug)]
pub struct ImageFile {
    file: File,
    len: u64,
    sparse: bool,
}

impl ImageFile {
    /// Opens an existing image for reading and writing; its length is the file's length.
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| DiskError::io(format!("cannot open {}", path.display()), e))?;
        Self::from_file(file)
    }

    /// Opens an existing image for reading only (writes fail with the OS error).
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let file = File::open(path)
            .map_err(|e| DiskError::io(format!("cannot open {}", path.display()), e))?;
        Self::from_file(file)
    }

    /// Uses an open file as an image; its current length is the device length.
    pub fn from_file(file: File) -> Result<Self> {
        let len = file
            .metadata()
            .map_err(|e| DiskError::io("cannot stat image", e))?
            .len();
        Ok(ImageFile {
            file,
            len,
            sparse: true,
        })
    }

    /// Makes `file` an all-zero image of `len` bytes without writing a byte (one hole).
    ///
    /// Old contents are punched out rather than truncated away: ext4 (with its default
    /// `auto_da_alloc`) writes back at `close` a file that was truncated to 0 and written,
    /// which made a fresh image cost a synchronous flush of everything copied into it.
    pub fn create_in(file: File, len: u64) -> Result<Self> {
        let sized = |e| DiskError::io("cannot size image", e);
        let old = file.metadata().map_err(sized)?.len();
        if old > 0 && crate::platform::punch_hole(&file, 0, old).is_err() {
            file.set_len(0).map_err(sized)?;
        }
        if old != len {
            file.set_len(len).map_err(sized)?;
        }
        Ok(ImageFile {
            file,
            len,
            sparse: true,
        })
    }

    /// Turns hole punching for zero runs off (every byte is written as given) or back on.
    pub fn set_sparse(&mut self, sparse: bool) {
        self.sparse = sparse;
    }

    /// The underlying file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Gives the file back.
    pub fn into_file(self) -> File {
        self.file
    }

    fn write_plain(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.file
            .write_all_at(buf, offset)
            .map_err(|e| DiskError::io(format!("write of {} bytes at {offset}", buf.len()), e))
    }

    /// Zeros `len` bytes at `offset`: a hole where the platform can, written zeros otherwise.
    fn zero_file_range(&self, offset: u64, len: u64) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        if crate::platform::punch_hole(&self.file, offset, len).is_ok() {
            return Ok(());
        }
        let zeros = vec![0u8; 1 << 20];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(zeros.len() as u64) as usize;
            self.write_plain(offset + done, &zeros[..n])?;
            done += n as u64;
        }
        Ok(())
    }
}

/// Splits `buf` (to be written at file offset `offset`) into data and zero runs; zero runs of at
/// least [`HOLE_MIN`] bytes, trimmed to [`HOLE_ALIGN`], are returned as `(start, end, true)`.
fn split_zero_runs(offset: u64, buf: &[u8]) -> Vec<(usize, usize, bool)> {
    let mut parts = Vec::new();
    let mut data_from = 0usize;
    let mut i = 0usize;
    while i < buf.len() {
        if buf[i] != 0 {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < buf.len() && buf[i] == 0 {
            i += 1;
        }
        // Trim the run to file-block alignment.
        let abs_start = offset + run_start as u64;
        let abs_end = offset + i as u64;
        let a = abs_start.div_ceil(HOLE_ALIGN) * HOLE_ALIGN;
        let b = abs_end / HOLE_ALIGN * HOLE_ALIGN;
        if b > a && (b - a) as usize >= HOLE_MIN {
            let (hs, he) = ((a - offset) as usize, (b - offset) as usize);
            if hs > data_from {
                parts.push((data_from, hs, false));
            }
            parts.push((hs, he, true));
            data_from = he;
        }
    }
    if data_from < buf.len() {
        parts.push((data_from, buf.len(), false));
    }
    parts
}

impl BlockDevice for ImageFile {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range("read", offset, buf.len() as u64, self.len)?;
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| DiskError::io(format!("read of {} bytes at {offset}", buf.len()), e))
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<()> {
        check_range("write", offset, buf.len() as u64, self.len)?;
        if !self.sparse || buf.len() < HOLE_MIN {
            return self.write_plain(offset, buf);
        }
        for (s, e, hole) in split_zero_runs(offset, buf) {
            if hole {
                self.zero_file_range(offset + s as u64, (e - s) as u64)?;
            } else {
                self.write_plain(offset + s as u64, &buf[s..e])?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| DiskError::io("cannot sync image", e))
    }

    fn zero_range(&mut self, offset: u64, len: u64) -> Result<()> {
        check_range("zero", offset, len, self.len)?;
        self.zero_file_range(offset, len)
    }

    /// Preallocates the range, then lets the kernel copy (`copy_file_range`); whatever it
    /// does not copy (an old kernel, another file system, a source that ends early) goes
    /// through memory, which reports the real error. Zero runs in `src` are copied as data.
    fn copy_file_in(&mut self, offset: u64, src: &File, src_offset: u64, len: u64) -> Result<()> {
        check_range("copy", offset, len, self.len)?;
        if len == 0 {
            return Ok(());
        }
        // Only a speed-up: a file system without fallocate still takes the copy.
        let _ = crate::platform::preallocate(&self.file, offset, len);
        let done =
            crate::platform::copy_range(src, src_offset, &self.file, offset, len).unwrap_or(0);
        if done < len {
            crate::block::copy_file_buffered(
                self,
                offset + done,
                src,
                src_offset + done,
                len - done,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn split_keeps_short_runs_as_data() {
        let mut buf = vec![1u8; 200 * 1024];
        // 100 KiB of zeros from byte 10_000: the aligned part (12288..110592) becomes a hole.
        buf[10_000..10_000 + 100 * 1024].fill(0);
        let parts = split_zero_runs(0, &buf);
        assert_eq!(
            parts,
            vec![
                (0, 12288, false),
                (12288, 110592, true),
                (110592, 200 * 1024, false)
            ]
        );
        // A 60 KiB run is too short to be worth a hole.
        let mut buf = vec![1u8; 100 * 1024];
        buf[4096..4096 + 60 * 1024].fill(0);
        assert_eq!(split_zero_runs(0, &buf), vec![(0, 100 * 1024, false)]);
    }

    #[test]
    fn copy_file_in_places_the_bytes_and_refuses_a_short_source() {
        let dir = tempfile::tempdir().unwrap();
        let src_path = dir.path().join("src");
        let data: Vec<u8> = (0..300_001u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&src_path, &data).unwrap();
        let src = File::open(&src_path).unwrap();
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(dir.path().join("img"))
            .unwrap();
        let mut img = ImageFile::create_in(file, 4 << 20).unwrap();
        // Destination 4 KiB past a 64 KiB boundary (as FAT file data is), source from 5.
        let at = (1 << 20) + 4096;
        img.copy_file_in(at, &src, 5, data.len() as u64 - 5)
            .unwrap();
        let mut back = vec![0u8; data.len() - 5];
        img.read_at(at, &mut back).unwrap();
        assert!(back == data[5..]);
        let mut before = [1u8; 8];
        img.read_at(at - 8, &mut before).unwrap();
        assert_eq!(before, [0; 8]);
        // One byte more than the source holds: an error naming where the input ended.
        let e = img
            .copy_file_in(at, &src, 0, data.len() as u64 + 1)
            .unwrap_err();
        assert!(e.to_string().contains("reading input"), "{e}");
        // Past the image's end: refused before anything is copied.
        assert!(img.copy_file_in((4 << 20) - 10, &src, 0, 11).is_err());
    }

    #[test]
    fn zero_runs_become_holes_and_read_back_as_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img");
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        let mut img = ImageFile::create_in(file, 64 << 20).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().blocks(), 0);
        // 8 MiB of 0xff, then overwrite the middle 6 MiB with zeros through write_at.
        img.write_at(0, &vec![0xff; 8 << 20]).unwrap();
        let full = std::fs::metadata(&path).unwrap().blocks();
        let mut buf = vec![0xffu8; 8 << 20];
        buf[1 << 20..7 << 20].fill(0);
        img.write_at(0, &buf).unwrap();
        img.flush().unwrap();
        let after = std::fs::metadata(&path).unwrap().blocks();
        assert!(
            after * 2 < full,
            "zeros were written instead of punched: {after} vs {full} blocks"
        );
        let mut back = vec![1u8; 8 << 20];
        img.read_at(0, &mut back).unwrap();
        assert_eq!(back, buf);
        assert!(img.write_at((64 << 20) - 1, &[0, 0]).is_err());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 64 << 20);
    }
}
