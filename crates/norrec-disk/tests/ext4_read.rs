//! norrec reads what e2fsprogs' `mke2fs -d` wrote: one source tree (nested directories, fast
//! and slow symlinks, a 100 MiB file, sparse files whose extent trees have depth 1 and 2, a
//! 10,000-entry htree directory, modes, owners, time stamps past 2038) packed by mke2fs with
//! different options (1 KiB and 4 KiB blocks, no metadata_csum, ext2 and ext3 block maps,
//! 128-byte inodes, meta_bg, inline_data); every file, link and directory is read back and
//! compared with the source, and directory listings with `debugfs -R 'ls -l'`. Damaged images
//! give errors, never panics.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use norrec_disk::ext4::read::{Ext4, FileKind};
use norrec_disk::{BlockDevice, DiskError, ImageFile, MemDevice};

const BIG: u64 = 100 << 20;
const MANY: usize = 10_000;
/// 2100-01-01: needs the epoch bits of `i_mtime_extra`.
const FUTURE: u64 = 4_102_444_800;

/// Pseudo-random bytes (norrec-testutil's xorshift), so a misplaced block never compares equal
/// by accident.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    norrec_testutil::pattern(len, seed as u32)
}

fn set_mtime(p: &Path, secs: u64) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

fn is_root() -> bool {
    let probe = std::env::temp_dir().join(format!("norrec-uid-probe-{}", std::process::id()));
    fs::write(&probe, b"").unwrap();
    let uid = fs::metadata(&probe).unwrap().uid();
    fs::remove_file(&probe).unwrap();
    uid == 0
}

/// The source tree, built once for every test in this file.
fn tree() -> &'static Path {
    static TREE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TREE.get_or_init(|| build_tree(true)).path()
}

/// The same tree without the 100 MiB file, for the variants whose point is elsewhere.
fn light_tree() -> &'static Path {
    static TREE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TREE.get_or_init(|| build_tree(false)).path()
}

