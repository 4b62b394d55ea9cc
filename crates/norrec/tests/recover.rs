//! `norrec recover`: the recovery agent's journaled state machine on image files, checked with
//! the reference tools (sfdisk, fsck.fat, fw_printenv, e2fsck, debugfs): a blank sparse 1 GiB
//! card recovered from a stick made by `norrec usb create`, re-runs that change nothing but the
//! journal, user data on p4 kept, a power cut after (or inside) every step followed by a re-run
//! ending in the same bytes as an uninterrupted run, and bad sticks refused with the card
//! untouched.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use norrec_testutil::{pattern, run_ok, tool};

mod common;
use common::{Signer, ok, s, swu_build};

/// The board layout (boards/cubieboard/layout.sfdisk), in sectors.
const P1: u64 = 4096;
const P2: u64 = 86016;
const P4: u64 = 1_454_080;
/// The journal: the 8 KiB before p1.
const JOURNAL: u64 = P1 * 512 - 8192;
const EPOCH: &str = "1700000000";

const DESCRIPTION: &str = r#"software = {
    version = "1.0.0";
    hardware-compatibility = [ "1.0" ];
    images: ( {
        filename = "rootfs.ext4.gz";
        device = "/dev/mmcblk0p2";
        compressed = "zlib";
        sha256 = "$swupdate_get_sha256(rootfs.ext4.gz)";
    } );
    files: ( {
        filename = "boot.scr";
        path = "/boot.scr";
        device = "/dev/mmcblk0p1";
        filesystem = "vfat";
        sha256 = "$swupdate_get_sha256(boot.scr)";
    } );
    uboot: ( { name = "rootpart"; value = "2"; } );
}
"#;

struct Fx {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    pki: Signer,
    rootfs: PathBuf,
    usb: PathBuf,
}

/// A signed bundle (a 16 MiB rootfs holding 8.25 MiB of incompressible bytes (stored above norrec-install's 8 MiB verify-first limit), so that it streams,
/// and boot.scr) on a stick made by `norrec usb create`.
fn fixture() -> Option<Fx> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    let pki = Signer::new(&dir, "", "emailProtection")?;
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(tree.join("etc/hostname"), "cubieboard\n").unwrap();
    std::fs::write(tree.join("blob"), pattern((8 << 20) + (256 << 10), 7)).unwrap();
    let art = dir.join("art");
    std::fs::create_dir_all(&art).unwrap();
    let rootfs = dir.join("rootfs.ext4");
    ok(&[
        "disk",
        "mkfs-from-dir",
        s(&tree),
        "-o",
        s(&rootfs),
        "--size",
        "16M",
        "--all-root",
        "-U",
        "11111111-2222-4333-8444-555555555555",
    ]);
    let gz = std::fs::File::create(art.join("rootfs.ext4.gz")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(gz, flate2::Compression::fast());
    std::io::copy(&mut std::fs::File::open(&rootfs).unwrap(), &mut enc).unwrap();
    enc.finish().unwrap();
    std::fs::write(art.join("boot.cmd"), "echo recovered\n").unwrap();
    ok(&[
        "script",
        "build",
        s(&art.join("boot.cmd")),
        "-o",
        s(&art.join("boot.scr")),
    ]);
    let desc = dir.join("sw-description");
    std::fs::write(&desc, DESCRIPTION).unwrap();
    let swu = dir.join("update.swu");
    swu_build(&desc, &art, &pki.sign_args("cms"), &swu);
    let usb = dir.join("usb.img");
    ok(&["usb", "create", s(&usb), "--size", "64M", "--add", s(&swu)]);
    Some(Fx {
        _tmp: tmp,
        dir,
        pki,
        rootfs,
        usb,
    })
}

fn blank(path: &Path, size: u64) {
    std::fs::File::create(path).unwrap().set_len(size).unwrap();
}

fn recover(fx: &Fx, sd: &Path, usb: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args([
            "recover",
            "--sd",
            s(sd),
            "--usb",
            s(usb),
            "-k",
            s(&fx.pki.cert),
        ])
        .args(extra)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .unwrap()
}

