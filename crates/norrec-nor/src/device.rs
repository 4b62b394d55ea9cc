//! [`SpiNor`]: the chip itself, driven byte by byte through `select`, `transfer`, `deselect`.
//!
//! Commands (single-line SPI, as the U-Boot and Linux spi-nor cores use them on these parts):
//!
//! | opcode | command | notes |
//! |---|---|---|
//! | 0x9F | RDID | JEDEC id, then the extended id, then 0x00 |
//! | 0x05 / 0x35 / 0x70 | RDSR / RDCR / RDFSR | repeated while selected; RDFSR on Micron parts |
//! | 0x01 | WRSR | status (and config) register; needs WEL |
//! | 0x06 / 0x04 | WREN / WRDI | set / clear the write enable latch (WEL) |
//! | 0x03 / 0x0B | READ / FAST_READ | FAST_READ takes one dummy byte; wraps at the end of the flash |
//! | 0x02 | PP | into a page buffer that wraps within the page; programmed on deselect |
//! | 0x20 / 0x52 / 0xD8 | erase 4 KiB / 32 KiB / block | per the chip's erase sizes; on deselect |
//! | 0xC7 / 0x60 | chip erase | not on parts without chip erase |
//! | 0x5A | RDSFDP | 3-byte address and a dummy byte; see [`crate::sfdp`] |
//! | 0xB7 / 0xE9 | EN4B / EX4B | parts over 16 MiB |
//! | 0x16 / 0x17 | BRRD / BRWR | Spansion bank register: bit 7 selects 4-byte addresses, bits 6:0 give A24+ of 3-byte addresses |
//! | 0xC8 / 0xC5 | RDEAR / WREAR | Winbond/Micron extended address register (A24+ of 3-byte addresses); WREAR needs WEL |
//! | 0x13 0x0C 0x12 0x21 0x5C 0xDC | 4-byte READ, FAST_READ, PP, erases | parts over 16 MiB |
//! | 0x66, 0x99 | reset enable, reset | returns to 3-byte mode, clears WEL |
//! | 0x50 / 0x30 | clear flag status / clear status | accepted, nothing to clear |
//!
//! NOR semantics: programming only clears bits ([`Storage::program`]), erase sets 0xFF, program
//! and erase and WRSR need WEL (else the command is ignored) and clear it when they complete.
//! Program, erase and WRSR take effect on deselect, as on a real part, and the storage is flushed
//! then (a [`crate::storage::FileStorage`] writes the file). Bytes after a complete command, and
//! every byte of an unknown opcode, are ignored until deselect; deselect always returns the
//! command state machine to idle (the state QEMU's m25p80 kept without a chip select line).
//! MISO reads 0xFF outside data phases. Block-protect bits are stored and read back but do not
//! protect anything.
//!
//! ```
//! use norrec_nor::{chips, device::SpiNor, storage::MemStorage};
//! let chip = chips::find("is25wp128").unwrap();
//! let mut nor = SpiNor::new(chip, MemStorage::erased(chip.size)).unwrap();
//! nor.select();
//! let mut rdid = [0x9f, 0, 0, 0];
//! nor.transfer(&mut rdid);
//! nor.deselect().unwrap();
//! assert_eq!(&rdid[1..], &[0x9d, 0x70, 0x18]);
//! ```

use crate::chips::{Chip, Enter4b};
use crate::storage::Storage;
use crate::{Error, Result};

/// Status register bits.
pub mod sr {
    /// Write in progress.
    pub const WIP: u8 = 1 << 0;
    /// Write enable latch.
    pub const WEL: u8 = 1 << 1;
    /// Block protect bits and status register write disable: what WRSR may change.
    pub const WRITABLE: u8 = 0xfc;
}

/// What an address phase leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Read { dummy: u8 },
    Sfdp,
    Program,
    Erase(u32),
}

