//! Legacy U-Boot images: the 64-byte big-endian header (`mkimage -T script|multi|firmware|…`),
//! and script images (`boot.scr`).
//!
//! Hand-written because the format is 64 bytes and two CRC-32s; the layout below was read from
//! U-Boot's `include/image.h` and `tools/default_image.c`, and `tests/legacy.rs` checks the writer
//! byte for byte against `mkimage -T script`.
//!
//! ```text
//! offset size field
//! 0x00   4    ih_magic  0x27051956
//! 0x04   4    ih_hcrc   CRC-32 of these 64 bytes with ih_hcrc = 0
//! 0x08   4    ih_time   seconds since 1970 (mkimage: SOURCE_DATE_EPOCH, else now)
//! 0x0c   4    ih_size   length of the data after the header
//! 0x10   4    ih_load   load address
//! 0x14   4    ih_ep     entry point
//! 0x18   4    ih_dcrc   CRC-32 of the data
//! 0x1c   1    ih_os     5 = linux
//! 0x1d   1    ih_arch   2 = arm
//! 0x1e   1    ih_type   6 = script, 4 = multi
//! 0x1f   1    ih_comp   0 = none
//! 0x20   32   ih_name   NUL-padded, not necessarily NUL-terminated
//! ```
//!
//! Script and multi-file images start their data with a table of big-endian lengths ended by a
//! zero word; every part but the last is padded to 4 bytes. `ih_size` covers the table.

use crate::{Error, Result};

/// `ih_magic`.
pub const MAGIC: u32 = 0x2705_1956;
/// Length of the header.
pub const HEADER_LEN: usize = 64;
/// Length of `ih_name`.
pub const NAME_LEN: usize = 32;

/// `ih_os` value for Linux.
pub const OS_LINUX: u8 = 5;
/// `ih_arch` value for 32-bit ARM.
pub const ARCH_ARM: u8 = 2;
/// `ih_type` value for a multi-file image.
pub const TYPE_MULTI: u8 = 4;
/// `ih_type` value for a script.
pub const TYPE_SCRIPT: u8 = 6;
/// `ih_comp` value for no compression.
pub const COMP_NONE: u8 = 0;

/// The decoded 64-byte header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub hcrc: u32,
    pub time: u32,
    pub size: u32,
    pub load: u32,
    pub ep: u32,
    pub dcrc: u32,
    pub os: u8,
    pub arch: u8,
    pub image_type: u8,
    pub comp: u8,
    /// `ih_name` as stored (32 bytes).
    pub name_raw: [u8; NAME_LEN],
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Header {
    /// The name up to the first NUL (lossy for non-UTF-8 bytes).
    pub fn name(&self) -> String {
        let end = self
            .name_raw
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(NAME_LEN);
        String::from_utf8_lossy(&self.name_raw[..end]).into_owned()
    }

    /// Decodes a header without checking its CRC (see [`LegacyImage::parse`] for that).
    pub fn decode(buf: &[u8]) -> Result<Header> {
        if buf.len() < HEADER_LEN {
            return Err(Error::At {
                offset: buf.len(),
                msg: format!(
                    "truncated legacy header: {} bytes, need {HEADER_LEN}",
                    buf.len()
                ),
            });
        }
        let magic = be32(buf, 0);
        if magic != MAGIC {
            return Err(Error::At {
                offset: 0,
                msg: format!("ih_magic is {magic:#010x}, not {MAGIC:#010x} (no legacy image)"),
            });
        }
        let mut name_raw = [0u8; NAME_LEN];
        name_raw.copy_from_slice(&buf[0x20..0x40]);
        Ok(Header {
            hcrc: be32(buf, 0x04),
            time: be32(buf, 0x08),
            size: be32(buf, 0x0c),
            load: be32(buf, 0x10),
            ep: be32(buf, 0x14),
            dcrc: be32(buf, 0x18),
            os: buf[0x1c],
            arch: buf[0x1d],
            image_type: buf[0x1e],
            comp: buf[0x1f],
            name_raw,
        })
    }

    /// Encodes the header; `ih_hcrc` is written as stored in `self`.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0x00..0x04].copy_from_slice(&MAGIC.to_be_bytes());
        h[0x04..0x08].copy_from_slice(&self.hcrc.to_be_bytes());
        h[0x08..0x0c].copy_from_slice(&self.time.to_be_bytes());
        h[0x0c..0x10].copy_from_slice(&self.size.to_be_bytes());
        h[0x10..0x14].copy_from_slice(&self.load.to_be_bytes());
        h[0x14..0x18].copy_from_slice(&self.ep.to_be_bytes());
        h[0x18..0x1c].copy_from_slice(&self.dcrc.to_be_bytes());
        h[0x1c] = self.os;
        h[0x1d] = self.arch;
        h[0x1e] = self.image_type;
        h[0x1f] = self.comp;
        h[0x20..0x40].copy_from_slice(&self.name_raw);
        h
    }

    /// The header CRC as it should be: CRC-32 of the header with `ih_hcrc` zeroed.
    pub fn computed_hcrc(&self) -> u32 {
        let mut h = self.encode();
        h[4..8].fill(0);
        crc32fast::hash(&h)
    }
}

