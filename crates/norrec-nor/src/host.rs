//! A host-side SPI NOR driver over any byte-level bus, as U-Boot's `sf` drives a chip, and the
//! `embedded-storage` NOR traits on top of it.
//!
//! [`SpiFlash::probe`] reads the JEDEC id (RDID), looks the chip up in [`crate::chips`], reads its
//! SFDP basic parameter table (page size, erase types, density, which must agree with the table),
//! and on parts over 16 MiB either uses the 4-byte opcodes or enters 4-byte address mode the way
//! the part wants (EN4B, WREN + EN4B, or the Spansion bank register). Reads are FAST_READ with the
//! data phase in one transfer; writes are page programs, each after WREN and followed by status
//! polling; erases use the largest erase unit that the offset is aligned to, and chip erase for the
//! whole chip.
//!
//! ```
//! use norrec_nor::{chips, device::SpiNor, host::SpiFlash, storage::MemStorage};
//! let chip = chips::find("is25wp128").unwrap();
//! let nor = SpiNor::new(chip, MemStorage::erased(chip.size)).unwrap();
//! let mut flash = SpiFlash::probe(nor).unwrap();
//! assert_eq!(flash.chip().name, "is25wp128");
//! flash.write(0, &0x12345678u32.to_le_bytes()).unwrap(); // sf write 40000000 0 4
//! let mut word = [0; 4];
//! flash.read(0, &mut word).unwrap();
//! assert_eq!(word, [0x78, 0x56, 0x34, 0x12]);
//! ```

use crate::chips::{self, Chip, Enter4b};
use crate::device::{SpiNor, sr};
use crate::sfdp::{Bfpt, Header};
use crate::storage::Storage;
use crate::{Error, Result};
use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// A byte-level SPI bus with one chip on it: chip select and full-duplex in-place transfers.
pub trait SpiBus {
    /// Asserts chip select.
    fn select(&mut self);
    /// Sends `buf` and replaces it with the bytes received.
    fn transfer(&mut self, buf: &mut [u8]);
    /// Releases chip select; the chip completes the command.
    fn deselect(&mut self) -> Result<()>;
}

impl<S: Storage> SpiBus for SpiNor<S> {
    fn select(&mut self) {
        SpiNor::select(self)
    }
    fn transfer(&mut self, buf: &mut [u8]) {
        SpiNor::transfer(self, buf)
    }
    fn deselect(&mut self) -> Result<()> {
        SpiNor::deselect(self)
    }
}

impl<B: SpiBus + ?Sized> SpiBus for &mut B {
    fn select(&mut self) {
        (**self).select()
    }
    fn transfer(&mut self, buf: &mut [u8]) {
        (**self).transfer(buf)
    }
    fn deselect(&mut self) -> Result<()> {
        (**self).deselect()
    }
}

/// What [`SpiFlash::update`] did: "N bytes written, M bytes skipped" in U-Boot's words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Update {
    /// Bytes in sectors that were erased and written.
    pub written: u64,
    /// Bytes in sectors that already held the data.
    pub skipped: u64,
}

/// Status polls before a program or erase counts as hung.
const POLL_LIMIT: u32 = 1_000_000;

/// A probed SPI NOR chip.
#[derive(Debug)]
pub struct SpiFlash<B: SpiBus> {
    bus: B,
    chip: &'static Chip,
    id: Vec<u8>,
    page_size: u32,
    /// (size, 3-byte opcode), ascending by size.
    erase_types: Vec<(u32, u8)>,
    /// Addresses are 4 bytes long (parts over 16 MiB).
    addr4: bool,
    /// Use the dedicated 4-byte opcodes rather than a 4-byte mode.
    opcodes4: bool,
    scratch: Vec<u8>,
}

/// The 4-byte-address form of a 3-byte-address opcode.
fn to_4b(op: u8) -> u8 {
    match op {
        0x03 => 0x13,
        0x0b => 0x0c,
        0x02 => 0x12,
        0x20 => 0x21,
        0x52 => 0x5c,
        0xd8 => 0xdc,
        other => other,
    }
}

