//! Where a flash's bytes live: the backends a [`crate::device::SpiNor`] is built on.
//!
//! A [`Storage`] is a flat array of `len()` bytes with NOR operations: [`Storage::program`] only
//! clears bits (each byte becomes `old & new`), [`Storage::erase`] sets bytes to 0xFF. The NOR
//! semantics live here, so every writer (the device model, image tools) gets them the same way;
//! [`Storage::write`] is the raw overwrite an external programmer does (erase + program).
//!
//! - [`MemStorage`]: a `Vec<u8>`.
//! - [`FileStorage`]: the seed's `flash.bin`. Like QEMU's m25p80 with `-drive if=mtd`, it keeps the
//!   whole contents in memory and writes the changed range back to the file on [`Storage::flush`],
//!   which the device calls when a program or erase command completes (on deselect). A host tool
//!   reading the file then sees the change.
//!
//! All methods except `flush` panic on a range outside `0..len()`; the device model never asks
//! for one.
//!
//! ```
//! use norrec_nor::storage::{MemStorage, Storage};
//! let mut s = MemStorage::erased(8192);
//! s.program(0, &[0x0f, 0xf0]);
//! s.program(0, &[0x3c, 0x3c]); // programming only clears bits
//! assert_eq!(&s.as_slice()[..3], &[0x0c, 0x30, 0xff]);
//! s.erase(0, 4096);
//! assert_eq!(s.as_slice()[0], 0xff);
//! ```

use crate::{Error, Result};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// A flash's backing bytes with NOR operations.
pub trait Storage {
    /// Size in bytes.
    fn len(&self) -> u64;
    /// Whether the storage holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// All bytes, for bulk reads.
    fn as_slice(&self) -> &[u8];
    /// Copies `buf.len()` bytes from `offset`.
    fn read(&self, offset: u64, buf: &mut [u8]) {
        let start = offset as usize;
        buf.copy_from_slice(&self.as_slice()[start..start + buf.len()]);
    }
    /// Programs `data` at `offset`: each byte becomes `old & new` (NOR: only 1 → 0).
    fn program(&mut self, offset: u64, data: &[u8]);
    /// Erases `len` bytes at `offset` to 0xFF.
    fn erase(&mut self, offset: u64, len: u64);
    /// Overwrites bytes as an external programmer would (erase and program in one).
    fn write(&mut self, offset: u64, data: &[u8]);
    /// Makes completed changes durable (a no-op in memory; writes the dirty range of a file).
    fn flush(&mut self) -> Result<()>;
}

impl<S: Storage + ?Sized> Storage for &mut S {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn as_slice(&self) -> &[u8] {
        (**self).as_slice()
    }
    fn read(&self, offset: u64, buf: &mut [u8]) {
        (**self).read(offset, buf)
    }
    fn program(&mut self, offset: u64, data: &[u8]) {
        (**self).program(offset, data)
    }
    fn erase(&mut self, offset: u64, len: u64) {
        (**self).erase(offset, len)
    }
    fn write(&mut self, offset: u64, data: &[u8]) {
        (**self).write(offset, data)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
}

impl<S: Storage + ?Sized> Storage for Box<S> {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn as_slice(&self) -> &[u8] {
        (**self).as_slice()
    }
    fn read(&self, offset: u64, buf: &mut [u8]) {
        (**self).read(offset, buf)
    }
    fn program(&mut self, offset: u64, data: &[u8]) {
        (**self).program(offset, data)
    }
    fn erase(&mut self, offset: u64, len: u64) {
        (**self).erase(offset, len)
    }
    fn write(&mut self, offset: u64, data: &[u8]) {
        (**self).write(offset, data)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
}

/// Flash contents in memory.
#[derive(Clone, PartialEq, Eq)]
pub struct MemStorage {
    data: Vec<u8>,
}

/// Shows the size, not the megabytes.
impl std::fmt::Debug for MemStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemStorage")
            .field("len", &self.data.len())
            .finish_non_exhaustive()
    }
}

impl MemStorage {
    /// `size` bytes of 0xFF, an erased flash.
    pub fn erased(size: u64) -> Self {
        Self {
            data: vec![0xff; size as usize],
        }
    }
    /// Takes `v` as the flash contents.
    pub fn from_vec(v: Vec<u8>) -> Self {
        Self { data: v }
    }
    /// The contents.
    pub fn into_inner(self) -> Vec<u8> {
        self.data
    }
    /// The contents, mutable (for building images; bypasses NOR semantics).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.data
    }
}

fn range(offset: u64, len: usize) -> std::ops::Range<usize> {
    offset as usize..offset as usize + len
}

