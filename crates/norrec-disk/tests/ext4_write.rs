//! The ext4 writer against e2fsprogs: `e2fsck -fn` is clean on every file system norrec makes
//! (empty at several sizes and block sizes, and populated from a tree), `dumpe2fs -h` shows
//! the same geometry as `mkfs.ext4` for the same size, `debugfs` lists and dumps the files back
//! identical with their modes, owners, sizes and times, and bad input fails before a write.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use norrec_disk::ImageFile;
use norrec_disk::ext4::write::{self, Options, Params, Time};
use norrec_testutil::tool;

const UUID: [u8; 16] = [
    0x5e, 0x1f, 0x0c, 0x6a, 0x21, 0x3b, 0x4c, 0x7d, 0x8e, 0x9f, 0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5,
];

fn opts(block_size: u32) -> Options {
    let mut o = Options::new(
        UUID,
        [7; 16],
        Time {
            sec: 1_700_000_000,
            nsec: 0,
        },
    );
    o.params = Params {
        block_size,
        ..Params::default()
    };
    o.zeroed = true;
    o
}

fn image(dir: &Path, name: &str, size: u64) -> PathBuf {
    let p = dir.join(name);
    let f = fs::File::create(&p).unwrap();
    f.set_len(size).unwrap();
    p
}

/// `e2fsck -fn` exits 0 and prints nothing but its pass lines and the summary.
fn fsck_clean(e2fsck: &Path, img: &Path) -> String {
    let out = Command::new(e2fsck).arg("-fn").arg(img).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let odd: Vec<&str> = text
        .lines()
        .filter(|l| {
            !(l.starts_with("Pass ")
                || l.starts_with("e2fsck ")
                || l.contains(" files (")
                || l.trim().is_empty())
        })
        .collect();
    assert!(
        out.status.success() && odd.is_empty(),
        "e2fsck -fn {} ({}):\n{text}",
        img.display(),
        out.status
    );
    text
}

