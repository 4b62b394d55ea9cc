//! Whole flash images: an erased image with payloads placed at offsets (what the seed does with
//! `dd … | tr '\000' '\377'` and `dd conv=notrunc`), and inspection of an image's contents.
//!
//! Assembly streams: payloads are read from `Read`ers and written once, in order, so a 256 MiB
//! image needs no 256 MiB buffer. Inspection works on a byte slice of the whole image and finds
//! flattened device trees (FDT, and so FIT images), legacy U-Boot images (`boot.scr`, uImage) and
//! erased runs; everything else is "data". What a FDT blob really spans (a FIT with external data
//! lies past its `totalsize`) is for the caller to say through [`scan_with`], since this crate knows
//! nothing of FIT.

use std::io::{self, Read, Write};

use crate::{Error, Result};

/// The value of an erased NOR byte.
pub const ERASED: u8 = 0xff;
/// Erased runs shorter than this are reported as part of the data around them.
pub const MIN_ERASED_RUN: u64 = 4096;

/// The flattened device tree magic, big-endian at offset 0 of a blob.
pub const FDT_MAGIC: u32 = 0xd00d_feed;
/// The legacy U-Boot image magic (`IH_MAGIC`), big-endian at offset 0 of the 64-byte header.
pub const LEGACY_MAGIC: u32 = 0x2705_1956;
/// Size of the legacy image header.
pub const LEGACY_HEADER_LEN: usize = 64;
/// Size of the FDT header (version 17).
pub const FDT_HEADER_LEN: usize = 40;

/// A payload to place: where, how long, and a name for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub name: String,
    pub offset: u64,
    pub len: u64,
}

impl Placement {
    fn end(&self) -> u64 {
        self.offset + self.len
    }
}

/// Checks that every placement lies inside a flash of `size` bytes and that no two share a byte.
/// Returns the placements sorted by offset.
pub fn check_layout(size: u64, placements: &[Placement]) -> Result<Vec<Placement>> {
    let mut sorted = placements.to_vec();
    sorted.sort_by_key(|p| p.offset);
    for p in &sorted {
        if p.offset.checked_add(p.len).is_none_or(|end| end > size) {
            return Err(Error::OutOfRange {
                offset: p.offset,
                len: p.len,
                size,
            });
        }
    }
    for pair in sorted.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if b.offset < a.end() {
            return Err(Error::Overlap {
                a: a.name.clone(),
                a_start: a.offset,
                a_end: a.end(),
                b: b.name.clone(),
                b_start: b.offset,
                b_end: b.end(),
            });
        }
    }
    Ok(sorted)
}

/// Writes `len` erased bytes.
pub fn write_erased<W: Write>(out: &mut W, len: u64) -> io::Result<()> {
    const CHUNK: usize = 1 << 20;
    let block = [ERASED; CHUNK];
    let mut left = len;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Writes a `size`-byte erased image with each payload at its offset. `payloads` pairs each
/// placement with its reader, which must yield exactly `len` bytes. The layout is checked before
/// the first byte is written.
pub fn assemble<W: Write>(
    out: &mut W,
    size: u64,
    payloads: Vec<(Placement, Box<dyn Read + '_>)>,
) -> Result<()> {
    let layout: Vec<Placement> = payloads.iter().map(|(p, _)| p.clone()).collect();
    check_layout(size, &layout)?;
    let mut payloads = payloads;
    payloads.sort_by_key(|(p, _)| p.offset);
    let io = |what: &str| {
        let what = what.to_owned();
        move |source| Error::Io { what, source }
    };
    let mut pos = 0;
    for (p, mut reader) in payloads {
        write_erased(out, p.offset - pos).map_err(io("writing the image"))?;
        let copied = io::copy(&mut (&mut reader).take(p.len), out)
            .map_err(io(&format!("copying '{}'", p.name)))?;
        if copied != p.len {
            return Err(Error::Io {
                what: format!("copying '{}'", p.name),
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("expected {:#x} bytes, got {copied:#x}", p.len),
                ),
            });
        }
        pos = p.end();
    }
    write_erased(out, size - pos).map_err(io("writing the image"))?;
    Ok(())
}

/// What a region of a flash image holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A flattened device tree that is not known to be a FIT.
    Fdt,
    /// A FIT image (a FDT with `/images`), as the caller's classifier said.
    Fit,
    /// A legacy U-Boot image (uImage, script image).
    Legacy,
    /// At least [`MIN_ERASED_RUN`] bytes of 0xff.
    Erased,
    /// Anything else.
    Data,
}

