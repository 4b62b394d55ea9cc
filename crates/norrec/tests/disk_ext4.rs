//! `norrec disk format IMG:N ext4` and `norrec disk mkfs-from-dir` against e2fsprogs: what the
//! commands write is `e2fsck -fn` clean, carries the label, UUID and owners asked for, stays
//! inside its partition, and bad input fails in one line with the image (or output) untouched.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{expect_fails, fails, ok, s};
use norrec_testutil::tool;

const UUID: &str = "0b5e1f0c-213b-4c7d-8e9f-a0b1c2d3e4f5";

fn fsck_clean(img: &Path) {
    let Some(e2fsck) = tool("e2fsck") else { return };
    let out = Command::new(e2fsck).arg("-fn").arg(img).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "e2fsck -fn:\n{text}");
    assert!(
        text.lines()
            .all(|l| l.starts_with("Pass ") || l.contains(" files (")),
        "{text}"
    );
}

fn dumpe2fs_field(img: &Path, field: &str) -> String {
    let d = tool("dumpe2fs").unwrap();
    let out = Command::new(d).arg("-h").arg(img).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .map(|v| v.trim_start_matches(':').trim().to_owned())
        })
        .unwrap_or_default()
}

fn debugfs(img: &Path, cmd: &str) -> String {
    let d = tool("debugfs").unwrap();
    let out = Command::new(d)
        .arg("-R")
        .arg(cmd)
        .arg(img)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn format_partition_two_as_ext4() {
    if tool("e2fsck").is_none() || tool("dumpe2fs").is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("l.sfdisk");
    fs::write(
        &layout,
        "start=2048, size=20480, type=c\nstart=22528, type=L\n",
    )
    .unwrap();
    let img = t.path().join("sd.img");
    ok(&[
        "disk",
        "create",
        s(&img),
        "--size",
        "64M",
        "--layout",
        s(&layout),
    ]);
    // Partition 1 holds a pattern that must survive formatting partition 2.
    let mut bytes = fs::read(&img).unwrap();
    for (i, b) in bytes[2048 * 512..22528 * 512].iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    fs::write(&img, &bytes).unwrap();
    let out = ok(&[
        "--json",
        "disk",
        "format",
        &format!("{}:2", s(&img)),
        "ext4",
        "-L",
        "data",
        "-U",
        UUID,
    ]);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["uuid"], UUID);
    assert_eq!(j["label"], "data");
    assert_eq!(j["block_size"], 4096);
    let after = fs::read(&img).unwrap();
    assert!(
        after[..22528 * 512] == bytes[..22528 * 512],
        "outside partition 2 changed"
    );
    let part = t.path().join("p2.img");
    fs::write(&part, &after[22528 * 512..]).unwrap();
    fsck_clean(&part);
    assert_eq!(dumpe2fs_field(&part, "Filesystem UUID"), UUID);
    assert_eq!(dumpe2fs_field(&part, "Filesystem volume name"), "data");
    assert_eq!(
        dumpe2fs_field(&part, "Block count"),
        j["blocks"].as_u64().unwrap().to_string()
    );
    // The whole image as one file system, 1 KiB blocks, a given inode count.
    let whole = t.path().join("whole.img");
    fs::File::create(&whole).unwrap().set_len(32 << 20).unwrap();
    ok(&[
        "disk",
        "format",
        &format!("{}:0", s(&whole)),
        "ext4",
        "-b",
        "1024",
        "-N",
        "5000",
    ]);
    fsck_clean(&whole);
    assert_eq!(dumpe2fs_field(&whole, "Block size"), "1024");
    // 4 groups of 1248 inodes (filling whole inode table blocks), as mkfs.ext4 -b 1024 -N 5000.
    assert_eq!(dumpe2fs_field(&whole, "Inode count"), "4992");
}

