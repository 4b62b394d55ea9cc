//! `norrec swu` against the reference tools, both directions: bundles norrec builds are installed
//! by Debian's `swupdate -i` into regular files standing for devices; bundles `swugenerator`
//! builds (CMS, zlib and zstd; crc, and newc after repacking with GNU cpio) are listed, verified
//! and extracted by norrec.

use std::path::{Path, PathBuf};
use std::process::Command;

use norrec_testutil::{pattern, run_ok, sh_ok, tool};

mod common;
use common::{Signer, ok, s, swu_build};

/// The signer every bundle here is signed with (emailProtection, as SWUpdate wants).
fn pki(dir: &Path) -> Option<Signer> {
    Signer::new(dir, "", "emailProtection")
}

/// A set/mode tree with hardware compatibility: stable,main writes the SPL at 8 KiB of the
/// card, the gzip'd rootfs to p2 and boot.scr as a file; stable,alt links main's SPL entry and
/// writes the rootfs to p3.
fn tree_description(devdir: &Path) -> String {
    let d = devdir.display();
    format!(
        r##"# norrec interop bundle
software =
{{
    version = "1.2.3";
    description = "Cubieboard recovery";
    hardware-compatibility = [ "1.0", "#RE:^2\.[0-9]$" ];
    cubieboard = {{
        stable = {{
            main = {{
                images: (
                    {{
                        filename = "u-boot-sunxi-with-spl.bin";
                        type = "raw";
                        device = "{d}/mmcblk0";
                        offset = "8K";
                        sha256 = "$swupdate_get_sha256(u-boot-sunxi-with-spl.bin)";
                    }},
                    {{
                        filename = "rootfs.ext4.gz";
                        type = "raw";
                        device = "{d}/mmcblk0p2";
                        compressed = "zlib";
                        installed-directly = true;
                    }}
                );
                files: (
                    {{
                        filename = "boot.scr";
                        type = "rawfile";
                        path = "{d}/boot/boot.scr";
                    }}
                );
            }};
            alt = {{
                images: (
                    {{ ref = "#./../main/images"; }}
                );
            }};
        }};
    }};
}}
"##
    )
}

struct Inputs {
    dir: PathBuf,
    spl: Vec<u8>,
    rootfs: Vec<u8>,
    script: Vec<u8>,
}

fn inputs(dir: &Path) -> Inputs {
    let art = dir.join("artifacts");
    std::fs::create_dir_all(&art).unwrap();
    let spl = pattern(600 * 1024 + 17, 1);
    let mut rootfs = pattern(3 << 20, 2);
    rootfs[1 << 20..2 << 20].fill(0); // something gzip can shrink
    let script = b"load mmc 0:1 ${kernel_addr_r} zImage\nbootz\n".to_vec();
    std::fs::write(art.join("u-boot-sunxi-with-spl.bin"), &spl).unwrap();
    std::fs::write(art.join("boot.scr"), &script).unwrap();
    // rootfs.ext4.gz comes as the raw image under the name of its stored form: --compress zlib
    std::fs::write(art.join("rootfs.ext4.gz"), &rootfs).unwrap();
    Inputs {
        dir: art,
        spl,
        rootfs,
        script,
    }
}

fn swupdate_install(swupdate: &Path, bundle: &Path, cert: &Path, hw: &str, sel: &str, tmp: &Path) {
    std::fs::create_dir_all(tmp).unwrap();
    let out = Command::new(swupdate)
        .args(["-i", s(bundle), "-k", s(cert), "-H", hw, "-e", sel, "-v"])
        .env("TMPDIR", tmp)
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "swupdate failed:\n{log}");
    assert!(log.contains("SWUPDATE successful"), "swupdate log:\n{log}");
}

/// After an install: the SPL at 8 KiB of the card file and the rootfs in the p2 file; the card's
/// bytes are returned for more checks.
fn installed_card(dev: &Path, inp: &Inputs) -> Vec<u8> {
    let card = std::fs::read(dev.join("mmcblk0")).unwrap();
    assert_eq!(&card[8192..8192 + inp.spl.len()], &inp.spl[..]);
    assert_eq!(std::fs::read(dev.join("mmcblk0p2")).unwrap(), inp.rootfs);
    card
}