fn recover_ok(fx: &Fx, sd: &Path) -> String {
    let o = recover(fx, sd, &fx.usb, &[]);
    assert!(
        o.status.success(),
        "recover failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn read_at(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let mut b = vec![0u8; len];
    std::fs::File::open(path)
        .unwrap()
        .read_exact_at(&mut b, offset)
        .unwrap();
    b
}

/// Byte offsets (in 4 KiB pieces) where two images differ, outside `skip`.
fn differences(a: &Path, b: &Path, skip: Option<(u64, u64)>) -> Vec<u64> {
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    assert_eq!(
        fa.metadata().unwrap().len(),
        fb.metadata().unwrap().len(),
        "sizes of {} and {}",
        a.display(),
        b.display()
    );
    let (mut ba, mut bb) = (vec![0u8; 4 << 20], vec![0u8; 4 << 20]);
    let mut out = Vec::new();
    let mut at = 0u64;
    loop {
        let n = fa.read(&mut ba).unwrap();
        if n == 0 {
            break;
        }
        fb.read_exact(&mut bb[..n]).unwrap();
        if ba[..n] == bb[..n] {
            at += n as u64;
            continue;
        }
        for (i, (x, y)) in ba[..n].chunks(4096).zip(bb[..n].chunks(4096)).enumerate() {
            let off = at + (i as u64) * 4096;
            if x != y && !skip.is_some_and(|(s, l)| off >= s && off < s + l) {
                out.push(off);
            }
        }
        at += n as u64;
    }
    out
}

fn copy(a: &Path, b: &Path) {
    run_ok(Path::new("cp"), ["--sparse=always", s(a), s(b)]);
}

/// A partition's bytes copied into a file of its own (for fsck.fat).
fn extract(sd: &Path, start: u64, sectors: u64, out: &Path) {
    let data = read_at(sd, start * 512, (sectors * 512) as usize);
    std::fs::write(out, data).unwrap();
}

fn text(o: Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ext4_at(sd: &Path, sector: u64) -> String {
    format!("{}?offset={}", s(sd), sector * 512)
}

#[test]
fn recovers_a_blank_card_reruns_keep_data() {
    let Some(fx) = fixture() else { return };
    let sd = fx.dir.join("sd.img");
    blank(&sd, 1 << 30);
    let out = recover_ok(&fx, &sd);
    for (n, want) in [
        (1, "check: done"),
        (2, "partition: done"),
        (3, "format: done"),
        (4, "env: done"),
        (5, "install: done"),
        (6, "done: done"),
    ] {
        assert!(out.contains(&format!("step {n}/6 {want}")), "{out}");
    }
    assert!(out.contains("signature verified"), "{out}");

    // sfdisk sees the board layout.
    if let Some(sfdisk) = tool("sfdisk") {
        let dump = text(run_ok(&sfdisk, ["-d", s(&sd)]));
        for line in [
            "start=        4096, size=       81920, type=c, bootable",
            "start=       86016, size=      681574, type=83",
            "start=      770048, size=      681574, type=83",
            "start=     1454080, size=      643072, type=83",
        ] {
            assert!(dump.contains(line), "{line} not in\n{dump}");
        }
    }
    // p1: a clean FAT with boot.scr and uboot.env; fw_printenv reads the variables.
    let p1 = fx.dir.join("p1.img");
    extract(&sd, P1, 81920, &p1);
    if let Some(fsck) = tool("fsck.fat") {
        run_ok(&fsck, ["-n", s(&p1)]);
    }
    let ls = ok(&["disk", "ls", &format!("{}:1", s(&sd))]);
    assert!(ls.contains("boot.scr") && ls.contains("uboot.env"), "{ls}");
    let env = fx.dir.join("uboot.env");
    ok(&["disk", "cp", &format!("{}:1:/uboot.env", s(&sd)), s(&env)]);
    assert_eq!(std::fs::metadata(&env).unwrap().len(), 0x10000);
    if let Some(fw) = tool("fw_printenv") {
        let cfg = fx.dir.join("fw_env.config");
        std::fs::write(&cfg, format!("{} 0x0 0x10000\n", s(&env))).unwrap();
        let vars = text(run_ok(&fw, ["-c", s(&cfg)]));
        assert!(vars.contains("rootpart=2"), "{vars}");
        assert!(vars.contains("bootcmd=load mmc 0:1"), "{vars}");
    }
    // p2 holds the rootfs image byte for byte.
    let rootfs = std::fs::read(&fx.rootfs).unwrap();
    assert!(
        read_at(&sd, P2 * 512, rootfs.len()) == rootfs,
        "p2 != rootfs.ext4"
    );
    // p4: a clean ext4.
    if let Some(e2fsck) = tool("e2fsck") {
        run_ok(&e2fsck, ["-fn", &ext4_at(&sd, P4)]);
    }

    // A second run: everything rewritten by design comes out the same (same identity from the
    // journal, same bundle); only the journal's records differ.
    let first = fx.dir.join("first.img");
    copy(&sd, &first);
    let out = recover_ok(&fx, &sd);
    assert!(out.contains("partition: skipped"), "{out}");
    assert!(out.contains("p4 kept"), "{out}");
    assert_eq!(
        differences(&first, &sd, Some((JOURNAL, 8192))),
        Vec::<u64>::new()
    );
    let journal_diff = differences(&first, &sd, None);
    assert!(
        !journal_diff.is_empty()
            && journal_diff
                .iter()
                .all(|&o| (JOURNAL..JOURNAL + 8192).contains(&o)),
        "{journal_diff:x?}"
    );

    // User data on p4 survives a re-run.
    if let Some(debugfs) = tool("debugfs") {
        let note = fx.dir.join("note.txt");
        std::fs::write(&note, "keep me\n").unwrap();
        run_ok(
            &debugfs,
            [
                "-w",
                "-R",
                &format!("write {} note.txt", s(&note)),
                &ext4_at(&sd, P4),
            ],
        );
        let o = recover(&fx, &sd, &fx.usb, &["--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let steps = v["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 6, "{v}");
        assert_eq!(steps[1]["outcome"], "skipped", "{v}");
        assert_eq!(v["journal_offset"], JOURNAL, "{v}");
        let cat = text(run_ok(&debugfs, ["-R", "cat note.txt", &ext4_at(&sd, P4)]));
        assert_eq!(cat, "keep me\n");
        if let Some(e2fsck) = tool("e2fsck") {
            run_ok(&e2fsck, ["-fn", &ext4_at(&sd, P4)]);
        }
    }
}

#[test]
fn a_cut_anywhere_then_a_rerun_gives_the_same_bytes() {
    let Some(fx) = fixture() else { return };
    let reference = fx.dir.join("reference.img");
    blank(&reference, 1 << 30);
    recover_ok(&fx, &reference);
    let cuts: &[(&str, Option<&str>)] = &[
        ("partition", None),
        ("format", None),
        ("format", Some("3")),
        ("env", Some("2")),
        ("install", None),
        ("install", Some("4096")),
        ("done", None),
    ];
    for (step, writes) in cuts {
        let sd = fx.dir.join("cut.img");
        let _ = std::fs::remove_file(&sd);
        blank(&sd, 1 << 30);
        let mut extra = vec!["--stop-after", step];
        if let Some(w) = writes {
            extra.extend(["--fault-writes", w]);
        }
        let o = recover(&fx, &sd, &fx.usb, &extra);
        assert!(
            !o.status.success(),
            "{step} {writes:?}: the cut did not happen"
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("simulated power cut"),
            "{step} {writes:?}: {err}"
        );
        let out = recover_ok(&fx, &sd);
        assert!(out.contains("step 6/6 done: done"), "{out}");
        assert_eq!(
            differences(&reference, &sd, Some((JOURNAL, 8192))),
            Vec::<u64>::new(),
            "cut in {step} after {writes:?} writes, then a re-run:\n{out}"
        );
    }
}

#[test]
fn bad_sticks_and_small_cards_leave_the_card_untouched() {
    let Some(fx) = fixture() else { return };
    let pristine = fx.dir.join("pristine.img");
    blank(&pristine, 1 << 30);
    let sd = fx.dir.join("sd.img");
    let check = |usb: &Path, extra: &[&str], want: &str, sd: &Path, pristine: &Path| {
        let o = recover(&fx, sd, usb, extra);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            err.lines().filter(|l| l.contains("error")).count(),
            1,
            "{err}"
        );
        assert!(err.contains(want), "want {want:?} in {err}");
        assert_eq!(differences(pristine, sd, None), Vec::<u64>::new(), "{want}");
    };
    // no .swu on the stick
    let empty = fx.dir.join("empty.img");
    ok(&["usb", "create", s(&empty), "--size", "64M"]);
    blank(&sd, 1 << 30);
    check(
        &empty,
        &[],
        "no .swu file in the root of /dev/sda1",
        &sd,
        &pristine,
    );
    // two .swu
    let swu = fx.dir.join("update.swu");
    let other = fx.dir.join("other.swu");
    std::fs::copy(&swu, &other).unwrap();
    let two = fx.dir.join("two.img");
    ok(&[
        "usb",
        "create",
        s(&two),
        "--size",
        "64M",
        "--add",
        s(&swu),
        "--add",
        s(&other),
    ]);
    check(&two, &[], "2 .swu files in the root", &sd, &pristine);
    // a signature by someone else
    let stranger = Signer::new(&fx.dir, "stranger-", "emailProtection").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args([
            "recover",
            "--sd",
            s(&sd),
            "--usb",
            s(&fx.usb),
            "-k",
            s(&stranger.cert),
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("update.swu"), "{err}");
    assert_eq!(differences(&pristine, &sd, None), Vec::<u64>::new());
    // a card smaller than the layout
    let small = fx.dir.join("small.img");
    blank(&small, 600 << 20);
    let small_pristine = fx.dir.join("small-pristine.img");
    blank(&small_pristine, 600 << 20);
    check(&fx.usb, &[], "does not fit", &small, &small_pristine);
}