impl Storage for MemStorage {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
    fn as_slice(&self) -> &[u8] {
        &self.data
    }
    fn program(&mut self, offset: u64, data: &[u8]) {
        for (d, s) in self.data[range(offset, data.len())].iter_mut().zip(data) {
            *d &= *s;
        }
    }
    fn erase(&mut self, offset: u64, len: u64) {
        self.data[range(offset, len as usize)].fill(0xff);
    }
    fn write(&mut self, offset: u64, data: &[u8]) {
        self.data[range(offset, data.len())].copy_from_slice(data);
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Flash contents backed by a file whose size is the flash size (the seed's `flash.bin`).
///
/// The contents are held in memory; changes are written back to the file, as one range from the
/// first to the last changed byte, on [`Storage::flush`] (after every completed program or
/// erase command, like QEMU). A bulk writer that does not need the file current after each
/// command can turn that off with [`FileStorage::set_write_through`] and call
/// [`FileStorage::sync`] at the end: one write instead of one per page.
#[derive(Debug)]
pub struct FileStorage {
    path: PathBuf,
    file: File,
    mem: MemStorage,
    /// Changed byte range not yet in the file.
    dirty: Option<(u64, u64)>,
    /// `flush` writes the file (else only `sync` and drop do).
    write_through: bool,
}

impl FileStorage {
    /// Opens an existing file read-write; its size is the flash size.
    pub fn open(path: &Path) -> Result<Self> {
        let io = |what: &str| {
            let what = format!("{what} {}", path.display());
            move |source| Error::Io { what, source }
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io("opening"))?;
        let data = std::fs::read(path).map_err(io("reading"))?;
        Ok(Self {
            path: path.to_owned(),
            file,
            mem: MemStorage::from_vec(data),
            dirty: None,
            write_through: true,
        })
    }

    /// Creates (or truncates) `path` as an erased flash of `size` bytes and opens it.
    pub fn create_erased(path: &Path, size: u64) -> Result<Self> {
        std::fs::write(path, vec![0xff; size as usize]).map_err(|source| Error::Io {
            what: format!("creating {}", path.display()),
            source,
        })?;
        Self::open(path)
    }

    /// The backing file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether changes are waiting for [`Storage::flush`] or [`FileStorage::sync`].
    pub fn is_dirty(&self) -> bool {
        self.dirty.is_some()
    }

    /// With `false`, completed commands stay in memory until [`FileStorage::sync`] (or drop,
    /// which syncs but cannot report an error). Default `true`.
    pub fn set_write_through(&mut self, on: bool) {
        self.write_through = on;
    }

    /// Forgets the changes not yet in the file, for a caller that wrote [`Storage::as_slice`]
    /// elsewhere itself (e.g. replaced the file whole): nothing is written on drop.
    pub fn mark_clean(&mut self) {
        self.dirty = None;
    }

    /// Writes every change not yet in the file, now.
    pub fn sync(&mut self) -> Result<()> {
        let Some((start, end)) = self.dirty else {
            return Ok(());
        };
        let bytes = &self.mem.as_slice()[start as usize..end as usize];
        write_at(&mut self.file, start, bytes).map_err(|source| Error::Io {
            what: format!("writing {start:#x}..{end:#x} of {}", self.path.display()),
            source,
        })?;
        self.dirty = None;
        Ok(())
    }

    fn touch(&mut self, offset: u64, len: u64) {
        if len == 0 {
            return;
        }
        let end = offset + len;
        self.dirty = Some(match self.dirty {
            Some((a, b)) => (a.min(offset), b.max(end)),
            None => (offset, end),
        });
    }
}

impl Storage for FileStorage {
    fn len(&self) -> u64 {
        self.mem.len()
    }
    fn as_slice(&self) -> &[u8] {
        self.mem.as_slice()
    }
    fn program(&mut self, offset: u64, data: &[u8]) {
        self.mem.program(offset, data);
        self.touch(offset, data.len() as u64);
    }
    fn erase(&mut self, offset: u64, len: u64) {
        self.mem.erase(offset, len);
        self.touch(offset, len);
    }
    fn write(&mut self, offset: u64, data: &[u8]) {
        self.mem.write(offset, data);
        self.touch(offset, data.len() as u64);
    }
    fn flush(&mut self) -> Result<()> {
        if self.write_through {
            self.sync()
        } else {
            Ok(())
        }
    }
}

/// Writes what is still only in memory; errors cannot be reported here, so call
/// [`FileStorage::sync`] first where they matter.
impl Drop for FileStorage {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

/// One positioned write (`pwrite` where there is one, else seek and write).
#[cfg(unix)]
fn write_at(file: &mut File, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(not(unix))]
fn write_at(file: &mut File, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sees_changes_only_after_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flash.bin");
        let mut s = FileStorage::create_erased(&path, 8192).unwrap();
        s.program(4096, &[0x12, 0x34]);
        assert!(s.is_dirty());
        assert_eq!(std::fs::read(&path).unwrap()[4096], 0xff);
        s.flush().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[4095..4099], &[0xff, 0x12, 0x34, 0xff]);
        assert_eq!(bytes.len(), 8192);
    }

    #[test]
    fn deferred_writes_reach_the_file_on_sync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flash.bin");
        let mut s = FileStorage::create_erased(&path, 8192).unwrap();
        s.set_write_through(false);
        s.program(0, &[0]);
        s.flush().unwrap();
        s.program(8191, &[1]);
        assert_eq!(std::fs::read(&path).unwrap()[0], 0xff);
        s.sync().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!((bytes[0], bytes[8191]), (0, 1));
        s.erase(0, 4096);
        drop(s);
        assert_eq!(std::fs::read(&path).unwrap()[0], 0xff, "drop syncs");
    }

    #[test]
    fn io_errors_name_the_path() {
        let err = FileStorage::open(Path::new("/nonexistent/flash.bin")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/flash.bin"), "{err}");
    }
}