#[test]
fn norrec_bundle_installs_with_real_swupdate() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pki) = pki(dir.path()) else { return };
    let Some(swupdate) = tool("swupdate") else {
        return;
    };
    let inp = inputs(dir.path());
    let dev = dir.path().join("dev");
    std::fs::create_dir_all(dev.join("boot")).unwrap();
    // the raw handler opens devices without O_CREAT: they must exist
    std::fs::write(dev.join("mmcblk0"), vec![0xa5u8; 1 << 20]).unwrap();
    std::fs::write(dev.join("mmcblk0p2"), b"").unwrap();
    let desc = dir.path().join("sw-description");
    std::fs::write(&desc, tree_description(&dev)).unwrap();
    let swu = dir.path().join("update.swu");
    swu_build(&desc, &inp.dir, &pki.sign_args("cms"), &swu);
    // deterministic: the same inputs give the same bytes
    let again = dir.path().join("again.swu");
    swu_build(&desc, &inp.dir, &pki.sign_args("cms"), &again);
    assert_eq!(std::fs::read(&swu).unwrap(), std::fs::read(&again).unwrap());

    let listed = ok(&[
        "swu",
        "list",
        s(&swu),
        "-H",
        "cubieboard:1.0",
        "-e",
        "stable,main",
    ]);
    assert!(
        listed.contains(&format!(
            "u-boot-sunxi-with-spl.bin → {}/mmcblk0 @ 8 KiB [raw]",
            dev.display()
        )),
        "{listed}"
    );
    ok(&[
        "swu",
        "verify",
        s(&swu),
        "--cert",
        s(&pki.cert),
        "-H",
        "cubieboard:2.4",
        "-e",
        "stable,main",
    ]);

    swupdate_install(
        &swupdate,
        &swu,
        &pki.cert,
        "cubieboard:1.0",
        "stable,main",
        &dir.path().join("tmp"),
    );
    let card = installed_card(&dev, &inp);
    assert!(
        card[..8192].iter().all(|&b| b == 0xa5),
        "bytes before 8 KiB untouched"
    );
    assert!(card[8192 + inp.spl.len()..].iter().all(|&b| b == 0xa5));
    assert_eq!(
        std::fs::read(dev.join("boot/boot.scr")).unwrap(),
        inp.script
    );

    // stable,alt follows the ref to main's images; the #RE: entry accepts revision 2.7
    std::fs::write(dev.join("mmcblk0"), vec![0u8; 1 << 20]).unwrap();
    std::fs::write(dev.join("mmcblk0p2"), b"").unwrap();
    swupdate_install(
        &swupdate,
        &swu,
        &pki.cert,
        "cubieboard:2.7",
        "stable,alt",
        &dir.path().join("tmp"),
    );
    installed_card(&dev, &inp);
}