/// A legacy image read from a buffer: header checked, data borrowed.
#[derive(Debug, Clone)]
pub struct LegacyImage<'a> {
    pub header: Header,
    /// The `ih_size` bytes after the header.
    pub data: &'a [u8],
}

impl<'a> LegacyImage<'a> {
    /// Parses and checks magic, header CRC, length and data CRC. Bytes after `ih_size` are
    /// allowed (a partition or flash region is usually larger than the image).
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        let header = Header::decode(buf)?;
        let want = header.computed_hcrc();
        if header.hcrc != want {
            return Err(Error::At {
                offset: 0x04,
                msg: format!(
                    "ih_hcrc is {:#010x}, the header's CRC-32 is {want:#010x} (corrupt header)",
                    header.hcrc
                ),
            });
        }
        let size = header.size as usize;
        let end = HEADER_LEN.checked_add(size).filter(|&e| e <= buf.len());
        let Some(end) = end else {
            return Err(Error::At {
                offset: 0x0c,
                msg: format!(
                    "ih_size {size:#x} runs past the end of the input ({:#x} bytes after the header)",
                    buf.len() - HEADER_LEN
                ),
            });
        };
        let data = &buf[HEADER_LEN..end];
        let dcrc = crc32fast::hash(data);
        if dcrc != header.dcrc {
            return Err(Error::At {
                offset: 0x18,
                msg: format!(
                    "ih_dcrc is {:#010x}, the data's CRC-32 is {dcrc:#010x} (corrupt data)",
                    header.dcrc
                ),
            });
        }
        Ok(LegacyImage { header, data })
    }

    /// The parts of a script or multi-file image, from its length table.
    pub fn parts(&self) -> Result<Vec<&'a [u8]>> {
        let d = self.data;
        let mut lens = Vec::new();
        let mut at = 0usize;
        loop {
            if at + 4 > d.len() {
                return Err(Error::At {
                    offset: HEADER_LEN + at,
                    msg: "length table not ended by a zero word".into(),
                });
            }
            let len = be32(d, at) as usize;
            at += 4;
            if len == 0 {
                break;
            }
            lens.push(len);
        }
        let mut parts = Vec::with_capacity(lens.len());
        let n = lens.len();
        for (i, len) in lens.into_iter().enumerate() {
            let end = at.checked_add(len).filter(|&e| e <= d.len());
            let Some(end) = end else {
                return Err(Error::At {
                    offset: HEADER_LEN + at,
                    msg: format!("part {i} of {len:#x} bytes runs past ih_size"),
                });
            };
            parts.push(&d[at..end]);
            at = end;
            if i + 1 < n {
                at = at.next_multiple_of(4);
            }
        }
        Ok(parts)
    }

    /// The script of a script image (its first part, as U-Boot's `source` runs it).
    pub fn script(&self) -> Result<&'a [u8]> {
        if self.header.image_type != TYPE_SCRIPT {
            return Err(Error::At {
                offset: 0x1e,
                msg: format!(
                    "ih_type is {} ({}), not a script",
                    self.header.image_type,
                    type_name(self.header.image_type)
                ),
            });
        }
        self.parts()?.into_iter().next().ok_or(Error::At {
            offset: HEADER_LEN,
            msg: "script image with an empty length table".into(),
        })
    }
}