impl Kind {
    /// The lower-case name used in text and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Fdt => "fdt",
            Kind::Fit => "fit",
            Kind::Legacy => "legacy",
            Kind::Erased => "erased",
            Kind::Data => "data",
        }
    }
}

/// One region found by [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub offset: u64,
    /// Bytes of the image the region covers (clipped to the end of the flash).
    pub length: u64,
    pub kind: Kind,
    /// The size the header claims, for FDT (`totalsize`) and legacy (64 + `ih_size`) headers.
    pub header_size: Option<u64>,
    /// Bytes to load to get the whole image (the end of external FIT data, else `header_size`).
    pub load_size: Option<u64>,
    /// A short description: the legacy image name, the FIT description.
    pub name: Option<String>,
    /// What looks wrong.
    pub warnings: Vec<String>,
}

/// What a classifier says about a FDT blob found in the image, including what it finds wrong
/// (such as data outside `totalsize` that a loader reading only the header's size would miss).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdtInfo {
    pub kind: Kind,
    /// Bytes from the blob's start to the end of everything it refers to (external data).
    pub load_size: u64,
    pub name: Option<String>,
    pub warnings: Vec<String>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The FDT header's `totalsize` if `blob` starts with a plausible FDT header.
fn fdt_totalsize(blob: &[u8]) -> Option<u64> {
    if blob.len() < FDT_HEADER_LEN || be32(blob, 0) != FDT_MAGIC {
        return None;
    }
    let total = be32(blob, 4);
    let (off_struct, off_strings, off_rsv) = (be32(blob, 8), be32(blob, 12), be32(blob, 16));
    let (version, last_comp) = (be32(blob, 20), be32(blob, 24));
    let plausible = total as usize >= FDT_HEADER_LEN
        && (1..=17).contains(&last_comp)
        && version >= last_comp
        && [off_struct, off_strings, off_rsv]
            .iter()
            .all(|&o| o as usize >= FDT_HEADER_LEN && o <= total);
    plausible.then_some(u64::from(total))
}

/// The legacy image's (total length, name, type byte) if `blob` starts with a header whose CRC holds.
fn legacy_header(blob: &[u8]) -> Option<(u64, String, u8)> {
    if blob.len() < LEGACY_HEADER_LEN || be32(blob, 0) != LEGACY_MAGIC {
        return None;
    }
    let mut header = [0u8; LEGACY_HEADER_LEN];
    header.copy_from_slice(&blob[..LEGACY_HEADER_LEN]);
    let hcrc = be32(&header, 4);
    header[4..8].fill(0);
    if crc32fast::hash(&header) != hcrc {
        return None;
    }
    let size = u64::from(be32(blob, 12));
    let name_bytes = &blob[32..64];
    let end = name_bytes.iter().position(|&b| b == 0).unwrap_or(32);
    let name = String::from_utf8_lossy(&name_bytes[..end]).into_owned();
    Some((LEGACY_HEADER_LEN as u64 + size, name, blob[30]))
}

/// Length of the run of erased bytes at the start of `data`.
fn erased_run(data: &[u8]) -> usize {
    let words = data.chunks_exact(8);
    let mut n = 0;
    for w in words {
        if w != [ERASED; 8] {
            break;
        }
        n += 8;
    }
    n + data[n..].iter().take_while(|&&b| b == ERASED).count()
}

/// Scans a whole flash image; FDT blobs are reported as [`Kind::Fdt`] with their `totalsize`.
pub fn scan(image: &[u8]) -> Vec<Region> {
    scan_with(image, |_| None)
}