/// A register read back byte after byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reg {
    Id,
    Status,
    Config,
    FlagStatus,
    Bank,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Addr {
        op: Op,
        addr: u32,
        got: u8,
        need: u8,
    },
    Dummy {
        op: Op,
        addr: u32,
        left: u8,
    },
    Read {
        addr: u64,
    },
    Sfdp {
        addr: u32,
    },
    Out {
        reg: Reg,
        pos: usize,
    },
    Program {
        col: u32,
    },
    WriteSr {
        got: u8,
    },
    WriteBank,
    /// Command complete or unknown: ignore bytes until deselect.
    Ignore,
}

/// What deselect executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    Program { page: u64 },
    Erase { addr: u64, len: u64 },
    WriteSr { sr: u8, cr: Option<u8> },
    WriteBank(u8),
    Reset,
}

/// A SPI NOR chip over a [`Storage`] backend.
pub struct SpiNor<S: Storage> {
    chip: &'static Chip,
    storage: S,
    sfdp: Vec<u8>,
    selected: bool,
    state: State,
    pending: Pending,
    /// Opcode of the current command (for reset enable / reset).
    opcode: Option<u8>,
    /// Opcode of the last completed command.
    last_opcode: Option<u8>,
    sr: u8,
    cr: u8,
    wel: bool,
    four_byte: bool,
    bank: u8,
    page_buf: Vec<u8>,
    busy_polls: u32,
    busy_left: u32,
}

/// The chip's name and registers, not its tables and buffers.
impl<S: Storage + std::fmt::Debug> std::fmt::Debug for SpiNor<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpiNor")
            .field("chip", &self.chip.name)
            .field("storage", &self.storage)
            .field("selected", &self.selected)
            .field("state", &self.state)
            .field("sr", &self.sr)
            .field("wel", &self.wel)
            .field("four_byte", &self.four_byte_mode())
            .finish_non_exhaustive()
    }
}

impl<S: Storage> SpiNor<S> {
    /// A chip in its power-on state (3-byte addressing, WEL clear) over `storage`, which must
    /// hold exactly `chip.size` bytes.
    pub fn new(chip: &'static Chip, storage: S) -> Result<Self> {
        if storage.len() != chip.size {
            return Err(Error::SizeMismatch {
                chip: chip.name,
                want: chip.size,
                have: storage.len(),
            });
        }
        Ok(Self {
            chip,
            storage,
            sfdp: crate::sfdp::table(chip),
            selected: false,
            state: State::Idle,
            pending: Pending::None,
            opcode: None,
            last_opcode: None,
            sr: 0,
            cr: 0,
            wel: false,
            four_byte: false,
            bank: 0,
            page_buf: vec![0xff; chip.page_size as usize],
            busy_polls: 0,
            busy_left: 0,
        })
    }

    /// After each program, erase or status write, report WIP for the next `n` status bytes
    /// (RDSR/RDFSR), ignoring other commands meanwhile, as a real part is busy for a while.
    /// Lets tests check that a host polls. Default 0.
    pub fn set_busy_polls(&mut self, n: u32) {
        self.busy_polls = n;
    }

