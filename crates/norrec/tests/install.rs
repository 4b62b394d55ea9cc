//! `norrec install` against the reference tools: a signed bundle (SPL at 8 KiB, a gzip'd ext4
//! rootfs made by norrec to p2, boot.scr into the vfat p1, bootenv variables) installed into an
//! SD image partitioned and formatted by norrec, then read back by `mcopy`, `fw_printenv`,
//! `e2fsck -fn` and `fsck.fat -n`; the same raw bundle installed by Debian's `swupdate -i` and
//! by norrec into regular files gives the same bytes; bad bundles fail in one line with the
//! target untouched (or, for a streamed artifact found bad at its end, marked invalid).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;

use norrec_testutil::{pattern, run_ok, tool};

mod common;
use common::{Signer, expect_fails, fails, norrec, ok, s, swu_build};

/// Partition starts of the board's layout (boards/cubieboard/layout.sfdisk), in bytes.
const P1: u64 = 4096 * 512;
const P2: u64 = 86016 * 512;

/// The description of the seed's update: SPL, rootfs to p2, boot.scr into p1, two variables.
/// `extra_image` is spliced into the images list (for the bad cases).
fn description(extra_image: &str, hw: &str) -> String {
    format!(
        r#"software =
{{
    version = "1.0.0";
    hardware-compatibility = [ "{hw}" ];
    stable = {{
        main = {{
            images: (
                {{
                    filename = "u-boot-sunxi-with-spl.bin";
                    type = "raw";
                    device = "/dev/mmcblk0";
                    offset = "8K";
                }},
                {{
                    filename = "rootfs.ext4.gz";
                    type = "raw";
                    device = "/dev/mmcblk0p2";
                    compressed = "zlib";
                    installed-directly = true;
                }}{extra_image}
            );
            files: (
                {{
                    filename = "boot.scr";
                    type = "rawfile";
                    device = "/dev/mmcblk0p1";
                    filesystem = "vfat";
                    path = "/boot.scr";
                }}
            );
            bootenv: (
                {{ name = "rootpart"; value = "2"; }},
                {{ name = "bootdelay"; value = "0"; }},
                {{ name = "stale"; value = ""; }}
            );
        }};
    }};
}}
"#
    )
}

struct Fixture {
    dir: PathBuf,
    pki: Signer,
    art: PathBuf,
    spl: Vec<u8>,
    rootfs: Vec<u8>,
    script: Vec<u8>,
    sd: PathBuf,
    default_env: PathBuf,
}

/// Artifacts, a signer and a fresh SD image (board layout, p1 vfat); `None` without openssl.
fn fixture() -> Option<(tempfile::TempDir, Fixture)> {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().to_path_buf();
    let pki = Signer::new(&dir, "", "emailProtection")?;
    let art = dir.join("artifacts");
    std::fs::create_dir_all(&art).unwrap();
    let spl = pattern(600 * 1024 + 17, 1);
    std::fs::write(art.join("u-boot-sunxi-with-spl.bin"), &spl).unwrap();
    let script = b"setenv bootargs console=ttyS0,115200 root=/dev/mmcblk0p${rootpart}\nload mmc 0:${rootpart} ${kernel_addr_r} /boot/vmlinuz\nbootz ${kernel_addr_r}\n".to_vec();
    std::fs::write(art.join("boot.scr"), &script).unwrap();
    // a small root file system, built by norrec, gzip'd by `swu build --compress zlib`
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::create_dir_all(tree.join("boot")).unwrap();
    std::fs::write(tree.join("etc/hostname"), "cubieboard\n").unwrap();
    std::fs::write(tree.join("boot/vmlinuz"), pattern(3 << 19, 7)).unwrap();
    let rootfs_img = art.join("rootfs.ext4.gz");
    ok(&[
        "disk",
        "mkfs-from-dir",
        s(&tree),
        "-o",
        s(&rootfs_img),
        "--size",
        // (at 8M, mkfs-from-dir's image fails e2fsck -fn: "Resize inode not valid")
        "16M",
    ]);
    let rootfs = std::fs::read(&rootfs_img).unwrap();
    let sd = dir.join("sd.img");
    ok(&["disk", "create", s(&sd), "--size", "1G", "--board-layout"]);
    ok(&[
        "disk",
        "format",
        &format!("{}:1", s(&sd)),
        "vfat",
        "--fat",
        "16",
    ]);
    let default_env = dir.join("u-boot-initial-env");
    std::fs::write(
        &default_env,
        "bootcmd=load mmc 0:1 ${scriptaddr} boot.scr; source ${scriptaddr}\nbootdelay=2\nscriptaddr=0x43100000\nstale=1\n",
    )
    .unwrap();
    Some((
        t,
        Fixture {
            dir,
            pki,
            art,
            spl,
            rootfs,
            script,
            sd,
            default_env,
        },
    ))
}