#[test]
fn norrec_signatures_verify_in_openssl_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pki) = pki(dir.path()) else { return };
    let Some(openssl) = tool("openssl") else {
        return;
    };
    let Some(cpio) = tool("cpio") else { return };
    let inp = inputs(dir.path());
    let dev = dir.path().join("dev");
    let desc = dir.path().join("sw-description");
    std::fs::write(&desc, tree_description(&dev)).unwrap();
    let pubkey = dir.path().join("pub.pem");
    run_ok(
        &openssl,
        ["pkey", "-in", s(&pki.key), "-pubout", "-out", s(&pubkey)],
    );
    for (method, sigopts) in [
        ("rsa", vec![]),
        ("rsa-pss", vec!["-sigopt", "rsa_padding_mode:pss"]),
        ("cms", vec![]),
    ] {
        let swu = dir.path().join(format!("{method}.swu"));
        let mut extra = pki.sign_args(method).to_vec();
        extra.extend_from_slice(&["--format", "crc"]);
        swu_build(&desc, &inp.dir, &extra, &swu);
        let x = dir.path().join(format!("x-{method}"));
        std::fs::create_dir_all(&x).unwrap();
        sh_ok(&format!(
            "cd {} && {} -id --quiet < {}",
            x.display(),
            cpio.display(),
            swu.display()
        ));
        let (d, sig) = (x.join("sw-description"), x.join("sw-description.sig"));
        if method == "cms" {
            run_ok(
                &openssl,
                [
                    "cms",
                    "-verify",
                    "-binary",
                    "-inform",
                    "DER",
                    "-in",
                    s(&sig),
                    "-content",
                    s(&d),
                    "-CAfile",
                    s(&pki.cert),
                    "-purpose",
                    "smimesign",
                    "-out",
                    "/dev/null",
                ],
            );
        } else {
            let mut args = vec!["dgst", "-sha256", "-verify", s(&pubkey)];
            args.extend(sigopts.iter().copied());
            args.extend(["-signature", s(&sig), s(&d)]);
            let out = run_ok(&openssl, args);
            assert!(String::from_utf8_lossy(&out.stdout).contains("Verified OK"));
            let mut verify = vec!["swu", "verify", s(&swu), "--public-key", s(&pubkey)];
            if method == "rsa-pss" {
                verify.push("--pss");
            }
            ok(&verify);
        }
        // openssl's own signatures of the same sw-description verify in norrec
        let ossl_sig = dir.path().join(format!("{method}.ossl.sig"));
        if method == "cms" {
            run_ok(
                &openssl,
                [
                    "cms",
                    "-sign",
                    "-in",
                    s(&d),
                    "-out",
                    s(&ossl_sig),
                    "-signer",
                    s(&pki.cert),
                    "-inkey",
                    s(&pki.key),
                    "-outform",
                    "DER",
                    "-nosmimecap",
                    "-binary",
                ],
            );
        } else {
            let mut args = vec!["dgst", "-sha256", "-sign", s(&pki.key)];
            args.extend(sigopts.iter().copied());
            args.extend(["-out", s(&ossl_sig), s(&d)]);
            run_ok(&openssl, args);
        }
        std::fs::copy(&ossl_sig, &sig).unwrap();
        let repacked = dir.path().join(format!("{method}.ossl.swu"));
        let names = "sw-description\nsw-description.sig\nu-boot-sunxi-with-spl.bin\nrootfs.ext4.gz\nboot.scr\n";
        sh_ok(&format!(
            "cd {} && printf '{}' | {} -o -H crc --quiet > {}",
            x.display(),
            names.replace('\n', "\\n"),
            cpio.display(),
            repacked.display()
        ));
        let mut verify = vec!["swu", "verify", s(&repacked)];
        match method {
            "cms" => verify.extend(["--cert", s(&pki.cert)]),
            "rsa" => verify.extend(["--public-key", s(&pubkey)]),
            _ => verify.extend(["--public-key", s(&pubkey), "--pss"]),
        }
        ok(&verify);
    }
}

fn swugenerator_description() -> &'static str {
    r#"software =
{
    version = "0.6.0";
    hardware-compatibility: [ "1.0" ];
    images: (
        {
            filename = "rootfs.ext4";
            type = "raw";
            device = "/dev/mmcblk0p2";
            compressed = "zlib";
            sha256 = "$swupdate_get_sha256(rootfs.ext4)";
        },
        {
            filename = "data.img";
            type = "raw";
            device = "/dev/mmcblk0p4";
            compressed = "zstd";
            sha256 = "$swupdate_get_sha256(data.img)";
        },
        {
            filename = "u-boot-sunxi-with-spl.bin";
            type = "raw";
            device = "/dev/mmcblk0";
            offset = "8K";
            sha256 = "$swupdate_get_sha256(u-boot-sunxi-with-spl.bin)";
        }
    );
}
"#
}