impl<B: SpiBus> SpiFlash<B> {
    /// Identifies the chip on `bus` (RDID, SFDP) and prepares 4-byte addressing, like `sf probe`.
    pub fn probe(bus: B) -> Result<Self> {
        let mut f = Self {
            bus,
            chip: &chips::CHIPS[0],
            id: Vec::new(),
            page_size: 256,
            erase_types: Vec::new(),
            addr4: false,
            opcodes4: false,
            scratch: Vec::new(),
        };
        let mut id = [0x9f, 0, 0, 0, 0, 0, 0];
        f.cmd(&mut id)?;
        f.id = id[1..].to_vec();
        f.chip = chips::by_jedec(&f.id).ok_or_else(|| {
            let hex: Vec<String> = f.id[..3].iter().map(|b| format!("{b:02x}")).collect();
            Error::UnknownJedec(hex.join(", "))
        })?;
        let chip = f.chip;
        f.page_size = chip.page_size;
        f.erase_types = chip
            .erase_sizes
            .iter()
            .map(|&s| (s, chip.erase_opcode(s, false).unwrap_or(0xd8)))
            .collect();
        f.read_sfdp()?;
        f.scratch = vec![0; f.page_size as usize];
        if chip.size > 16 << 20 {
            f.addr4 = true;
            f.opcodes4 = chip.opcodes_4b;
            if !f.opcodes4 {
                match chip.enter_4b {
                    Enter4b::En4b => f.cmd(&mut [0xb7])?,
                    Enter4b::WrenEn4b => {
                        f.cmd(&mut [0x06])?;
                        f.cmd(&mut [0xb7])?;
                        f.cmd(&mut [0x04])?;
                    }
                    Enter4b::Brwr => f.cmd(&mut [0x17, 0x80])?,
                }
            }
        }
        Ok(f)
    }

    /// Reads the SFDP header and BFPT; takes page size and erase types from it when present.
    fn read_sfdp(&mut self) -> Result<()> {
        let mut head = [0u8; 16];
        self.read_sfdp_at(0, &mut head)?;
        if &head[..4] != crate::sfdp::SIGNATURE {
            return Ok(()); // No SFDP: the chip table alone describes the part.
        }
        let mut headers = vec![0u8; 8 + 8 * (usize::from(head[6]) + 1)];
        self.read_sfdp_at(0, &mut headers)?;
        let (ptr, len) = Header::parse(&headers)?.bfpt()?;
        let mut table = vec![0u8; len];
        self.read_sfdp_at(ptr, &mut table)?;
        let bfpt = Bfpt::parse(&table)?;
        if bfpt.density_bytes() != self.chip.size {
            return Err(Error::Sfdp {
                offset: ptr + 4,
                what: format!(
                    "density {:#x} bytes, but {} has {:#x}",
                    bfpt.density_bytes(),
                    self.chip.name,
                    self.chip.size
                ),
            });
        }
        if let Some(page) = bfpt.page_size() {
            self.page_size = page;
        }
        let types = bfpt.erase_types();
        if !types.is_empty() {
            self.erase_types = types;
            self.erase_types.sort();
        }
        Ok(())
    }

    fn read_sfdp_at(&mut self, addr: u32, buf: &mut [u8]) -> Result<()> {
        let a = addr.to_be_bytes();
        self.bus.select();
        self.bus.transfer(&mut [0x5a, a[1], a[2], a[3], 0]);
        self.bus.transfer(buf);
        self.bus.deselect()
    }

    /// One complete command: select, transfer `buf` in place, deselect.
    fn cmd(&mut self, buf: &mut [u8]) -> Result<()> {
        self.bus.select();
        self.bus.transfer(buf);
        self.bus.deselect()
    }

    /// Opcode and address (and `dummy` zero bytes) into a small header buffer.
    fn header(&self, op: u8, addr: u64, dummy: usize) -> ([u8; 6], usize) {
        let a = (addr as u32).to_be_bytes();
        let mut h = [0u8; 6];
        let n = if self.addr4 {
            h[0] = if self.opcodes4 { to_4b(op) } else { op };
            h[1..5].copy_from_slice(&a);
            5
        } else {
            h[0] = op;
            h[1..4].copy_from_slice(&a[1..]);
            4
        };
        (h, n + dummy)
    }

