//! The [`BlockDevice`] trait: positioned reads and writes over a device of fixed length, plus
//! flush, discard and zero-range. Image files, partition windows and real block devices all
//! implement it, so partitioning and (later) file systems are written once.

use crate::error::{DiskError, Result};

/// Bytes written per call when a device has no faster way to zero a range.
const ZERO_CHUNK: usize = 1 << 20;

/// A device of fixed length addressed by byte offset.
///
/// Every access is checked against [`BlockDevice::len`]: a read or write that does not lie wholly
/// inside the device fails with [`DiskError::OutOfBounds`] and touches nothing.
pub trait BlockDevice {
    /// The device's length in bytes.
    fn len(&self) -> u64;

    /// Whether the device holds no bytes at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The logical sector size (512 unless the device says otherwise).
    fn sector_size(&self) -> u32 {
        512
    }

    /// Fills `buf` from `offset`; the whole range must lie inside the device.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()>;

    /// Writes all of `buf` at `offset`; the whole range must lie inside the device.
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<()>;

    /// Makes written data durable (fsync for files and devices).
    fn flush(&mut self) -> Result<()>;

    /// Makes `len` bytes at `offset` read as zeros. The default writes zeros; image files punch
    /// holes and block devices use the kernel's zero-out where they can.
    fn zero_range(&mut self, offset: u64, len: u64) -> Result<()> {
        check_range("zero", offset, len, self.len())?;
        let zeros = vec![0u8; ZERO_CHUNK.min(usize::try_from(len).unwrap_or(ZERO_CHUNK))];
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(zeros.len() as u64) as usize;
            self.write_at(offset + done, &zeros[..n])?;
            done += n as u64;
        }
        Ok(())
    }

    /// Tells the device that `len` bytes at `offset` are no longer needed. What they read as
    /// afterwards is unspecified on real devices; the default zeroes them, which is always a
    /// valid discard.
    fn discard(&mut self, offset: u64, len: u64) -> Result<()> {
        self.zero_range(offset, len)
    }

    /// Writes `len` bytes of the file `src`, read from `src_offset`, at `offset`. The default
    /// reads and writes through a buffer; image files let the kernel copy
    /// (`copy_file_range`, a reflink where the host file system shares blocks). Fails if `src`
    /// ends before `len` bytes.
    fn copy_file_in(
        &mut self,
        offset: u64,
        src: &std::fs::File,
        src_offset: u64,
        len: u64,
    ) -> Result<()> {
        check_range("copy", offset, len, self.len())?;
        copy_file_buffered(self, offset, src, src_offset, len)
    }
}

/// The buffered way of [`BlockDevice::copy_file_in`]: 1 MiB at a time through memory.
pub fn copy_file_buffered<D: BlockDevice + ?Sized>(
    dev: &mut D,
    offset: u64,
    src: &std::fs::File,
    src_offset: u64,
    len: u64,
) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; ZERO_CHUNK.min(usize::try_from(len).unwrap_or(ZERO_CHUNK))];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        src.read_exact_at(&mut buf[..n], src_offset + done)
            .map_err(|e| {
                DiskError::io(format!("reading input at byte {}", src_offset + done), e)
            })?;
        dev.write_at(offset + done, &buf[..n])?;
        done += n as u64;
    }
    Ok(())
}