/// `dumpe2fs -h` as field → value.
fn dumpe2fs(img: &Path) -> BTreeMap<String, String> {
    let d = tool("dumpe2fs").unwrap();
    let out = Command::new(d).arg("-h").arg(img).output().unwrap();
    assert!(out.status.success(), "dumpe2fs {}", img.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Fields that depend only on the size and the options, not on time, UUID or placement.
const SAME: &[&str] = &[
    "Filesystem features",
    "Filesystem flags",
    "Default mount options",
    "Inode count",
    "Block count",
    "Reserved block count",
    "Overhead clusters",
    "Free blocks",
    "Free inodes",
    "First block",
    "Block size",
    "Reserved GDT blocks",
    "Blocks per group",
    "Inodes per group",
    "Inode blocks per group",
    "Flex block group size",
    "Inode size",
    "Required extra isize",
    "Desired extra isize",
    "Journal inode",
    "Default directory hash",
    "Journal backup",
    "Checksum type",
    "Journal features",
    "Total journal size",
    "Total journal blocks",
    "Journal start",
    "Filesystem state",
    "Errors behavior",
    "Maximum mount count",
];

fn format_and_compare(size: u64, block_size: u32) {
    format_and_compare_e(size, block_size, "lazy_itable_init");
}

fn format_and_compare_e(size: u64, block_size: u32, ext: &str) {
    let (Some(e2fsck), Some(mkfs), Some(_)) = (tool("e2fsck"), tool("mkfs.ext4"), tool("dumpe2fs"))
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let ours = image(tmp.path(), "ours.img", size);
    let mut dev = ImageFile::open(&ours).unwrap();
    let s = write::format(&mut dev, &opts(block_size)).unwrap();
    drop(dev);
    compare_with_mkfs(&e2fsck, &mkfs, tmp.path(), &ours, &s, block_size, ext);
}

/// `ours` (formatted by norrec, summary `s`) is clean for e2fsck, its `dumpe2fs -h` equals
/// mkfs.ext4's at the same size and block size in every field of [`SAME`], and it stays sparse.
fn compare_with_mkfs(
    e2fsck: &Path,
    mkfs: &Path,
    tmp: &Path,
    ours: &Path,
    s: &write::Summary,
    block_size: u32,
    ext: &str,
) {
    let size = fs::metadata(ours).unwrap().len();
    fsck_clean(e2fsck, ours);
    let theirs = image(tmp, "theirs.img", size);
    norrec_testutil::run_ok(
        mkfs,
        [
            "-q",
            "-F",
            "-E",
            ext,
            "-b",
            &block_size.to_string(),
            theirs.to_str().unwrap(),
        ],
    );
    let (a, b) = (dumpe2fs(ours), dumpe2fs(&theirs));
    for k in SAME {
        assert_eq!(a.get(*k), b.get(*k), "{size} bytes, {block_size}: {k}");
    }
    assert_eq!(a["Filesystem UUID"], "5e1f0c6a-213b-4c7d-8e9f-a0b1c2d3e4f5");
    assert_eq!(s.free_blocks.to_string(), a["Free blocks"]);
    // Only metadata is written: the image stays sparse. What may be allocated: the primary
    // reserved GDT blocks, descriptors and superblocks with their backups, two bitmaps per
    // group, a few inode table, directory and journal blocks.
    let g = &s.geometry;
    let backups = (0..g.groups).filter(|&x| g.has_super(x)).count() as u64;
    let meta = u64::from(g.reserved_gdt)
        + backups * (1 + u64::from(g.desc_blocks))
        + 2 * u64::from(g.groups)
        + 32;
    let du = fs::metadata(ours).unwrap().blocks() * 512;
    assert!(
        du <= meta * u64::from(block_size) + (64 << 10),
        "{du} bytes allocated for {meta} metadata blocks"
    );
}

#[test]
fn empty_16m_4k() {
    format_and_compare(16 << 20, 4096);
}

#[test]
fn empty_300m_4k() {
    format_and_compare(300 << 20, 4096);
}

#[test]
fn empty_1g_4k() {
    format_and_compare(1 << 30, 4096);
}

#[test]
fn empty_3g_4k() {
    format_and_compare(3 << 30, 4096);
}

#[test]
fn empty_odd_size_drops_a_small_last_group() {
    // 1 GiB + 100 KiB: the 25-block remainder is too small for a group, as in mke2fs.
    format_and_compare((1 << 30) + 100 * 1024, 4096);
}

#[test]
fn empty_200g_4k_journal_with_an_extent_leaf() {
    // 1 GiB of journal in 8 extents: the journal inode needs a depth-1 extent tree.
    // (mkfs.ext4 would zero that gigabyte without lazy_journal_init.)
    format_and_compare_e(200 << 30, 4096, "lazy_itable_init,lazy_journal_init");
}

#[test]
fn empty_16m_1k() {
    format_and_compare(16 << 20, 1024);
}

#[test]
fn empty_300m_1k() {
    // 38 groups of 8 MiB: three flex groups, backups in groups 1, 3, 5, 7, 9, 25, 27.
    format_and_compare(300 << 20, 1024);
}

#[test]
fn empty_100m_2k() {
    format_and_compare(100 << 20, 2048);
}

/// Sizes from too small to past the points where the geometry changes: one group and no
/// reserved GDT blocks (the resize inode still needs its DIND block, which norrec once left
/// out below 16 MiB at 4 KiB blocks), the floppy/small/default usage types (3 and 512 MiB),
/// the journal size steps, a second group, backups in groups 1, 3, 5, 7, 9, and sizes that
/// are not a whole number of blocks or MiB.
const SWEEP: &[u64] = &[
    1 << 20,
    2 << 20,
    3 << 20,
    4 << 20,
    5 << 20,
    8 << 20,
    9 << 20,
    15 << 20,
    16 << 20,
    17 << 20,
    31 << 20,
    33 << 20,
    64 << 20,
    100 << 20,
    129 << 20,
    257 << 20,
    513 << 20,
    (2 << 20) + 1023,
    (3 << 20) - 1,
    (8 << 20) + 4095,
    (8 << 20) + 12345,
    (12 << 20) + 777,
    (32 << 20) + (1 << 20) / 3,
    (128 << 20) + 5000,
    (600 << 20) + 4097,
];

/// A tree small enough for every accepted size: a file, a directory, a symlink.
fn tiny_tree(root: &Path) {
    fs::create_dir_all(root.join("etc/sub")).unwrap();
    fs::write(root.join("etc/hostname"), b"cubieboard\n").unwrap();
    fs::write(root.join("etc/sub/data"), pattern(9, 70_000)).unwrap();
    std::os::unix::fs::symlink("etc/hostname", root.join("link")).unwrap();
}

/// The blocks mke2fs takes from a device of `size` bytes: whole 4 KiB pages.
fn page_blocks(size: u64, bs: u32) -> u64 {
    (size / 4096) * (4096 / u64::from(bs))
}

/// One size and block size: format and build, or refuse both when there is no room for the
/// 1024-block journal (mkfs.ext4 then makes a journal-less file system; norrec always
/// writes the journal). Returns whether it was accepted.
fn sweep_one(src: &Path, size: u64, bs: u32) -> bool {
    let (Some(e2fsck), Some(mkfs), Some(_)) = (tool("e2fsck"), tool("mkfs.ext4"), tool("dumpe2fs"))
    else {
        return false;
    };
    let tmp = tempfile::tempdir().unwrap();
    let ours = image(tmp.path(), "ours.img", size);
    let mut dev = ImageFile::open(&ours).unwrap();
    let res = write::format(&mut dev, &opts(bs));
    drop(dev);
    let s = match res {
        Ok(s) => s,
        Err(e) => {
            let e = e.to_string();
            let blocks = page_blocks(size, bs);
            assert!(
                blocks < 2048 && e.contains("too small for ext4: needs at least 2048 blocks"),
                "{size} bytes, {bs}: {e}"
            );
            assert!(!e.contains('\n'), "{e}");
            assert_eq!(fs::metadata(&ours).unwrap().blocks(), 0, "{size}: written");
            // Where mkfs.ext4 accepts it, it is without a journal.
            let theirs = image(tmp.path(), "theirs.img", size);
            let out = Command::new(&mkfs)
                .args(["-q", "-F", "-b", &bs.to_string()])
                .arg(&theirs)
                .output()
                .unwrap();
            if out.status.success() {
                let f = &dumpe2fs(&theirs)["Filesystem features"];
                assert!(!f.contains("has_journal"), "{size} bytes, {bs}: {f}");
            }
            let src_e = write::build_from_dir(
                &mut ImageFile::open(&ours).unwrap(),
                src,
                &opts(bs),
                &mut |_| {},
            )
            .unwrap_err()
            .to_string();
            assert!(src_e.contains("too small for ext4"), "{src_e}");
            return false;
        }
    };
    assert!(
        s.geometry.blocks * u64::from(bs) <= size,
        "{size}: {:?}",
        s.geometry
    );
    compare_with_mkfs(
        &e2fsck,
        &mkfs,
        tmp.path(),
        &ours,
        &s,
        bs,
        "lazy_itable_init",
    );
    // The same size built from a tree: clean, and the files read back.
    let built = tmp.path().join("built.img");
    let b = build(src, &built, size, &opts(bs));
    assert_eq!(b.geometry, s.geometry, "{size} bytes, {bs}");
    fsck_clean(&e2fsck, &built);
    assert_eq!(compare_with_reader(&built, src), 5, "{size} bytes, {bs}");
    true
}

#[test]
fn sizes_from_1m_to_600m_at_4k_2k_and_1k_format_and_build_clean() {
    let src = tempfile::tempdir().unwrap();
    tiny_tree(src.path());
    let jobs: Vec<(u64, u32)> = [4096, 2048, 1024]
        .iter()
        .flat_map(|&bs| SWEEP.iter().map(move |&s| (s, bs)))
        .collect();
    let accepted: Vec<(u64, u32)> = std::thread::scope(|sc| {
        let hs: Vec<_> = jobs
            .chunks(jobs.len().div_ceil(4))
            .map(|chunk| {
                let src = src.path();
                sc.spawn(move || {
                    // Every size is tried, and the failures are reported together.
                    chunk
                        .iter()
                        .map(|&(size, bs)| {
                            let r = std::panic::catch_unwind(|| sweep_one(src, size, bs));
                            ((size, bs), r.map_err(|_| format!("{size} bytes, {bs}")))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut failed = Vec::new();
        let mut ok = Vec::new();
        for (job, r) in hs.into_iter().flat_map(|h| h.join().unwrap()) {
            match r {
                Ok(true) => ok.push(job),
                Ok(false) => {}
                Err(e) => failed.push(e),
            }
        }
        assert!(failed.is_empty(), "failed at: {failed:?}");
        ok
    });
    if [tool("e2fsck"), tool("mkfs.ext4"), tool("dumpe2fs")].contains(&None) {
        return;
    }
    // 4 KiB blocks start at 8 MiB, 2 KiB at 4 MiB, 1 KiB at 2 MiB; everything above is
    // accepted.
    for &(size, bs) in &jobs {
        let want = page_blocks(size, bs) >= 2048;
        assert_eq!(accepted.contains(&(size, bs)), want, "{size} bytes, {bs}");
    }
}

// ---------------------------------------------------------------------------------------------
// Populated from a tree.

const BIG: u64 = 100 << 20;
const MANY: usize = 10_000;
/// 2100-01-01: needs the epoch bits of the extra time fields.
const FUTURE: u64 = 4_102_444_800;

/// Pseudo-random bytes (norrec-testutil's xorshift), so a misplaced block never compares equal
/// by accident.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    norrec_testutil::pattern(len, seed as u32)
}

fn is_root() -> bool {
    let t = tempfile::NamedTempFile::new().unwrap();
    t.as_file().metadata().unwrap().uid() == 0
}

fn sh(cmd: &str) {
    norrec_testutil::sh_ok(cmd);
}

/// The source tree: nested directories, fast and slow symlinks, a 100 MiB file, 10,000 small
/// files in one directory, hard links, a fifo, a socket, devices and owners (as root), modes
/// with setuid/setgid/sticky, a time stamp in 2100 with nanoseconds.
fn source_tree(root: &Path) {
    let deep = root.join("etc/deep/er/and/deeper");
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("leaf.conf"), b"leaf\n").unwrap();
    fs::write(root.join("etc/hostname"), b"cubieboard\n").unwrap();
    std::os::unix::fs::symlink("hostname", root.join("etc/fast-link")).unwrap();
    let long_target = format!("{}/leaf.conf", "deep/er/and/deeper/../deeper/./".repeat(3));
    assert!(long_target.len() >= 60);
    std::os::unix::fs::symlink(&long_target, root.join("etc/slow-link")).unwrap();
    std::os::unix::fs::symlink("etc/deep", root.join("dir-link")).unwrap();
    // The big file, written in pieces.
    {
        use std::io::Write;
        let mut f = fs::File::create(root.join("big.bin")).unwrap();
        let piece = pattern(99, 1 << 20);
        for i in 0..(BIG >> 20) {
            let mut p = piece.clone();
            p[..8].copy_from_slice(&i.to_le_bytes());
            f.write_all(&p).unwrap();
        }
    }
    let many = root.join("many");
    fs::create_dir(&many).unwrap();
    for i in 0..MANY {
        fs::write(
            many.join(format!("file-{i:05}.txt")),
            pattern(i as u64, i % 5000),
        )
        .unwrap();
    }
    fs::write(root.join("bin-tool"), b"#!/bin/sh\necho hi\n").unwrap();
    fs::hard_link(root.join("bin-tool"), root.join("etc/tool-link1")).unwrap();
    fs::hard_link(root.join("bin-tool"), root.join("many/tool-link2")).unwrap();
    fs::set_permissions(root.join("bin-tool"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::create_dir(root.join("tmp")).unwrap();
    fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::write(root.join("secret"), b"x").unwrap();
    fs::set_permissions(root.join("secret"), fs::Permissions::from_mode(0o2600)).unwrap();
    fs::write(root.join("empty"), b"").unwrap();
    sh(&format!("mkfifo '{}'", root.join("fifo").display()));
    let _sock = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
    if is_root() {
        sh(&format!("mknod '{}' c 1 3", root.join("null").display()));
        sh(&format!(
            "mknod '{}' b 259 70000",
            root.join("bigdev").display()
        ));
        std::os::unix::fs::lchown(root.join("etc/hostname"), Some(1000), Some(1001)).unwrap();
        std::os::unix::fs::lchown(root.join("etc/deep"), Some(65534), Some(100)).unwrap();
        std::os::unix::fs::lchown(root.join("etc/fast-link"), Some(7), Some(8)).unwrap();
    }
    let f = fs::File::options()
        .write(true)
        .open(root.join("etc/hostname"))
        .unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::new(FUTURE, 123_456_789))
        .unwrap();
}

/// A line of `debugfs -R 'ls -l DIR'`: (inode, mode, uid, gid, size) by name.
fn debugfs_ls(img: &Path, dir: &str) -> BTreeMap<String, (u32, u32, u32, u32, u64)> {
    let d = tool("debugfs").unwrap();
    let out = Command::new(d)
        .arg("-R")
        .arg(format!("ls -l {dir}"))
        .arg(img)
        .output()
        .unwrap();
    let mut m = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let mode = u32::from_str_radix(f[1], 8).unwrap();
        // Device entries print "major, minor" in place of the size.
        let (size, name) = if f[5].ends_with(',') {
            (0, f[9..].join(" "))
        } else {
            (f[5].parse().unwrap(), f[8..].join(" "))
        };
        m.insert(
            name,
            (
                f[0].parse().unwrap(),
                mode,
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
                size,
            ),
        );
    }
    m
}

fn debugfs_cmd(img: &Path, cmd: &str) -> String {
    let d = tool("debugfs").unwrap();
    let out = Command::new(d)
        .arg("-R")
        .arg(cmd)
        .arg(img)
        .output()
        .unwrap();
    assert!(out.status.success(), "debugfs -R {cmd:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every directory of the source listed by debugfs matches the source's metadata.
fn compare_listing(img: &Path, src: &Path, rel: &str, all_root: bool) {
    let ls = debugfs_ls(img, if rel.is_empty() { "/" } else { rel });
    let dir = src.join(rel.trim_start_matches('/'));
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for n in &names {
        let m = fs::symlink_metadata(dir.join(n)).unwrap();
        let (_, mode, uid, gid, size) = ls[n];
        assert_eq!(mode, m.mode(), "{rel}/{n}: mode");
        let (u, g) = if all_root { (0, 0) } else { (m.uid(), m.gid()) };
        assert_eq!((uid, gid), (u, g), "{rel}/{n}: owner");
        if m.is_file() || m.file_type().is_symlink() {
            assert_eq!(size, m.len(), "{rel}/{n}: size");
        }
        if m.is_dir() {
            compare_listing(img, src, &format!("{rel}/{n}"), all_root);
        }
    }
    let extra = if rel.is_empty() { 3 } else { 2 }; // ".", ".." (and lost+found)
    assert_eq!(ls.len(), names.len() + extra, "{rel}: entries");
}

/// `rdump` of the whole file system gives back every file's bytes and every link's target.
fn compare_contents(img: &Path, src: &Path, out: &Path) {
    fs::create_dir_all(out).unwrap();
    debugfs_cmd(img, &format!("rdump / {}", out.display()));
    let mut stack = vec![PathBuf::new()];
    let mut files = 0;
    while let Some(rel) = stack.pop() {
        for e in fs::read_dir(src.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            let m = fs::symlink_metadata(e.path()).unwrap();
            let back = out.join(&r);
            if m.is_dir() {
                stack.push(r);
            } else if m.is_file() {
                let (a, b) = (fs::read(e.path()).unwrap(), fs::read(&back).unwrap());
                assert!(a == b, "{}: contents differ", r.display());
                files += 1;
            } else if m.file_type().is_symlink() {
                assert_eq!(
                    fs::read_link(e.path()).unwrap(),
                    fs::read_link(&back).unwrap(),
                    "{}",
                    r.display()
                );
            }
        }
    }
    assert!(files > MANY, "{files} files compared");
}

fn build(src: &Path, img: &Path, size: u64, o: &Options) -> write::Summary {
    let mut dev = ImageFile::create_in(fs::File::create(img).unwrap(), size).unwrap();
    let mut last = 0;
    let s = write::build_from_dir(&mut dev, src, o, &mut |d| {
        assert!(d >= last);
        last = d;
    })
    .unwrap();
    assert_eq!(last, s.file_bytes);
    s
}

/// norrec's own reader walks the image and finds every entry of the source with its mode,
/// owner, size, mtime (with ns), bytes and link target; returns the entries seen.
fn compare_with_reader(img: &Path, src: &Path) -> usize {
    use norrec_disk::ext4::read::{Ext4, FileKind};
    use std::io::Read;
    use std::os::unix::ffi::OsStrExt;
    fn walk(fs: &mut Ext4<ImageFile>, ino: u32, dir: &Path) -> usize {
        let mut n = 0;
        for e in fs.read_dir(ino).unwrap() {
            if e.name == b"." || e.name == b".." || e.name == b"lost+found" {
                continue;
            }
            let path = dir.join(std::ffi::OsStr::from_bytes(&e.name));
            let m = fs::symlink_metadata(&path).unwrap();
            let i = fs.inode(e.ino).unwrap();
            let what = path.display().to_string();
            assert_eq!(u32::from(i.mode), m.mode(), "{what} mode");
            assert_eq!((i.uid, i.gid), (m.uid(), m.gid()), "{what} owner");
            assert_eq!(i.mtime.secs, m.mtime(), "{what} mtime");
            assert_eq!(i64::from(i.mtime.nanos), m.mtime_nsec(), "{what} mtime ns");
            n += 1;
            match e.kind {
                FileKind::Dir => n += walk(fs, e.ino, &path),
                FileKind::Symlink => assert_eq!(
                    fs.read_link(e.ino).unwrap(),
                    fs::read_link(&path).unwrap().as_os_str().as_bytes(),
                    "{what}"
                ),
                FileKind::File => {
                    assert_eq!(i.size, m.len(), "{what} size");
                    let mut v = Vec::new();
                    fs.open_file(e.ino).unwrap().read_to_end(&mut v).unwrap();
                    assert!(v == fs::read(&path).unwrap(), "{what}: bytes differ");
                }
                _ => {}
            }
        }
        n
    }
    let mut fs = Ext4::open(ImageFile::open_read_only(img).unwrap()).unwrap();
    walk(&mut fs, 2, src)
}

#[test]
fn populated_tree_reads_back_through_e2fsprogs() {
    let (Some(e2fsck), Some(_)) = (tool("e2fsck"), tool("debugfs")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    source_tree(&src);
    let img = tmp.path().join("rootfs.ext4");
    let s = build(&src, &img, 256 << 20, &opts(4096));
    assert_eq!(
        s.used_inodes as usize,
        11 + MANY + 18 + usize::from(is_root()) * 2
    );
    fsck_clean(&e2fsck, &img);
    compare_listing(&img, &src, "", false);
    compare_contents(&img, &src, &tmp.path().join("back"));
    // Three names of one file count three times.
    assert_eq!(
        compare_with_reader(&img, &src),
        s.used_inodes as usize - 11 + 2
    );
    // `dump` of the big file alone, and its extents.
    let big = tmp.path().join("big.out");
    debugfs_cmd(&img, &format!("dump /big.bin {}", big.display()));
    assert!(fs::read(&big).unwrap() == fs::read(src.join("big.bin")).unwrap());
    // Hard links: one inode, three names, links count 3.
    let (a, b, c) = (
        debugfs_ls(&img, "/")["bin-tool"].0,
        debugfs_ls(&img, "/etc")["tool-link1"].0,
        debugfs_ls(&img, "/many")["tool-link2"].0,
    );
    assert!(a == b && b == c);
    assert!(debugfs_cmd(&img, "stat /bin-tool").contains("Links: 3"));
    // dir_nlink: a directory's links are 2 + its subdirectories.
    assert!(debugfs_cmd(&img, "stat /etc").contains("Links: 3"));
    // Nanoseconds and a time past 2038 in the extra fields.
    let st = debugfs_cmd(&img, "stat /etc/hostname");
    assert!(st.contains("2100"), "{st}");
    let want = format!(
        "mtime: 0x{:08x}:{:08x}",
        FUTURE as u32,
        (123_456_789u32 << 2) | 1
    );
    assert!(st.contains(&want), "{want} in {st}");
    // Fast symlink in i_block, slow one in an extent-mapped block.
    assert!(debugfs_cmd(&img, "stat /etc/fast-link").contains("Fast link dest: \"hostname\""));
    assert!(debugfs_cmd(&img, "stat /etc/slow-link").contains("EXTENTS:"));
    if is_root() {
        let st = debugfs_cmd(&img, "stat /bigdev");
        assert!(st.contains("Type: block special"), "{st}");
        assert!(st.contains("259:70000") || st.contains("103:11170"), "{st}");
        assert!(debugfs_cmd(&img, "stat /null").contains("Device major/minor number: 01:03"));
    }
    assert!(debugfs_cmd(&img, "stat /fifo").contains("Type: FIFO"));
    assert!(debugfs_cmd(&img, "stat /sock").contains("Type: socket"));
}

#[test]
fn all_root_and_root_owner_with_1k_blocks_and_a_deeper_extent_tree() {
    let (Some(e2fsck), Some(_)) = (tool("e2fsck"), tool("debugfs")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    source_tree(&src);
    let img = tmp.path().join("rootfs.ext4");
    let mut o = opts(1024);
    o.all_root = true;
    o.root_owner = Some((4, 5));
    build(&src, &img, 200 << 20, &o);
    fsck_clean(&e2fsck, &img);
    compare_listing(&img, &src, "", true);
    assert!(debugfs_cmd(&img, "stat /").contains("User:     4   Group:     5"));
    // 1 KiB blocks: 100 MiB spans groups whose backups split it into more than four extents,
    // so the inode holds an index and the extents sit in a leaf block.
    let ex = debugfs_cmd(&img, "ex /big.bin");
    assert!(
        ex.lines().any(|l| l.trim_start().starts_with("0/ 1")),
        "{ex}"
    );
    assert!(
        ex.lines().any(|l| l.trim_start().starts_with("1/ 1")),
        "{ex}"
    );
    compare_contents(&img, &src, &tmp.path().join("back"));
}

// ---------------------------------------------------------------------------------------------
// Bad input: refused before anything is written.

fn untouched(
    size: u64,
    f: impl FnOnce(&mut ImageFile) -> norrec_disk::Result<write::Summary>,
) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("img");
    let data = pattern(5, size as usize);
    fs::write(&p, &data).unwrap();
    let mut dev = ImageFile::open(&p).unwrap();
    let e = f(&mut dev).unwrap_err().to_string();
    drop(dev);
    assert!(fs::read(&p).unwrap() == data, "image changed: {e}");
    assert!(!e.contains('\n'), "{e}");
    e
}

#[test]
fn too_small_is_refused_untouched() {
    let e = untouched(4 << 20, |d| write::format(d, &opts(4096)));
    assert!(
        e.contains("too small for ext4: needs at least 2048 blocks"),
        "{e}"
    );
}

#[test]
fn long_label_is_refused_untouched() {
    let mut o = opts(4096);
    o.label = b"seventeen-bytes!!".to_vec();
    let e = untouched(16 << 20, |d| write::format(d, &o));
    assert!(e.contains("17 bytes long, ext4 allows 16"), "{e}");
}

#[test]
fn tree_larger_than_the_fs_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("f"), pattern(1, 20 << 20)).unwrap();
    let e = untouched(16 << 20, |d| {
        write::build_from_dir(d, tmp.path(), &opts(4096), &mut |_| {})
    });
    assert!(e.contains("does not fit"), "{e}");
}

#[test]
fn long_symlinks_and_a_source_lost_found_with_1k_blocks() {
    let (Some(e2fsck), Some(_)) = (tool("e2fsck"), tool("debugfs")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("lost+found/kept")).unwrap();
    fs::write(src.join("lost+found/kept/x"), b"x").unwrap();
    // 1000 bytes: one whole 1 KiB block.
    let target = "t/".repeat(500);
    std::os::unix::fs::symlink(&target, src.join("long")).unwrap();
    let img = tmp.path().join("fs.img");
    build(&src, &img, 16 << 20, &opts(1024));
    fsck_clean(&e2fsck, &img);
    let st = debugfs_cmd(&img, "stat /long");
    assert!(st.contains("Size: 1000"), "{st}");
    assert!(!debugfs_cmd(&img, "stat /long").contains("Fast link"));
    let ls = debugfs_ls(&img, "/lost+found");
    assert_eq!(ls["."].0, 11);
    assert!(ls.contains_key("kept"));
    assert_eq!(debugfs_cmd(&img, "cat /lost+found/kept/x"), "x");
    // A file called lost+found is refused before anything is written.
    let src2 = tmp.path().join("src2");
    fs::create_dir(&src2).unwrap();
    fs::write(src2.join("lost+found"), b"").unwrap();
    let e = untouched(16 << 20, |d| {
        write::build_from_dir(d, &src2, &opts(4096), &mut |_| {})
    });
    assert!(e.contains("lost+found"), "{e}");
    // A symlink longer than a block (here 1 KiB) is refused too: ext4 keeps it in one block.
    let src3 = tmp.path().join("src3");
    fs::create_dir(&src3).unwrap();
    std::os::unix::fs::symlink("t/".repeat(600), src3.join("l")).unwrap();
    let e = untouched(16 << 20, |d| {
        write::build_from_dir(d, &src3, &opts(1024), &mut |_| {})
    });
    assert!(
        e.contains("1200 bytes does not fit a 1024-byte block"),
        "{e}"
    );
}

#[test]
fn bad_block_size_is_refused() {
    let e = untouched(16 << 20, |d| write::format(d, &opts(8192)));
    assert!(e.contains("block size 8192"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// The Linux kernel, where this machine lets us mount a loop device.

struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn compare_through_kernel(src: &Path, mnt: &Path, rel: &Path) -> usize {
    let mut n = 0;
    for e in fs::read_dir(src.join(rel)).unwrap() {
        let e = e.unwrap();
        let r = rel.join(e.file_name());
        let (a, b) = (
            fs::symlink_metadata(src.join(&r)).unwrap(),
            fs::symlink_metadata(mnt.join(&r)).unwrap(),
        );
        assert_eq!(
            (a.mode(), a.uid(), a.gid()),
            (b.mode(), b.uid(), b.gid()),
            "{}",
            r.display()
        );
        assert_eq!(
            (a.mtime(), a.mtime_nsec()),
            (b.mtime(), b.mtime_nsec()),
            "{}",
            r.display()
        );
        if a.is_dir() {
            n += compare_through_kernel(src, mnt, &r);
        } else if a.is_file() {
            assert!(fs::read(src.join(&r)).unwrap() == fs::read(mnt.join(&r)).unwrap());
            n += 1;
        } else if a.file_type().is_symlink() {
            assert_eq!(
                fs::read_link(src.join(&r)).unwrap(),
                fs::read_link(mnt.join(&r)).unwrap()
            );
        }
    }
    n
}

#[test]
fn linux_reads_and_writes_it_and_fsck_stays_clean() {
    let (Some(e2fsck), Some(mount)) = (tool("e2fsck"), tool("mount")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("usr/lib/deep")).unwrap();
    fs::write(src.join("usr/lib/deep/x.so"), pattern(3, (5 << 20) + 17)).unwrap();
    for i in 0..600 {
        fs::write(src.join(format!("usr/f{i}")), pattern(i, i as usize * 7)).unwrap();
    }
    std::os::unix::fs::symlink("lib/deep/x.so", src.join("usr/x.so")).unwrap();
    std::os::unix::fs::symlink("a/".repeat(40), src.join("usr/long")).unwrap();
    fs::set_permissions(src.join("usr/f5"), fs::Permissions::from_mode(0o4711)).unwrap();
    let img = tmp.path().join("fs.ext4");
    build(&src, &img, 64 << 20, &opts(4096));
    let mnt = tmp.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let st = Command::new(mount)
        .args(["-o", "loop"])
        .arg(&img)
        .arg(&mnt)
        .output()
        .unwrap();
    if !st.status.success() {
        eprintln!(
            "skipping: cannot mount a loop device here: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        return;
    }
    {
        let _m = Mounted(mnt.clone());
        assert_eq!(compare_through_kernel(&src, &mnt, Path::new("")), 601);
        let root = fs::metadata(&mnt).unwrap();
        assert_eq!(root.mode(), 0o40755);
        // Write through the kernel: new files in the 600-entry directory, a new directory,
        // removals, a file grown past its extent.
        fs::create_dir(mnt.join("usr/new")).unwrap();
        for i in 0..300 {
            fs::write(mnt.join(format!("usr/new/n{i}")), pattern(i, 4096)).unwrap();
            fs::remove_file(mnt.join(format!("usr/f{i}"))).unwrap();
        }
        fs::write(mnt.join("usr/lib/deep/x.so"), pattern(4, 9 << 20)).unwrap();
    }
    fsck_clean(&e2fsck, &img);
}

#[test]
fn formats_over_old_data_with_and_without_discard() {
    let Some(e2fsck) = tool("e2fsck") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("old.img");
    for discard in [false, true] {
        fs::write(&p, pattern(11, 64 << 20)).unwrap();
        let mut o = opts(4096);
        o.discard = discard;
        o.zeroed = discard;
        let mut dev = ImageFile::open(&p).unwrap();
        write::format(&mut dev, &o).unwrap();
        drop(dev);
        fsck_clean(&e2fsck, &p);
        // Without discard the journal is zeroed (after its superblock), not left as it was.
        let j = debugfs_cmd(&p, "stat <8>");
        let start: u64 = j
            .lines()
            .skip_while(|l| !l.starts_with("EXTENTS:"))
            .nth(1)
            .and_then(|l| l.split(':').nth(1))
            .and_then(|r| r.split('-').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{j}"));
        let img = fs::read(&p).unwrap();
        let second = &img[((start + 1) * 4096) as usize..((start + 2) * 4096) as usize];
        assert!(second.iter().all(|&b| b == 0), "journal block 1 not zero");
    }
}

#[test]
fn too_many_files_for_the_inodes_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..40 {
        fs::write(tmp.path().join(format!("f{i}")), b"").unwrap();
    }
    let mut o = opts(4096);
    o.params.inode_count = Some(32);
    let e = untouched(16 << 20, |d| {
        write::build_from_dir(d, tmp.path(), &o, &mut |_| {})
    });
    assert!(
        e.contains("the tree needs 51 inodes with the first 11, a file system of this size has 32"),
        "{e}"
    );
}