#[test]
fn mkfs_from_dir_with_owners_and_source_date_epoch() {
    if tool("e2fsck").is_none() || tool("debugfs").is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("rootfs");
    fs::create_dir_all(src.join("etc/init.d")).unwrap();
    fs::write(src.join("etc/init.d/rcS"), "#!/bin/sh\nmount -a\n").unwrap();
    fs::write(src.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    std::os::unix::fs::symlink("/bin/busybox", src.join("init")).unwrap();
    fs::write(src.join("data.bin"), vec![0x5a; 3 << 20]).unwrap();
    let out = t.path().join("rootfs.ext4");
    let o = Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args([
            "--json",
            "disk",
            "mkfs-from-dir",
            s(&src),
            "-o",
            s(&out),
            "--size",
            "auto",
        ])
        .args(["-L", "rootfs", "--all-root", "--root-owner", "0:0"])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    let text = common::expect_ok(&[], o);
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["file_bytes"], (3 << 20) + 19 + 26);
    assert!(j["free_blocks"].as_u64().unwrap() * 10 >= j["blocks"].as_u64().unwrap());
    fsck_clean(&out);
    assert_eq!(dumpe2fs_field(&out, "Filesystem volume name"), "rootfs");
    let st = debugfs(&out, "stat /etc/passwd");
    assert!(st.contains("User:     0   Group:     0"), "{st}");
    // 1700000000 = 0x6553f100: no time stamp later than SOURCE_DATE_EPOCH.
    assert!(st.contains("crtime: 0x6553f100:00000000"), "{st}");
    assert!(st.contains("mtime: 0x6553f100:00000000"), "{st}");
    assert!(debugfs(&out, "cat /etc/init.d/rcS").contains("mount -a"));
    let back = t.path().join("data.out");
    debugfs(&out, &format!("dump /data.bin {}", s(&back)));
    assert_eq!(fs::read(&back).unwrap(), vec![0x5a; 3 << 20]);
}

#[test]
fn same_tree_uuid_and_source_date_epoch_give_the_same_bytes() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("rootfs");
    fs::create_dir_all(src.join("bin")).unwrap();
    for i in 0..50 {
        fs::write(src.join(format!("bin/tool{i}")), vec![i as u8; i * 1000]).unwrap();
    }
    let build = |out: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_norrec"))
            .args([
                "disk",
                "mkfs-from-dir",
                s(&src),
                "-o",
                s(out),
                "--size",
                "32M",
            ])
            .args(["-U", UUID])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        common::expect_ok(&[], o);
        fs::read(out).unwrap()
    };
    let a = build(&t.path().join("a.ext4"));
    let b = build(&t.path().join("b.ext4"));
    assert!(a == b, "two builds differ");
    fsck_clean(&t.path().join("a.ext4"));
}

/// Fills an image with a pattern, runs a failing command, checks it is byte-identical after.
fn untouched(t: &Path, size: usize, args: &[&str]) -> String {
    let img = t.join("x.img");
    let data: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
    fs::write(&img, &data).unwrap();
    let mut a: Vec<String> = args.iter().map(|x| x.replace("IMG", s(&img))).collect();
    a.retain(|x| !x.is_empty());
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let err = fails(&a);
    assert!(fs::read(&img).unwrap() == data, "image changed: {err}");
    err
}

#[test]
fn bad_input_fails_in_one_line_and_touches_nothing() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path();
    let e = untouched(p, 4 << 20, &["disk", "format", "IMG:0", "ext4"]);
    assert!(
        e.contains("too small for ext4: needs at least 2048 blocks"),
        "{e}"
    );
    let e = untouched(
        p,
        16 << 20,
        &["disk", "format", "IMG:0", "ext4", "-L", "a-label-of-17-byt"],
    );
    assert!(e.contains("17 bytes long, ext4 allows 16"), "{e}");
    let e = untouched(
        p,
        16 << 20,
        &["disk", "format", "IMG:0", "ext4", "-U", "not-a-uuid"],
    );
    assert!(e.contains("not a UUID"), "{e}");
    let e = untouched(
        p,
        16 << 20,
        &["disk", "format", "IMG:0", "ext4", "-b", "512"],
    );
    assert!(e.contains("--block-size 512"), "{e}");
    // A tree larger than --size: no output file, an existing one left as it was.
    let src = p.join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("big"), vec![1u8; 20 << 20]).unwrap();
    let out = p.join("out.ext4");
    let e = fails(&[
        "disk",
        "mkfs-from-dir",
        s(&src),
        "-o",
        s(&out),
        "--size",
        "16M",
    ]);
    assert!(e.contains("does not fit"), "{e}");
    assert!(!out.exists());
    fs::write(&out, b"keep").unwrap();
    let e = fails(&[
        "disk",
        "mkfs-from-dir",
        s(&src),
        "-o",
        s(&out),
        "--size",
        "16M",
    ]);
    assert!(e.contains("out.ext4"), "{e}");
    assert_eq!(fs::read(&out).unwrap(), b"keep");
    let leftovers: Vec<_> = fs::read_dir(p)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".norrec")
        })
        .collect();
    assert!(leftovers.is_empty());
    let missing = p.join("missing");
    let e = fails(&[
        "disk",
        "mkfs-from-dir",
        s(&missing),
        "-o",
        s(&out),
        "--size",
        "16M",
    ]);
    assert!(e.contains("missing"), "{e}");
    let e = fails(&[
        "disk",
        "mkfs-from-dir",
        s(&src),
        "-o",
        s(&out),
        "--size",
        "16M",
        "--root-owner",
        "x",
    ]);
    assert!(e.contains("--root-owner"), "{e}");
    let _ = expect_fails;
}