/// Scans a whole flash image, asking `classify` about every FDT blob (given from its header to the
/// end of the image) so a FIT and its external data are reported as one region.
pub fn scan_with(image: &[u8], classify: impl Fn(&[u8]) -> Option<FdtInfo>) -> Vec<Region> {
    let size = image.len() as u64;
    let mut regions = Vec::new();
    let mut data_start: Option<u64> = None;
    let mut pos = 0usize;
    let flush_data = |regions: &mut Vec<Region>, start: &mut Option<u64>, end: u64| {
        if let Some(s) = start.take() {
            regions.push(Region {
                offset: s,
                length: end - s,
                kind: Kind::Data,
                header_size: None,
                load_size: None,
                name: None,
                warnings: Vec::new(),
            });
        }
    };
    while pos < image.len() {
        let rest = &image[pos..];
        let found = if let Some(total) = fdt_totalsize(rest) {
            let info = classify(rest);
            let load = info.as_ref().map_or(total, |i| i.load_size.max(total));
            let warnings = info
                .as_ref()
                .map(|i| i.warnings.clone())
                .unwrap_or_default();
            Some((
                info.as_ref().map_or(Kind::Fdt, |i| i.kind),
                Some(total),
                load,
                info.and_then(|i| i.name),
                warnings,
            ))
        } else {
            legacy_header(rest)
                .map(|(total, name, _)| (Kind::Legacy, Some(total), total, Some(name), Vec::new()))
        };
        if let Some((kind, header_size, load, name, mut warnings)) = found {
            flush_data(&mut regions, &mut data_start, pos as u64);
            let avail = size - pos as u64;
            if load > avail {
                warnings.push(format!(
                    "header says {load:#x} bytes but the flash ends {avail:#x} bytes after the header at {:#x}",
                    pos
                ));
            }
            let length = load.min(avail);
            regions.push(Region {
                offset: pos as u64,
                length,
                kind,
                header_size,
                load_size: Some(load),
                name,
                warnings,
            });
            pos += length as usize;
            continue;
        }
        if rest[0] == ERASED {
            let run = erased_run(rest);
            if run as u64 >= MIN_ERASED_RUN {
                flush_data(&mut regions, &mut data_start, pos as u64);
                regions.push(Region {
                    offset: pos as u64,
                    length: run as u64,
                    kind: Kind::Erased,
                    header_size: None,
                    load_size: None,
                    name: None,
                    warnings: Vec::new(),
                });
                pos += run;
                continue;
            }
            data_start.get_or_insert(pos as u64);
            pos += run;
            continue;
        }
        data_start.get_or_insert(pos as u64);
        pos += 1;
    }
    flush_data(&mut regions, &mut data_start, size);
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(name: &str, offset: u64, len: u64) -> Placement {
        Placement {
            name: name.into(),
            offset,
            len,
        }
    }

    #[test]
    fn assemble_places_payloads_in_erased_flash() {
        let mut out = Vec::new();
        let payloads: Vec<(Placement, Box<dyn Read>)> = vec![
            (place("b", 8, 2), Box::new(&[0xbb, 0xbb][..])),
            (place("a", 0, 4), Box::new(&[0x78, 0x56, 0x34, 0x12][..])),
        ];
        assemble(&mut out, 12, payloads).unwrap();
        // 0..4 payload a, 4..8 erased, 8..10 payload b, 10..12 erased
        assert_eq!(
            out,
            [
                0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0xff, 0xbb, 0xbb, 0xff, 0xff
            ]
        );
    }

    #[test]
    fn layout_refuses_overlap_and_overrun() {
        let err = check_layout(16, &[place("a", 0, 8), place("b", 7, 2)]).unwrap_err();
        assert!(matches!(err, Error::Overlap { b_start: 7, .. }), "{err}");
        let err = check_layout(16, &[place("a", 10, 8)]).unwrap_err();
        assert!(matches!(err, Error::OutOfRange { offset: 10, .. }), "{err}");
        let err = check_layout(16, &[place("a", u64::MAX, 2)]).unwrap_err();
        assert!(matches!(err, Error::OutOfRange { .. }), "{err}");
        // touching is fine
        assert!(check_layout(16, &[place("a", 0, 8), place("b", 8, 8)]).is_ok());
    }

    #[test]
    fn short_reader_is_an_error() {
        let payloads: Vec<(Placement, Box<dyn Read>)> =
            vec![(place("short", 0, 4), Box::new(&[1u8, 2][..]))];
        let err = assemble(&mut Vec::new(), 8, payloads).unwrap_err();
        assert!(
            err.to_string().contains("expected 0x4 bytes, got 0x2"),
            "{err}"
        );
    }

    /// A minimal FDT header: magic, totalsize, struct/strings/rsvmap offsets, version 17/16.
    fn fdt_header(total: u32) -> Vec<u8> {
        let mut h = Vec::new();
        for w in [FDT_MAGIC, total, 0x38, 0x40, 0x28, 17, 16, 0, 0, 8] {
            h.extend_from_slice(&w.to_be_bytes());
        }
        h.resize(total as usize, 0);
        h
    }

    #[test]
    fn scan_finds_fdt_erased_and_data() {
        let mut img = vec![ERASED; 3 * 4096];
        let fdt = fdt_header(0x60);
        img[..fdt.len()].copy_from_slice(&fdt);
        img[0x2000..0x2003].copy_from_slice(b"abc");
        let r = scan(&img);
        let kinds: Vec<_> = r.iter().map(|r| (r.kind, r.offset, r.length)).collect();
        assert_eq!(
            kinds,
            [
                (Kind::Fdt, 0, 0x60),
                (Kind::Erased, 0x60, 0x2000 - 0x60),
                // "abc" and the 0xffd erased bytes after it: a run under 4 KiB stays data
                (Kind::Data, 0x2000, 0x1000),
            ]
        );
        assert_eq!(r[0].header_size, Some(0x60));
    }

    #[test]
    fn scan_warns_when_header_runs_past_the_flash() {
        let mut img = vec![ERASED; 0x100];
        let fdt = fdt_header(0x80);
        img[0x80..0x100].copy_from_slice(&fdt);
        // claim 0x1000 bytes
        img[0x84..0x88].copy_from_slice(&0x1000u32.to_be_bytes());
        let r = scan(&img);
        let last = r.last().unwrap();
        assert_eq!(
            (last.kind, last.offset, last.length),
            (Kind::Fdt, 0x80, 0x80)
        );
        assert!(
            last.warnings[0].contains("flash ends"),
            "{:?}",
            last.warnings
        );
    }

    #[test]
    fn scan_reports_external_data_from_the_classifier() {
        let mut img = vec![ERASED; 0x2000];
        img[..0x60].copy_from_slice(&fdt_header(0x60));
        img[0x60..0x160].fill(0x11);
        let r = scan_with(&img, |_| {
            Some(FdtInfo {
                kind: Kind::Fit,
                load_size: 0x160,
                name: Some("fit".into()),
                warnings: vec!["data outside the FDT".into()],
            })
        });
        assert_eq!((r[0].kind, r[0].length), (Kind::Fit, 0x160));
        assert_eq!(r[0].header_size, Some(0x60));
        assert_eq!(r[0].load_size, Some(0x160));
        assert_eq!(r[0].warnings, ["data outside the FDT"]);
    }

    #[test]
    fn scan_finds_legacy_image_with_good_crc_only() {
        let mut h = vec![0u8; 64];
        h[0..4].copy_from_slice(&LEGACY_MAGIC.to_be_bytes());
        h[12..16].copy_from_slice(&4u32.to_be_bytes()); // ih_size
        h[30] = 6; // IH_TYPE_SCRIPT
        h[32..36].copy_from_slice(b"boot");
        let crc = crc32fast::hash(&h);
        h[4..8].copy_from_slice(&crc.to_be_bytes());
        let mut img = h.clone();
        img.extend_from_slice(&[0, 0, 0, 0]);
        img.resize(0x1100, ERASED);
        let r = scan(&img);
        assert_eq!((r[0].kind, r[0].length), (Kind::Legacy, 68));
        assert_eq!(r[0].name.as_deref(), Some("boot"));
        img[40] ^= 1; // corrupt the name: header CRC fails, no longer an image
        assert_eq!(scan(&img)[0].kind, Kind::Data);
    }
}
