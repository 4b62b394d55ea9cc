//! SFDP (JESD216B): the self-description a chip answers to RDSFDP (0x5A).
//!
//! Write side: [`table`] builds a chip's SFDP space: the header ("SFDP", revision 1.6, number of
//! parameter headers − 1), the parameter header of the basic flash parameter table (BFPT, 16
//! dwords at 0x30), and for parts with 4-byte opcodes the 4-byte address instruction table
//! (4BAIT, id 0xFF84, 2 dwords at 0x70). The model only speaks single-line SPI, so the BFPT claims
//! no dual/quad reads.
//!
//! Read side: [`Header::parse`] and [`Bfpt::parse`] read those bytes back without copying, as the
//! host driver does at probe.
//!
//! ```
//! use norrec_nor::{chips, sfdp};
//! let chip = chips::find("is25wp128").unwrap();
//! let space = sfdp::table(chip);
//! let header = sfdp::Header::parse(&space).unwrap();
//! let (ptr, len) = header.bfpt().unwrap();
//! let bfpt = sfdp::Bfpt::parse(&space[ptr as usize..ptr as usize + len]).unwrap();
//! assert_eq!(bfpt.density_bytes(), 16 << 20);
//! assert_eq!(bfpt.page_size(), Some(256));
//! assert_eq!(bfpt.erase_types(), vec![(4096, 0x20), (32768, 0x52), (65536, 0xd8)]);
//! ```

use crate::chips::{Chip, Enter4b};
use crate::{Error, Result};

/// SFDP signature, bytes 0..4 ("SFDP"; 0x50444653 as a little-endian dword).
pub const SIGNATURE: &[u8; 4] = b"SFDP";
/// Where [`table`] puts the BFPT.
pub const BFPT_PTR: u32 = 0x30;
/// Where [`table`] puts the 4BAIT.
pub const FOUR_BAIT_PTR: u32 = 0x70;
/// BFPT length in dwords (JESD216B).
pub const BFPT_DWORDS: u8 = 16;

/// BFPT dword 1, bits 18:17: which address lengths the part accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressBytes {
    /// 3-byte only (00).
    Three,
    /// 3 by default, 4 on request (01).
    ThreeOrFour,
    /// 4 only (10).
    Four,
}

