//! `norrec usb create` and `norrec disk format|cp|ls` from the command line: the seed's USB
//! stick rootless and sparse, read back by mtools and checked by fsck.fat; the seed's SD
//! layout's p1 formatted like mkfs.vfat; one-line refusals that leave the image untouched.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};

use norrec_testutil::{run_ok, tool};

const MIB: u64 = 1 << 20;
const SEED: &str = "unit: sectors\nsector-size: 512\nstart= 4096, size= 81920, type=c, bootable\n\
start= 86016, size= 681574, type=L\nstart= 770048, size= 681574, type=L\nstart= 1454080, size= , type=L\n";

fn norrec_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .expect("run norrec")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = norrec_in(dir, args);
    assert!(
        out.status.success(),
        "norrec {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Exit code 1 and exactly one stderr line, which is returned.
fn fails(dir: &Path, args: &[&str]) -> String {
    let out = norrec_in(dir, args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "norrec {args:?} should fail: {err}"
    );
    assert_eq!(err.lines().count(), 1, "one line expected, got:\n{err}");
    err
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn fsck_partition(dir: &Path, img: &str, start: u64, size: u64) {
    let Some(fsck) = tool("fsck.fat") else { return };
    let part = dir.join("part.img");
    let data = fs::read(dir.join(img)).unwrap();
    fs::write(
        &part,
        &data[(start * 512) as usize..((start + size) * 512) as usize],
    )
    .unwrap();
    let out = run_ok(&fsck, [std::ffi::OsStr::new("-n"), part.as_os_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    for bad in [
        "differ",
        "dirty",
        "Free cluster",
        "Fix",
        "wrong",
        "Expected",
    ] {
        assert!(!text.contains(bad), "fsck.fat -n: {text}");
    }
    fs::remove_file(part).unwrap();
}

#[test]
fn usb_create_1g_with_64m_bundle_is_sparse_and_readable() {
    let Some(mcopy) = tool("mcopy") else { return };
    let Some(sfdisk) = tool("sfdisk") else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bundle = noise(64 * MIB as usize, 1);
    fs::write(d.join("update.swu"), &bundle).unwrap();
    let out = ok(
        d,
        &[
            "usb",
            "create",
            "usb.img",
            "--size",
            "1G",
            "--add",
            "update.swu",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["fat_type"], "FAT32");
    assert_eq!(v["partition_start"], 2048);
    let img = d.join("usb.img");
    let meta = fs::metadata(&img).unwrap();
    assert_eq!(meta.len(), 1 << 30);
    // Sparse: the 64 MiB file plus at most 2 MiB of metadata take space.
    let used = meta.blocks() * 512;
    assert!(used <= 66 * MIB, "usb.img takes {used} bytes on disk");
    // sfdisk sees the table ",,c" gives.
    let dump = String::from_utf8(run_ok(&sfdisk, ["-d", img.to_str().unwrap()]).stdout).unwrap();
    assert!(
        dump.contains("start=        2048, size=     2095104, type=c"),
        "{dump}"
    );
    // mtools reads the bundle back identical.
    let back = d.join("back.swu");
    run_ok(
        &mcopy,
        [
            "-i",
            &format!("{}@@1M", img.display()),
            "::/update.swu",
            back.to_str().unwrap(),
        ],
    );
    assert!(fs::read(&back).unwrap() == bundle);
    // And norrec does.
    ok(d, &["disk", "cp", "usb.img:1:/update.swu", "out.swu"]);
    assert!(fs::read(d.join("out.swu")).unwrap() == bundle);
    let ls = ok(d, &["disk", "ls", "usb.img:1"]);
    assert!(ls.contains("67108864") && ls.contains("update.swu"), "{ls}");
}

#[test]
fn seed_sd_p1_format_cp_ls_against_mtools() {
    let (Some(mdir), Some(mcopy)) = (tool("mdir"), tool("mcopy")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("layout.sfdisk"), SEED).unwrap();
    ok(
        d,
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
    let out = ok(
        d,
        &["disk", "format", "sd.img:1", "vfat", "-L", "boot", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // mkfs.vfat 4.2 on 81920 sectors: FAT16, 4 sectors per cluster, 4 reserved, 80 per FAT.
    assert_eq!(v["fat_type"], "FAT16");
    assert_eq!(v["cluster_size"], 2048);
    assert_eq!(v["reserved_sectors"], 4);
    assert_eq!(v["fat_sectors"], 80);
    assert_eq!(v["hidden_sectors"], 4096);
    // Files and a directory in; mtools reads them; mtools writes one norrec reads.
    fs::write(d.join("boot.scr"), noise(700, 2)).unwrap();
    fs::write(d.join("uboot.env"), noise(65536, 3)).unwrap();
    fs::create_dir_all(d.join("extra/dtbs")).unwrap();
    fs::write(
        d.join("extra/dtbs/sun4i-a10-cubieboard.dtb"),
        noise(30000, 4),
    )
    .unwrap();
    ok(
        d,
        &["disk", "cp", "boot.scr", "uboot.env", "extra", "sd.img:1:/"],
    );
    let at = format!("{}@@{}", d.join("sd.img").display(), 4096 * 512);
    let listing = String::from_utf8(run_ok(&mdir, ["-i", &at, "::/"]).stdout).unwrap();
    assert!(
        listing.contains("BOOT") && listing.contains("uboot") && listing.contains("extra"),
        "{listing}"
    );
    let got = d.join("got.dtb");
    run_ok(
        &mcopy,
        [
            "-i",
            &at,
            "::/extra/dtbs/sun4i-a10-cubieboard.dtb",
            got.to_str().unwrap(),
        ],
    );
    assert!(fs::read(&got).unwrap() == noise(30000, 4));
    fs::write(d.join("from-mtools.txt"), b"written by mcopy\n").unwrap();
    run_ok(
        &mcopy,
        [
            "-i",
            &at,
            d.join("from-mtools.txt").to_str().unwrap(),
            "::/extra/Written By Mtools.txt",
        ],
    );
    ok(d, &["disk", "cp", "sd.img:1:/extra", "copied"]);
    assert_eq!(
        fs::read(d.join("copied/Written By Mtools.txt")).unwrap(),
        b"written by mcopy\n"
    );
    assert!(fs::read(d.join("copied/dtbs/sun4i-a10-cubieboard.dtb")).unwrap() == noise(30000, 4));
    let ls = ok(d, &["disk", "ls", "sd.img:1:/extra", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&ls).unwrap();
    assert_eq!(v["label"], "BOOT");
    let names: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dtbs", "Written By Mtools.txt"]);
    fsck_partition(d, "sd.img", 4096, 81920);
}

#[test]
fn refusals_are_one_line_and_leave_the_image_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("layout.sfdisk"), SEED).unwrap();
    ok(
        d,
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
    fs::write(d.join("f.txt"), b"x").unwrap();
    let img = d.join("sd.img");
    let snapshot = || fs::read(&img).unwrap();

    let before = snapshot();
    // No FAT in p1 yet.
    let e = fails(d, &["disk", "cp", "f.txt", "sd.img:1:/"]);
    assert!(
        e.contains("no FAT file system") && e.contains("sd.img"),
        "{e}"
    );
    let e = fails(d, &["disk", "ls", "sd.img:2"]);
    assert!(
        e.contains("sd.img:2:/: neither FAT nor ext4: no ext4 superblock magic 0xef53 at byte 0x438, and no FAT: boot sector offset 510"),
        "{e}"
    );
    // Too small for the type asked for (mkfs.vfat -F 32 would warn and go on).
    ok(d, &["disk", "create", "tiny.img", "--size", "16M"]);
    let e = fails(d, &["disk", "format", "tiny.img:0", "vfat", "--fat", "32"]);
    assert!(e.contains("too small for FAT32"), "{e}");
    assert!(
        fs::read(d.join("tiny.img"))
            .unwrap()
            .iter()
            .all(|&b| b == 0)
    );
    let e = fails(d, &["disk", "format", "sd.img:1", "btrfs"]);
    assert!(e.contains("\"btrfs\": norrec formats vfat and ext4"), "{e}");
    let e = fails(
        d,
        &["disk", "format", "sd.img:1", "vfat", "-L", "no:colons"],
    );
    assert!(e.contains("not allowed"), "{e}");
    let e = fails(d, &["disk", "format", "sd.img:4", "vfat", "--fat", "12"]);
    assert!(e.contains("FAT12"), "{e}");
    assert!(snapshot() == before, "a refused command changed the image");

    ok(d, &["disk", "format", "sd.img:1", "vfat"]);
    let before = snapshot();
    let e = fails(d, &["disk", "cp", "f.txt", "sd.img:1:/no/such/dir/"]);
    assert!(e.contains("no such file or directory"), "{e}");
    let e = fails(d, &["disk", "cp", "missing.txt", "sd.img:1:/"]);
    assert!(e.contains("missing.txt"), "{e}");
    let e = fails(d, &["disk", "ls", "sd.img:1:/nothing-here"]);
    assert!(
        e.contains("/nothing-here: no such file or directory"),
        "{e}"
    );
    let e = fails(d, &["disk", "cp", "sd.img:1:/nothing-here", "out"]);
    assert!(e.contains("no such file"), "{e}");
    assert!(!d.join("out").exists());
    // Larger than the free space of the 40 MiB p1: refused before writing.
    fs::write(d.join("big.bin"), noise(45 * MIB as usize, 5)).unwrap();
    let e = fails(d, &["disk", "cp", "f.txt", "big.bin", "sd.img:1:/"]);
    assert!(e.contains("not enough space"), "{e}");
    let e = fails(
        d,
        &[
            "usb",
            "create",
            "small.img",
            "--size",
            "32M",
            "--add",
            "big.bin",
        ],
    );
    assert!(e.contains("the files need"), "{e}");
    assert!(!d.join("small.img").exists());
    assert!(snapshot() == before, "a refused command changed the image");
    // What was refused left no temp files either.
    let stray: Vec<_> = fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".norrec-"))
        .collect();
    assert!(stray.is_empty());
}
