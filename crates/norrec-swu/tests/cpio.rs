//! cpio newc/crc: byte-exact layout, GNU cpio reading what norrec writes and norrec reading what
//! GNU cpio writes, and every malformed-archive error.

use std::process::Command;

use norrec_swu::cpio::{CpioReader, CpioWriter, Format};
use norrec_swu::error::Error;

fn write(format: Format, entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = CpioWriter::new(Vec::new(), format);
    for (n, d) in entries {
        w.add(n, d).unwrap();
    }
    w.finish().unwrap()
}

fn read_all(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let mut r = CpioReader::new(bytes);
    let mut out = Vec::new();
    while let Some(h) = r.next_header()? {
        let mut d = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = r.read_data(&mut buf).map_err(Error::from_io)?;
            if n == 0 {
                break;
            }
            d.extend_from_slice(&buf[..n]);
        }
        out.push((h.name, d));
    }
    Ok(out)
}

#[test]
fn newc_bytes_are_exact() {
    let a = write(Format::Newc, &[("ab", b"xyz")]);
    // off 0: magic, ino 1, mode 0100644, uid 0, gid 0, nlink 1, mtime 0, filesize 3
    assert_eq!(&a[0..6], b"070701");
    assert_eq!(&a[6..14], b"00000001");
    assert_eq!(&a[14..22], b"000081a4");
    assert_eq!(&a[38..46], b"00000001");
    assert_eq!(&a[46..54], b"00000000");
    assert_eq!(&a[54..62], b"00000003");
    // off 94: namesize 3 ("ab\0"), off 102: check 0 in newc
    assert_eq!(&a[94..102], b"00000003");
    assert_eq!(&a[102..110], b"00000000");
    // off 110: name, NUL; 110+3=113 padded to 116; data at 116, padded to 120
    assert_eq!(&a[110..116], b"ab\0\0\0\0");
    assert_eq!(&a[116..120], b"xyz\0");
    // off 120: trailer header, name at 230 (11 bytes) padded to 244
    assert_eq!(&a[120..126], b"070701");
    assert_eq!(&a[230..240], b"TRAILER!!!");
    assert_eq!(a.len(), 244);
    // deterministic
    assert_eq!(a, write(Format::Newc, &[("ab", b"xyz")]));
}

#[test]
fn crc_check_is_the_byte_sum() {
    let a = write(Format::Crc, &[("f", &[0xff, 0xff, 1])]);
    assert_eq!(&a[0..6], b"070702");
    assert_eq!(&a[102..110], b"000001ff");
    let got = read_all(&a).unwrap();
    assert_eq!(got, vec![("f".to_owned(), vec![0xff, 0xff, 1])]);
}

#[test]
fn gnu_cpio_reads_what_norrec_writes() {
    let Some(cpio) = norrec_testutil::tool("cpio") else {
        return;
    };
    for (format, h) in [(Format::Newc, "newc"), (Format::Crc, "crc")] {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..100_003u32).map(|i| (i * 7 % 251) as u8).collect();
        let a = write(format, &[("one", b"1"), ("two.bin", &big), ("empty", b"")]);
        std::fs::write(dir.path().join("a.cpio"), &a).unwrap();
        let out = Command::new(&cpio)
            .args(["-idv", "-H", h, "-F", "a.cpio"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read(dir.path().join("two.bin")).unwrap(), big);
        assert_eq!(std::fs::read(dir.path().join("one")).unwrap(), b"1");
        assert_eq!(std::fs::read(dir.path().join("empty")).unwrap(), b"");
    }
}

#[test]
fn norrec_reads_what_gnu_cpio_writes() {
    let Some(cpio) = norrec_testutil::tool("cpio") else {
        return;
    };
    for (h, magic) in [("newc", "070701"), ("crc", "070702")] {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(dir.path().join("x"), &data).unwrap();
        std::fs::write(dir.path().join("yy"), b"hello").unwrap();
        let out = norrec_testutil::sh_ok(&format!(
            "cd {} && printf 'x\\nyy\\n' | {} -o -H {h} --quiet",
            dir.path().display(),
            cpio.display()
        ));
        assert_eq!(&out.stdout[..6], magic.as_bytes());
        let got = read_all(&out.stdout).unwrap();
        assert_eq!(
            got,
            vec![("x".into(), data), ("yy".into(), b"hello".to_vec())]
        );
    }
}