    fn check(&self, offset: u64, len: u64) -> Result<()> {
        if offset
            .checked_add(len)
            .is_none_or(|end| end > self.chip.size)
        {
            return Err(Error::OutOfRange {
                offset,
                len,
                size: self.chip.size,
            });
        }
        Ok(())
    }

    /// Polls the status register (and the flag status register where there is one) until the
    /// chip is no longer busy.
    fn wait_ready(&mut self, offset: u64) -> Result<()> {
        for _ in 0..POLL_LIMIT {
            let mut s = [0x05, 0];
            self.cmd(&mut s)?;
            let mut ready = s[1] & sr::WIP == 0;
            if ready && self.chip.fsr {
                let mut f = [0x70, 0];
                self.cmd(&mut f)?;
                ready = f[1] & 0x80 != 0;
            }
            if ready {
                return Ok(());
            }
        }
        Err(Error::Protocol(format!(
            "chip still busy after {POLL_LIMIT} status reads (at offset {offset:#x})"
        )))
    }

    /// The part found at probe.
    pub fn chip(&self) -> &'static Chip {
        self.chip
    }

    /// The RDID bytes read at probe (6 bytes).
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// Page size (from SFDP when the chip has it).
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// Smallest erase unit: the erase granularity of [`SpiFlash::erase`].
    pub fn erase_size(&self) -> u32 {
        self.erase_types
            .first()
            .map_or(self.chip.sector_size, |e| e.0)
    }

    /// The line `sf probe` prints: "SF: Detected is25wp128 with page size 256 Bytes, erase size
    /// 4 KiB, total 16 MiB".
    pub fn detected(&self) -> String {
        format!(
            "SF: Detected {} with page size {}, erase size {}, total {}",
            self.chip.name,
            chips::human(u64::from(self.page_size)),
            chips::human(u64::from(self.erase_size())),
            chips::human(self.chip.size)
        )
    }

    /// The bus, for raw commands.
    pub fn bus_mut(&mut self) -> &mut B {
        &mut self.bus
    }

    /// Gives the bus back.
    pub fn into_bus(self) -> B {
        self.bus
    }

    /// Reads `buf.len()` bytes at `offset` (FAST_READ, the data phase in one transfer).
    pub fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.check(offset, buf.len() as u64)?;
        if buf.is_empty() {
            return Ok(());
        }
        let (mut h, n) = self.header(0x0b, offset, 1);
        self.bus.select();
        self.bus.transfer(&mut h[..n]);
        self.bus.transfer(buf);
        self.bus.deselect()
    }

    /// Programs `data` at `offset`, one page program per page touched (WREN, PP, poll WIP).
    /// Like `sf write`, this does not erase: bits already 0 stay 0.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        self.check(offset, data.len() as u64)?;
        let page = u64::from(self.page_size);
        let mut done = 0usize;
        while done < data.len() {
            let at = offset + done as u64;
            let n = ((page - at % page) as usize).min(data.len() - done);
            self.cmd(&mut [0x06])?;
            let (mut h, hn) = self.header(0x02, at, 0);
            let mut chunk = std::mem::take(&mut self.scratch);
            chunk.resize(n, 0);
            chunk.copy_from_slice(&data[done..done + n]);
            self.bus.select();
            self.bus.transfer(&mut h[..hn]);
            self.bus.transfer(&mut chunk);
            let r = self.bus.deselect();
            self.scratch = chunk;
            r?;
            self.wait_ready(at)?;
            done += n;
        }
        Ok(())
    }

    /// Erases `len` bytes at `offset`, both multiples of [`SpiFlash::erase_size`]; uses the
    /// largest erase unit that fits at each step, and chip erase for the whole chip.
    pub fn erase(&mut self, offset: u64, len: u64) -> Result<()> {
        self.check(offset, len)?;
        let align = u64::from(self.erase_size());
        if offset % align != 0 || len % align != 0 {
            return Err(Error::Unaligned {
                what: "erase size",
                offset,
                len,
                align,
            });
        }
        if len == 0 {
            return Ok(());
        }
        if offset == 0 && len == self.chip.size && self.chip.chip_erase {
            return self.erase_chip();
        }
        let mut at = offset;
        while at < offset + len {
            let left = offset + len - at;
            let &(size, op) = self
                .erase_types
                .iter()
                .rev()
                .find(|(s, _)| at % u64::from(*s) == 0 && u64::from(*s) <= left)
                .expect("the smallest erase unit always fits");
            self.cmd(&mut [0x06])?;
            let (mut h, n) = self.header(op, at, 0);
            self.cmd(&mut h[..n])?;
            self.wait_ready(at)?;
            at += u64::from(size);
        }
        Ok(())
    }

    /// Writes `data` at `offset` sector by sector, like `sf update`: a sector whose bytes already
    /// match is skipped, any other is erased and written. Unlike U-Boot, the bytes of a partly
    /// covered sector outside `offset..offset + data.len()` are read first and kept.
    pub fn update(&mut self, offset: u64, data: &[u8]) -> Result<Update> {
        self.check(offset, data.len() as u64)?;
        let sector = u64::from(self.erase_size());
        let mut stats = Update::default();
        let mut buf = vec![0u8; sector as usize];
        let mut at = offset;
        let end = offset + data.len() as u64;
        while at < end {
            let base = at - at % sector;
            let n = (base + sector).min(end) - at;
            let new = &data[(at - offset) as usize..(at - offset + n) as usize];
            let col = (at - base) as usize;
            self.read(base, &mut buf)?;
            if &buf[col..col + new.len()] == new {
                stats.skipped += n;
            } else {
                buf[col..col + new.len()].copy_from_slice(new);
                self.erase(base, sector)?;
                self.write(base, &buf)?;
                stats.written += n;
            }
            at += n;
        }
        Ok(stats)
    }

    /// Erases the whole chip (0xC7).
    pub fn erase_chip(&mut self) -> Result<()> {
        self.cmd(&mut [0x06])?;
        self.cmd(&mut [0xc7])?;
        self.wait_ready(0)
    }

    /// Reads the status register.
    pub fn status(&mut self) -> Result<u8> {
        let mut s = [0x05, 0];
        self.cmd(&mut s)?;
        Ok(s[1])
    }
}