/// Builds legacy images (the write side).
#[derive(Debug, Clone)]
pub struct Builder {
    pub os: u8,
    pub arch: u8,
    pub image_type: u8,
    pub comp: u8,
    pub load: u32,
    pub ep: u32,
    pub time: u32,
    pub name: String,
}

impl Builder {
    /// The `mkimage -A arm -O linux -T script -C none -n NAME` settings.
    pub fn script(name: &str, time: u32) -> Builder {
        Builder {
            os: OS_LINUX,
            arch: ARCH_ARM,
            image_type: TYPE_SCRIPT,
            comp: COMP_NONE,
            load: 0,
            ep: 0,
            time,
            name: name.to_owned(),
        }
    }

    fn name_raw(&self) -> Result<[u8; NAME_LEN]> {
        let b = self.name.as_bytes();
        if b.len() > NAME_LEN {
            return Err(Error::Field {
                field: "ih_name".into(),
                msg: format!(
                    "name is {} bytes, at most {NAME_LEN} fit (mkimage would cut it)",
                    b.len()
                ),
            });
        }
        let mut raw = [0u8; NAME_LEN];
        raw[..b.len()].copy_from_slice(b);
        Ok(raw)
    }

    /// An image whose data is `data` as is (kernel, firmware, …).
    pub fn build(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.finish(data.to_vec())
    }

    /// A script or multi-file image: the length table, then the parts (all but the last padded
    /// to 4 bytes), like `mkimage -T script -d a:b`. Empty parts are refused, as mkimage does.
    pub fn build_parts(&self, parts: &[&[u8]]) -> Result<Vec<u8>> {
        if parts.is_empty() {
            return Err(Error::Field {
                field: "data".into(),
                msg: "no data files".into(),
            });
        }
        let mut data = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() {
                return Err(Error::Field {
                    field: format!("data file {i}"),
                    msg: "is empty (mkimage refuses it too)".into(),
                });
            }
            let len = u32::try_from(p.len()).map_err(|_| Error::Field {
                field: format!("data file {i}"),
                msg: "larger than 4 GiB".into(),
            })?;
            data.extend_from_slice(&len.to_be_bytes());
        }
        data.extend_from_slice(&0u32.to_be_bytes());
        for (i, p) in parts.iter().enumerate() {
            data.extend_from_slice(p);
            if i + 1 < parts.len() {
                data.resize(data.len().next_multiple_of(4), 0);
            }
        }
        self.finish(data)
    }

    fn finish(&self, data: Vec<u8>) -> Result<Vec<u8>> {
        let size = u32::try_from(data.len()).map_err(|_| Error::Field {
            field: "ih_size".into(),
            msg: "data larger than 4 GiB".into(),
        })?;
        let mut header = Header {
            hcrc: 0,
            time: self.time,
            size,
            load: self.load,
            ep: self.ep,
            dcrc: crc32fast::hash(&data),
            os: self.os,
            arch: self.arch,
            image_type: self.image_type,
            comp: self.comp,
            name_raw: self.name_raw()?,
        };
        header.hcrc = header.computed_hcrc();
        let mut out = Vec::with_capacity(HEADER_LEN + data.len());
        out.extend_from_slice(&header.encode());
        out.extend_from_slice(&data);
        Ok(out)
    }
}

/// mkimage's short name of an `ih_os` value.
pub fn os_name(v: u8) -> &'static str {
    const T: &[&str] = &[
        "invalid",
        "openbsd",
        "netbsd",
        "freebsd",
        "4_4bsd",
        "linux",
        "svr4",
        "esix",
        "solaris",
        "irix",
        "sco",
        "dell",
        "ncr",
        "lynxos",
        "vxworks",
        "psos",
        "qnx",
        "u-boot",
        "rtems",
        "artos",
        "unity",
        "integrity",
        "ose",
        "plan9",
        "openrtos",
        "arm-trusted-firmware",
        "tee",
        "opensbi",
        "efi",
    ];
    T.get(v as usize).copied().unwrap_or("unknown")
}

