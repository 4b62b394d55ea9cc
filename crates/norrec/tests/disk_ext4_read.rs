//! `norrec disk ls` and `norrec disk cp IMG:N:/path DEST` on ext4 partitions: listings agree
//! with `debugfs -R 'ls -l'` on images mke2fs made (inside an MBR partition sfdisk made),
//! trees copy out identical (contents, modes, times, symlinks, owners as root), copies replace
//! files whole, and bad input fails in one line leaving nothing behind. The image norrec's own
//! `mkfs-from-dir` builds reads back the same way.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{fails, ok, s};
use norrec_testutil::{run_ok, tool};

/// The source tree: nested directories, a 3 MiB file, 2,000 small files, fast and slow
/// symlinks, set-id and sticky modes, owners (as root), old and far-future times.
fn make_tree(r: &Path) {
    fs::create_dir_all(r.join("d1/d2/d3")).unwrap();
    let big: Vec<u8> = (0..3u32 << 20).map(|i| (i * 7 + i / 4093) as u8).collect();
    fs::write(r.join("d1/big"), &big).unwrap();
    fs::write(r.join("d1/d2/d3/leaf"), b"deep\n").unwrap();
    fs::write(r.join("empty"), b"").unwrap();
    // 8 MiB with 64 KiB of data at 4 MiB: holes before and after.
    let holes = fs::File::create(r.join("holes")).unwrap();
    holes.set_len(8 << 20).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&holes, &[0x5a; 65536], 4 << 20).unwrap();
    fs::create_dir(r.join("many")).unwrap();
    for i in 0..2000 {
        fs::write(r.join(format!("many/m{i:04}")), format!("{i}")).unwrap();
    }
    std::os::unix::fs::symlink("d1/d2/d3/leaf", r.join("fast")).unwrap();
    let long = format!("/{}", "x/".repeat(60));
    std::os::unix::fs::symlink(&long, r.join("slow")).unwrap();
    fs::write(r.join("suid"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(r.join("suid"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(r.join("secret"), b"s").unwrap();
    fs::set_permissions(r.join("secret"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::create_dir(r.join("tmp")).unwrap();
    fs::set_permissions(r.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(r.join("empty"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    if fs::metadata(r).unwrap().uid() == 0 {
        fs::write(r.join("owned"), b"o").unwrap();
        std::os::unix::fs::chown(r.join("owned"), Some(1234), Some(100_000)).unwrap();
        std::os::unix::fs::lchown(r.join("fast"), Some(7), Some(8)).unwrap();
    }
    // Directory times last: making entries changes them.
    fs::File::open(r.join("d1/d2"))
        .unwrap()
        .set_modified(old)
        .unwrap();
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    src: PathBuf,
    /// The ext4 alone (as mke2fs wrote it), for debugfs.
    fs_img: PathBuf,
    /// A disk: partition 1 unformatted, partition 2 the ext4.
    disk: PathBuf,
}

/// Partition 2 starts at sector 22528 (11 MiB).
const P2: u64 = 22528 * 512;

fn fixture() -> Option<Fixture> {
    let (mke2fs, sfdisk) = (tool("mke2fs")?, tool("sfdisk")?);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let src = root.join("src");
    fs::create_dir(&src).unwrap();
    make_tree(&src);
    let fs_img = root.join("fs.img");
    fs::File::create(&fs_img)
        .unwrap()
        .set_len(40 << 20)
        .unwrap();
    run_ok(
        &mke2fs,
        [
            "-F",
            "-q",
            "-t",
            "ext4",
            "-L",
            "rootfs",
            "-d",
            s(&src),
            s(&fs_img),
        ],
    );
    let disk = root.join("disk.img");
    fs::File::create(&disk).unwrap().set_len(52 << 20).unwrap();
    let script = root.join("layout");
    fs::write(
        &script,
        "label: dos\nstart=2048, size=20480, type=c\nstart=22528, size=81920, type=83\n",
    )
    .unwrap();
    run_ok(
        Path::new("sh"),
        [
            "-c",
            &format!("{} -q {} < {}", s(&sfdisk), s(&disk), s(&script)),
        ],
    );
    let data = fs::read(&fs_img).unwrap();
    {
        use std::os::unix::fs::FileExt;
        let f = fs::File::options().write(true).open(&disk).unwrap();
        f.write_all_at(&data, P2).unwrap();
    }
    Some(Fixture {
        _dir: dir,
        root,
        src,
        fs_img,
        disk,
    })
}

/// `debugfs -R 'ls -l DIR'`: name → (mode with type bits, uid, gid, size).
fn debugfs_ls(img: &Path, dir: &str) -> BTreeMap<String, (u32, u32, u32, u64)> {
    let debugfs = tool("debugfs").unwrap();
    let out = run_ok(&debugfs, ["-R", &format!("ls -l {dir}"), s(img)]);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            // "     12   40755 (2)      0      0    1024 25-Nov-2026 07:34 name"
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 9 || f[0] == "0" || f[8] == "." || f[8] == ".." {
                return None;
            }
            Some((
                f[8..].join(" "),
                (
                    u32::from_str_radix(f[1], 8).unwrap(),
                    f[3].parse().unwrap(),
                    f[4].parse().unwrap(),
                    f[5].parse().unwrap(),
                ),
            ))
        })
        .collect()
}

fn type_bits(kind: &str) -> u32 {
    match kind {
        "dir" => 0o040000,
        "file" => 0o100000,
        "symlink" => 0o120000,
        k => panic!("kind {k}"),
    }
}

#[test]
fn ls_agrees_with_debugfs() {
    let Some(f) = fixture() else { return };
    for dir in ["/", "/d1", "/d1/d2/d3", "/many"] {
        let target = format!("{}:2:{dir}", s(&f.disk));
        let json: serde_json::Value =
            serde_json::from_str(&ok(&["--json", "disk", "ls", &target])).unwrap();
        assert_eq!(json["label"], "rootfs");
        let got: BTreeMap<String, (u32, u32, u32, u64)> = json["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let mode = e["mode"].as_u64().unwrap() as u32;
                (
                    e["name"].as_str().unwrap().to_string(),
                    (
                        type_bits(e["kind"].as_str().unwrap()) | mode,
                        e["uid"].as_u64().unwrap() as u32,
                        e["gid"].as_u64().unwrap() as u32,
                        e["size"].as_u64().unwrap(),
                    ),
                )
            })
            .collect();
        assert_eq!(got, debugfs_ls(&f.fs_img, dir), "ls {dir}");
    }
    // Text: ls -l lines, sorted, symlinks with their targets.
    let text = ok(&["disk", "ls", &format!("{}:2", s(&f.disk))]);
    let lines: Vec<&str> = text.lines().collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().nth(7).unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let line = |name: &str| {
        *lines
            .iter()
            .find(|l| l.split_whitespace().nth(7) == Some(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{text}"))
    };
    assert!(
        line("suid").starts_with("-rwsr-xr-x 1 "),
        "{}",
        line("suid")
    );
    assert!(line("tmp").starts_with("drwxrwxrwt "), "{}", line("tmp"));
    assert!(
        line("secret").starts_with("-rw------- "),
        "{}",
        line("secret")
    );
    assert!(
        line("fast").ends_with(" fast -> d1/d2/d3/leaf"),
        "{}",
        line("fast")
    );
    let empty: Vec<&str> = line("empty").split_whitespace().collect();
    assert_eq!(&empty[4..7], ["0", "2001-09-09", "01:46"]);
    // A file path lists that one file.
    let one = ok(&["disk", "ls", &format!("{}:2:/d1/big", s(&f.disk))]);
    assert_eq!(one.lines().count(), 1);
    assert!(one.contains(&format!(" {} ", 3u32 << 20)), "{one}");
}

/// Recursively compares a copied-out tree with the source.
fn same_tree(src: &Path, out: &Path, root: bool, ns: bool) {
    let names = |p: &Path| {
        let mut v: Vec<String> = fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| !(root && n == "lost+found"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(src), names(out), "{}", out.display());
    for n in names(src) {
        let (a, b) = (src.join(&n), out.join(&n));
        let (ma, mb) = (
            fs::symlink_metadata(&a).unwrap(),
            fs::symlink_metadata(&b).unwrap(),
        );
        assert_eq!(ma.mode(), mb.mode(), "{} mode", b.display());
        assert_eq!(
            (ma.uid(), ma.gid()),
            (mb.uid(), mb.gid()),
            "{} owner",
            b.display()
        );
        if ma.file_type().is_symlink() {
            assert_eq!(fs::read_link(&a).unwrap(), fs::read_link(&b).unwrap());
            continue;
        }
        assert_eq!(ma.mtime(), mb.mtime(), "{} mtime", b.display());
        if ns {
            assert_eq!(ma.mtime_nsec(), mb.mtime_nsec(), "{} mtime ns", b.display());
        }
        if ma.is_dir() {
            same_tree(&a, &b, false, ns);
        } else {
            assert!(
                fs::read(&a).unwrap() == fs::read(&b).unwrap(),
                "{}",
                b.display()
            );
        }
    }
}

/// The bytes of every regular file under `p`.
fn file_bytes(p: &Path) -> u64 {
    fs::read_dir(p)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                file_bytes(&e.path())
            } else if m.is_file() {
                m.len()
            } else {
                0
            }
        })
        .sum()
}

fn no_temp_files(dir: &Path) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        assert!(!name.starts_with(".norrec-"), "left behind: {name}");
        if e.file_type().unwrap().is_dir() {
            no_temp_files(&e.path());
        }
    }
}

#[test]
fn cp_copies_trees_and_files_out() {
    let Some(f) = fixture() else { return };
    let out = f.root.join("out");
    fs::create_dir(&out).unwrap();
    // The whole file system into a new directory.
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "--json",
        "disk",
        "cp",
        &format!("{}:2:/", s(&f.disk)),
        s(&out.join("all")),
    ]))
    .unwrap();
    assert_eq!(json["bytes"], file_bytes(&f.src));
    assert_eq!(json["symlinks"], 2);
    same_tree(&f.src, &out.join("all"), true, false);
    // The holes stay holes in the copy (64 KiB of data, not 8 MiB).
    let holes = fs::metadata(out.join("all/holes")).unwrap();
    assert_eq!(holes.len(), 8 << 20);
    assert!(holes.blocks() * 512 < 1 << 20, "{} blocks", holes.blocks());
    // A directory into an existing directory: it goes inside under its own name.
    ok(&["disk", "cp", &format!("{}:2:/d1/d2", s(&f.disk)), s(&out)]);
    same_tree(&f.src.join("d1/d2"), &out.join("d2"), false, false);
    // A file to a new name, then over an existing file (replaced whole, like cp).
    let leaf = format!("{}:2:/d1/d2/d3/leaf", s(&f.disk));
    ok(&["disk", "cp", &leaf, s(&out.join("copy"))]);
    assert_eq!(fs::read(out.join("copy")).unwrap(), b"deep\n");
    fs::write(out.join("copy"), vec![b'z'; 100_000]).unwrap();
    ok(&["disk", "cp", &leaf, s(&out.join("copy"))]);
    assert_eq!(fs::read(out.join("copy")).unwrap(), b"deep\n");
    // A symlink is copied as a symlink (and replaces a file in its way).
    ok(&[
        "disk",
        "cp",
        &format!("{}:2:/slow", s(&f.disk)),
        s(&out.join("copy")),
    ]);
    assert_eq!(
        fs::read_link(out.join("copy")).unwrap(),
        fs::read_link(f.src.join("slow")).unwrap()
    );
    // A directory is not copied over a file.
    let err = fails(&[
        "disk",
        "cp",
        &format!("{}:2:/d1", s(&f.disk)),
        s(&out.join("all/empty")),
    ]);
    assert!(err.contains("exists and is not a directory"), "{err}");
    no_temp_files(&out);
}

