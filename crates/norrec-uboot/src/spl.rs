//! The Allwinner eGON.BT0 header of a sunxi SPL (`u-boot-sunxi-with-spl.bin`), as the boot ROM
//! checks it before it runs the SPL from 8 KiB into the SD card or eMMC.
//!
//! Hand-written from U-Boot's `include/sunxi_image.h` and `tools/sunxi_egon.c`:
//!
//! ```text
//! offset size field
//! 0x00   4    b_instruction  ARM branch over the header (0xeaXXXXXX, little-endian)
//! 0x04   8    magic          "eGON.BT0"
//! 0x0c   4    check_sum      sum of the first `length` bytes as LE 32-bit words, computed with
//!                            this field holding the stamp 0x5f0a6c39
//! 0x10   4    length         bytes the boot ROM loads and sums; a multiple of 512 (mkimage)
//! 0x14   4    spl_signature  "SPL" + version byte (major 3 bits, minor 5 bits)
//! 0x20   4    dt_name_offset (version >= 0.2) offset of the device-tree name, NUL-terminated
//! ```
//!
//! After the SPL, Debian's images carry U-Boot proper at 32 KiB (a legacy image with the
//! firmware type, or a FIT); [`check`] reports it and checks a legacy one's CRCs too.

use crate::legacy::{self, LegacyImage};
use crate::{Error, Result};

/// The magic at offset 4.
pub const MAGIC: &[u8; 8] = b"eGON.BT0";
/// The value the checksum field holds while the checksum is computed.
pub const STAMP: u32 = 0x5f0a_6c39;
/// Bytes of the header that mkimage writes (`struct boot_file_head`).
pub const HEADER_LEN: usize = 0x60;
/// Where U-Boot proper follows the SPL in `u-boot-sunxi-with-spl.bin`.
pub const UBOOT_OFFSET: usize = 0x8000;

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// What follows the SPL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// The file ends with the SPL (or before 32 KiB).
    None,
    /// A legacy image at 32 KiB whose CRCs are right.
    Legacy { name: String, size: u32 },
    /// A FIT (device tree) at 32 KiB; not checked here.
    Fit { totalsize: u32 },
    /// Something else at 32 KiB.
    Unknown,
}

/// A checked SPL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplInfo {
    pub branch: u32,
    pub checksum: u32,
    pub length: u32,
    /// `(major, minor)` of the sunxi SPL header, when the "SPL" signature is there.
    pub spl_version: Option<(u8, u8)>,
    pub dt_name: Option<String>,
    pub payload: Payload,
}

/// The eGON checksum of `spl` (its first `length` bytes), with the checksum field as the stamp.
pub fn checksum(spl: &[u8]) -> u32 {
    let mut sum = 0u32;
    for (i, w) in spl.chunks_exact(4).enumerate() {
        let v = if i == 3 {
            STAMP
        } else {
            u32::from_le_bytes([w[0], w[1], w[2], w[3]])
        };
        sum = sum.wrapping_add(v);
    }
    sum
}