/// mkimage's short name of an `ih_arch` value.
pub fn arch_name(v: u8) -> &'static str {
    const T: &[&str] = &[
        "invalid",
        "alpha",
        "arm",
        "x86",
        "ia64",
        "mips",
        "mips64",
        "powerpc",
        "s390",
        "sh",
        "sparc",
        "sparc64",
        "m68k",
        "nios",
        "microblaze",
        "nios2",
        "blackfin",
        "avr32",
        "st200",
        "sandbox",
        "nds32",
        "or1k",
        "arm64",
        "arc",
        "x86_64",
        "xtensa",
        "riscv",
    ];
    T.get(v as usize).copied().unwrap_or("unknown")
}

/// mkimage's short name of an `ih_type` value (the common ones).
pub fn type_name(v: u8) -> &'static str {
    const T: &[&str] = &[
        "invalid",
        "standalone",
        "kernel",
        "ramdisk",
        "multi",
        "firmware",
        "script",
        "filesystem",
        "flat_dt",
    ];
    match v {
        14 => "kernel_noload",
        40 => "sunxi_egon",
        _ => T.get(v as usize).copied().unwrap_or("other"),
    }
}

/// mkimage's short name of an `ih_comp` value.
pub fn comp_name(v: u8) -> &'static str {
    const T: &[&str] = &["none", "gzip", "bzip2", "lzma", "lzo", "lz4", "zstd"];
    T.get(v as usize).copied().unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_layout_offsets() {
        let img = Builder::script("boot", 0x6543_2100)
            .build_parts(&[b"echo hi\n"])
            .unwrap();
        // 0x00 magic, 0x08 time, 0x0c size = 8 (table: len + 0) + 8 (script)
        assert_eq!(&img[0..4], &[0x27, 0x05, 0x19, 0x56]);
        assert_eq!(&img[8..12], &[0x65, 0x43, 0x21, 0x00]);
        assert_eq!(&img[12..16], &[0, 0, 0, 16]);
        // 0x1c os linux, arch arm, type script, comp none
        assert_eq!(&img[0x1c..0x20], &[5, 2, 6, 0]);
        assert_eq!(&img[0x20..0x25], b"boot\0");
        // 0x40 length table: 8, then 0
        assert_eq!(&img[0x40..0x48], &[0, 0, 0, 8, 0, 0, 0, 0]);
        assert_eq!(&img[0x48..], b"echo hi\n");
        let parsed = LegacyImage::parse(&img).unwrap();
        assert_eq!(parsed.script().unwrap(), b"echo hi\n");
        assert_eq!(parsed.header.name(), "boot");
    }

    #[test]
    fn multi_parts_padded_but_last() {
        let img = Builder::script("m", 0)
            .build_parts(&[b"abc", b"de"])
            .unwrap();
        let p = LegacyImage::parse(&img).unwrap();
        // table 3, 2, 0 (12 bytes), "abc" + 1 pad, "de"
        assert_eq!(p.data.len(), 12 + 4 + 2);
        assert_eq!(p.parts().unwrap(), vec![&b"abc"[..], &b"de"[..]]);
    }

    #[test]
    fn bad_crcs_name_their_field() {
        let mut img = Builder::script("x", 0).build_parts(&[b"a"]).unwrap();
        img[0x48] ^= 1;
        let e = LegacyImage::parse(&img).unwrap_err().to_string();
        assert!(e.starts_with("offset 0x18: ih_dcrc"), "{e}");
        img[0x48] ^= 1;
        img[0x21] = b'y';
        let e = LegacyImage::parse(&img).unwrap_err().to_string();
        assert!(e.starts_with("offset 0x4: ih_hcrc"), "{e}");
    }

    #[test]
    fn long_name_refused() {
        let e = Builder::script(&"n".repeat(33), 0).build_parts(&[b"a"]);
        assert!(e.is_err());
        assert!(
            Builder::script(&"n".repeat(32), 0)
                .build_parts(&[b"a"])
                .is_ok()
        );
    }
}
