//! The bundle builder and the streaming reader the installer uses: sha256 filled in libconfig
//! and JSON descriptions, entries read as streams through the decompressors, and the checks
//! that fire while streaming.

use std::io::Read;

use norrec_swu::bundle::{self, BuildOptions, SwuReader};
use norrec_swu::cpio::Format;
use norrec_swu::description::{Compression, Selection};
use norrec_swu::hash::{decoder, gzip, sha256_hex};
use norrec_swu::sign::{Method, Purpose, Trust};
use norrec_swu::{Error, Result};

fn artifacts(name: &str, c: Compression) -> Result<Vec<u8>> {
    let raw: Vec<u8> = match name {
        "a.bin" => (0..70_000u32).map(|i| (i % 251) as u8).collect(),
        "b.img" => vec![0u8; 200_000],
        "c.txt" => b"hello\n".to_vec(),
        other => return Err(Error::Unsupported(format!("no {other}"))),
    };
    Ok(match c {
        Compression::Zlib => gzip(&raw)?,
        _ => raw,
    })
}

fn build(text: &str, opts: &BuildOptions) -> (Vec<u8>, bundle::BuildReport) {
    bundle::build(text, &mut artifacts, opts, Vec::new()).unwrap()
}

const LIBCONFIG: &str = r#"software = {
  version = "1";
  images = (
    { filename = "a.bin"; device = "/dev/x"; offset = "8K" },
    { filename = "b.img"  device = "/dev/y"; compressed = "zlib"; }
  );
  files = ( { filename = "c.txt"; path = "/c.txt"; sha256 = "$swupdate_get_sha256(c.txt)"; } );
};
"#;

#[test]
fn libconfig_hashes_are_filled_and_streamed_back() {
    let (swu, report) = build(LIBCONFIG, &BuildOptions::default());
    let a = artifacts("a.bin", Compression::None).unwrap();
    let b_stored = artifacts("b.img", Compression::Zlib).unwrap();
    // inserted right after each filename setting, placeholder replaced
    assert!(report.description.contains(&format!(
        "filename = \"a.bin\"; sha256 = \"{}\";",
        sha256_hex(&a)
    )));
    // a filename setting without terminator gets one after it
    let d = norrec_swu::Description::parse(&report.description, &Selection::default()).unwrap();
    assert_eq!(d.images[1].sha256, Some(sha256_hex(&b_stored)));
    assert_eq!(d.images[1].device.as_deref(), Some("/dev/y"));
    assert!(
        report
            .description
            .contains(&format!("sha256 = \"{}\"", sha256_hex(b"hello\n")))
    );
    assert_eq!(&swu[..6], b"070701");

    let (mut r, d) = SwuReader::open(&swu[..], None, &Selection::default()).unwrap();
    assert_eq!(d.images.len(), 2);
    let mut names = Vec::new();
    while let Some(mut e) = r.next_entry().unwrap() {
        names.push(e.name.clone());
        let c = d
            .artifacts()
            .find(|x| x.filename == e.name)
            .unwrap()
            .compressed;
        let mut out = Vec::new();
        decoder(c, &mut e).unwrap().read_to_end(&mut out).unwrap();
        let digest = e.finish().unwrap();
        let raw = artifacts(&names[names.len() - 1], Compression::None).unwrap();
        assert_eq!(out, raw);
        assert_eq!(
            Some(digest),
            d.artifacts()
                .find(|x| x.filename == names[names.len() - 1])
                .unwrap()
                .sha256
        );
    }
    assert_eq!(names, ["a.bin", "b.img", "c.txt"]);
    r.finish().unwrap();
}

#[test]
fn json_hashes_are_filled() {
    let json = r#"{ "software": { "version": "1", "images": [ { "filename": "a.bin", "device": "/dev/x" } ] } }"#;
    let (swu, report) = build(
        json,
        &BuildOptions {
            format: Format::Crc,
            sign: None,
        },
    );
    assert_eq!(&swu[..6], b"070702");
    let v: serde_json::Value = serde_json::from_str(&report.description).unwrap();
    let a = artifacts("a.bin", Compression::None).unwrap();
    assert_eq!(v["software"]["images"][0]["sha256"], sha256_hex(&a));
    bundle::verify(&swu[..], None, None, None).unwrap();
}

#[test]
fn streaming_catches_a_changed_artifact_at_its_end() {
    let (mut swu, _) = build(LIBCONFIG, &BuildOptions::default());
    let at = swu.windows(6).position(|w| w == b"a.bin\0").unwrap() + 10;
    swu[at + 100] ^= 1;
    let (mut r, _) = SwuReader::open(&swu[..], None, &Selection::default()).unwrap();
    let e = r.next_entry().unwrap().unwrap();
    let err = e.finish().unwrap_err().to_string();
    assert!(
        err.starts_with("artifact \"a.bin\": sha256 mismatch"),
        "{err}"
    );
}

#[test]
fn signed_bundles_need_every_hash() {
    let Some(openssl) = norrec_testutil::tool("openssl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (k, c) = (dir.path().join("k.pem"), dir.path().join("c.pem"));
    norrec_testutil::run_ok(
        &openssl,
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            k.to_str().unwrap(),
            "-out",
            c.to_str().unwrap(),
            "-days",
            "2",
            "-subj",
            "/CN=t",
        ],
    );
    let key = std::fs::read_to_string(&k).unwrap();
    let cert = std::fs::read_to_string(&c).unwrap();
    // Sign a description without hashes by hand: the builder always fills them.
    let text = "software = { images = ( { filename = \"c.txt\"; device = \"/dev/x\"; } ); };";
    let sig = norrec_swu::sign::sign(Method::Cms, &key, Some(&cert), text.as_bytes()).unwrap();
    let mut w = norrec_swu::cpio::CpioWriter::new(Vec::new(), Format::Newc);
    w.add("sw-description", text.as_bytes()).unwrap();
    w.add("sw-description.sig", &sig).unwrap();
    w.add("c.txt", b"hello\n").unwrap();
    let swu = w.finish().unwrap();
    let trust = Trust::Certificates {
        anchors: norrec_swu::sign::cert::certificates_from_pem(&cert).unwrap(),
        purpose: Purpose::EmailProtection,
    };
    let (mut r, _) = SwuReader::open(&swu[..], Some(&trust), &Selection::default()).unwrap();
    let err = r.next_entry().unwrap_err().to_string();
    assert_eq!(
        err,
        "sw-description field software.images[0].sha256: missing for \"c.txt\": in a signed bundle every artifact needs one"
    );
    // unsigned reading accepts it
    bundle::verify(&swu[..], None, None, None).unwrap();
}

#[test]
fn zstd_from_the_cli_decodes_on_the_board_side() {
    let Some(zstd) = norrec_testutil::tool("zstd") else {
        return;
    };
    let raw: Vec<u8> = (0..300_000u32).map(|i| (i / 1000) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x");
    std::fs::write(&p, &raw).unwrap();
    norrec_testutil::run_ok(&zstd, ["-q", "-19", p.to_str().unwrap()]);
    let z = std::fs::read(dir.path().join("x.zst")).unwrap();
    let mut out = Vec::new();
    decoder(Compression::Zstd, &z[..])
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, raw);
}
