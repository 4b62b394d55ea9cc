//! The library on image files: bundles built in memory with `norrec_swu::build`, installed into
//! temporary images. (The CLI tests in crates/norrec/tests/install.rs run the reference tools:
//! swupdate -i, mcopy, fw_printenv, e2fsck, fsck.fat.)

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use norrec_install::{DeviceMap, Error, Options, Toc, install};
use norrec_swu::{Compression, hash};
use norrec_testutil::pattern;

/// An unsigned bundle of `text` whose artifacts are `files` (gzip'd when declared "zlib").
fn bundle(dir: &Path, text: &str, files: &[(&str, Vec<u8>)]) -> std::path::PathBuf {
    let mut load = |name: &str, c: Compression| {
        let data = files.iter().find(|(n, _)| *n == name).unwrap().1.clone();
        Ok(match c {
            Compression::Zlib => hash::gzip(&data)?,
            _ => data,
        })
    };
    let (bytes, _) = norrec_swu::build(text, &mut load, &Default::default(), Vec::new()).unwrap();
    let p = dir.join("b.swu");
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run(
    swu: &Path,
    map: &DeviceMap,
    opts: &Options,
) -> norrec_install::Result<norrec_install::Report> {
    let f = File::open(swu).unwrap();
    let toc = Toc::read(&f).unwrap();
    install(File::open(swu).unwrap(), Some((&toc, &f)), map, opts)
}

const TEXT: &str = r#"software = {
    version = "1";
    images: (
        { filename = "spl.bin"; type = "raw"; device = "/dev/disk"; offset = "0x2000"; },
        { filename = "rootfs.gz"; type = "raw"; device = "/dev/disk"; offset = "1M"; compressed = "zlib"; }
    );
};"#;

/// 8 MiB of mostly zeros with data at both ends: the zeros must become holes.
fn rootfs() -> Vec<u8> {
    let mut r = vec![0u8; 8 << 20];
    r[..4096].copy_from_slice(&pattern(4096, 3));
    let n = r.len();
    r[n - 4096..].copy_from_slice(&pattern(4096, 4));
    r
}

#[test]
fn raw_images_at_offsets_zeros_as_holes() {
    let t = tempfile::tempdir().unwrap();
    let spl = pattern(5000, 1);
    let root = rootfs();
    let swu = bundle(
        t.path(),
        TEXT,
        &[("spl.bin", spl.clone()), ("rootfs.gz", root.clone())],
    );
    let disk = t.path().join("disk.img");
    File::create(&disk).unwrap().set_len(16 << 20).unwrap();
    let mut map = DeviceMap::new();
    map.add_disk("/dev/disk", &disk).unwrap();
    for verify_first in [8 << 20, 0] {
        let opts = Options {
            verify_first,
            ..Options::default()
        };
        let r = run(&swu, &map, &opts).unwrap();
        assert_eq!(r.steps.len(), 2);
        assert_eq!(r.steps[1].written, 8 << 20);
        assert_eq!(r.steps[1].verified_before_write, verify_first > 0);
        let img = std::fs::read(&disk).unwrap();
        assert_eq!(&img[0x2000..0x2000 + spl.len()], &spl[..]);
        assert!(img[..0x2000].iter().all(|&b| b == 0));
        assert_eq!(&img[1 << 20..(1 << 20) + root.len()], &root[..]);
        // 8 MiB written, but only the data ends (and the SPL) take blocks
        let used = std::fs::metadata(&disk).unwrap().blocks() * 512;
        assert!(used < 1 << 20, "{used} bytes allocated");
    }
}

