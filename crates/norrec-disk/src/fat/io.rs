//! [`CachedIo`]: a [`BlockDevice`] (usually a partition window) as the `Read + Write + Seek`
//! stream `fatfs` works on, with a bounded write-back cache of 4 KiB blocks.
//!
//! Why a cache: `fatfs` reads and writes FAT entries a few bytes at a time and file data one
//! cluster per call. Through the cache, FAT updates become memory operations and the clusters
//! of a file, allocated one after the other, leave as a few large writes (consecutive dirty
//! blocks are merged; whole uncached blocks written in sequence — file data — gather in one
//! reused buffer of up to 4 MiB and leave in one call). Memory stays bounded ([`CACHE_BYTES`]
//! plus that buffer): when full, dirty blocks are written out and the cache is emptied. Small
//! changes reach the device only at [`CachedIo::sync`] or when the cache is full.
//!
//! File data from a local file does not pass through here at all: between
//! [`CachedIo::begin_copy`] and [`CachedIo::end_copy`], writes into the data area (where
//! `fatfs` puts the file's clusters, one call per cluster) only record where the bytes go;
//! consecutive clusters merge into runs, and each run is copied straight from the source file
//! with [`BlockDevice::copy_file_in`] (in the kernel, for image files). `fatfs` still
//! allocates the clusters and writes the FAT chain and the directory entry.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::block::BlockDevice;
use crate::error::Result;

/// Cache block size.
pub const BLOCK: u64 = 4096;
/// Most bytes the cache holds before it writes out and starts again.
pub const CACHE_BYTES: usize = 16 << 20;
/// Blocks read at once on a miss.
const READ_AHEAD: u64 = 16;
/// Largest single write when merging dirty blocks.
const MERGE_BYTES: usize = 4 << 20;

#[derive(Debug)]
struct Block {
    data: Box<[u8]>,
    dirty: bool,
}

/// A file being copied in by reference (see [`CachedIo::begin_copy`]).
#[derive(Debug)]
struct CopyIn {
    src: File,
    /// The source offset of the next data write's bytes.
    next_src: u64,
    /// Writes at or past this device offset are file data; the FATs lie before it.
    data_start: u64,
    /// Data writes not copied yet, merged while consecutive: (device offset, source offset,
    /// length).
    run: Option<(u64, u64, u64)>,
}

/// A block device seen as a seekable byte stream through a write-back cache.
#[derive(Debug)]
pub struct CachedIo<D: BlockDevice> {
    dev: D,
    len: u64,
    pos: u64,
    blocks: BTreeMap<u64, Block>,
    cached_bytes: usize,
    /// Reused buffer for merged writes.
    run: Vec<u8>,
    /// Whole blocks written one after the other that are not in `blocks` (file data): kept in
    /// one reused buffer and written with one call, without a per-block allocation.
    pending: Vec<u8>,
    /// Device offset of `pending` (block-aligned).
    pending_at: u64,
    /// Set between `begin_copy` and `end_copy`.
    copy: Option<CopyIn>,
}

fn to_io(e: crate::error::DiskError) -> io::Error {
    io::Error::other(e)
}

impl<D: BlockDevice> CachedIo<D> {
    /// Wraps `dev`; the stream starts at position 0.
    pub fn new(dev: D) -> Self {
        let len = dev.len();
        CachedIo {
            dev,
            len,
            pos: 0,
            blocks: BTreeMap::new(),
            cached_bytes: 0,
            run: Vec::new(),
            pending: Vec::new(),
            pending_at: 0,
            copy: None,
        }
    }

    /// From now on, writes at or past device offset `data_start` are a file's data whose
    /// bytes come from `src`, in order from its offset 0: the buffer given to `write` is not
    /// read. They are gathered into runs of consecutive clusters and copied with
    /// [`BlockDevice::copy_file_in`]. Other writes (FAT entries) are cached as usual.
    pub fn begin_copy(&mut self, src: File, data_start: u64) {
        self.copy = Some(CopyIn {
            src,
            next_src: 0,
            data_start,
            run: None,
        });
    }