impl Fixture {
    /// Builds `name` from `text`, signed with `signer` (the fixture's own by default).
    fn bundle(&self, name: &str, text: &str, signer: Option<&Signer>) -> PathBuf {
        let desc = self.dir.join(format!("{name}.sw-description"));
        std::fs::write(&desc, text).unwrap();
        let out = self.dir.join(name);
        let signer = signer.unwrap_or(&self.pki);
        swu_build(&desc, &self.art, &signer.sign_args("cms"), &out);
        out
    }

    fn install_args<'a>(&'a self, bundle: &'a Path, dev: &'a str) -> Vec<&'a str> {
        vec![
            "install",
            s(bundle),
            "--device",
            dev,
            "-k",
            s(&self.pki.cert),
            "-e",
            "stable,main",
            "-H",
            "cubieboard:1.0",
            "--env-default",
            s(&self.default_env),
        ]
    }
}

fn read_at(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let mut f = std::fs::File::open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    let mut v = vec![0u8; len];
    f.read_exact(&mut v).unwrap();
    v
}

/// The first 64 MiB of the card (MBR, SPL area, p1, the start of p2): what any install touches.
fn head(sd: &Path) -> Vec<u8> {
    read_at(sd, 0, 64 << 20)
}

#[test]
fn installs_the_seed_update_into_an_sd_image() {
    let Some((_t, fx)) = fixture() else { return };
    let (Some(mcopy), Some(fw_printenv), Some(e2fsck), Some(fsck_fat)) = (
        tool("mcopy"),
        tool("fw_printenv"),
        tool("e2fsck"),
        tool("fsck.fat"),
    ) else {
        return;
    };
    let swu = fx.bundle("update.swu", &description("", "1.0"), None);
    let dev = format!("/dev/mmcblk0={}", s(&fx.sd));
    let mut args = fx.install_args(&swu, &dev);
    args.push("--json");
    let out = ok(&args);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{out}");
    assert!(report["signature_checked"].as_bool().unwrap());
    // SPL and boot.scr are small: verified before writing; the rootfs (16 MiB) is gzip'd well below
    // 8 MiB, so it too
    for st in steps {
        assert_eq!(st["verified_before_write"], true, "{st}");
    }
    assert_eq!(steps[1]["written"], fx.rootfs.len() as u64);

    // SPL at 8 KiB of the card, nothing before it but the MBR
    assert_eq!(read_at(&fx.sd, 8192, fx.spl.len()), fx.spl);
    // p2 holds the rootfs image byte for byte
    let p2 = read_at(&fx.sd, P2, fx.rootfs.len());
    assert_eq!(p2, fx.rootfs);
    let rootfs_out = fx.dir.join("p2.ext4");
    std::fs::write(&rootfs_out, &p2).unwrap();
    run_ok(&e2fsck, ["-fn", s(&rootfs_out)]);
    // boot.scr in the vfat, read by mtools
    let img_at = format!("{}@@{P1}", s(&fx.sd));
    let got = run_ok(&mcopy, ["-n", "-i", &img_at, "::boot.scr", "-"]).stdout;
    assert_eq!(got, fx.script);
    // the environment: uboot.env in p1, fw_printenv reads it (0x10000 from the board manifest)
    let env = fx.dir.join("uboot.env");
    run_ok(&mcopy, ["-n", "-i", &img_at, "::uboot.env", s(&env)]);
    assert_eq!(std::fs::metadata(&env).unwrap().len(), 0x10000);
    let cfg = fx.dir.join("fw_env.config");
    std::fs::write(&cfg, format!("{} 0x0 0x10000\n", s(&env))).unwrap();
    let printed = run_ok(&fw_printenv, ["-c", s(&cfg), "-f", "/nonexistent"]).stdout;
    let printed = String::from_utf8(printed).unwrap();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines,
        [
            "bootcmd=load mmc 0:1 ${scriptaddr} boot.scr; source ${scriptaddr}",
            "bootdelay=0",
            "rootpart=2",
            "scriptaddr=0x43100000",
        ],
        "default env + bundle vars, `stale` removed by its empty value"
    );
    // p1 is still a clean FAT
    let p1 = fx.dir.join("p1.vfat");
    std::fs::write(&p1, read_at(&fx.sd, P1, 40 << 20)).unwrap();
    run_ok(&fsck_fat, ["-n", s(&p1)]);

    // again: the same bytes outside the FAT (whose time stamps move) and the same variables;
    // the environment now comes from the card, not the default
    let outside_fat = |sd: &Path| {
        let h = head(sd);
        [h[..P1 as usize].to_vec(), h[P2 as usize..].to_vec()].concat()
    };
    let before = outside_fat(&fx.sd);
    let out = ok(&fx.install_args(&swu, &dev));
    assert!(out.contains("from existing environment"), "{out}");
    assert!(
        outside_fat(&fx.sd) == before,
        "a second install changed the card"
    );
    run_ok(&mcopy, ["-n", "-o", "-i", &img_at, "::uboot.env", s(&env)]);
    let again = run_ok(&fw_printenv, ["-c", s(&cfg), "-f", "/nonexistent"]).stdout;
    assert_eq!(String::from_utf8(again).unwrap(), printed);
}

