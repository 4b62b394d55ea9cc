//! A partition window: a [`BlockDevice`] that is a byte range of another one and cannot read or
//! write outside it. File systems are written through a window so a bug in them cannot spill
//! into the partition table or a neighbour.

use crate::block::{BlockDevice, check_range};
use crate::error::{DiskError, Result};
use crate::mbr::DosPartition;

/// `len` bytes of `dev` starting at byte `start`.
#[derive(Debug)]
pub struct Window<D> {
    dev: D,
    start: u64,
    len: u64,
}

impl<D: BlockDevice> Window<D> {
    /// A window over `start..start+len` of `dev`; fails if that range is not inside `dev`.
    pub fn new(dev: D, start: u64, len: u64) -> Result<Self> {
        check_range("partition window", start, len, dev.len())?;
        Ok(Window { dev, start, len })
    }

    /// The window of a partition of an MBR table (sector numbers times the device's sector size).
    pub fn partition(dev: D, part: &DosPartition) -> Result<Self> {
        let ss = u64::from(dev.sector_size());
        let (start, len) = part
            .start
            .checked_mul(ss)
            .zip(part.size.checked_mul(ss))
            .ok_or_else(|| DiskError::Mbr("partition lies beyond 2^64 bytes".into()))?;
        Self::new(dev, start, len)
    }

    /// Where the window starts on the underlying device, in bytes.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Gives the underlying device back.
    pub fn into_inner(self) -> D {
        self.dev
    }
}

impl<D: BlockDevice> BlockDevice for Window<D> {
    fn len(&self) -> u64 {
        self.len
    }
    fn sector_size(&self) -> u32 {
        self.dev.sector_size()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range("read", offset, buf.len() as u64, self.len)?;
        self.dev.read_at(self.start + offset, buf)
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<()> {
        check_range("write", offset, buf.len() as u64, self.len)?;
        self.dev.write_at(self.start + offset, buf)
    }
    fn flush(&mut self) -> Result<()> {
        self.dev.flush()
    }
    fn zero_range(&mut self, offset: u64, len: u64) -> Result<()> {
        check_range("zero", offset, len, self.len)?;
        self.dev.zero_range(self.start + offset, len)
    }
    fn discard(&mut self, offset: u64, len: u64) -> Result<()> {
        check_range("discard", offset, len, self.len)?;
        self.dev.discard(self.start + offset, len)
    }
    fn copy_file_in(
        &mut self,
        offset: u64,
        src: &std::fs::File,
        src_offset: u64,
        len: u64,
    ) -> Result<()> {
        check_range("copy", offset, len, self.len)?;
        self.dev
            .copy_file_in(self.start + offset, src, src_offset, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::MemDevice;

    #[test]
    fn window_stays_inside() {
        let mut mem = MemDevice::zeroed(4096);
        {
            let mut w = Window::new(&mut mem, 1024, 512).unwrap();
            w.write_at(0, &[0xaa; 512]).unwrap();
            // One byte past the end of the window: refused, nothing written.
            assert!(w.write_at(1, &[0xbb; 512]).is_err());
            assert!(w.zero_range(500, 13).is_err());
            w.zero_range(0, 2).unwrap();
        }
        assert_eq!(mem.data[1023], 0);
        assert_eq!(&mem.data[1024..1026], &[0, 0]);
        assert!(mem.data[1026..1536].iter().all(|&b| b == 0xaa));
        assert_eq!(mem.data[1536], 0);
        assert!(Window::new(&mut mem, 4000, 97).is_err());
    }

    #[test]
    fn partition_window_uses_sectors() {
        let mut mem = MemDevice::zeroed(8192);
        let p = DosPartition {
            start: 4,
            size: 2,
            ptype: 0x83,
            bootable: false,
        };
        let mut w = Window::partition(&mut mem, &p).unwrap();
        assert_eq!((w.start(), w.len()), (2048, 1024));
        w.write_at(1023, &[7]).unwrap();
        assert_eq!(mem.data[3071], 7);
    }
}
