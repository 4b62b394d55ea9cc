//! `norrec disk` against sfdisk: the tables norrec writes read back under `sfdisk -d` exactly
//! as sfdisk's own for the seed's scripts, `disk show` prints what `sfdisk -d`/`-J` print, and
//! bad scripts fail in one line naming the script and line without touching the image.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use norrec_testutil::{run_ok, tool};

mod common;
use common::{fails_in as fails, ok_in as ok};

const SEED: &str = "unit: sectors\nsector-size: 512\nstart= 4096, size= 81920, type=c, bootable\n\
start= 86016, size= 681574, type=L\nstart= 770048, size= 681574, type=L\nstart= 1454080, size= , type=L\n";

fn sfdisk_d(sf: &Path, dir: &Path, img: &str) -> String {
    let out = Command::new(sf)
        .args(["-d", img])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sfdisk_write(sf: &Path, img: &Path, script: &str) {
    let mut child = Command::new(sf)
        .args(["--no-reread", "--no-tell-kernel", "-q"])
        .arg(img)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

fn label_id(dump: &str) -> &str {
    dump.lines()
        .find_map(|l| l.strip_prefix("label-id: "))
        .expect("label-id line")
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().to_owned();
    std::fs::write(p.join("layout.sfdisk"), SEED).unwrap();
    std::fs::write(p.join("usb.sfdisk"), ",,c\n").unwrap();
    (dir, p)
}

#[test]
fn create_seed_layout_matches_sfdisk() {
    let Some(sf) = tool("sfdisk") else { return };
    let (_t, d) = setup();
    let shown = ok(
        &d,
        &[
            "disk",
            "create",
            "sd.img",
            "--size",
            "1G",
            "--layout",
            "layout.sfdisk",
        ],
    );
    let meta = std::fs::metadata(d.join("sd.img")).unwrap();
    assert_eq!(meta.len(), 1 << 30);
    // Sparse: sector 0 is the only data (a few 4 KiB blocks at most, not 1 GiB).
    assert!(meta.blocks() <= 64, "{} blocks allocated", meta.blocks());
    let ours = sfdisk_d(&sf, &d, "sd.img");
    assert_eq!(shown, ours, "create's own report is the sfdisk -d form");
    // sfdisk on a blank image of the same name in another directory.
    let other = d.join("ref");
    std::fs::create_dir(&other).unwrap();
    std::fs::File::create(other.join("sd.img"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    sfdisk_write(&sf, &other.join("sd.img"), SEED);
    let theirs = sfdisk_d(&sf, &other, "sd.img");
    assert_eq!(
        ours.replace(label_id(&ours), "X"),
        theirs.replace(label_id(&theirs), "X")
    );
    assert!(ours.contains("sd.img4 : start=     1454080, size=      643072, type=83\n"));
    assert_eq!(ok(&d, &["disk", "show", "sd.img"]), ours);
}

#[test]
fn usb_stick_and_label_id_are_byte_identical() {
    let Some(sf) = tool("sfdisk") else { return };
    let (_t, d) = setup();
    let script = "label: dos\nlabel-id: 0x7a3c0001\n,,c\n";
    std::fs::write(d.join("fixed.sfdisk"), script).unwrap();
    ok(&d, &["disk", "create", "usb.img", "--size", "1G"]);
    ok(&d, &["disk", "partition", "usb.img", "fixed.sfdisk"]);
    std::fs::File::create(d.join("ref.img"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    sfdisk_write(&sf, &d.join("ref.img"), script);
    let head = |name: &str| {
        let mut f = std::fs::File::open(d.join(name)).unwrap();
        let mut b = vec![0u8; 1 << 20];
        std::io::Read::read_exact(&mut f, &mut b).unwrap();
        b
    };
    assert_eq!(head("usb.img"), head("ref.img"));
    // Without label-id: a random identifier each time, as sfdisk does.
    ok(&d, &["disk", "partition", "usb.img", "usb.sfdisk"]);
    let a = sfdisk_d(&sf, &d, "usb.img");
    ok(&d, &["disk", "partition", "usb.img", "usb.sfdisk"]);
    let b = sfdisk_d(&sf, &d, "usb.img");
    assert_ne!(label_id(&a), label_id(&b));
    assert!(a.contains("usb.img1 : start=        2048, size=     2095104, type=c\n"));
}

#[test]
fn show_reads_sfdisk_tables_and_json_matches_sfdisk_j() {
    let Some(sf) = tool("sfdisk") else { return };
    let (_t, d) = setup();
    for (size, script) in [
        (1u64 << 30, SEED),
        (1 << 30, ",40M,c,*\n,100M\n,,S\n"),
        (4 << 20, ",,c\n"),
    ] {
        std::fs::File::create(d.join("disk0"))
            .unwrap()
            .set_len(size)
            .unwrap();
        sfdisk_write(&sf, &d.join("disk0"), script);
        assert_eq!(
            ok(&d, &["disk", "show", "disk0"]),
            sfdisk_d(&sf, &d, "disk0"),
            "{script:?}"
        );
        let out = run_ok(&sf, ["-J", d.join("disk0").to_str().unwrap()]);
        let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let ours: serde_json::Value = serde_json::from_str(&ok(
            &d,
            &["disk", "show", d.join("disk0").to_str().unwrap(), "--json"],
        ))
        .unwrap();
        assert_eq!(ours, theirs, "{script:?}");
    }
}

#[test]
fn bad_scripts_fail_in_one_line_and_touch_nothing() {
    let (_t, d) = setup();
    ok(
        &d,
        &[
            "disk",
            "create",
            "sd.img",
            "--size",
            "1G",
            "--layout",
            "layout.sfdisk",
        ],
    );
    let head = || {
        let mut b = vec![0u8; 1 << 20];
        let mut f = std::fs::File::open(d.join("sd.img")).unwrap();
        std::io::Read::read_exact(&mut f, &mut b).unwrap();
        b
    };
    let before = head();
    for (script, needle) in [
        (
            "start=2048,size=100\nstart=2100,size=100\n",
            "bad.sfdisk: line 2: partition 2: start sector 2100 out of range",
        ),
        ("# x\nfoo=3\n", "bad.sfdisk: line 2: unknown field 'foo=3'"),
        (
            "start=3000000,size=100\n",
            "bad.sfdisk: line 1: partition 1: start sector 3000000 out of range",
        ),
        (
            ",10\n,10\n,10\n,10\n,10\n",
            "bad.sfdisk: line 5: more than 4 partitions",
        ),
        (
            "size=10, type=E\n",
            "bad.sfdisk: line 1: partition 1: type 5 is an extended partition",
        ),
        (
            "start=4096,size=2097152\n",
            "bad.sfdisk: line 1: partition 1: 2097152 sectors from sector 4096 do not fit",
        ),
    ] {
        std::fs::write(d.join("bad.sfdisk"), script).unwrap();
        let err = fails(&d, &["disk", "partition", "sd.img", "bad.sfdisk"]);
        assert!(err.contains(needle), "{script:?}: {err}");
        assert!(head() == before, "image changed by {script:?}");
        // create checks the layout before the file exists: nothing appears.
        let err = fails(
            &d,
            &[
                "disk",
                "create",
                "new.img",
                "--size",
                "1G",
                "--layout",
                "bad.sfdisk",
            ],
        );
        assert!(err.contains(needle), "{err}");
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".norrec") || n == "new.img")
            .collect();
        assert!(names.is_empty(), "left behind: {names:?}");
    }
    let err = fails(&d, &["disk", "create", "x.img", "--size", "1000"]);
    assert!(err.contains("512-byte sectors"), "{err}");
    std::fs::write(d.join("blank.img"), vec![0u8; 4096]).unwrap();
    let err = fails(&d, &["disk", "show", "blank.img"]);
    assert!(err.contains("blank.img: MBR: no partition table"), "{err}");
}

#[test]
fn board_layout_is_the_default() {
    let Some(sf) = tool("sfdisk") else { return };
    let (_t, d) = setup();
    ok(
        &d,
        &["disk", "create", "a.img", "--size", "1G", "--board-layout"],
    );
    ok(&d, &["disk", "create", "b.img", "--size", "1G"]);
    ok(&d, &["disk", "partition", "b.img"]);
    ok(
        &d,
        &[
            "disk",
            "create",
            "c.img",
            "--size",
            "1G",
            "--layout",
            "layout.sfdisk",
        ],
    );
    let strip = |img: &str| {
        let s = sfdisk_d(&sf, &d, img);
        s.replace(label_id(&s), "X").replace(img, "IMG")
    };
    assert_eq!(strip("a.img"), strip("c.img"));
    assert_eq!(strip("b.img"), strip("c.img"));
}

#[test]
fn gpt_disks_are_refused_unless_the_script_says_dos() {
    let Some(sf) = tool("sfdisk") else { return };
    let (_t, d) = setup();
    ok(&d, &["disk", "create", "g.img", "--size", "64M"]);
    sfdisk_write(&sf, &d.join("g.img"), "label: gpt\n,10M\n");
    let err = fails(&d, &["disk", "show", "g.img"]);
    assert!(
        err.contains("g.img: MBR: entry 1 (byte 446) is a GPT protective"),
        "{err}"
    );
    let err = fails(&d, &["disk", "partition", "g.img", "usb.sfdisk"]);
    assert!(err.contains("g.img: MBR: the disk holds a GPT"), "{err}");
    std::fs::write(d.join("dos.sfdisk"), "label: dos\n,,c\n").unwrap();
    ok(&d, &["disk", "partition", "g.img", "dos.sfdisk"]);
    let dump = sfdisk_d(&sf, &d, "g.img");
    assert!(dump.contains("label: dos\n"), "{dump}");
    assert!(dump.contains("g.img1 : start=        2048, size=      129024, type=c\n"));
}

/// `disk write --spl`: Debian's SPL lands at the board's 8 KiB, checked before writing; a broken
/// SPL, sector 0, a partition and the end of the disk are refused with the image unchanged.
#[test]
fn disk_write_puts_the_spl_at_8k_and_refuses_what_dd_would_not() {
    let Some(assets) = norrec_testutil::board_assets() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    ok(
        d,
        &["disk", "create", "sd.img", "--size", "1G", "--board-layout"],
    );
    let spl = std::fs::read(&assets.uboot_spl_bin).unwrap();
    std::fs::write(d.join("spl.bin"), &spl).unwrap();
    ok(d, &["disk", "write", "sd.img", "spl.bin", "--spl"]);
    let img = head(&d.join("sd.img"));
    assert!(img[8192..8192 + spl.len()] == spl[..], "SPL at 8 KiB");

    let mut bad = spl.clone();
    bad[0x100] ^= 1;
    std::fs::write(d.join("bad.bin"), &bad).unwrap();
    let e = fails(d, &["disk", "write", "sd.img", "bad.bin", "--spl"]);
    assert!(e.contains("bad.bin") && e.contains("check_sum"), "{e}");
    std::fs::write(d.join("blob.bin"), vec![0x5a; 2 << 20]).unwrap();
    let e = fails(
        d,
        &["disk", "write", "sd.img", "blob.bin", "--offset", "1M"],
    );
    assert!(e.contains("overlaps partition 1"), "{e}");
    let e = fails(d, &["disk", "write", "sd.img", "spl.bin", "--offset", "0"]);
    assert!(e.contains("sector 0"), "{e}");
    let e = fails(
        d,
        &[
            "disk", "write", "sd.img", "blob.bin", "--offset", "1023M", "--force",
        ],
    );
    assert!(e.contains("runs past the end"), "{e}");
    assert!(
        head(&d.join("sd.img")) == img,
        "refusals leave the image unchanged"
    );
}

/// `disk write IMG:N FILE`: the seed's `dd if=rootfs.ext4 of=/dev/mmcblk0p2`, streamed: the bytes
/// land at the partition's start, a zero MiB stays a hole, a file larger than the partition is
/// refused with the image unchanged.
#[test]
fn disk_write_into_a_partition_streams_and_keeps_holes() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    ok(
        d,
        &["disk", "create", "sd.img", "--size", "1G", "--board-layout"],
    );
    // 1 MiB of 0xa5, 1 MiB of zeros, 1 MiB + 17 bytes of 0x3c
    let mut data = vec![0xa5u8; 1 << 20];
    data.resize(2 << 20, 0);
    data.resize((3 << 20) + 17, 0x3c);
    std::fs::write(d.join("rootfs.img"), &data).unwrap();
    let du = |p: &Path| std::fs::metadata(p).unwrap().blocks() * 512;
    let before = du(&d.join("sd.img"));
    let out = ok(d, &["disk", "write", "sd.img:2", "rootfs.img", "--json"]);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["partition"], 2);
    assert_eq!(j["length"], data.len() as u64);
    let img = std::fs::read(d.join("sd.img")).unwrap();
    let sector0: [u8; 512] = img[..512].try_into().unwrap();
    let table = norrec_disk::mbr::read::Mbr::parse(&sector0)
        .unwrap()
        .table()
        .unwrap();
    let (_, p2) = table.partitions().find(|(n, _)| *n == 2).unwrap();
    let at = (p2.start * 512) as usize;
    assert!(img[at..at + data.len()] == data[..], "p2 holds the file");
    let grown = du(&d.join("sd.img")) - before;
    assert!(
        grown < (2 << 20) + 65536,
        "the zero MiB stays a hole: image grew by {grown} bytes"
    );

    // larger than p1 (40 MiB): refused before anything is written
    let big = d.join("big.img");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(41 << 20)
        .unwrap();
    let e = fails(d, &["disk", "write", "sd.img:1", "big.img"]);
    assert!(
        e.contains("sd.img:1") && e.contains("runs past the end of the 0x2800000-byte partition"),
        "{e}"
    );
    assert!(
        std::fs::read(d.join("sd.img")).unwrap() == img,
        "image unchanged"
    );
}

/// The first 4 MiB of an image (the SPL area and the start of p1), where the writes go.
fn head(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut v = Vec::new();
    std::fs::File::open(path)
        .unwrap()
        .take(4 << 20)
        .read_to_end(&mut v)
        .unwrap();
    v
}