    /// Ends what [`CachedIo::begin_copy`] started: copies what is left when `finish`, or
    /// drops it (the file is being removed). Returns how many source bytes were placed.
    pub fn end_copy(&mut self, finish: bool) -> Result<u64> {
        let r = if finish { self.run_copy() } else { Ok(()) };
        let placed = self.copy.take().map_or(0, |c| c.next_src);
        r.map(|()| placed)
    }

    /// Records a data write of `n` bytes at the current position (see `begin_copy`).
    fn capture(&mut self, n: u64) -> Result<()> {
        let at = self.pos;
        let c = self.copy.as_mut().expect("capture only while copying");
        let src = c.next_src;
        c.next_src += n;
        match c.run {
            Some((a, s, l)) if a + l == at && s + l == src => c.run = Some((a, s, l + n)),
            _ => {
                self.run_copy()?;
                if let Some(c) = self.copy.as_mut() {
                    c.run = Some((at, src, n));
                }
            }
        }
        self.pos += n;
        Ok(())
    }

    /// Copies the waiting run. Cached blocks over it hold stale bytes there: the dirty ones
    /// are written out first (their other bytes may be metadata), then all are forgotten.
    fn run_copy(&mut self) -> Result<()> {
        let Some((at, src_at, len)) = self.copy.as_mut().and_then(|c| c.run.take()) else {
            return Ok(());
        };
        if !self.pending.is_empty()
            && at < self.pending_at + self.pending.len() as u64
            && self.pending_at < at + len
        {
            self.flush_pending()?;
        }
        let first = at / BLOCK;
        let last = (at + len).div_ceil(BLOCK);
        let stale: Vec<u64> = self.blocks.range(first..last).map(|(&i, _)| i).collect();
        for idx in stale {
            let b = self.blocks.remove(&idx).expect("listed above");
            self.cached_bytes -= b.data.len();
            if b.dirty {
                self.dev.write_at(idx * BLOCK, &b.data)?;
            }
        }
        let c = self.copy.as_ref().expect("run belongs to a copy");
        self.dev.copy_file_in(at, &c.src, src_at, len)
    }

    /// Copies the waiting run first if `at..at+len` touches it.
    fn settle_copy(&mut self, at: u64, len: u64) -> Result<()> {
        if let Some((a, _, l)) = self.copy.as_ref().and_then(|c| c.run) {
            let (from, to) = (at / BLOCK * BLOCK, (at + len).div_ceil(BLOCK) * BLOCK);
            if a < to && from < a + l {
                self.run_copy()?;
            }
        }
        Ok(())
    }

    /// The device (unflushed writes are still in the cache).
    pub fn get_mut(&mut self) -> &mut D {
        &mut self.dev
    }

    /// Writes every dirty block out (merged into large writes) and flushes the device.
    pub fn sync(&mut self) -> Result<()> {
        self.run_copy()?;
        self.write_back()?;
        self.dev.flush()
    }

    /// Forgets every unwritten change.
    pub fn discard_changes(&mut self) {
        self.copy = None;
        self.pending.clear();
        self.blocks.clear();
        self.cached_bytes = 0;
    }

    /// Writes out the cache and gives the device back.
    pub fn into_inner(mut self) -> Result<D> {
        self.sync()?;
        Ok(self.dev)
    }

    fn block_len(&self, idx: u64) -> usize {
        (self.len - idx * BLOCK).min(BLOCK) as usize
    }