#[test]
fn streaming_install_from_stdin_and_zstd() {
    let Some((_t, fx)) = fixture() else { return };
    let text = description("", "1.0").replace("compressed = \"zlib\"", "compressed = \"zstd\"");
    let desc = fx.dir.join("zstd.sw-description");
    std::fs::write(&desc, text).unwrap();
    let swu = fx.dir.join("zstd.swu");
    let out = norrec(&[
        "swu",
        "build",
        s(&desc),
        "-a",
        s(&fx.art),
        "--compress",
        "zstd",
        "--sign",
        "cms",
        "--key",
        s(&fx.pki.key),
        "--cert",
        s(&fx.pki.cert),
        "-o",
        s(&swu),
    ]);
    if !out.status.success() {
        // a build without the zstd-compress feature (the board's) cannot make the bundle
        assert!(String::from_utf8_lossy(&out.stderr).contains("feature"));
        return;
    }
    let env = fx.dir.join("env.bin");
    let dev = format!("/dev/mmcblk0={}", s(&fx.sd));
    let out = Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args([
            "install",
            "-",
            "-d",
            &dev,
            "-k",
            s(&fx.pki.cert),
            "-e",
            "stable,main",
            "--verify-first",
            "0",
            "--env",
            s(&env),
            "--json",
        ])
        .stdin(std::fs::File::open(&swu).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for st in report["steps"].as_array().unwrap() {
        assert_eq!(st["verified_before_write"], false, "{st}");
    }
    assert_eq!(read_at(&fx.sd, P2, fx.rootfs.len()), fx.rootfs);
    assert_eq!(read_at(&fx.sd, 8192, fx.spl.len()), fx.spl);
    // no default, no previous env: only the bundle's variables (and a warning said so)
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds only the bundle's variables"));
    let bytes = std::fs::read(&env).unwrap();
    assert_eq!(bytes.len(), 0x10000);
    assert_eq!(&bytes[4..27], b"bootdelay=0\0rootpart=2\0");
}

#[test]
fn same_bytes_as_swupdate_into_files() {
    let Some((_t, fx)) = fixture() else { return };
    let Some(swupdate) = tool("swupdate") else {
        return;
    };
    let sw = fx.dir.join("sw");
    let nr = fx.dir.join("nr");
    let nr_stream = fx.dir.join("nr-stream");
    for d in [&sw, &nr, &nr_stream] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("mmcblk0"), vec![0xa5u8; 2 << 20]).unwrap();
        let mut p2 = pattern(fx.rootfs.len() + (1 << 20), 9);
        p2[..4096].fill(0x5a);
        std::fs::write(d.join("mmcblk0p2"), p2).unwrap();
    }
    let text = format!(
        r#"software = {{
    version = "2.0";
    hardware-compatibility = [ "1.0" ];
    stable = {{ main = {{ images: (
        {{ filename = "u-boot-sunxi-with-spl.bin"; type = "raw"; device = "{d}/mmcblk0"; offset = "8K"; }},
        {{ filename = "rootfs.ext4.gz"; type = "raw"; device = "{d}/mmcblk0p2"; compressed = "zlib"; installed-directly = true; }}
    ); }}; }};
}};
"#,
        d = s(&sw)
    );
    let swu = fx.bundle("raw.swu", &text, None);
    let tmp = fx.dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = Command::new(&swupdate)
        .args(["-i", s(&swu), "-k", s(&fx.pki.cert)])
        .args(["-H", "cubieboard:1.0", "-e", "stable,main", "-v"])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "swupdate failed:\n{log}");
    for (target, verify_first) in [(&nr, "8M"), (&nr_stream, "0")] {
        let d0 = format!("{}/mmcblk0={}/mmcblk0", s(&sw), s(target));
        let d2 = format!("{}/mmcblk0p2={}/mmcblk0p2", s(&sw), s(target));
        ok(&[
            "install",
            s(&swu),
            "-d",
            &d0,
            "-d",
            &d2,
            "-k",
            s(&fx.pki.cert),
            "-H",
            "cubieboard:1.0",
            "-e",
            "stable,main",
            "--verify-first",
            verify_first,
        ]);
        for f in ["mmcblk0", "mmcblk0p2"] {
            assert!(
                std::fs::read(sw.join(f)).unwrap() == std::fs::read(target.join(f)).unwrap(),
                "{f} differs from swupdate's (verify-first {verify_first})"
            );
        }
    }
    assert_eq!(
        read_at(&nr.join("mmcblk0p2"), 0, fx.rootfs.len()),
        fx.rootfs
    );
}