    /// The part this model is.
    pub fn chip(&self) -> &'static Chip {
        self.chip
    }

    /// The backing storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The backing storage, mutable (bypasses the SPI protocol; e.g. to preload an image).
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// Gives the storage back.
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// Whether the part is in 4-byte address mode (EN4B or the bank register's EXTADD bit).
    pub fn four_byte_mode(&self) -> bool {
        self.four_byte || self.bank & 0x80 != 0
    }

    /// Chip select asserted (CS low): the next byte is an opcode.
    pub fn select(&mut self) {
        if !self.selected {
            self.selected = true;
            self.state = State::Idle;
            self.pending = Pending::None;
            self.opcode = None;
        }
    }

    /// One byte out, one byte in.
    pub fn transfer_byte(&mut self, out: u8) -> u8 {
        let mut b = [out];
        self.transfer(&mut b);
        b[0]
    }

    /// Full duplex in place: each byte of `buf` is sent and replaced by the byte received.
    /// A READ data phase is copied straight out of the storage.
    pub fn transfer(&mut self, buf: &mut [u8]) {
        if !self.selected {
            buf.fill(0xff);
            return;
        }
        let mut i = 0;
        while i < buf.len() {
            i += self.step(&mut buf[i..]);
        }
    }

    /// Chip select released (CS high): executes a pending program, erase or register write,
    /// flushes the storage, and returns to idle.
    pub fn deselect(&mut self) -> Result<()> {
        if !self.selected {
            return Ok(());
        }
        self.selected = false;
        self.state = State::Idle;
        self.last_opcode = self.opcode.take();
        let pending = std::mem::replace(&mut self.pending, Pending::None);
        let busy = !matches!(
            pending,
            Pending::None | Pending::Reset | Pending::WriteBank(_)
        );
        match pending {
            Pending::None => {}
            Pending::Program { page } => {
                self.storage.program(page, &self.page_buf);
                self.page_buf.fill(0xff);
            }
            Pending::Erase { addr, len } => self.storage.erase(addr, len),
            Pending::WriteSr { sr, cr } => {
                self.sr = sr & sr::WRITABLE;
                if let Some(cr) = cr {
                    self.cr = cr;
                }
            }
            Pending::WriteBank(b) => self.bank = b,
            Pending::Reset => {
                self.four_byte = false;
                self.bank = 0;
                self.wel = false;
                self.busy_left = 0;
            }
        }
        if busy {
            self.wel = false;
            self.busy_left = self.busy_polls;
            self.storage.flush()?;
        }
        Ok(())
    }

    fn status(&mut self) -> u8 {
        let wip = if self.busy_left > 0 {
            self.busy_left -= 1;
            sr::WIP
        } else {
            0
        };
        self.sr | u8::from(self.wel) << 1 | wip
    }

    fn addr_len(&self) -> u8 {
        if self.four_byte_mode() { 4 } else { 3 }
    }

    /// Handles the opcode byte.
    fn command(&mut self, op: u8) -> State {
        self.opcode = Some(op);
        let chip = self.chip;
        let big = chip.addr4 || chip.opcodes_4b;
        let a = self.addr_len();
        if self.busy_left > 0 && !matches!(op, 0x05 | 0x70) {
            return State::Ignore;
        }
        let addr = |op, need| State::Addr {
            op,
            addr: 0,
            got: 0,
            need,
        };
        let erase = |size: u32, need| {
            if chip.can_erase(size) {
                addr(Op::Erase(size), need)
            } else {
                State::Ignore
            }
        };
        let needs_wel = matches!(
            op,
            0x01 | 0x02 | 0x12 | 0x20 | 0x21 | 0x52 | 0x5c | 0xd8 | 0xdc | 0xc7 | 0x60 | 0xc5
        );
        // Winbond and Micron parts over 16 MiB have an extended address register (0xC5/0xC8).
        let ear = chip.addr4 && matches!(chip.jedec[0], 0xef | 0x20);
        if needs_wel && !self.wel {
            return State::Ignore;
        }
        match op {
            0x9f => State::Out {
                reg: Reg::Id,
                pos: 0,
            },
            0x05 => State::Out {
                reg: Reg::Status,
                pos: 0,
            },
            0x35 => State::Out {
                reg: Reg::Config,
                pos: 0,
            },
            0x70 if chip.fsr => State::Out {
                reg: Reg::FlagStatus,
                pos: 0,
            },
            0x16 if chip.enter_4b == Enter4b::Brwr => State::Out {
                reg: Reg::Bank,
                pos: 0,
            },
            0x17 if chip.enter_4b == Enter4b::Brwr => State::WriteBank,
            0xc8 if ear => State::Out {
                reg: Reg::Bank,
                pos: 0,
            },
            0xc5 if ear => State::WriteBank,
            0x06 => {
                self.wel = true;
                State::Ignore
            }
            0x04 => {
                self.wel = false;
                State::Ignore
            }
            0x01 => State::WriteSr { got: 0 },
            0x03 => addr(Op::Read { dummy: 0 }, a),
            0x0b => addr(Op::Read { dummy: 1 }, a),
            0x13 if big => addr(Op::Read { dummy: 0 }, 4),
            0x0c if big => addr(Op::Read { dummy: 1 }, 4),
            0x02 => addr(Op::Program, a),
            0x12 if big => addr(Op::Program, 4),
            0x20 => erase(4096, a),
            0x21 if big => erase(4096, 4),
            0x52 => erase(32768, a),
            0x5c if big => erase(32768, 4),
            0xd8 => erase(chip.block_size(), a),
            0xdc if big => erase(chip.block_size(), 4),
            0xc7 | 0x60 if chip.chip_erase => {
                self.pending = Pending::Erase {
                    addr: 0,
                    len: chip.size,
                };
                State::Ignore
            }
            0x5a => addr(Op::Sfdp, 3),
            0xb7 if chip.addr4 => {
                self.four_byte = true;
                State::Ignore
            }
            0xe9 if chip.addr4 => {
                self.four_byte = false;
                State::Ignore
            }
            0x99 if self.last_opcode == Some(0x66) => {
                self.pending = Pending::Reset;
                State::Ignore
            }
            // Reset enable (0x66), clear flag status (0x50), clear status (0x30): nothing to do.
            _ => State::Ignore,
        }
    }

    /// Processes the start of `buf`; returns how many bytes it consumed (at least 1).
    fn step(&mut self, buf: &mut [u8]) -> usize {
        match self.state {
            State::Idle => {
                self.state = self.command(buf[0]);
                buf[0] = 0xff;
                1
            }
            State::Addr {
                op,
                addr,
                got,
                need,
            } => {
                let addr = addr << 8 | u32::from(buf[0]);
                buf[0] = 0xff;
                self.state = if got + 1 < need {
                    State::Addr {
                        op,
                        addr,
                        got: got + 1,
                        need,
                    }
                } else if need == 3 && op != Op::Sfdp {
                    // 3-byte address: the bank / extended address register supplies A31..A24.
                    self.address_done(op, u32::from(self.bank & 0x7f) << 24 | addr)
                } else {
                    self.address_done(op, addr)
                };
                1
            }
            State::Dummy { op, addr, left } => {
                buf[0] = 0xff;
                self.state = if left > 1 {
                    State::Dummy {
                        op,
                        addr,
                        left: left - 1,
                    }
                } else {
                    self.data_phase(op, addr)
                };
                1
            }
            State::Read { addr } => {
                let data = self.storage.as_slice();
                let n = buf.len().min((self.chip.size - addr) as usize);
                buf[..n].copy_from_slice(&data[addr as usize..addr as usize + n]);
                self.state = State::Read {
                    addr: (addr + n as u64) % self.chip.size,
                };
                n
            }
            State::Sfdp { addr } => {
                buf[0] = self.sfdp.get(addr as usize).copied().unwrap_or(0xff);
                self.state = State::Sfdp {
                    addr: (addr + 1) & 0xff_ffff,
                };
                1
            }
            State::Out { reg, pos } => {
                buf[0] = match reg {
                    Reg::Id => match pos {
                        0..3 => self.chip.jedec[pos],
                        _ => self
                            .chip
                            .ext_id
                            .and_then(|e| e.get(pos - 3))
                            .copied()
                            .unwrap_or(0),
                    },
                    Reg::Status => self.status(),
                    Reg::Config => self.cr,
                    Reg::FlagStatus => {
                        let busy = self.status() & sr::WIP != 0;
                        u8::from(!busy) << 7 | u8::from(self.four_byte_mode())
                    }
                    Reg::Bank => self.bank,
                };
                self.state = State::Out { reg, pos: pos + 1 };
                1
            }
            State::Program { col } => {
                // Into the page buffer up to the page end; the next step wraps to column 0.
                let col = col as usize;
                let n = buf.len().min(self.page_buf.len() - col);
                self.page_buf[col..col + n].copy_from_slice(&buf[..n]);
                buf[..n].fill(0xff);
                let next = (col + n) % self.page_buf.len();
                self.state = State::Program { col: next as u32 };
                n
            }
            State::WriteSr { got } => {
                self.pending = match (got, self.pending) {
                    (0, _) => Pending::WriteSr {
                        sr: buf[0],
                        cr: None,
                    },
                    (1, Pending::WriteSr { sr, .. }) => Pending::WriteSr {
                        sr,
                        cr: Some(buf[0]),
                    },
                    (_, p) => p,
                };
                buf[0] = 0xff;
                self.state = if got >= 1 {
                    State::Ignore
                } else {
                    State::WriteSr { got: got + 1 }
                };
                1
            }
            State::WriteBank => {
                self.pending = Pending::WriteBank(buf[0]);
                buf[0] = 0xff;
                self.state = State::Ignore;
                1
            }
            State::Ignore => {
                buf.fill(0xff);
                buf.len()
            }
        }
    }

    fn address_done(&mut self, op: Op, addr: u32) -> State {
        let dummy = match op {
            Op::Read { dummy } => dummy,
            Op::Sfdp => 1,
            _ => 0,
        };
        if dummy > 0 {
            State::Dummy {
                op,
                addr,
                left: dummy,
            }
        } else {
            self.data_phase(op, addr)
        }
    }

    fn data_phase(&mut self, op: Op, addr: u32) -> State {
        let addr64 = u64::from(addr) % self.chip.size;
        match op {
            Op::Read { .. } => State::Read { addr: addr64 },
            Op::Sfdp => State::Sfdp { addr },
            Op::Program => {
                let page = u64::from(self.chip.page_size);
                self.pending = Pending::Program {
                    page: addr64 - addr64 % page,
                };
                State::Program {
                    col: (addr64 % page) as u32,
                }
            }
            Op::Erase(size) => {
                let size = u64::from(size);
                self.pending = Pending::Erase {
                    addr: addr64 - addr64 % size,
                    len: size,
                };
                State::Ignore
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chips;
    use crate::storage::MemStorage;

    fn cmd(nor: &mut SpiNor<MemStorage>, bytes: &[u8]) -> Vec<u8> {
        let mut b = bytes.to_vec();
        nor.select();
        nor.transfer(&mut b);
        nor.deselect().unwrap();
        b
    }

    #[test]
    fn page_program_wraps_and_latches_last_bytes() {
        let chip = chips::find("is25wp128").unwrap();
        let mut nor = SpiNor::new(chip, MemStorage::erased(chip.size)).unwrap();
        cmd(&mut nor, &[0x06]);
        // Start at column 0xfe of page 0x100: bytes go to 0x1fe, 0x1ff, then wrap to 0x100.
        cmd(&mut nor, &[0x02, 0x00, 0x01, 0xfe, 0xa1, 0xa2, 0xa3]);
        let s = nor.storage().as_slice();
        assert_eq!(&s[0x1fe..0x200], &[0xa1, 0xa2]);
        assert_eq!(s[0x100], 0xa3);
        assert_eq!(s[0x200], 0xff);
        // WEL was cleared: the same program again does nothing.
        cmd(&mut nor, &[0x02, 0x00, 0x00, 0x00, 0x00]);
        assert_eq!(nor.storage().as_slice()[0], 0xff);
    }

    #[test]
    fn size_must_match() {
        let chip = chips::find("is25wp128").unwrap();
        let e = SpiNor::new(chip, MemStorage::erased(4096)).unwrap_err();
        assert!(matches!(e, Error::SizeMismatch { have: 4096, .. }), "{e}");
    }
}