/// `&mut D` and `Box<D>` (so `Box<dyn BlockDevice>`, whatever [`BlockDevice`] was opened) are
/// block devices when `D` is. Every method goes to `**self`, the provided ones too, so a
/// device's own `zero_range`, `discard` or `copy_file_in` is not replaced by the default.
macro_rules! forward_block_device {
    ($($ty:ty),*) => {$(
        impl<D: BlockDevice + ?Sized> BlockDevice for $ty {
            fn len(&self) -> u64 {
                (**self).len()
            }
            fn is_empty(&self) -> bool {
                (**self).is_empty()
            }
            fn sector_size(&self) -> u32 {
                (**self).sector_size()
            }
            fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
                (**self).read_at(offset, buf)
            }
            fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<()> {
                (**self).write_at(offset, buf)
            }
            fn flush(&mut self) -> Result<()> {
                (**self).flush()
            }
            fn zero_range(&mut self, offset: u64, len: u64) -> Result<()> {
                (**self).zero_range(offset, len)
            }
            fn discard(&mut self, offset: u64, len: u64) -> Result<()> {
                (**self).discard(offset, len)
            }
            fn copy_file_in(
                &mut self,
                offset: u64,
                src: &std::fs::File,
                src_offset: u64,
                len: u64,
            ) -> Result<()> {
                (**self).copy_file_in(offset, src, src_offset, len)
            }
        }
    )*};
}

forward_block_device!(&mut D, Box<D>);

/// A boxed device shows its length (the trait has no other identity to show).
impl std::fmt::Debug for dyn BlockDevice + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlockDevice({} bytes)", self.len())
    }
}

/// Streams `reader` into `dev` from byte `offset`, 1 MiB at a time (an image file turns long
/// zero runs into holes on the way), in bounded memory; returns the number of bytes written.
/// A stream longer than the room left fails before the piece that would overflow is written.
pub fn copy_from<D: BlockDevice + ?Sized>(
    dev: &mut D,
    offset: u64,
    reader: &mut dyn std::io::Read,
) -> Result<u64> {
    let mut buf = vec![0u8; ZERO_CHUNK];
    let mut done = 0u64;
    loop {
        // Fill the buffer as far as the stream allows, so writes stay large and aligned.
        let mut filled = 0;
        while filled < buf.len() {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(DiskError::io(format!("reading input at byte {done}"), e)),
            }
        }
        if filled == 0 {
            return Ok(done);
        }
        check_range("copy", offset + done, filled as u64, dev.len())?;
        dev.write_at(offset + done, &buf[..filled])?;
        done += filled as u64;
    }
}

/// Fails unless `offset..offset+len` lies inside a device of `dev_len` bytes.
pub fn check_range(what: &'static str, offset: u64, len: u64, dev_len: u64) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= dev_len => Ok(()),
        _ => Err(DiskError::OutOfBounds {
            what,
            offset,
            end: offset.saturating_add(len),
            len: dev_len,
        }),
    }
}

/// A device held in memory: for tests and for building small images before they are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemDevice {
    /// The device's bytes.
    pub data: Vec<u8>,
}

impl MemDevice {
    /// A zero-filled device of `len` bytes.
    pub fn zeroed(len: usize) -> Self {
        MemDevice { data: vec![0; len] }
    }
}