#[test]
fn checks_before_the_first_write() {
    let t = tempfile::tempdir().unwrap();
    let swu = bundle(
        t.path(),
        TEXT,
        &[("spl.bin", pattern(5000, 1)), ("rootfs.gz", rootfs())],
    );
    // 8 MiB of rootfs at 1 MiB does not fit 9 MiB - 1: known from the gzip trailer
    let disk = t.path().join("small.img");
    File::create(&disk).unwrap().set_len((9 << 20) - 1).unwrap();
    let mut map = DeviceMap::new();
    map.add_disk("/dev/disk", &disk).unwrap();
    let err = run(&swu, &map, &Options::default()).unwrap_err();
    assert!(
        matches!(&err, Error::DoesNotFit { field, need, .. }
            if field == "software.images[1].offset" && *need == 8 << 20),
        "{err}"
    );
    assert!(std::fs::read(&disk).unwrap().iter().all(|&b| b == 0));
    // an empty map
    let err = run(&swu, &DeviceMap::new(), &Options::default()).unwrap_err();
    assert!(err.to_string().contains("mapped: nothing"), "{err}");
    // a listed artifact the bundle lacks
    let text = TEXT.replace("spl.bin\"; type", "u-boot.bin\"; type");
    let swu = bundle(
        t.path(),
        &text,
        &[("u-boot.bin", pattern(10, 1)), ("rootfs.gz", rootfs())],
    );
    let mut bytes = std::fs::read(&swu).unwrap();
    // rename the entry in the cpio (same length): the description still wants u-boot.bin
    let at = bytes.windows(10).position(|w| w == b"u-boot.bin").unwrap();
    let at = at
        + 10
        + bytes[at + 10..]
            .windows(10)
            .position(|w| w == b"u-boot.bin")
            .unwrap();
    bytes[at..at + 10].copy_from_slice(b"u-boot.xxx");
    std::fs::write(&swu, &bytes).unwrap();
    let disk = t.path().join("disk.img");
    File::create(&disk).unwrap().set_len(16 << 20).unwrap();
    let mut map = DeviceMap::new();
    map.add_disk("/dev/disk", &disk).unwrap();
    let err = run(&swu, &map, &Options::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("software.images[0].filename = \"u-boot.bin\": not in the bundle"),
        "{err}"
    );
    assert!(std::fs::read(&disk).unwrap().iter().all(|&b| b == 0));
}

#[test]
fn a_streamed_artifact_found_bad_is_discarded() {
    let t = tempfile::tempdir().unwrap();
    let root = rootfs();
    let mut load = |name: &str, c: Compression| {
        let data = if name == "spl.bin" {
            pattern(5000, 1)
        } else {
            root.clone()
        };
        Ok(match c {
            Compression::Zlib => hash::gzip(&data)?,
            _ => data,
        })
    };
    // the builder fills in the right sha256; it is then changed in the (unsigned) bundle
    let (mut bytes, rep) =
        norrec_swu::build(TEXT, &mut load, &Default::default(), Vec::new()).unwrap();
    let real = &rep.entries.iter().find(|e| e.0 == "rootfs.gz").unwrap().2;
    let at = bytes
        .windows(64)
        .position(|w| w == real.as_bytes())
        .unwrap();
    bytes[at..at + 64].copy_from_slice("ab".repeat(32).as_bytes());
    let swu = t.path().join("bad.swu");
    std::fs::write(&swu, &bytes).unwrap();
    let disk = t.path().join("disk.img");
    std::fs::write(&disk, vec![0x77u8; 16 << 20]).unwrap();
    let mut map = DeviceMap::new();
    map.add_disk("/dev/disk", &disk).unwrap();
    let opts = Options {
        verify_first: 0,
        ..Options::default()
    };
    let err = run(&swu, &map, &opts).unwrap_err();
    assert!(
        matches!(&err, Error::WrittenInvalid { written, offset, .. }
            if *written == 8 << 20 && *offset == 1 << 20),
        "{err}"
    );
    let img = std::fs::read(&disk).unwrap();
    assert!(
        img[1 << 20..9 << 20].iter().all(|&b| b == 0),
        "range discarded"
    );
    assert!(img[9 << 20..].iter().all(|&b| b == 0x77), "nothing past it");
    // verified first (the default): the same bundle never touches the rootfs range
    std::fs::write(&disk, vec![0x77u8; 16 << 20]).unwrap();
    let err = run(&swu, &map, &Options::default()).unwrap_err();
    assert!(err.to_string().contains("sha256 mismatch"), "{err}");
    let img = std::fs::read(&disk).unwrap();
    assert!(img[1 << 20..].iter().all(|&b| b == 0x77));
}