impl NorFlashError for Error {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Error::OutOfRange { .. } => NorFlashErrorKind::OutOfBounds,
            Error::Unaligned { .. } => NorFlashErrorKind::NotAligned,
            _ => NorFlashErrorKind::Other,
        }
    }
}

impl<B: SpiBus> ErrorType for SpiFlash<B> {
    type Error = Error;
}

impl<B: SpiBus> ReadNorFlash for SpiFlash<B> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<()> {
        SpiFlash::read(self, u64::from(offset), bytes)
    }

    fn capacity(&self) -> usize {
        self.chip.size as usize
    }
}

/// `ERASE_SIZE` is 4 KiB, the smallest erase of most parts; on a part whose smallest erase is
/// larger, `erase` needs that larger alignment and answers `NotAligned` otherwise.
impl<B: SpiBus> NorFlash for SpiFlash<B> {
    const WRITE_SIZE: usize = 1;
    const ERASE_SIZE: usize = 4096;

    fn erase(&mut self, from: u32, to: u32) -> Result<()> {
        if from > to {
            return Err(Error::Unaligned {
                what: "erase range (from > to)",
                offset: u64::from(from),
                len: 0,
                align: Self::ERASE_SIZE as u64,
            });
        }
        SpiFlash::erase(self, u64::from(from), u64::from(to - from))
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<()> {
        SpiFlash::write(self, u64::from(offset), bytes)
    }
}

/// Programming ANDs into the flash, so writing twice without an erase is well defined.
impl<B: SpiBus> MultiwriteNorFlash for SpiFlash<B> {}