/// Checks the header and checksum of the SPL at the start of `buf`, and the U-Boot image that
/// follows it when there is one. Every error names the field and its offset.
pub fn check(buf: &[u8]) -> Result<SplInfo> {
    if buf.len() < 0x20 {
        return Err(Error::At {
            offset: buf.len(),
            msg: format!("{} bytes: too short for an eGON header", buf.len()),
        });
    }
    let branch = le32(buf, 0);
    if &buf[4..12] != MAGIC {
        return Err(Error::At {
            offset: 4,
            msg: format!(
                "magic is {:?}, not \"eGON.BT0\"{}",
                String::from_utf8_lossy(&buf[4..12]),
                if buf[..12].iter().all(|&b| b == 0xff) || buf[..12].iter().all(|&b| b == 0) {
                    " (blank: no SPL here)"
                } else {
                    ""
                }
            ),
        });
    }
    if branch & 0xff00_0000 != 0xea00_0000 {
        return Err(Error::At {
            offset: 0,
            msg: format!("b_instruction is {branch:#010x}, not an ARM branch (0xeaXXXXXX)"),
        });
    }
    let stored = le32(buf, 0x0c);
    let length = le32(buf, 0x10);
    let len = length as usize;
    if len % 512 != 0 || len < HEADER_LEN {
        return Err(Error::At {
            offset: 0x10,
            msg: format!(
                "length is {length:#x}, not a multiple of 512 of at least {HEADER_LEN:#x}"
            ),
        });
    }
    if len > buf.len() {
        return Err(Error::At {
            offset: 0x10,
            msg: format!(
                "length is {length:#x} but only {:#x} bytes are there (truncated SPL)",
                buf.len()
            ),
        });
    }
    let computed = checksum(&buf[..len]);
    if computed != stored {
        return Err(Error::At {
            offset: 0x0c,
            msg: format!(
                "check_sum is {stored:#010x}, the SPL's sum is {computed:#010x} (corrupt SPL; the boot ROM would not run it)"
            ),
        });
    }
    let spl_version = (&buf[0x14..0x17] == b"SPL").then(|| (buf[0x17] >> 5, buf[0x17] & 0x1f));
    let dt_name = match spl_version {
        Some(v) if v >= (0, 2) => {
            let off = le32(buf, 0x20) as usize;
            (off > 0 && off < len).then(|| {
                let s = &buf[off..len];
                let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
                String::from_utf8_lossy(&s[..end]).into_owned()
            })
        }
        _ => None,
    };
    let payload = payload(buf)?;
    Ok(SplInfo {
        branch,
        checksum: stored,
        length,
        spl_version,
        dt_name,
        payload,
    })
}

fn payload(buf: &[u8]) -> Result<Payload> {
    if buf.len() <= UBOOT_OFFSET {
        return Ok(Payload::None);
    }
    let p = &buf[UBOOT_OFFSET..];
    if p.len() >= 8 && p[..4] == legacy::MAGIC.to_be_bytes() {
        let img = LegacyImage::parse(p).map_err(|e| match e {
            Error::At { offset, msg } => Error::At {
                offset: UBOOT_OFFSET + offset,
                msg: format!("U-Boot image after the SPL: {msg}"),
            },
            other => other,
        })?;
        return Ok(Payload::Legacy {
            name: img.header.name(),
            size: img.header.size,
        });
    }
    if p.len() >= 8 && p[..4] == [0xd0, 0x0d, 0xfe, 0xed] {
        return Ok(Payload::Fit {
            totalsize: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        });
    }
    Ok(Payload::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal SPL: branch, magic, stamp-based checksum, length 512.
    fn spl() -> Vec<u8> {
        let mut b = vec![0u8; 512];
        b[0..4].copy_from_slice(&0xea00_0016u32.to_le_bytes());
        b[4..12].copy_from_slice(MAGIC);
        b[0x10..0x14].copy_from_slice(&512u32.to_le_bytes());
        b[0x14..0x18].copy_from_slice(b"SPL\x02");
        b[0x20..0x24].copy_from_slice(&0x2cu32.to_le_bytes());
        b[0x2c..0x30].copy_from_slice(b"a10\0");
        b[100] = 0x42;
        let sum = checksum(&b);
        b[0x0c..0x10].copy_from_slice(&sum.to_le_bytes());
        b
    }

    #[test]
    fn good_spl() {
        let i = check(&spl()).unwrap();
        assert_eq!((i.length, i.spl_version), (512, Some((0, 2))));
        assert_eq!(i.dt_name.as_deref(), Some("a10"));
        assert_eq!(i.payload, Payload::None);
    }

    #[test]
    fn broken_spls_name_the_field() {
        let mut b = spl();
        b[300] ^= 0x80;
        assert!(
            check(&b)
                .unwrap_err()
                .to_string()
                .starts_with("offset 0xc: check_sum")
        );
        let mut b = spl();
        b[4] = b'x';
        assert!(
            check(&b)
                .unwrap_err()
                .to_string()
                .starts_with("offset 0x4: magic")
        );
        let b = spl();
        assert!(
            check(&b[..256])
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
        assert!(
            check(&[0xff; 64])
                .unwrap_err()
                .to_string()
                .contains("blank")
        );
    }
}