fn dw(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// Builds `chip`'s whole SFDP space as the device answers it (reads past the end give 0xFF).
pub fn table(chip: &Chip) -> Vec<u8> {
    let with_4bait = chip.addr4 && chip.opcodes_4b;
    let mut v = Vec::with_capacity(0x80);
    // Header: signature, minor 6, major 1, NPH (headers - 1), access protocol 0xFF.
    v.extend_from_slice(SIGNATURE);
    v.extend_from_slice(&[0x06, 0x01, u8::from(with_4bait), 0xff]);
    // Parameter header: id LSB, minor, major, length (dwords), pointer (3 bytes LE), id MSB.
    let ph = |v: &mut Vec<u8>, id: u16, minor: u8, len: u8, ptr: u32| {
        let p = ptr.to_le_bytes();
        v.extend_from_slice(&[
            id as u8,
            minor,
            0x01,
            len,
            p[0],
            p[1],
            p[2],
            (id >> 8) as u8,
        ]);
    };
    ph(&mut v, 0xff00, 0x06, BFPT_DWORDS, BFPT_PTR);
    if with_4bait {
        ph(&mut v, 0xff84, 0x00, 2, FOUR_BAIT_PTR);
    }
    v.resize(BFPT_PTR as usize, 0xff);
    for x in bfpt_dwords(chip) {
        dw(&mut v, x);
    }
    if with_4bait {
        // 4BAIT dword 1: READ 0x13 (bit 0), FAST_READ 0x0C (bit 1), PP 0x12 (bit 6), erase type
        // n with a 4-byte opcode (bit 8 + n). Dword 2: those erase opcodes, type 1 in byte 0.
        let mut d1 = 1 | 1 << 1 | 1 << 6;
        let mut ops = [0xffu8; 4];
        for (i, &size) in chip.erase_sizes.iter().take(4).enumerate() {
            d1 |= 1 << (9 + i);
            ops[i] = chip.erase_opcode(size, true).unwrap_or(0xff);
        }
        dw(&mut v, d1);
        dw(&mut v, u32::from_le_bytes(ops));
    }
    v
}

/// The 16 BFPT dwords (index 0 is JESD216's dword 1).
fn bfpt_dwords(chip: &Chip) -> [u32; 16] {
    let mut d = [0u32; 16];
    let has_4k = chip.can_erase(4096);
    // Dword 1: 4K erase support (bits 1:0 = 01, or 11 for none), write granularity >= 64 bytes
    // (bit 2), 4K erase opcode (bits 15:8), address bytes (bits 18:17), no dual/quad/DTR,
    // reserved bits 7:5 and 31:23 set.
    let (erase_bits, op4k) = if has_4k { (0b01, 0x20) } else { (0b11, 0xff) };
    let addr = if chip.addr4 { 0b01 } else { 0b00 };
    d[0] = 0xff80_0000 | addr << 17 | op4k << 8 | 0b111 << 5 | 1 << 2 | erase_bits;
    // Dword 2: density in bits - 1 (every part here is at most 2 Gbit).
    d[1] = (chip.size * 8 - 1) as u32;
    // Dwords 3-4: no 1-4-4, 1-1-4, 1-1-2, 1-2-2 reads. Dwords 5-7: no 2-2-2/4-4-4 (reserved 1s).
    d[4] = 0xffff_ffee;
    d[5] = 0x0000_ffff;
    d[6] = 0x0000_ffff;
    // Dwords 8-9: erase types 1-4 as (log2 size, 3-byte opcode) byte pairs; size 0 = unused.
    let mut pairs = [0u8; 8];
    for (i, &size) in chip.erase_sizes.iter().take(4).enumerate() {
        pairs[2 * i] = size.trailing_zeros() as u8;
        pairs[2 * i + 1] = chip.erase_opcode(size, false).unwrap_or(0xff);
    }
    d[7] = u32::from_le_bytes([pairs[0], pairs[1], pairs[2], pairs[3]]);
    d[8] = u32::from_le_bytes([pairs[4], pairs[5], pairs[6], pairs[7]]);
    // Dword 11: page size as 2^N in bits 7:4.
    d[10] = chip.page_size.trailing_zeros() << 4;
    // Dword 12: suspend/resume not supported (bit 31).
    d[11] = 1 << 31;
    // Dword 14: busy polling through RDSR bit 0 (bit 2), and through the flag status register
    // 0x70 bit 7 (bit 3) where there is one; deep power-down not supported (bit 31).
    d[13] = 1 << 31 | 1 << 2 | u32::from(chip.fsr) << 3;
    // Dword 16: enter (31:24) and exit (18:14) 4-byte mode, soft reset 0x66/0x99 (bit 12).
    let mut d16 = 1 << 12 | 1 << 7;
    if chip.addr4 {
        d16 |= match chip.enter_4b {
            Enter4b::En4b => 1 << 24 | 1 << 14,
            Enter4b::WrenEn4b => 1 << 25 | 1 << 15,
            Enter4b::Brwr => 1 << 27 | 1 << 17,
        };
        if chip.opcodes_4b {
            d16 |= 1 << 29;
        }
    }
    d[15] = d16;
    d
}

fn bad(offset: usize, what: &str) -> Error {
    Error::Sfdp {
        offset: offset as u32,
        what: what.to_owned(),
    }
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The SFDP header and its parameter headers, read over the first bytes of the SFDP space.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    bytes: &'a [u8],
}

impl<'a> Header<'a> {
    /// Checks the signature and that every announced parameter header is in `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() < 16 {
            return Err(bad(bytes.len(), "SFDP header shorter than 16 bytes"));
        }
        if &bytes[..4] != SIGNATURE {
            return Err(bad(
                0,
                &format!("signature {:02x?}, want \"SFDP\"", &bytes[..4]),
            ));
        }
        let h = Self { bytes };
        if bytes.len() < 8 + 8 * h.headers() {
            return Err(bad(6, "parameter headers run past the bytes read"));
        }
        Ok(h)
    }

    /// (major, minor) revision, bytes 5 and 4.
    pub fn revision(&self) -> (u8, u8) {
        (self.bytes[5], self.bytes[4])
    }

    /// Number of parameter headers (byte 6 + 1).
    pub fn headers(&self) -> usize {
        usize::from(self.bytes[6]) + 1
    }

    /// Parameter header `i` (0-based, below [`Header::headers`]): (id, pointer, length in bytes).
    pub fn param(&self, i: usize) -> Option<(u16, u32, usize)> {
        let p = self.bytes.get(8 + 8 * i..16 + 8 * i)?;
        let id = u16::from(p[7]) << 8 | u16::from(p[0]);
        let ptr = u32::from_le_bytes([p[4], p[5], p[6], 0]);
        (i < self.headers()).then_some((id, ptr, usize::from(p[3]) * 4))
    }

    /// The table with parameter id `id` (0xFF00 BFPT, 0xFF84 4BAIT): (pointer, length in bytes).
    pub fn find(&self, id: u16) -> Option<(u32, usize)> {
        (0..self.headers())
            .filter_map(|i| self.param(i))
            .find(|p| p.0 == id)
            .map(|p| (p.1, p.2))
    }

    /// The BFPT: (pointer, length in bytes).
    pub fn bfpt(&self) -> Result<(u32, usize)> {
        self.find(0xff00)
            .ok_or_else(|| bad(8, "no basic flash parameter table header"))
    }
}