/// Offset of an entry's data in a bundle, from norrec-install's table of contents.
fn data_offset(swu: &Path, name: &str) -> u64 {
    let f = std::fs::File::open(swu).unwrap();
    norrec_install::Toc::read(&f)
        .unwrap()
        .get(name)
        .unwrap()
        .data_offset
}

#[test]
fn bad_bundles_fail_in_one_line() {
    let Some((_t, fx)) = fixture() else { return };
    let dev = format!("/dev/mmcblk0={}", s(&fx.sd));
    let pristine = head(&fx.sd);
    let untouched = |what: &str| assert!(head(&fx.sd) == pristine, "{what}: card touched");

    // signed by someone else
    let other = Signer::new(&fx.dir, "other-", "emailProtection").unwrap();
    let swu = fx.bundle("other.swu", &description("", "1.0"), Some(&other));
    let err = fails(&fx.install_args(&swu, &dev));
    assert!(
        err.contains("other.swu") && err.contains("is not trusted"),
        "{err}"
    );
    untouched("wrong signature");

    // incompatible hardware
    let swu = fx.bundle("hw.swu", &description("", "2.0"), None);
    let err = fails(&fx.install_args(&swu, &dev));
    assert!(err.contains("hardware") && err.contains("1.0"), "{err}");
    untouched("hardware");

    // an unknown handler, named with its field
    let extra = r#", { filename = "boot.scr"; type = "flash"; device = "/dev/mtd0"; }"#;
    let swu = fx.bundle("handler.swu", &description(extra, "1.0"), None);
    let err = fails(&fx.install_args(&swu, &dev));
    assert!(
        err.contains("software.stable.main.images[2].type = \"flash\"")
            && err.contains("unknown handler"),
        "{err}"
    );
    untouched("unknown handler");

    // a device not in the map
    let extra = r#", { filename = "boot.scr"; type = "raw"; device = "/dev/mmcblk1"; }"#;
    let swu = fx.bundle("nodev.swu", &description(extra, "1.0"), None);
    let err = fails(&fx.install_args(&swu, &dev));
    assert!(
        err.contains("images[2].device = \"/dev/mmcblk1\"")
            && err.contains("not in the device map"),
        "{err}"
    );
    untouched("device not in map");

    // an image larger than its partition: 41 MiB (gzip'd to little) into the 40 MiB p1,
    // known from the gzip trailer before anything is written
    std::fs::write(fx.art.join("big.img.gz"), vec![0u8; 41 << 20]).unwrap();
    let extra = r#", { filename = "big.img.gz"; type = "raw"; device = "/dev/mmcblk0p1"; compressed = "zlib"; }"#;
    let swu = fx.bundle("big.swu", &description(extra, "1.0"), None);
    std::fs::remove_file(fx.art.join("big.img.gz")).unwrap();
    let err = fails(&fx.install_args(&swu, &dev));
    assert!(
        err.contains("images[2].offset")
            && err.contains(&format!("needs {} bytes", 41 << 20))
            && err.contains("/dev/mmcblk0p1, which has 41943040 bytes"),
        "{err}"
    );
    untouched("too large");

    // a hash mismatch: the rootfs's gzip header OS byte changed (still a valid gzip stream)
    let swu = fx.bundle("hash.swu", &description("", "1.0"), None);
    let mut bytes = std::fs::read(&swu).unwrap();
    let at = data_offset(&swu, "rootfs.ext4.gz") as usize;
    assert_eq!(&bytes[at..at + 2], &[0x1f, 0x8b]);
    bytes[at + 9] ^= 0x01;
    std::fs::write(&swu, &bytes).unwrap();
    // small enough to be checked before writing: refused, card untouched (the SPL before it
    // was verified and written, so compare only p2)
    let p2_before = read_at(&fx.sd, P2, 1 << 20);
    let err = fails(&fx.install_args(&swu, &dev));
    assert!(
        err.contains("rootfs.ext4.gz") && err.contains("sha256 mismatch"),
        "{err}"
    );
    assert_eq!(read_at(&fx.sd, P2, 1 << 20), p2_before);
    // streamed: written, then found bad: the range is discarded and the failure says so
    let mut args = fx.install_args(&swu, &dev);
    args.extend(["--verify-first", "0"]);
    let err = fails(&args);
    assert!(
        err.contains(&format!(
            "{} bytes written at offset 0 of /dev/mmcblk0p2",
            fx.rootfs.len()
        )) && err.contains("sha256 mismatch")
            && err.contains("target marked invalid"),
        "{err}"
    );
    assert!(
        read_at(&fx.sd, P2, fx.rootfs.len()).iter().all(|&b| b == 0),
        "the streamed rootfs range reads as zeros"
    );

    // not a bundle at all; no --device spec form
    let junk = fx.dir.join("junk.swu");
    std::fs::write(&junk, "not a cpio archive, just text. ".repeat(8)).unwrap();
    let err = fails(&fx.install_args(&junk, &dev));
    assert!(err.contains("junk.swu") && err.contains("magic"), "{err}");
    let err = expect_fails(
        &[],
        norrec(&["install", s(&junk), "-d", "sd.img", "-k", s(&fx.pki.cert)]),
    );
    assert!(err.contains("NAME=FILE"), "{err}");
}
