//! `norrec swu` on bad input: each case is one error line naming the entry or field, exit code 1,
//! and nothing extracted or written.

use std::path::{Path, PathBuf};

use norrec_swu::cpio::{CpioReader, CpioWriter, Format};

mod common;
use common::{Signer, fails, ok, s, swu_build};

const DESC: &str = r##"software = {
    version = "1.2.3";
    hardware-compatibility = [ "1.0" ];
    cubieboard = { stable = { main = {
        images = (
            { filename = "u-boot-sunxi-with-spl.bin"; device = "/dev/mmcblk0"; offset = "8K"; },
            { filename = "rootfs.ext4.gz"; device = "/dev/mmcblk0p2"; compressed = "zlib"; }
        );
        files = ( { filename = "boot.scr"; path = "/boot/boot.scr"; device = "/dev/mmcblk0p1"; filesystem = "vfat"; } );
    }; }; };
};
"##;

struct Case {
    dir: tempfile::TempDir,
    cert: PathBuf,
    /// A signer whose certificate is for codeSigning only.
    code: Signer,
    key: PathBuf,
    art: PathBuf,
    desc: PathBuf,
    good: PathBuf,
}

fn setup() -> Option<Case> {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let signer = Signer::new(dir.path(), "", "emailProtection")?;
    let code = Signer::new(dir.path(), "c", "codeSigning")?;
    let art = p("art");
    std::fs::create_dir_all(&art).unwrap();
    std::fs::write(art.join("u-boot-sunxi-with-spl.bin"), vec![0x5au8; 40_000]).unwrap();
    std::fs::write(art.join("rootfs.ext4.gz"), vec![1u8; 100_000]).unwrap();
    std::fs::write(art.join("boot.scr"), b"bootz\n").unwrap();
    let desc = p("sw-description");
    std::fs::write(&desc, DESC).unwrap();
    let good = p("good.swu");
    swu_build(&desc, &art, &signer.sign_args("cms"), &good);
    Some(Case {
        dir,
        cert: signer.cert,
        code,
        key: signer.key,
        art,
        desc,
        good,
    })
}

impl Case {
    fn p(&self, n: &str) -> PathBuf {
        self.dir.path().join(n)
    }

    /// Verify and extract both fail with a line containing `needle`; extract leaves nothing.
    fn refused(&self, bundle: &Path, extra: &[&str], needle: &str) -> String {
        let mut v = vec!["swu", "verify", s(bundle), "--cert", s(&self.cert)];
        v.extend_from_slice(extra);
        let e = fails(&v);
        assert!(e.contains(needle), "verify: expected {needle:?} in {e}");
        assert!(e.contains(s(bundle)), "the file is named: {e}");
        let out = self.p("extracted");
        let mut x = vec![
            "swu",
            "extract",
            s(bundle),
            "-o",
            s(&out),
            "--cert",
            s(&self.cert),
        ];
        x.extend_from_slice(extra);
        let e = fails(&x);
        assert!(e.contains(needle), "extract: expected {needle:?} in {e}");
        assert!(!out.exists(), "extract left {}", out.display());
        let leftovers: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".norrec"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        e
    }

    fn entries(&self, bundle: &Path) -> Vec<(String, Vec<u8>)> {
        let bytes = std::fs::read(bundle).unwrap();
        let mut r = CpioReader::new(&bytes[..]);
        let mut out = Vec::new();
        while let Some(h) = r.next_header().unwrap() {
            out.push((h.name, r.read_to_vec(1 << 30).unwrap()));
        }
        out
    }

    fn write(&self, name: &str, entries: &[(String, Vec<u8>)]) -> PathBuf {
        let mut w = CpioWriter::new(Vec::new(), Format::Newc);
        for (n, d) in entries {
            w.add(n, d).unwrap();
        }
        let p = self.p(name);
        std::fs::write(&p, w.finish().unwrap()).unwrap();
        p
    }

    fn mutate(&self, name: &str, f: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
        let mut b = std::fs::read(&self.good).unwrap();
        f(&mut b);
        let p = self.p(name);
        std::fs::write(&p, b).unwrap();
        p
    }
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("needle")
}