    fn flush_pending(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.dev.write_at(self.pending_at, &self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Writes `pending` out first if block `idx` lies in it.
    fn settle(&mut self, idx: u64) -> Result<()> {
        let at = idx * BLOCK;
        if !self.pending.is_empty()
            && at >= self.pending_at
            && at < self.pending_at + self.pending.len() as u64
        {
            self.flush_pending()?;
        }
        Ok(())
    }

    fn write_back(&mut self) -> Result<()> {
        self.flush_pending()?;
        let mut run = std::mem::take(&mut self.run);
        run.clear();
        let mut run_start = 0u64;
        let mut next = u64::MAX;
        for (&idx, b) in self.blocks.iter_mut() {
            if !b.dirty {
                continue;
            }
            if idx != next || run.len() + b.data.len() > MERGE_BYTES {
                if !run.is_empty() {
                    self.dev.write_at(run_start * BLOCK, &run)?;
                    run.clear();
                }
                run_start = idx;
            }
            run.extend_from_slice(&b.data);
            b.dirty = false;
            next = idx + 1;
        }
        if !run.is_empty() {
            self.dev.write_at(run_start * BLOCK, &run)?;
        }
        self.run = run;
        Ok(())
    }

    fn make_room(&mut self) -> Result<()> {
        if self.cached_bytes >= CACHE_BYTES {
            self.write_back()?;
            self.blocks.clear();
            self.cached_bytes = 0;
        }
        Ok(())
    }

    /// Loads block `idx` (and a few after it that are not cached) from the device.
    fn load(&mut self, idx: u64) -> Result<()> {
        self.make_room()?;
        let last = self.len.div_ceil(BLOCK);
        let mut n = 1;
        while n < READ_AHEAD && idx + n < last && !self.blocks.contains_key(&(idx + n)) {
            n += 1;
        }
        let start = idx * BLOCK;
        let end = ((idx + n) * BLOCK).min(self.len);
        self.settle_copy(start, end - start)?;
        if !self.pending.is_empty()
            && start < self.pending_at + self.pending.len() as u64
            && self.pending_at < end
        {
            self.flush_pending()?;
        }
        let mut buf = vec![0u8; (end - start) as usize];
        self.dev.read_at(start, &mut buf)?;
        for (i, chunk) in buf.chunks(BLOCK as usize).enumerate() {
            self.cached_bytes += chunk.len();
            self.blocks.insert(
                idx + i as u64,
                Block {
                    data: chunk.into(),
                    dirty: false,
                },
            );
        }
        Ok(())
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize> {
        let avail = self.len.saturating_sub(self.pos);
        let n = (buf.len() as u64).min(avail) as usize;
        self.settle_copy(self.pos, n as u64)?;
        let mut done = 0;
        while done < n {
            let idx = self.pos / BLOCK;
            let off = (self.pos % BLOCK) as usize;
            let b = match self.blocks.get(&idx) {
                Some(b) => b,
                None => {
                    self.settle(idx)?;
                    self.load(idx)?;
                    &self.blocks[&idx]
                }
            };
            let k = (b.data.len() - off).min(n - done);
            buf[done..done + k].copy_from_slice(&b.data[off..off + k]);
            done += k;
            self.pos += k as u64;
        }
        Ok(n)
    }

    fn write_inner(&mut self, buf: &[u8]) -> Result<usize> {
        let avail = self.len.saturating_sub(self.pos);
        if (buf.len() as u64) > avail {
            return Err(crate::error::DiskError::OutOfBounds {
                what: "write",
                offset: self.pos,
                end: self.pos + buf.len() as u64,
                len: self.len,
            });
        }
        if self.copy.as_ref().is_some_and(|c| self.pos >= c.data_start) {
            self.capture(buf.len() as u64)?;
            return Ok(buf.len());
        }
        self.settle_copy(self.pos, buf.len() as u64)?;
        let mut done = 0;
        while done < buf.len() {
            let idx = self.pos / BLOCK;
            let off = (self.pos % BLOCK) as usize;
            let blen = self.block_len(idx);
            let k = (blen - off).min(buf.len() - done);
            if let Some(b) = self.blocks.get_mut(&idx) {
                // Cached (FAT entries, directories): one lookup.
                b.data[off..off + k].copy_from_slice(&buf[done..done + k]);
                b.dirty = true;
                done += k;
                self.pos += k as u64;
                continue;
            }
            if off == 0 && k == BLOCK as usize {
                let at = idx * BLOCK;
                let follows = !self.pending.is_empty()
                    && self.pending_at + self.pending.len() as u64 == at
                    && self.pending.len() < MERGE_BYTES;
                if !follows {
                    self.flush_pending()?;
                    self.pending_at = at;
                }
                self.pending.extend_from_slice(&buf[done..done + k]);
                done += k;
                self.pos += k as u64;
                continue;
            }
            self.settle(idx)?;
            if off == 0 && k == blen {
                self.make_room()?;
                self.cached_bytes += blen;
                self.blocks.insert(
                    idx,
                    Block {
                        data: buf[done..done + k].into(),
                        dirty: true,
                    },
                );
                done += k;
                self.pos += k as u64;
                continue;
            }
            self.load(idx)?;
            let b = self.blocks.get_mut(&idx).expect("block just loaded");
            b.data[off..off + k].copy_from_slice(&buf[done..done + k]);
            b.dirty = true;
            done += k;
            self.pos += k as u64;
        }
        Ok(buf.len())
    }
}

impl<D: BlockDevice> Read for CachedIo<D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf).map_err(to_io)
    }
}