#[test]
fn swugenerator_bundles_list_verify_extract() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pki) = pki(dir.path()) else { return };
    let Some(swugen) = tool("swugenerator") else {
        return;
    };
    let Some(cpio) = tool("cpio") else { return };
    let Some(zstd) = tool("zstd") else { return };
    let art = dir.path().join("art");
    std::fs::create_dir_all(&art).unwrap();
    let mut rootfs = pattern(2 << 20, 5);
    rootfs[..1 << 20].fill(7);
    let data = vec![0u8; 1 << 20];
    let spl = pattern(100_000, 6);
    std::fs::write(art.join("rootfs.ext4"), &rootfs).unwrap();
    std::fs::write(art.join("data.img"), &data).unwrap();
    std::fs::write(art.join("u-boot-sunxi-with-spl.bin"), &spl).unwrap();
    let desc = dir.path().join("sw-description");
    std::fs::write(&desc, swugenerator_description()).unwrap();
    let swu = dir.path().join("gen.swu");
    // swugenerator runs gzip/zstd through the shell: keep PATH
    let out = Command::new(&swugen)
        .args([
            "-s",
            s(&desc),
            "-a",
            s(&art),
            "-o",
            s(&swu),
            "-k",
            &format!("CMS,{},{}", s(&pki.key), s(&pki.cert)),
            "create",
        ])
        .env(
            "PATH",
            format!(
                "{}:{}",
                zstd.parent().unwrap().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "swugenerator: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&swu).unwrap();
    assert_eq!(&bytes[..6], b"070702", "swugenerator writes the crc format");

    let listed = ok(&["swu", "list", s(&swu), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(v["format"], "crc");
    assert_eq!(v["signed"], true);
    let names: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[0].as_str().unwrap())
        .collect();
    assert_eq!(names[..2], ["sw-description", "sw-description.sig"]);
    let images = v["description"]["images"].as_array().unwrap();
    assert_eq!(images.len(), 3);
    let zimg = images.iter().find(|i| i["compressed"] == "zstd").unwrap();
    assert_eq!(zimg["device"], "/dev/mmcblk0p4");
    let spl_img = images.iter().find(|i| i["offset"] == 8192).unwrap();
    assert_eq!(spl_img["filename"], "u-boot-sunxi-with-spl.bin");

    let verified = ok(&[
        "swu",
        "verify",
        s(&swu),
        "--cert",
        s(&pki.cert),
        "-H",
        "any:1.0",
    ]);
    assert!(
        verified.contains("3 artifacts, signature verified"),
        "{verified}"
    );
    let x = dir.path().join("x");
    ok(&[
        "swu",
        "extract",
        s(&swu),
        "-o",
        s(&x),
        "--cert",
        s(&pki.cert),
    ]);
    // the stored artifacts decompress to the inputs
    let img_name = |c: &str| {
        images.iter().find(|i| i["compressed"] == c).unwrap()["filename"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let gz = std::fs::read(x.join(img_name("zlib"))).unwrap();
    let mut un = Vec::new();
    std::io::Read::read_to_end(&mut flate2_free_gunzip(&gz), &mut un).unwrap();
    assert_eq!(un, rootfs);
    let unz = sh_ok(&format!(
        "{} -dc < {}",
        zstd.display(),
        x.join(img_name("zstd")).display()
    ))
    .stdout;
    assert_eq!(unz, data);
    assert_eq!(
        std::fs::read(x.join("u-boot-sunxi-with-spl.bin")).unwrap(),
        spl
    );

    // the same bundle as newc, repacked by GNU cpio in the same order
    let rx = dir.path().join("rx");
    std::fs::create_dir_all(&rx).unwrap();
    let order = sh_ok(&format!(
        "{} -it --quiet < {}",
        cpio.display(),
        swu.display()
    ))
    .stdout;
    sh_ok(&format!(
        "cd {} && {} -id --quiet < {}",
        rx.display(),
        cpio.display(),
        swu.display()
    ));
    let newc = dir.path().join("newc.swu");
    std::fs::write(dir.path().join("order"), &order).unwrap();
    sh_ok(&format!(
        "cd {} && {} -o -H newc --quiet < {} > {}",
        rx.display(),
        cpio.display(),
        dir.path().join("order").display(),
        newc.display()
    ));
    let verified = ok(&["swu", "verify", s(&newc), "--cert", s(&pki.cert)]);
    assert!(
        verified.contains("3 artifacts, signature verified"),
        "{verified}"
    );
    let listed = ok(&["swu", "list", s(&newc), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(v["format"], "newc");
    assert_eq!(v["entries"].as_array().unwrap().len(), 5);
    let nx = dir.path().join("nx");
    ok(&[
        "swu",
        "extract",
        s(&newc),
        "-o",
        s(&nx),
        "--cert",
        s(&pki.cert),
    ]);
    for name in [
        "sw-description",
        "sw-description.sig",
        "u-boot-sunxi-with-spl.bin",
    ] {
        assert_eq!(
            std::fs::read(nx.join(name)).unwrap(),
            std::fs::read(x.join(name)).unwrap(),
            "{name}"
        );
    }
}

/// gunzip through the system's gzip (keeps this test crate free of extra dependencies).
fn flate2_free_gunzip(gz: &[u8]) -> std::io::Cursor<Vec<u8>> {
    let gzip = tool("gzip").expect("gzip");
    let mut child = Command::new(gzip)
        .args(["-dc"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = gz.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    std::io::Cursor::new(out.stdout)
}

#[test]
fn json_description_installs_with_real_swupdate() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pki) = pki(dir.path()) else { return };
    let Some(swupdate) = tool("swupdate") else {
        return;
    };
    let inp = inputs(dir.path());
    let dev = dir.path().join("dev");
    std::fs::create_dir_all(&dev).unwrap();
    std::fs::write(dev.join("mmcblk0"), vec![0u8; 1 << 20]).unwrap();
    std::fs::write(dev.join("mmcblk0p2"), b"").unwrap();
    let d = dev.display();
    // the JSON form of sw-description, with a set/mode tree; sha256 filled by norrec
    let json = format!(
        r##"{{ "software": {{
  "version": "1.2.3",
  "hardware-compatibility": ["#RE:^1\\.[0-9]$"],
  "stable": {{ "main": {{
    "images": [
      {{ "filename": "u-boot-sunxi-with-spl.bin", "type": "raw", "device": "{d}/mmcblk0", "offset": "8K" }},
      {{ "filename": "rootfs.ext4.gz", "type": "raw", "device": "{d}/mmcblk0p2", "compressed": "zlib" }}
    ]
  }} }}
}} }}
"##
    );
    let desc = dir.path().join("sw-description.json");
    std::fs::write(&desc, json).unwrap();
    let swu = dir.path().join("json.swu");
    swu_build(&desc, &inp.dir, &pki.sign_args("cms"), &swu);
    swupdate_install(
        &swupdate,
        &swu,
        &pki.cert,
        "cubieboard:1.5",
        "stable,main",
        &dir.path().join("tmp"),
    );
    installed_card(&dev, &inp);
}

/// `swu build --compress zstd`: with the `zstd-compress` feature (the default) the artifact is
/// stored as a zstd frame the `zstd` tool decompresses to the input; without it (the board
/// binary) the build is refused in one line naming the feature and no bundle appears.
#[test]
fn compress_zstd_with_and_without_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // compressible: numbered text lines
    let data: Vec<u8> = (0..30_000)
        .flat_map(|i| format!("rootfs line {i}\n").into_bytes())
        .collect();
    std::fs::write(d.join("rootfs.img"), &data).unwrap();
    let desc = d.join("sw-description");
    std::fs::write(
        &desc,
        "software = { version = \"1.0\"; hardware-compatibility = [ \"1.0\" ];\n  images: ( { filename = \"rootfs.img\"; compressed = \"zstd\"; device = \"/dev/mmcblk0p2\"; } );\n};\n",
    )
    .unwrap();
    let swu = d.join("z.swu");
    let build = |extra: &[&str]| {
        let mut args = vec!["swu", "build", s(&desc), "-a", s(d), "--compress", "zstd"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-o", s(&swu)]);
        common::norrec(&args)
    };
    if !cfg!(feature = "zstd-compress") {
        let err = common::expect_fails(&["swu", "build", "--compress", "zstd"], build(&[]));
        assert!(err.contains("zstd-compress"), "{err}");
        assert!(!swu.exists(), "a refused build left {}", swu.display());
        // without --compress: the uncompressed artifact is refused without advice it cannot take
        let args = ["swu", "build", s(&desc), "-a", s(d), "-o", s(&swu)];
        let err = common::fails(&args);
        assert!(
            err.contains("rootfs.img") && err.contains("zstd-compress"),
            "{err}"
        );
        assert!(!err.contains("pass --compress"), "{err}");
        assert!(!swu.exists(), "a refused build left {}", swu.display());
        return;
    }
    let Some(pki) = pki(d) else { return };
    let Some(zstd) = tool("zstd") else { return };
    let sign = pki.sign_args("cms");
    common::expect_ok(&["swu", "build", "--compress", "zstd"], build(&sign));
    let x = d.join("x");
    ok(&[
        "swu",
        "extract",
        s(&swu),
        "-o",
        s(&x),
        "--cert",
        s(&pki.cert),
    ]);
    let stored = std::fs::read(x.join("rootfs.img")).unwrap();
    // a zstd frame (magic 28 b5 2f fd at offset 0), smaller than the input
    assert_eq!(stored[..4], [0x28, 0xb5, 0x2f, 0xfd]);
    assert!(stored.len() < data.len(), "{} bytes", stored.len());
    let unz = sh_ok(&format!(
        "{} -dc < {}",
        zstd.display(),
        x.join("rootfs.img").display()
    ))
    .stdout;
    assert_eq!(unz, data);
}