#[test]
fn crc_mismatch_names_the_entry() {
    let mut a = write(Format::Crc, &[("f", b"abc")]);
    a[112] ^= 1; // data of "f": header 110 + "f\0" 2 = 112
    let e = read_all(&a).unwrap_err().to_string();
    assert!(
        e.contains("\"f\"") && e.contains("checksum mismatch"),
        "{e}"
    );
}

#[test]
fn bad_magic_names_the_offset() {
    let mut a = write(Format::Newc, &[("f", b"abc")]);
    a[116] = b'9'; // trailer header starts at 116
    let e = read_all(&a).unwrap_err().to_string();
    assert!(e.starts_with("cpio offset 116: bad magic"), "{e}");
}

#[test]
fn truncation_and_sizes_past_the_end() {
    let a = write(Format::Newc, &[("f", &[7u8; 1000])]);
    // cut inside the data
    let e = read_all(&a[..500]).unwrap_err().to_string();
    assert!(e.contains("truncated data of entry \"f\""), "{e}");
    // cut inside a header
    let e = read_all(&a[..50]).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
    // no trailer
    let e = read_all(&a[..1112]).unwrap_err().to_string();
    assert!(e.contains("no TRAILER"), "{e}");
    // header claims more than there is
    let mut b = a.clone();
    b[54..62].copy_from_slice(b"7fffffff");
    let e = read_all(&b).unwrap_err().to_string();
    assert!(e.contains("header says 2147483647 bytes"), "{e}");
    // non-hex size
    let mut c = a.clone();
    c[54] = b'z';
    let e = read_all(&c).unwrap_err().to_string();
    assert!(e.contains("filesize"), "{e}");
}

fn raw_entry(name: &str, data: &[u8]) -> Vec<u8> {
    let ns = name.len() + 1;
    let mut v = format!(
        "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
        1,
        0o100644,
        0,
        0,
        1,
        0,
        data.len(),
        0,
        0,
        0,
        0,
        ns,
        0
    )
    .into_bytes();
    v.extend_from_slice(name.as_bytes());
    v.push(0);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v.extend_from_slice(data);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

#[test]
fn traversal_and_duplicates_are_refused() {
    for bad in ["../etc/passwd", "/etc/passwd", "a/../../b"] {
        let mut a = raw_entry(bad, b"x");
        a.extend(raw_entry("TRAILER!!!", b""));
        let e = read_all(&a).unwrap_err().to_string();
        assert!(e.contains("unsafe name"), "{bad}: {e}");
    }
    let mut a = raw_entry("f", b"1");
    a.extend(raw_entry("f", b"2"));
    a.extend(raw_entry("TRAILER!!!", b""));
    let e = read_all(&a).unwrap_err().to_string();
    assert!(e.contains("\"f\"") && e.contains("duplicate"), "{e}");
    // the writer refuses them as well
    let mut w = CpioWriter::new(Vec::new(), Format::Newc);
    assert!(w.add("../x", b"").is_err());
}

#[test]
fn streaming_reads_in_small_pieces() {
    let big: Vec<u8> = (0..70_001u32).map(|i| (i % 249) as u8).collect();
    let a = write(Format::Crc, &[("big", &big), ("small", b"s")]);
    let mut r = CpioReader::new(&a[..]);
    let h = r.next_header().unwrap().unwrap();
    assert_eq!(
        (h.name.as_str(), h.size, h.data_offset),
        ("big", 70_001, 116)
    );
    let mut got = Vec::new();
    let mut buf = [0u8; 333];
    loop {
        let n = r.read_data(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, big);
    // skipping an entry without reading it still works
    let h = r.next_header().unwrap().unwrap();
    assert_eq!(h.name, "small");
    assert!(r.next_header().unwrap().is_none());
}