impl<D: BlockDevice> Write for CachedIo<D> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_inner(buf).map_err(to_io)
    }
    /// Does not write the cache out (fatfs flushes often); [`CachedIo::sync`] does.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<D: BlockDevice> Seek for CachedIo<D> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(n) => {
                self.pos = n;
                Ok(n)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the device",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::MemDevice;

    #[test]
    fn reads_see_writes_and_sync_merges() {
        let mut mem = MemDevice {
            data: (0..3 * BLOCK as usize + 100).map(|i| i as u8).collect(),
        };
        let orig = mem.data.clone();
        {
            let mut io = CachedIo::new(&mut mem);
            io.seek(SeekFrom::Start(4090)).unwrap();
            io.write_all(&[0xaa; 20]).unwrap(); // straddles blocks 0 and 1
            io.seek(SeekFrom::Start(4085)).unwrap();
            let mut b = [0u8; 30];
            io.read_exact(&mut b).unwrap();
            assert_eq!(&b[..5], &orig[4085..4090]);
            assert_eq!(&b[5..25], &[0xaa; 20]);
            assert_eq!(&b[25..], &orig[4110..4115]);
            // Past the end: refused.
            io.seek(SeekFrom::Start(3 * BLOCK + 90)).unwrap();
            assert!(io.write_all(&[1; 11]).is_err());
            io.seek(SeekFrom::Start(3 * BLOCK + 90)).unwrap();
            io.write_all(&[1; 10]).unwrap(); // the short last block
            io.sync().unwrap();
        }
        assert_eq!(&mem.data[4090..4110], &[0xaa; 20]);
        assert_eq!(&mem.data[3 * BLOCK as usize + 90..], &[1; 10]);
        assert_eq!(&mem.data[..4090], &orig[..4090]);
    }

    #[test]
    fn sequential_blocks_merge_and_stay_coherent() {
        let mut mem = MemDevice::zeroed(64 * BLOCK as usize);
        {
            let mut io = CachedIo::new(&mut mem);
            io.seek(SeekFrom::Start(2 * BLOCK)).unwrap();
            for i in 0..5u8 {
                io.write_all(&[i + 1; BLOCK as usize]).unwrap(); // blocks 2..7, pending
            }
            // A read-ahead from block 0 reaches into the pending blocks: sees them.
            io.seek(SeekFrom::Start(0)).unwrap();
            let mut b = vec![0u8; 4 * BLOCK as usize];
            io.read_exact(&mut b).unwrap();
            assert_eq!(b[2 * BLOCK as usize], 1);
            assert_eq!(b[3 * BLOCK as usize], 2);
            // A small write into a block that was pending, then a rewrite of a whole one.
            io.seek(SeekFrom::Start(4 * BLOCK + 1)).unwrap();
            io.write_all(&[9]).unwrap();
            io.seek(SeekFrom::Start(5 * BLOCK)).unwrap();
            io.write_all(&[7; BLOCK as usize]).unwrap();
            io.seek(SeekFrom::Start(4 * BLOCK)).unwrap();
            let mut c = [0u8; 2];
            io.read_exact(&mut c).unwrap();
            assert_eq!(c, [3, 9]);
            io.sync().unwrap();
        }
        let at = |blk: usize| mem.data[blk * BLOCK as usize];
        assert_eq!((at(1), at(2), at(4), at(5), at(6)), (0, 1, 3, 7, 5));
        assert_eq!(mem.data[4 * BLOCK as usize + 1], 9);
    }

    fn source(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("src");
        std::fs::write(&path, bytes).unwrap();
        let f = File::open(&path).unwrap();
        (dir, f)
    }

    #[test]
    fn copies_file_data_by_reference_around_metadata() {
        // Data area from 8 KiB; 512-byte "clusters" so metadata and file data share blocks.
        let data_start = 2 * BLOCK;
        let src: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8 + 1).collect();
        let (_d, file) = source(&src);
        let mut mem = MemDevice::zeroed(16 * BLOCK as usize);
        {
            let mut io = CachedIo::new(&mut mem);
            // A directory cluster at the data start, dirty in the cache (block 2).
            io.seek(SeekFrom::Start(data_start)).unwrap();
            io.write_all(&[0xd1; 512]).unwrap();
            io.begin_copy(file, data_start);
            // A FAT write (before the data start) is cached as usual.
            io.seek(SeekFrom::Start(100)).unwrap();
            io.write_all(&[0xfa; 4]).unwrap();
            // The file in 512-byte pieces right after the directory cluster; the buffer's
            // bytes are not used.
            let mut at = data_start + 512;
            let mut left = src.len();
            while left > 0 {
                let n = left.min(512);
                io.seek(SeekFrom::Start(at)).unwrap();
                io.write_all(&vec![0xee; n]).unwrap();
                at += n as u64;
                left -= n;
            }
            // The FAT reads back while the run waits; reading the data copies it first.
            io.seek(SeekFrom::Start(100)).unwrap();
            let mut fat = [0u8; 4];
            io.read_exact(&mut fat).unwrap();
            assert_eq!(fat, [0xfa; 4]);
            assert_eq!(io.end_copy(true).unwrap(), src.len() as u64);
            io.seek(SeekFrom::Start(data_start + 512)).unwrap();
            let mut back = vec![0u8; src.len()];
            io.read_exact(&mut back).unwrap();
            assert!(back == src);
            io.sync().unwrap();
        }
        let d = data_start as usize;
        assert_eq!(&mem.data[100..104], &[0xfa; 4]);
        assert!(mem.data[d..d + 512].iter().all(|&b| b == 0xd1));
        assert!(mem.data[d + 512..d + 512 + src.len()] == src[..]);
        assert_eq!(mem.data[d + 512 + src.len()], 0);
    }

    #[test]
    fn a_dropped_copy_writes_no_data() {
        let (_d, file) = source(&[7; 8192]);
        let mut mem = MemDevice::zeroed(8 * BLOCK as usize);
        {
            let mut io = CachedIo::new(&mut mem);
            io.begin_copy(file, BLOCK);
            io.seek(SeekFrom::Start(BLOCK)).unwrap();
            io.write_all(&[0; 8192]).unwrap();
            assert_eq!(io.end_copy(false).unwrap(), 8192);
            // After the copy ends, writes into the data area are ordinary again.
            io.seek(SeekFrom::Start(4 * BLOCK)).unwrap();
            io.write_all(&[5; 10]).unwrap();
            io.sync().unwrap();
        }
        assert!(mem.data[..4 * BLOCK as usize].iter().all(|&b| b == 0));
        assert_eq!(
            &mem.data[4 * BLOCK as usize..4 * BLOCK as usize + 10],
            &[5; 10]
        );
    }

    #[test]
    fn a_source_shorter_than_its_writes_is_an_error() {
        let (_d, file) = source(&[7; 1000]);
        let mut mem = MemDevice::zeroed(8 * BLOCK as usize);
        let mut io = CachedIo::new(&mut mem);
        io.begin_copy(file, BLOCK);
        io.seek(SeekFrom::Start(BLOCK)).unwrap();
        io.write_all(&[0; 4096]).unwrap();
        assert!(io.end_copy(true).is_err());
    }

    #[test]
    fn nothing_written_without_sync() {
        let mut mem = MemDevice::zeroed(64 * 1024);
        {
            let mut io = CachedIo::new(&mut mem);
            io.write_all(&[7; 10_000]).unwrap();
            io.discard_changes();
        }
        assert!(mem.data.iter().all(|&b| b == 0));
    }
}
