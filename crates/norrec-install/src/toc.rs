//! The bundle's table of contents, read from a seekable bundle before the install starts: each
//! cpio entry's name, data offset and stored size (headers only, the data is jumped over), and
//! for compressed entries a lower bound of the decompressed size from the stream's own fields.
//! With it every "does it fit" and "is it there" question is answered before the first write;
//! the data itself is still read once, by the streaming install.
//!
//! Hand-written (cpio newc/crc header: 6-byte magic then 13 eight-digit hex fields; name padded
//! to 4 bytes with the 110-byte header; data padded to 4) because `norrec_swu::cpio` reads
//! strictly forward and would read every byte to skip it.

use std::fs::File;
use std::os::unix::fs::FileExt;

use norrec_swu::Compression;

use crate::error::{Error, Result};

/// One entry of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TocEntry {
    pub name: String,
    /// Where the data starts in the bundle.
    pub data_offset: u64,
    /// Stored (possibly compressed) size.
    pub size: u64,
}

/// All entries, in order.
#[derive(Debug, Clone, Default)]
pub struct Toc {
    pub entries: Vec<TocEntry>,
}

const HEADER: usize = 110;

fn hex8(h: &[u8], field: usize, offset: u64) -> Result<u64> {
    let s = &h[6 + field * 8..6 + field * 8 + 8];
    std::str::from_utf8(s)
        .ok()
        .and_then(|t| u64::from_str_radix(t, 16).ok())
        .ok_or_else(|| {
            Error::Swu(norrec_swu::Error::BadHeaderField {
                offset: offset + 6 + field as u64 * 8,
                field: "cpio header",
                text: String::from_utf8_lossy(s).into_owned(),
            })
        })
}

fn pad4(n: u64) -> u64 {
    (4 - n % 4) % 4
}

impl Toc {
    /// Reads the headers of the bundle in `f`.
    pub fn read(f: &File) -> Result<Toc> {
        let len = f
            .metadata()
            .map_err(|e| Error::io("cannot stat the bundle", e))?
            .len();
        let mut entries = Vec::new();
        let mut at = 0u64;
        loop {
            let mut h = [0u8; HEADER];
            f.read_exact_at(&mut h, at).map_err(|_| {
                Error::Swu(norrec_swu::Error::Truncated {
                    offset: at,
                    what: "archive: header expected (no TRAILER!!! entry)".into(),
                })
            })?;
            if &h[..6] != b"070701" && &h[..6] != b"070702" {
                return Err(Error::Swu(norrec_swu::Error::BadMagic {
                    offset: at,
                    found: String::from_utf8_lossy(&h[..6]).into_owned(),
                }));
            }
            let size = hex8(&h, 6, at)?;
            let namesize = hex8(&h, 11, at)?;
            if namesize == 0 || namesize > 4096 {
                return Err(Error::Swu(norrec_swu::Error::BadHeaderField {
                    offset: at + 94,
                    field: "namesize",
                    text: format!("{namesize:08x} (must be 1..=4096)"),
                }));
            }
            let mut name = vec![0u8; namesize as usize];
            f.read_exact_at(&mut name, at + HEADER as u64)
                .map_err(|_| {
                    Error::Swu(norrec_swu::Error::Truncated {
                        offset: at + HEADER as u64,
                        what: "entry name".into(),
                    })
                })?;
            name.pop();
            let name = String::from_utf8_lossy(&name).into_owned();
            let data_offset = at + HEADER as u64 + namesize + pad4(HEADER as u64 + namesize);
            if name == "TRAILER!!!" {
                break;
            }
            if data_offset.saturating_add(size) > len {
                return Err(Error::Swu(norrec_swu::Error::Truncated {
                    offset: len,
                    what: format!("data of {name:?} ({size} bytes from offset {data_offset})"),
                }));
            }
            entries.push(TocEntry {
                name,
                data_offset,
                size,
            });
            at = data_offset + size + pad4(size);
        }
        Ok(Toc { entries })
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&TocEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// The fewest bytes the entry can decompress to, from its own fields: the stored size when not
/// compressed; gzip's ISIZE (the last member's length mod 2^32, so a lower bound); zstd's
/// Frame_Content_Size of the first frame when present. `None` when nothing tells.
pub fn min_output(f: &File, e: &TocEntry, c: Compression) -> Option<u64> {
    match c {
        Compression::None => Some(e.size),
        Compression::Zlib => {
            if e.size < 18 {
                return None;
            }
            let mut b = [0u8; 4];
            f.read_exact_at(&mut b, e.data_offset + e.size - 4).ok()?;
            Some(u64::from(u32::from_le_bytes(b)))
        }
        Compression::Zstd => {
            let mut h = [0u8; 18];
            let n = h.len().min(e.size as usize);
            f.read_exact_at(&mut h[..n], e.data_offset).ok()?;
            zstd_content_size(&h[..n])
        }
    }
}

/// Frame_Content_Size from a zstd frame header (RFC 8878 §3.1.1.1), if the frame has one.
fn zstd_content_size(h: &[u8]) -> Option<u64> {
    if h.len() < 5 || h[..4] != [0x28, 0xb5, 0x2f, 0xfd] {
        return None;
    }
    let fhd = h[4];
    let fcs_flag = fhd >> 6;
    let single = fhd & 0x20 != 0;
    let dict_len = [0usize, 1, 2, 4][usize::from(fhd & 3)];
    let fcs_len = match fcs_flag {
        0 if single => 1,
        0 => return None,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let at = 5 + usize::from(!single) + dict_len;
    let b = h.get(at..at + fcs_len)?;
    let mut v = 0u64;
    for (i, x) in b.iter().enumerate() {
        v |= u64::from(*x) << (8 * i);
    }
    Some(if fcs_len == 2 { v + 256 } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zstd_frame_content_size() {
        // magic, FHD 0x20 (single segment, 1-byte FCS), FCS 0x40
        assert_eq!(
            zstd_content_size(&[0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x40]),
            Some(0x40)
        );
        // FHD 0x60: single segment, 2-byte FCS (value + 256)
        assert_eq!(
            zstd_content_size(&[0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x00, 0x01]),
            Some(0x100 + 256)
        );
        // FHD 0x80: 4-byte FCS after the window descriptor
        assert_eq!(
            zstd_content_size(&[0x28, 0xb5, 0x2f, 0xfd, 0x80, 0x58, 0x00, 0x00, 0x10, 0x00]),
            Some(0x10_0000)
        );
        // no FCS
        assert_eq!(
            zstd_content_size(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]),
            None
        );
    }

    #[test]
    fn reads_headers_of_a_built_bundle() {
        let text = "software = { version = \"1\"; images: ( { filename = \"a.bin\"; device = \"/dev/x\"; } ); };";
        let mut load = |_: &str, _| Ok(vec![7u8; 1001]);
        let (bytes, _) =
            norrec_swu::build(text, &mut load, &Default::default(), Vec::new()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.swu");
        std::fs::write(&p, &bytes).unwrap();
        let toc = Toc::read(&File::open(&p).unwrap()).unwrap();
        assert_eq!(toc.entries.len(), 2);
        let a = toc.get("a.bin").unwrap();
        assert_eq!(a.size, 1001);
        assert_eq!(&bytes[a.data_offset as usize..][..1001], &[7u8; 1001][..]);
        // truncated: the data of a.bin reaches past the end
        std::fs::write(&p, &bytes[..a.data_offset as usize + 10]).unwrap();
        assert!(Toc::read(&File::open(&p).unwrap()).is_err());
    }
}