/// The basic flash parameter table, read over its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Bfpt<'a> {
    bytes: &'a [u8],
}

impl<'a> Bfpt<'a> {
    /// Needs at least the 9 dwords of JESD216 (erase types); page size needs 11.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() < 36 {
            return Err(bad(bytes.len(), "BFPT shorter than 9 dwords"));
        }
        Ok(Self { bytes })
    }

    /// Dword `n`, numbered from 1 as JESD216 does, if present.
    pub fn dword(&self, n: usize) -> Option<u32> {
        let at = n.checked_sub(1)? * 4;
        (at + 4 <= self.bytes.len()).then(|| le32(self.bytes, at))
    }

    /// Dword 1 bits 18:17.
    pub fn address_bytes(&self) -> Option<AddressBytes> {
        match (le32(self.bytes, 0) >> 17) & 3 {
            0 => Some(AddressBytes::Three),
            1 => Some(AddressBytes::ThreeOrFour),
            2 => Some(AddressBytes::Four),
            _ => None,
        }
    }

    /// Dword 1: the 4 KiB erase opcode, if 4 KiB erase is supported.
    pub fn erase_4k_opcode(&self) -> Option<u8> {
        let d = le32(self.bytes, 0);
        (d & 3 == 1).then_some((d >> 8) as u8)
    }

    /// Dword 2: size in bytes (both the "bits − 1" and the "2^N bits" forms).
    pub fn density_bytes(&self) -> u64 {
        let d = le32(self.bytes, 4);
        let bits = if d & 1 << 31 != 0 {
            1u64 << (d & 0x7fff_ffff).min(63)
        } else {
            u64::from(d) + 1
        };
        bits / 8
    }

    /// Dwords 8-9: the erase types as (size, opcode), unused types left out.
    pub fn erase_types(&self) -> Vec<(u32, u8)> {
        self.bytes[28..36]
            .chunks(2)
            .filter(|p| p[0] != 0 && p[0] < 32)
            .map(|p| (1u32 << p[0], p[1]))
            .collect()
    }

    /// Dword 11 bits 7:4: page size (JESD216A and later).
    pub fn page_size(&self) -> Option<u32> {
        self.dword(11).map(|d| 1 << ((d >> 4) & 0xf))
    }

    /// Dword 16 bits 31:24: the ways to enter 4-byte mode (BIT(24) EN4B, 25 WREN+EN4B, 27 BRWR,
    /// 29 dedicated 4-byte opcodes).
    pub fn enter_4b_bits(&self) -> Option<u8> {
        self.dword(16).map(|d| (d >> 24) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chips::{self, CHIPS};

    #[test]
    fn every_chip_describes_itself() {
        for chip in CHIPS {
            let s = table(chip);
            let h = Header::parse(&s).unwrap();
            assert_eq!(h.revision(), (1, 6));
            let (ptr, len) = h.bfpt().unwrap();
            assert_eq!((ptr, len), (BFPT_PTR, 64));
            let b = Bfpt::parse(&s[ptr as usize..ptr as usize + len]).unwrap();
            assert_eq!(b.density_bytes(), chip.size, "{}", chip.name);
            assert_eq!(b.page_size(), Some(chip.page_size));
            let sizes: Vec<u32> = b.erase_types().iter().map(|e| e.0).collect();
            assert_eq!(sizes, chip.erase_sizes, "{}", chip.name);
            assert_eq!(b.erase_4k_opcode().is_some(), chip.sector_size == 4096);
            let want = if chip.addr4 {
                AddressBytes::ThreeOrFour
            } else {
                AddressBytes::Three
            };
            assert_eq!(b.address_bytes(), Some(want));
            assert_eq!(h.find(0xff84).is_some(), chip.addr4 && chip.opcodes_4b);
        }
    }

    #[test]
    fn is25wp128_bytes() {
        let s = table(chips::find("is25wp128").unwrap());
        // 0x00: "SFDP", rev 1.6, one parameter header, 0xFF
        assert_eq!(&s[..8], b"SFDP\x06\x01\x00\xff");
        // 0x08: BFPT header: id 0x00, rev 1.6, 16 dwords, pointer 0x000030, id MSB 0xFF
        assert_eq!(&s[8..16], &[0x00, 0x06, 0x01, 0x10, 0x30, 0x00, 0x00, 0xff]);
        // 0x30: dword 1: 4K erase (01), opcode 0x20, 3-byte addresses
        assert_eq!(&s[0x30..0x34], &[0xe5, 0x20, 0x80, 0xff]);
        // 0x34: dword 2: 128 Mbit - 1
        assert_eq!(&s[0x34..0x38], &0x07ff_ffffu32.to_le_bytes());
        // 0x4c: dword 8: 4K/0x20, 32K/0x52
        assert_eq!(&s[0x4c..0x50], &[12, 0x20, 15, 0x52]);
        // 0x50: dword 9: 64K/0xD8, type 4 unused
        assert_eq!(&s[0x50..0x54], &[16, 0xd8, 0, 0]);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x = 0x9e37_79b9u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for _ in 0..2000 {
            let len = (next() % 80) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if len >= 4 && next() % 2 == 0 {
                b[..4].copy_from_slice(SIGNATURE);
            }
            if let Ok(h) = Header::parse(&b) {
                let _ = (h.revision(), h.find(0xff00), h.param(300));
            }
            if let Ok(t) = Bfpt::parse(&b) {
                let _ = (
                    t.density_bytes(),
                    t.erase_types(),
                    t.page_size(),
                    t.dword(0),
                );
                let _ = (t.address_bytes(), t.erase_4k_opcode(), t.enter_4b_bits());
            }
        }
    }

    #[test]
    fn rejects_bad_signature() {
        let mut s = table(chips::find("w25q128").unwrap());
        s[0] = b'X';
        let e = Header::parse(&s).unwrap_err().to_string();
        assert!(e.contains("offset 0x0"), "{e}");
    }
}