#[test]
fn bad_input_fails_in_one_line_leaving_nothing() {
    let Some(f) = fixture() else { return };
    let out = f.root.join("out");
    fs::create_dir(&out).unwrap();
    let p2 = format!("{}:2", s(&f.disk));
    let err = fails(&["disk", "ls", &format!("{p2}:/d1/nothere")]);
    assert!(
        err.contains(&format!("{p2}: /d1/nothere: no such file or directory")),
        "{err}"
    );
    let err = fails(&["disk", "cp", &format!("{p2}:/nothere"), s(&out.join("x"))]);
    assert!(err.contains("no such file or directory"), "{err}");
    let err = fails(&["disk", "ls", &format!("{p2}:/d1/big/x")]);
    assert!(err.contains("not a directory"), "{err}");
    // Into a directory that does not exist: nothing is made.
    let err = fails(&[
        "disk",
        "cp",
        &format!("{p2}:/d1/big"),
        s(&out.join("no/such/dir/big")),
    ]);
    assert!(err.contains("no/such/dir"), "{err}");
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
    // Partition 1 holds no file system: one line naming it.
    let err = fails(&["disk", "ls", &format!("{}:1", s(&f.disk))]);
    assert!(err.contains(&format!("{}:1", s(&f.disk))), "{err}");

    // A damaged superblock (s_log_block_size 9 at 1024 + 0x18): named, nothing read.
    let bad = f.root.join("bad.img");
    let mut d = fs::read(&f.disk).unwrap();
    d[(P2 + 1024 + 0x18) as usize] = 9;
    fs::write(&bad, &d).unwrap();
    let err = fails(&["disk", "ls", &format!("{}:2", s(&bad))]);
    assert!(
        err.contains(&format!(
            "{}:2: ext4 at byte 0x418: superblock: s_log_block_size 9",
            s(&bad)
        )),
        "{err}"
    );
    // The root directory's extent header zeroed: the byte offset is named, no panic.
    let debugfs = tool("debugfs").unwrap();
    let imap =
        String::from_utf8(run_ok(&debugfs, ["-R", "imap <2>", s(&f.fs_img)]).stdout).unwrap();
    // "Inode 2 is part of block group 0\n\tlocated at block 1234, offset 0x0080"
    let block: u64 = imap
        .split("located at block ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let off = u64::from_str_radix(imap.split("offset 0x").nth(1).unwrap().trim(), 16).unwrap();
    let mut d = fs::read(&f.disk).unwrap();
    let at = block * 1024 + off + 0x28; // 40 MiB: 1 KiB blocks
    d[(P2 + at) as usize..(P2 + at) as usize + 2].fill(0);
    fs::write(&bad, &d).unwrap();
    let err = fails(&["disk", "ls", &format!("{}:2:/d1", s(&bad))]);
    assert!(
        err.contains(&format!(
            "ext4 at byte {at:#x}: inode 2: extent header magic 0x0000"
        )),
        "{err}"
    );
    let err = fails(&["disk", "cp", &format!("{}:2:/", s(&bad)), s(&out.join("t"))]);
    assert!(err.contains("extent header magic"), "{err}");
    // needs_recovery (s_feature_incompat 0x4 at 1024 + 0x60): read anyway, with a warning.
    let mut d = fs::read(&f.disk).unwrap();
    d[(P2 + 1024 + 0x60) as usize] |= 0x4;
    fs::write(&bad, &d).unwrap();
    let run = common::norrec(&["disk", "ls", &format!("{}:2:/d1", s(&bad))]);
    assert!(run.status.success());
    let err = String::from_utf8(run.stderr).unwrap();
    assert!(err.contains("the journal needs recovery"), "{err}");
    assert!(String::from_utf8(run.stdout).unwrap().contains(" big\n"));
    // A truncated image: the file system no longer fits.
    let short = f.root.join("short.img");
    fs::write(&short, &fs::read(&f.fs_img).unwrap()[..20 << 20]).unwrap();
    let err = fails(&["disk", "ls", &format!("{}:0", s(&short))]);
    assert!(err.contains("s_blocks_count"), "{err}");
    no_temp_files(&out);
}

/// norrec's own `mkfs-from-dir` image, listed and copied out by norrec: times keep their
/// nanoseconds.
#[test]
fn mkfs_from_dir_image_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    make_tree(&src);
    run_ok(Path::new("mkfifo"), [s(&src.join("pipe"))]);
    fs::hard_link(src.join("d1/big"), src.join("d1/big2")).unwrap();
    // A device node (root only): listed with its numbers, like ls -l.
    let root_user = fs::metadata(&src).unwrap().uid() == 0;
    if root_user {
        run_ok(Path::new("mknod"), [s(&src.join("d1/null")), "c", "1", "3"]);
    }
    let img = dir.path().join("rt.img");
    ok(&[
        "disk",
        "mkfs-from-dir",
        s(&src),
        "-o",
        s(&img),
        "--size",
        "64M",
    ]);
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "--json",
        "disk",
        "ls",
        &format!("{}:0:/d1", s(&img)),
    ]))
    .unwrap();
    let names: Vec<&str> = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    if root_user {
        assert_eq!(names, ["big", "big2", "d2", "null"]);
        assert_eq!(json["entries"][3]["rdev"], "1,3");
        assert_eq!(json["entries"][3]["kind"], "char");
        let text = ok(&["disk", "ls", &format!("{}:0:/d1", s(&img))]);
        let null = text.lines().find(|l| l.ends_with(" null")).unwrap();
        let f: Vec<&str> = null.split_whitespace().collect();
        assert_eq!(f[..6], ["crw-r--r--", "1", "0", "0", "1,", "3"], "{null}");
        // Out of the source for the tree comparison, with d1's time put back.
        let t = fs::metadata(src.join("d1")).unwrap().modified().unwrap();
        fs::remove_file(src.join("d1/null")).unwrap();
        fs::File::open(src.join("d1"))
            .unwrap()
            .set_modified(t)
            .unwrap();
    } else {
        assert_eq!(names, ["big", "big2", "d2"]);
    }
    assert_eq!(json["entries"][0]["links"], 2);
    let root: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "disk", "ls", &format!("{}:0", s(&img))])).unwrap();
    let pipe = root["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "pipe")
        .unwrap();
    assert_eq!(pipe["kind"], "fifo");
    let text = ok(&["disk", "ls", &format!("{}:0", s(&img))]);
    assert!(
        text.lines()
            .any(|l| l.starts_with("prw-r--r-- ") && l.ends_with(" pipe")),
        "{text}"
    );
    // cp -a would make the FIFO; norrec leaves it out and says so.
    let out = dir.path().join("out");
    let args = ["disk", "cp", &format!("{}:0:/", s(&img)), s(&out)];
    let run = common::norrec(&args);
    assert!(run.status.success());
    let err = String::from_utf8(run.stderr).unwrap();
    let skipped = 1 + usize::from(root_user);
    assert!(
        err.contains(&format!(
            "{skipped} device nodes, FIFOs or sockets not copied"
        )),
        "{err}"
    );
    fs::remove_file(src.join("pipe")).unwrap();
    same_tree(&src, &out, true, true);
    // The hard link stays one: both names are the same copied inode.
    let (a, b) = (
        fs::metadata(out.join("d1/big")).unwrap(),
        fs::metadata(out.join("d1/big2")).unwrap(),
    );
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 2));
    no_temp_files(&out);
}