fn build_tree(with_big: bool) -> tempfile::TempDir {
    {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("etc/deep/a/b/c/d")).unwrap();
        fs::write(r.join("etc/passwd"), b"root:x:0:0:root:/root:/bin/sh\n").unwrap();
        fs::write(r.join("etc/deep/a/b/c/d/file"), pattern(1, 5000)).unwrap();
        for (i, n) in [
            0usize, 1, 59, 60, 61, 1023, 1024, 1025, 4095, 4096, 4097, 70_000,
        ]
        .iter()
        .enumerate()
        {
            fs::write(r.join(format!("size{n}")), pattern(100 + i as u64, *n)).unwrap();
        }
        // 100 MiB, written in pieces.
        if with_big {
            let mut big = fs::File::create(r.join("big")).unwrap();
            for i in 0..(BIG >> 20) {
                big.write_all(&pattern(1000 + i, 1 << 20)).unwrap();
            }
        }
        // 600 one-KiB pieces 3 KiB apart: 600 extents, a tree of depth 2 with 1 KiB blocks and
        // depth 1 with 4 KiB blocks.
        let mut sp = fs::File::create(r.join("sparse")).unwrap();
        for i in 0..600u64 {
            use std::io::{Seek, SeekFrom};
            sp.seek(SeekFrom::Start(i * 3 * 1024)).unwrap();
            sp.write_all(&pattern(5000 + i, 1024)).unwrap();
        }
        drop(sp);
        // Holes at both ends: 5 MiB hole, 64 KiB of data, then a hole to 10 MiB.
        let holes = fs::File::create(r.join("holes")).unwrap();
        holes.set_len(10 << 20).unwrap();
        {
            use std::os::unix::fs::FileExt;
            holes.write_all_at(&pattern(7, 65536), 5 << 20).unwrap();
        }
        drop(holes);
        fs::create_dir(r.join("many")).unwrap();
        for i in 0..MANY {
            fs::write(r.join(format!("many/file-{i:05}")), format!("{i}\n")).unwrap();
        }
        std::os::unix::fs::symlink("etc/passwd", r.join("fast")).unwrap();
        let long = format!("/{}/target", "long-component".repeat(8));
        assert!(long.len() > 60);
        std::os::unix::fs::symlink(&long, r.join("slow")).unwrap();
        std::os::unix::fs::symlink("etc/deep", r.join("dirlink")).unwrap();
        std::os::unix::fs::symlink("../passwd", r.join("etc/deep/up")).unwrap();
        fs::write(r.join("suid"), b"#!/bin/sh\n").unwrap();
        fs::set_permissions(r.join("suid"), fs::Permissions::from_mode(0o4755)).unwrap();
        fs::write(r.join("secret"), b"s").unwrap();
        fs::set_permissions(r.join("secret"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::create_dir(r.join("sticky")).unwrap();
        fs::write(r.join("sticky/x"), b"x").unwrap();
        fs::set_permissions(r.join("sticky"), fs::Permissions::from_mode(0o1777)).unwrap();
        fs::write(r.join("future"), b"later").unwrap();
        set_mtime(&r.join("future"), FUTURE);
        fs::write(r.join("old"), b"earlier").unwrap();
        set_mtime(&r.join("old"), 1_000_000_000);
        if is_root() {
            fs::write(r.join("owned"), b"o").unwrap();
            std::os::unix::fs::chown(r.join("owned"), Some(1234), Some(5678)).unwrap();
            fs::write(r.join("bigid"), b"b").unwrap();
            std::os::unix::fs::chown(r.join("bigid"), Some(100_000), Some(200_000)).unwrap();
            std::os::unix::fs::lchown(r.join("fast"), Some(42), Some(43)).unwrap();
        } else {
            eprintln!("not root: owners other than ours are not tested");
        }
        t
    }
}

/// `mke2fs -F -q OPTS -d TREE IMG` on a sparse image of `mib` MiB.
fn mke2fs(dir: &Path, src: &Path, mib: u64, opts: &[&str]) -> Option<PathBuf> {
    let mke2fs = norrec_testutil::tool("mke2fs")?;
    let img = dir.join("fs.img");
    fs::File::create(&img).unwrap().set_len(mib << 20).unwrap();
    let mut args: Vec<&str> = vec!["-F", "-q"];
    args.extend_from_slice(opts);
    args.extend(["-d", src.to_str().unwrap(), img.to_str().unwrap()]);
    norrec_testutil::run_ok(&mke2fs, &args);
    Some(img)
}

fn open(img: &Path) -> Ext4<ImageFile> {
    Ext4::open(ImageFile::open_read_only(img).unwrap()).unwrap()
}

fn kind_of(m: &fs::Metadata) -> FileKind {
    let t = m.file_type();
    if t.is_dir() {
        FileKind::Dir
    } else if t.is_symlink() {
        FileKind::Symlink
    } else {
        FileKind::File
    }
}

/// Compares a stream with a local file, 1 MiB at a time.
fn same_bytes(mut a: impl Read, b: &Path) -> bool {
    let mut f = fs::File::open(b).unwrap();
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = read_full(&mut a, &mut x);
        let m = read_full(&mut f, &mut y);
        if n != m || x[..n] != y[..m] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}

/// Walks the source tree and the image's tree side by side: same names, kinds, modes, owners,
/// sizes, mtimes, contents and link targets. Returns the number of entries compared.
fn verify(
    fs: &mut Ext4<ImageFile>,
    ino: u32,
    src: &Path,
    rel: &str,
    full_times: bool,
    inline: bool,
) -> usize {
    let entries = fs.read_dir(ino).unwrap();
    let mut got: BTreeMap<String, u32> = entries
        .iter()
        .filter(|e| !e.is_dot())
        .map(|e| (e.name_lossy(), e.ino))
        .collect();
    if rel.is_empty() {
        assert!(got.remove("lost+found").is_some(), "no lost+found");
    }
    let mut want: Vec<String> = fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    want.sort();
    assert_eq!(
        got.keys().cloned().collect::<Vec<_>>(),
        want,
        "names in /{rel}"
    );
    let mut n = 0;
    for (name, child) in got {
        let path = src.join(&name);
        let rel = format!("{rel}/{name}");
        let m = fs::symlink_metadata(&path).unwrap();
        let inode = fs.inode(child).unwrap();
        let kind = kind_of(&m);
        assert_eq!(inode.kind(), kind, "{rel}");
        assert_eq!(u32::from(inode.mode), m.mode() & 0o177777, "{rel} mode");
        assert_eq!((inode.uid, inode.gid), (m.uid(), m.gid()), "{rel} owner");
        // mke2fs 1.47's -d stores only the low 32 bits of a time (debugfs shows 2100-01-01 as
        // 1963-11-25): what norrec must read is that, not the source's time. norrec's writer
        // keeps the epoch bits and nanoseconds (`full_times`).
        let want = if m.mtime() > i64::from(i32::MAX) && !full_times {
            i64::from(m.mtime() as u32 as i32)
        } else {
            m.mtime()
        };
        assert_eq!(inode.mtime.secs, want, "{rel} mtime");
        if full_times {
            assert_eq!(
                i64::from(inode.mtime.nanos),
                m.mtime_nsec(),
                "{rel} mtime ns"
            );
        }
        n += 1;
        match kind {
            FileKind::Dir => n += verify(fs, child, &path, &rel, full_times, inline),
            FileKind::Symlink => {
                let t = fs.read_link(child).unwrap();
                assert_eq!(
                    t,
                    fs::read_link(&path).unwrap().into_os_string().into_vec(),
                    "{rel} target"
                );
            }
            _ if inline && rel == "/holes" => {
                // mke2fs 1.47 with inline_data drops the trailing hole (debugfs agrees): the
                // image's file ends after its last data; its bytes must be the source's.
                assert_eq!(inode.size, (5 << 20) + 65536, "{rel} size");
                let mut v = Vec::new();
                fs.open_file(child).unwrap().read_to_end(&mut v).unwrap();
                assert_eq!(v[..], fs::read(&path).unwrap()[..v.len()], "{rel}");
            }
            _ => {
                assert_eq!(inode.size, m.len(), "{rel} size");
                let f = fs.open_file(child).unwrap();
                assert!(same_bytes(f, &path), "{rel}: contents differ");
            }
        }
    }
    n
}

use std::os::unix::ffi::OsStringExt;

/// `debugfs -R 'ls -l DIR'` as (name, inode, mode, links, uid, gid, size).
fn debugfs_ls(img: &Path, dir: &str) -> Vec<(String, u32, u32, u16, u32, u32, u64)> {
    let debugfs = norrec_testutil::tool("debugfs").unwrap();
    let out = norrec_testutil::run_ok(
        &debugfs,
        ["-R", &format!("ls -l {dir}"), img.to_str().unwrap()],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut v: Vec<_> = text
        .lines()
        // debugfs also prints unused entries (inode 0, no name) of htree blocks: skipped.
        .filter(|l| !l.trim().is_empty() && l.split_whitespace().next() != Some("0"))
        .map(|l| {
            // " 12   40755 (2)      0      0    1024 25-Nov-2026 07:34 name"
            let f: Vec<&str> = l.split_whitespace().collect();
            assert!(f.len() >= 9, "debugfs ls -l {dir}: {l:?}");
            let links_or_type = f[2].trim_matches(|c| c == '(' || c == ')');
            let _ = links_or_type;
            (
                f[8..].join(" "),
                f[0].parse().unwrap(),
                u32::from_str_radix(f[1], 8).unwrap(),
                0,
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
                f[5].parse().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Our listing of `dir` in debugfs' terms.
fn norrec_ls(fs: &mut Ext4<ImageFile>, dir: &str) -> Vec<(String, u32, u32, u16, u32, u32, u64)> {
    let d = fs.lookup(dir).unwrap();
    let mut v: Vec<_> = fs
        .read_dir(d.ino)
        .unwrap()
        .into_iter()
        .map(|e| {
            let i = fs.inode(e.ino).unwrap();
            (
                e.name_lossy(),
                e.ino,
                u32::from(i.mode),
                0,
                i.uid,
                i.gid,
                i.size,
            )
        })
        .collect();
    v.sort();
    v
}

/// Makes an image, reads every file back, compares listings with debugfs.
/// With `htree`, `e2fsck -fyD` first re-indexes the directories (mke2fs -d writes linear ones
/// only), so /many becomes an htree of two levels.
fn check(
    opts: &[&str],
    mib: u64,
    expect_block: u32,
    htree: bool,
    big: bool,
) -> Option<(tempfile::TempDir, PathBuf)> {
    let src = if big { tree() } else { light_tree() };
    let dir = tempfile::tempdir().unwrap();
    let img = mke2fs(dir.path(), src, mib, opts)?;
    if htree {
        let e2fsck = norrec_testutil::tool("e2fsck").unwrap();
        let st = std::process::Command::new(&e2fsck)
            .args(["-fyD", img.to_str().unwrap()])
            .output()
            .unwrap();
        // 0: clean, 1: directories optimised.
        assert!(
            st.status.code().is_some_and(|c| c <= 1),
            "e2fsck -fyD: {st:?}"
        );
    }
    let mut fs = open(&img);
    if htree {
        let many = fs.lookup("/many").unwrap();
        assert_ne!(
            many.flags & 0x1000,
            0,
            "{opts:?}: /many is not an htree directory"
        );
    }
    let info = fs.info();
    assert_eq!(info.block_size, expect_block, "{opts:?}: {info:?}");
    let inline = opts.contains(&"inline_data");
    let n = verify(&mut fs, 2, src, "", false, inline);
    assert!(n > MANY + 30, "{n} entries compared");
    for d in ["/", "/etc", "/many", "/etc/deep/a/b/c/d"] {
        assert_eq!(
            norrec_ls(&mut fs, d),
            debugfs_ls(&img, d),
            "{opts:?}: ls -l {d}"
        );
    }
    // The 10,000-entry directory is an htree (dir_index) unless the features say otherwise.
    let many = fs.lookup("/many").unwrap();
    eprintln!(
        "{opts:?}: {} entries, /many flags {:#x}, info {info:?}",
        n, many.flags
    );
    Some((dir, img))
}

#[test]
fn default_ext4_small_has_1k_blocks() {
    if let Some((_d, img)) = check(&["-t", "ext4"], 400, 1024, true, true) {
        let mut fs = open(&img);
        assert!(fs.info().features.iter().any(|f| f == "metadata_csum"));
        // Paths through symlinks and `..`.
        let a = fs.lookup("/dirlink/a/b/../b/c/d/file").unwrap();
        let b = fs.lookup("etc/deep/a/b/c/d/file").unwrap();
        assert_eq!(a.ino, b.ino);
        let up = fs.lookup("/dirlink/up").unwrap();
        assert_eq!(up.kind(), FileKind::Symlink);
        assert!(matches!(
            fs.lookup("/etc/nothere"),
            Err(DiskError::Ext4Path { .. })
        ));
        let e = fs.lookup("/etc/passwd/x").unwrap_err();
        assert_eq!(e.to_string(), "/etc/passwd/x: not a directory");
        // The fast link's target is in i_block, the slow one's in a block.
        let fast = fs.lookup("/fast").unwrap();
        assert_eq!(fast.blocks, 0);
        let slow = fs.lookup("/slow").unwrap();
        assert_ne!(slow.blocks, 0);
    }
}

#[test]
fn default_ext4_large_has_4k_blocks() {
    check(&["-t", "ext4"], 700, 4096, false, true);
}

#[test]
fn ext4_4k_without_metadata_csum() {
    check(
        &["-t", "ext4", "-b", "4096", "-O", "^metadata_csum"],
        400,
        4096,
        true,
        false,
    );
}

#[test]
fn ext2_block_maps_with_triple_indirect_and_small_inodes() {
    // 1 KiB blocks: 12 + 256 + 65536 blocks reach 64 MiB, so the 100 MiB file needs the
    // triple-indirect block.
    if let Some((_d, img)) = check(&["-t", "ext2", "-I", "128"], 400, 1024, true, true) {
        let mut fs = open(&img);
        let big = fs.lookup("/big").unwrap();
        assert!(!big.has_extents());
        assert_ne!(
            u32::from_le_bytes(big.i_block[56..60].try_into().unwrap()),
            0
        );
    }
}

#[test]
fn ext3_block_maps_4k() {
    check(&["-t", "ext3", "-b", "4096"], 400, 4096, false, false);
}

#[test]
fn ext4_meta_bg_64bit() {
    check(
        &["-t", "ext4", "-O", "meta_bg,^resize_inode,64bit"],
        400,
        1024,
        false,
        false,
    );
}

#[test]
fn ext4_inline_data() {
    if let Some((_d, img)) = check(
        &["-t", "ext4", "-O", "inline_data"],
        100,
        1024,
        false,
        false,
    ) {
        let mut fs = open(&img);
        // Small files and directories live in their inodes.
        let f = fs.lookup("/size61").unwrap();
        assert!(f.has_inline_data(), "size61 not inline: {f:?}");
        let d = fs.lookup("/etc/deep/a").unwrap();
        assert!(d.has_inline_data(), "/etc/deep/a not inline");
    }
}

/// The extent trees really are deep: the sparse file's root is an index node (depth in
/// `i_block` bytes 6..8).
#[test]
fn sparse_file_has_a_deep_extent_tree() {
    let Some((_d, img)) = check(
        &["-t", "ext4", "-O", "^metadata_csum"],
        100,
        1024,
        false,
        false,
    ) else {
        return;
    };
    let mut fs = open(&img);
    let sp = fs.lookup("/sparse").unwrap();
    let depth = u16::from_le_bytes([sp.i_block[6], sp.i_block[7]]);
    assert_eq!(depth, 2);

    // Mark the first extent of /size4097 (1 KiB blocks: 5 blocks, one extent in the inode)
    // uninitialized: the file then reads as zeros of the same length.
    let f = fs.lookup("/size4097").unwrap();
    drop(fs);
    let len_at = f.offset + 0x28 + 12 + 4;
    let mut raw = fs::read(&img).unwrap();
    let len = u16::from_le_bytes([raw[len_at as usize], raw[len_at as usize + 1]]);
    assert_eq!(len, 5);
    raw[len_at as usize..len_at as usize + 2].copy_from_slice(&(len + 32768).to_le_bytes());
    let mut fs = Ext4::open(MemDevice { data: raw }).unwrap();
    let mut v = Vec::new();
    fs.open_file(f.ino).unwrap().read_to_end(&mut v).unwrap();
    assert_eq!(v, vec![0u8; 4097]);
}

#[test]
fn not_ext4_names_the_magic() {
    let mut dev = MemDevice::zeroed(1 << 20);
    let e = Ext4::open(&mut dev).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no ext4 file system: superblock magic s_magic at byte 0x438 is 0x0000, not 0xef53"
    );
    let e = Ext4::open(MemDevice::zeroed(100)).unwrap_err();
    assert!(matches!(e, DiskError::NotExt4(_)), "{e}");
}

/// A small image for the damage tests: every kind of structure, 1 KiB blocks.
fn small_image(opts: &[&str]) -> Option<Vec<u8>> {
    let mke2fs = norrec_testutil::tool("mke2fs")?;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("a/b")).unwrap();
    fs::write(src.join("a/b/f"), pattern(3, 30_000)).unwrap();
    fs::write(src.join("small"), b"hello").unwrap();
    for i in 0..300 {
        fs::write(src.join(format!("a/n{i}")), b"x").unwrap();
    }
    std::os::unix::fs::symlink("a/b/f", src.join("l")).unwrap();
    let img = dir.path().join("s.img");
    fs::File::create(&img).unwrap().set_len(4 << 20).unwrap();
    let mut args = vec!["-F", "-q"];
    args.extend_from_slice(opts);
    args.extend(["-d", src.to_str().unwrap(), img.to_str().unwrap()]);
    norrec_testutil::run_ok(&mke2fs, &args);
    Some(fs::read(&img).unwrap())
}

/// Reads everything reachable; errors are fine, panics are not.
fn walk_all(dev: MemDevice) -> usize {
    let Ok(mut fs) = Ext4::open(dev) else {
        return 0;
    };
    let mut todo = vec![2u32];
    let mut seen = std::collections::HashSet::new();
    let mut ok = 0;
    while let Some(ino) = todo.pop() {
        if !seen.insert(ino) || seen.len() > 2000 {
            continue;
        }
        let Ok(entries) = fs.read_dir(ino) else {
            continue;
        };
        for e in entries {
            let Ok(i) = fs.inode(e.ino) else { continue };
            match i.kind() {
                FileKind::Dir => todo.push(e.ino),
                FileKind::Symlink => {
                    let _ = fs.read_link(e.ino);
                }
                _ => {
                    if let Ok(mut f) = fs.open_file(e.ino) {
                        // Bounded: a damaged size may claim terabytes.
                        let mut buf = vec![0u8; 65536];
                        for _ in 0..16 {
                            match f.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(_) => {}
                            }
                        }
                    }
                }
            }
            ok += 1;
        }
    }
    let _ = fs.lookup("/a/b/f");
    ok
}

#[test]
fn damaged_and_truncated_images_give_errors_not_panics() {
    for opts in [
        &["-t", "ext4"][..],
        &["-t", "ext2"],
        &["-t", "ext4", "-O", "inline_data"],
    ] {
        let Some(img) = small_image(opts) else { return };
        assert!(walk_all(MemDevice { data: img.clone() }) > 300);
        // Truncated: the superblock's block count no longer fits.
        let e = Ext4::open(MemDevice {
            data: img[..img.len() / 2].to_vec(),
        })
        .unwrap_err();
        assert!(e.to_string().contains("s_blocks_count"), "truncated: {e}");
        // Random damage in the metadata-dense first 300 KiB (superblock, descriptors, bitmaps,
        // inode tables, directories), a few bytes at a time.
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..300 {
            let mut d = img.clone();
            for _ in 0..1 + next() % 16 {
                let at = 1024 + (next() % (300 << 10)) as usize;
                d[at] = next() as u8;
            }
            walk_all(MemDevice { data: d });
        }
    }
}

/// The superblock's sizes are checked before anything else is read.
#[test]
fn bad_superblock_fields_are_named() {
    let Some(img) = small_image(&["-t", "ext4"]) else {
        return;
    };
    let field = |off: usize, val: &[u8]| {
        let mut d = img.clone();
        d[1024 + off..1024 + off + val.len()].copy_from_slice(val);
        Ext4::open(MemDevice { data: d }).unwrap_err().to_string()
    };
    let e = field(0x18, &[9, 0, 0, 0]);
    assert!(
        e.starts_with("ext4 at byte 0x418: superblock: s_log_block_size 9"),
        "{e}"
    );
    let e = field(0x58, &[100, 0]);
    assert!(
        e.starts_with("ext4 at byte 0x458: superblock: inode size"),
        "{e}"
    );
    let e = field(0x28, &[0, 0, 0, 0]);
    assert!(e.contains("s_inodes_per_group 0"), "{e}");
    let e = field(0x60, &[1, 0, 0, 0]);
    assert!(
        e.contains("features norrec does not read: compression"),
        "{e}"
    );
    // A window smaller than the file system.
    let mut dev = MemDevice { data: img.clone() };
    let len = dev.len();
    let w = norrec_disk::Window::new(&mut dev, 0, len - 4096).unwrap();
    assert!(Ext4::open(w).is_err());
}

/// norrec's own writer (`ext4::write::build_from_dir`, 4 KiB blocks, metadata_csum, extent
/// trees of depth 1, times with epoch bits and nanoseconds) read back by norrec's reader.
#[test]
fn norrec_built_image_reads_back() {
    use norrec_disk::ext4::write;
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("rt.img");
    fs::File::create(&img).unwrap().set_len(400 << 20).unwrap();
    let uuid = write::random_uuid();
    let o = write::Options::new(
        uuid,
        write::hash_seed_from(&uuid),
        write::Time {
            sec: 1_700_000_000,
            nsec: 0,
        },
    );
    {
        let mut dev = ImageFile::open(&img).unwrap();
        write::build_from_dir(&mut dev, tree(), &o, &mut |_| {}).unwrap();
    }
    let mut fs = open(&img);
    let n = verify(&mut fs, 2, tree(), "", true, false);
    assert!(n > MANY + 30, "{n} entries compared");
    let future = fs.lookup("/future").unwrap();
    assert_eq!(future.mtime.secs, FUTURE as i64);
    if let Some(debugfs) = norrec_testutil::tool("debugfs") {
        let _ = debugfs;
        for d in ["/", "/etc", "/many"] {
            assert_eq!(norrec_ls(&mut fs, d), debugfs_ls(&img, d), "ls -l {d}");
        }
    }
}

/// bigalloc with 1 KiB blocks in 4 KiB clusters: `s_first_data_block` is 0 although blocks are
/// 1 KiB, and the descriptors still follow the superblock's block.
#[test]
fn ext4_bigalloc_1k_blocks() {
    if let Some((_d, img)) = check(
        &["-t", "ext4", "-O", "bigalloc", "-C", "4096"],
        300,
        1024,
        false,
        false,
    ) {
        let fs = open(&img);
        assert_eq!(fs.superblock().first_data_block, 0);
        assert_eq!(fs.superblock().cluster_ratio, 4);
    }
}

/// The encrypt feature only says inodes may be encrypted: plain ones are read, an encrypted one
/// (EXT4_ENCRYPT_FL, 0x800 in i_flags at 0x20) is refused naming that field.
#[test]
fn encrypted_inodes_are_refused_one_by_one() {
    let Some(img) = small_image(&["-t", "ext4", "-O", "encrypt,^metadata_csum"]) else {
        return;
    };
    let mut fs = Ext4::open(MemDevice { data: img.clone() }).unwrap();
    assert!(fs.info().features.iter().any(|f| f == "encrypt"));
    let f = fs.lookup("/a/b/f").unwrap();
    let mut v = Vec::new();
    fs.open_file(f.ino).unwrap().read_to_end(&mut v).unwrap();
    assert_eq!(v, pattern(3, 30_000));
    let mut d = img;
    d[f.offset as usize + 0x21] |= 0x08;
    let mut fs = Ext4::open(MemDevice { data: d }).unwrap();
    let e = fs.open_file(f.ino).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "ext4 at byte {:#x}: file inode {} is encrypted (i_flags)",
            f.offset + 0x20,
            f.ino
        )
    );
}