impl BlockDevice for MemDevice {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range("read", offset, buf.len() as u64, self.len())?;
        let o = offset as usize;
        buf.copy_from_slice(&self.data[o..o + buf.len()]);
        Ok(())
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<()> {
        check_range("write", offset, buf.len() as u64, self.len())?;
        let o = offset as usize;
        self.data[o..o + buf.len()].copy_from_slice(buf);
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_device_bounds() {
        let mut d = MemDevice::zeroed(1024);
        d.write_at(1020, &[1, 2, 3, 4]).unwrap();
        let err = d.write_at(1021, &[1, 2, 3, 4]).unwrap_err();
        assert!(
            matches!(err, DiskError::OutOfBounds { end: 1025, .. }),
            "{err}"
        );
        assert_eq!(&d.data[1020..], &[1, 2, 3, 4]);
        let mut b = [0u8; 2];
        assert!(d.read_at(u64::MAX, &mut b).is_err());
    }

    #[test]
    fn copy_streams_and_stops_at_the_end() {
        let mut d = MemDevice::zeroed(3 << 20);
        let src: Vec<u8> = (0..(2 << 20) + 7).map(|i| (i % 251) as u8).collect();
        let n = copy_from(&mut d, 100, &mut &src[..]).unwrap();
        assert_eq!(n, src.len() as u64);
        assert_eq!(&d.data[100..100 + src.len()], &src[..]);
        // 2 MiB + 7 from offset 1 MiB + 1 does not fit in 3 MiB: the second piece is refused.
        let err = copy_from(&mut d, (1 << 20) + 1, &mut &src[..]).unwrap_err();
        assert!(matches!(err, DiskError::OutOfBounds { .. }), "{err}");
    }

    #[test]
    fn default_zero_range_writes_zeros() {
        let mut d = MemDevice {
            data: vec![0xff; 3 << 20],
        };
        d.zero_range(10, (2 << 20) + 5).unwrap();
        assert_eq!(d.data[9], 0xff);
        assert!(d.data[10..10 + (2 << 20) + 5].iter().all(|&b| b == 0));
        assert_eq!(d.data[10 + (2 << 20) + 5], 0xff);
        assert!(d.zero_range(3 << 20, 1).is_err());
    }

    /// A device whose own provided methods leave a mark instead of writing.
    struct Marks(
        MemDevice,
        std::rc::Rc<std::cell::RefCell<Vec<&'static str>>>,
    );

    impl BlockDevice for Marks {
        fn len(&self) -> u64 {
            self.0.len()
        }
        fn sector_size(&self) -> u32 {
            4096
        }
        fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
            self.0.read_at(offset, buf)
        }
        fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<()> {
            self.0.write_at(offset, buf)
        }
        fn flush(&mut self) -> Result<()> {
            self.1.borrow_mut().push("flush");
            Ok(())
        }
        fn zero_range(&mut self, _: u64, _: u64) -> Result<()> {
            self.1.borrow_mut().push("zero");
            Ok(())
        }
        fn discard(&mut self, _: u64, _: u64) -> Result<()> {
            self.1.borrow_mut().push("discard");
            Ok(())
        }
        fn copy_file_in(&mut self, _: u64, _: &std::fs::File, _: u64, _: u64) -> Result<()> {
            self.1.borrow_mut().push("copy");
            Ok(())
        }
    }

    #[test]
    fn box_and_mut_forward_the_devices_own_methods() {
        let src = tempfile::tempfile().unwrap();
        let log = std::rc::Rc::default();
        let mut m = Marks(
            MemDevice {
                data: vec![0xff; 64],
            },
            std::rc::Rc::clone(&log),
        );
        {
            let mut r = &mut m;
            let r: &mut dyn BlockDevice = &mut r; // &mut &mut Marks
            assert_eq!(r.sector_size(), 4096);
            r.zero_range(0, 8).unwrap();
            r.discard(8, 8).unwrap();
            r.copy_file_in(0, &src, 0, 4).unwrap();
            r.flush().unwrap();
        }
        let mut b: Box<dyn BlockDevice> = Box::new(m);
        {
            let b: &mut dyn BlockDevice = &mut b; // Box<dyn BlockDevice> itself
            assert_eq!((b.len(), b.is_empty(), b.sector_size()), (64, false, 4096));
            b.zero_range(0, 8).unwrap();
            b.discard(8, 8).unwrap();
            b.copy_file_in(0, &src, 0, 4).unwrap();
            b.write_at(60, &[1, 2, 3, 4]).unwrap();
            assert!(b.write_at(61, &[1, 2, 3, 4]).is_err());
            b.flush().unwrap();
        }
        assert_eq!(format!("{b:?}"), "BlockDevice(64 bytes)");
        let calls = ["zero", "discard", "copy", "flush"];
        assert_eq!(
            *log.borrow(),
            [calls, calls].concat(),
            "no default replaced a method"
        );
        let mut data = [0u8; 64];
        b.read_at(0, &mut data).unwrap();
        assert!(
            data[..16].iter().all(|&x| x == 0xff),
            "nothing zeroed by a default"
        );
        assert_eq!(&data[60..], &[1, 2, 3, 4]);
    }
}