/// A raw newc entry, for names the writer refuses.
fn raw_entry(name: &str, data: &[u8]) -> Vec<u8> {
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
        name.len() + 1,
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
fn good_bundle_passes() {
    let Some(c) = setup() else { return };
    ok(&[
        "swu",
        "verify",
        s(&c.good),
        "--cert",
        s(&c.cert),
        "-H",
        "cubieboard:1.0",
        "-e",
        "stable,main",
    ]);
    let out = c.p("x");
    ok(&[
        "swu",
        "extract",
        s(&c.good),
        "-o",
        s(&out),
        "--cert",
        s(&c.cert),
    ]);
    assert_eq!(std::fs::read(out.join("boot.scr")).unwrap(), b"bootz\n");
}

#[test]
fn container_damage() {
    let Some(c) = setup() else { return };
    let len = std::fs::metadata(&c.good).unwrap().len() as usize;
    let t = c.mutate("truncated.swu", |b| b.truncate(len / 2));
    c.refused(
        &t,
        &[],
        "truncated data of entry \"u-boot-sunxi-with-spl.bin\"",
    );
    let m = c.mutate("magic.swu", |b| b[0] = b'1');
    c.refused(&m, &[], "cpio offset 0: bad magic \"170701\"");
    let big = c.mutate("big.swu", |b| {
        let at = find(b, b"u-boot-sunxi-with-spl.bin\0") - 110;
        b[at + 54..at + 62].copy_from_slice(b"7fffffff");
    });
    c.refused(&big, &[], "header says 2147483647 bytes");
    let hash = c.mutate("hash.swu", |b| {
        let at = find(b, b"u-boot-sunxi-with-spl.bin\0") + 30;
        b[at + 1000] ^= 0xff;
    });
    c.refused(
        &hash,
        &[],
        "artifact \"u-boot-sunxi-with-spl.bin\": sha256 mismatch",
    );
}

#[test]
fn order_missing_extra_duplicate_traversal() {
    let Some(c) = setup() else { return };
    let e = c.entries(&c.good);
    // sw-description not first
    let mut swapped = e.clone();
    swapped.swap(0, 4);
    let p = c.write("order.swu", &swapped);
    c.refused(
        &p,
        &[],
        "first entry is \"boot.scr\", expected \"sw-description\"",
    );
    // a listed artifact missing
    let p = c.write("missing.swu", &e[..4]);
    c.refused(
        &p,
        &[],
        "artifact \"boot.scr\": listed in sw-description (software.cubieboard.stable.main.files[0].filename) but not in the bundle",
    );
    // an unreferenced surprise
    let mut extra = e.clone();
    extra.push(("surprise.bin".into(), b"x".to_vec()));
    let p = c.write("extra.swu", &extra);
    c.refused(
        &p,
        &[],
        "artifact \"surprise.bin\": in the bundle but not referenced",
    );
    // duplicates and traversal need raw entries
    let mut w = CpioWriter::new(Vec::new(), Format::Newc);
    for (n, d) in &e[..2] {
        w.add(n, d).unwrap();
    }
    let head = w.finish().unwrap();
    let head = &head[..head.len() - 124]; // without the trailer
    for (file, name, needle) in [
        ("dup.swu", "boot.scr", "cpio entry \"boot.scr\" at offset"),
        (
            "trav.swu",
            "../../etc/passwd",
            "unsafe name ('..' component (path traversal))",
        ),
    ] {
        let mut b = head.to_vec();
        b.extend(raw_entry("boot.scr", b"bootz\n"));
        b.extend(raw_entry(name, b"x"));
        b.extend(raw_entry("TRAILER!!!", b""));
        let p = c.p(file);
        std::fs::write(&p, b).unwrap();
        c.refused(&p, &[], needle);
    }
}

#[test]
fn signatures_selection_hardware() {
    let Some(c) = setup() else { return };
    // missing signature
    let unsigned = c.p("unsigned.swu");
    swu_build(&c.desc, &c.art, &[], &unsigned);
    c.refused(&unsigned, &[], "has no sw-description.sig");
    // wrong signature: sw-description changed after signing
    let w = c.mutate("changed.swu", |b| {
        let at = find(b, b"\"1.2.3\"");
        b[at + 5] = b'4';
    });
    c.refused(&w, &[], "CMS messageDigest does not match sw-description");
    // wrong certificate purpose
    let code = c.p("code.swu");
    swu_build(&c.desc, &c.art, &c.code.sign_args("cms"), &code);
    let e = fails(&["swu", "verify", s(&code), "--cert", s(&c.code.cert)]);
    assert!(e.contains("extendedKeyUsage lacks emailProtection"), "{e}");
    ok(&[
        "swu",
        "verify",
        s(&code),
        "--cert",
        s(&c.code.cert),
        "--cert-purpose",
        "code-signing",
    ]);
    // a set/mode that does not exist, hardware that is not compatible
    c.refused(
        &c.good,
        &["-e", "stable,nope"],
        "selection stable,nope: no such software set and mode",
    );
    c.refused(
        &c.good,
        &["-H", "cubieboard:3.0"],
        "hardware not compatible: revision \"3.0\"",
    );
    // no trust given
    let e = fails(&["swu", "verify", s(&c.good)]);
    assert!(e.contains("--no-verify-signature"), "{e}");
}

#[test]
fn build_refuses_and_writes_nothing() {
    let Some(c) = setup() else { return };
    let out = c.p("out.swu");
    let cases: [(&str, &str); 4] = [
        (
            "software = { files = ( { filename = \"boot.scr\"; path = \"/boot/../../etc/x\"; } ); };",
            "software.files[0].path",
        ),
        (
            "software = { images = ( { filename = \"boot.scr\"; device = \"/dev/x\"; sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"; } ); };",
            "artifact \"boot.scr\": sha256 mismatch",
        ),
        (
            "software = { images = ( { filename = \"absent.bin\"; device = \"/dev/x\"; } ); };",
            "artifact \"absent.bin\": listed in sw-description",
        ),
        (
            "software = { images = ( { filename = \"boot.scr\"; device = \"/dev/x\"; compressed = \"zlib\"; } ); };",
            "pass --compress zlib",
        ),
    ];
    for (text, needle) in cases {
        let d = c.p("desc");
        std::fs::write(&d, text).unwrap();
        let e = fails(&["swu", "build", s(&d), "-a", s(&c.art), "-o", s(&out)]);
        assert!(e.contains(needle), "expected {needle:?} in {e}");
        assert!(!out.exists());
    }
    let _ = &c.key;
}
