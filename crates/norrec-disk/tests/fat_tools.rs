//! FAT interop with mtools and dosfstools: what norrec writes into a partition window,
//! `mdir`/`mcopy -i img@@offset` read back byte for byte and `fsck.fat -n` finds clean; what
//! mtools writes into a `mkfs.vfat --offset` file system, norrec reads back. Also the refusals:
//! no FAT, missing path, not enough space — each leaving the image as it was.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use norrec_disk::fat::{self, Choice, DosDateTime, Identity};
use norrec_disk::{DiskError, ImageFile, Window, mbr, script};

const MIB: u64 = 1 << 20;

/// Deterministic pseudo-random bytes (xorshift), so files are not all zeros (holes).
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

/// A sparse image of `size` with the table sfdisk makes from `,,c` (partition 1 at 1 MiB).
fn partitioned(path: &Path, size: u64) -> mbr::DosPartition {
    let f = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .unwrap();
    let mut img = ImageFile::create_in(f, size).unwrap();
    let table = script::layout(&script::parse(",,c\n").unwrap(), size).unwrap();
    mbr::write_table(&mut img, &table).unwrap();
    table.slots[0].unwrap()
}

fn id() -> Identity {
    Identity {
        volume_id: 0xfeed_beef,
        label: Some("RECOVERY".into()),
        hidden_sectors: 2048,
        time: DosDateTime::from_unix(1_700_000_000),
    }
}

fn format_part(img_path: &Path, part: &mbr::DosPartition) {
    let mut img = ImageFile::open(img_path).unwrap();
    let mut w = Window::partition(&mut img, part).unwrap();
    fat::format(&mut w, Choice::default(), &id()).unwrap();
}

fn mtools(name: &str) -> Option<PathBuf> {
    norrec_testutil::tool(name)
}

fn run(tool: &Path, args: &[&str]) -> String {
    let out = norrec_testutil::run_ok(tool, args);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The partition copied out to its own file (fsck.fat has no offset option).
fn extract(img: &Path, part: &mbr::DosPartition, to: &Path) {
    let mut f = File::open(img).unwrap();
    use std::io::{Seek, SeekFrom};
    f.seek(SeekFrom::Start(part.start * 512)).unwrap();
    let mut out = File::create(to).unwrap();
    std::io::copy(&mut f.take(part.size * 512), &mut out).unwrap();
}

fn fsck_clean(path: &Path) {
    let Some(fsck) = norrec_testutil::tool("fsck.fat") else {
        return;
    };
    let out = Command::new(fsck).arg("-n").arg(path).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "fsck.fat -n: {text}");
    for bad in ["differ", "dirty", "Free cluster", "Fix", "wrong", "Orphan"] {
        assert!(!text.contains(bad), "fsck.fat -n: {text}");
    }
}

fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let files = vec![
        (PathBuf::from("boot.scr"), noise(1234, 1)),
        (PathBuf::from("uboot.env"), noise(65536, 2)),
        (
            PathBuf::from("update-2026.11.swu"),
            noise(5 * MIB as usize + 17, 3),
        ),
        (
            PathBuf::from("Long Directory Name/nested/A file with spaces.txt"),
            noise(100, 4),
        ),
        (PathBuf::from("Long Directory Name/empty.bin"), Vec::new()),
        (PathBuf::from("EXACT.TXT"), b"8.3 upper".to_vec()),
    ];
    for (p, data) in &files {
        let full = dir.join(p);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, data).unwrap();
    }
    files
}

#[test]
fn norrec_writes_mtools_and_fsck_read() {
    let (Some(mdir), Some(mcopy)) = (mtools("mdir"), mtools("mcopy")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("usb.img");
    let part = partitioned(&img, 64 * MIB);
    format_part(&img, &part);
    let src = dir.path().join("src");
    let files = tree(&src);
    let sources: Vec<PathBuf> = fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    {
        let mut f = ImageFile::open(&img).unwrap();
        let w = Window::partition(&mut f, &part).unwrap();
        let n = fat::with_fs(w, |fs| fat::fs::copy_in(fs, &sources, "/")).unwrap();
        assert_eq!(n, files.iter().map(|(_, d)| d.len() as u64).sum::<u64>());
    }
    let at = format!("{}@@{}", img.display(), part.start * 512);
    let listing = run(&mdir, &["-i", &at, "::/"]);
    assert!(listing.contains("update-2026.11.swu"), "{listing}");
    assert!(listing.contains("RECOVERY"), "label: {listing}");
    let listing = run(&mdir, &["-i", &at, "::/Long Directory Name/nested"]);
    assert!(listing.contains("A file with spaces.txt"), "{listing}");
    // Short names U-Boot and DOS see: an 8.3 name stays itself.
    let short = run(&mdir, &["-i", &at, "-a", "::/"]);
    assert!(short.contains("EXACT    TXT"), "{short}");
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    for (p, data) in &files {
        let local = out.join(p.file_name().unwrap());
        let fatpath = format!("::/{}", p.display());
        run(
            &mcopy,
            &["-n", "-o", "-i", &at, &fatpath, local.to_str().unwrap()],
        );
        assert!(fs::read(&local).unwrap() == *data, "{}", p.display());
    }
    let alone = dir.path().join("p1.img");
    extract(&img, &part, &alone);
    fsck_clean(&alone);
}

#[test]
fn mtools_writes_norrec_reads() {
    let (Some(mkfs), Some(mcopy), Some(mmd)) =
        (mtools("mkfs.vfat"), mtools("mcopy"), mtools("mmd"))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("sd.img");
    let part = partitioned(&img, 300 * MIB);
    run(
        &mkfs,
        &["--offset", "2048", "-n", "MTOOLS", img.to_str().unwrap()],
    );
    let at = format!("{}@@{}", img.display(), part.start * 512);
    let big = noise(3 * MIB as usize + 5, 9);
    let small = b"bootcmd=run distro_bootcmd\n".to_vec();
    let f_big = dir.path().join("Rootfs Image.bin");
    let f_small = dir.path().join("boot.cmd");
    fs::write(&f_big, &big).unwrap();
    fs::write(&f_small, &small).unwrap();
    run(&mmd, &["-i", &at, "::/boot"]);
    run(
        &mcopy,
        &[
            "-i",
            &at,
            f_big.to_str().unwrap(),
            "::/boot/Rootfs Image.bin",
        ],
    );
    run(
        &mcopy,
        &["-i", &at, f_small.to_str().unwrap(), "::/boot.cmd"],
    );

    let mut f = ImageFile::open(&img).unwrap();
    let w = Window::partition(&mut f, &part).unwrap();
    let (info, root, boot, got_big, got_small) = fat::with_fs_read_only(w, |fs| {
        let mut a = Vec::new();
        let mut b = Vec::new();
        fat::fs::read_file(fs, "/boot/Rootfs Image.bin", &mut a)?;
        fat::fs::read_file(fs, "/BOOT.CMD", &mut b)?; // case-insensitive, as FAT is
        Ok((
            fat::fs::info(fs)?,
            fat::fs::list(fs, "/")?,
            fat::fs::list(fs, "/boot")?,
            a,
            b,
        ))
    })
    .unwrap();
    assert_eq!(info.fat_type, fat::FatType::Fat16);
    assert_eq!(info.label, "MTOOLS");
    assert!(got_big == big);
    assert_eq!(got_small, small);
    let names: Vec<_> = root.iter().map(|e| (e.name.as_str(), e.is_dir)).collect();
    assert_eq!(names, [("boot", true), ("boot.cmd", false)]);
    assert_eq!(boot.len(), 1);
    assert_eq!(
        (boot[0].name.as_str(), boot[0].size),
        ("Rootfs Image.bin", big.len() as u64)
    );
    // A tree copied out comes back whole.
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let w = Window::partition(&mut f, &part).unwrap();
    fat::with_fs_read_only(w, |fs| fat::fs::copy_out(fs, "/", &out.join("all"))).unwrap();
    assert!(fs::read(out.join("all/boot/Rootfs Image.bin")).unwrap() == big);
}

fn image_bytes(path: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    File::open(path).unwrap().read_to_end(&mut v).unwrap();
    v
}

#[test]
fn refusals_leave_the_image_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("sd.img");
    let part = partitioned(&img, 24 * MIB);
    let src = dir.path().join("f.bin");
    fs::write(&src, noise(1000, 5)).unwrap();

    // No FAT in the partition yet.
    let before = image_bytes(&img);
    let mut f = ImageFile::open(&img).unwrap();
    let w = Window::partition(&mut f, &part).unwrap();
    let e = fat::with_fs(w, |fs| {
        fat::fs::copy_in(fs, std::slice::from_ref(&src), "/")
    })
    .unwrap_err();
    assert!(matches!(e, DiskError::NotFat(_)), "{e}");
    assert!(e.to_string().contains("offset 510"), "{e}");
    drop(f);
    assert!(image_bytes(&img) == before);

    format_part(&img, &part);
    let before = image_bytes(&img);
    let mut f = ImageFile::open(&img).unwrap();
    // A directory that does not exist.
    let w = Window::partition(&mut f, &part).unwrap();
    let e = fat::with_fs(w, |fs| {
        fat::fs::copy_in(fs, std::slice::from_ref(&src), "/no/such/dir/x")
    })
    .unwrap_err();
    assert!(matches!(e, DiskError::FatPath { .. }), "{e}");
    // A source that does not exist.
    let w = Window::partition(&mut f, &part).unwrap();
    let e = fat::with_fs(w, |fs| {
        fat::fs::copy_in(fs, &[dir.path().join("nope")], "/")
    })
    .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
    // Larger than the free space (the FAT is about 23 MiB).
    let huge = dir.path().join("huge.bin");
    fs::write(&huge, noise(30 * MIB as usize, 6)).unwrap();
    let w = Window::partition(&mut f, &part).unwrap();
    let e = fat::with_fs(w, |fs| {
        fat::fs::copy_in(fs, &[src.clone(), huge.clone()], "/")
    })
    .unwrap_err();
    assert!(matches!(e, DiskError::NoSpace { .. }), "{e}");
    // Reading a path that does not exist.
    let w = Window::partition(&mut f, &part).unwrap();
    let e = fat::with_fs_read_only(w, |fs| fat::fs::list(fs, "/missing")).unwrap_err();
    assert!(e.to_string().contains("/missing: no such file"), "{e}");
    drop(f);
    assert!(
        image_bytes(&img) == before,
        "a refused operation changed the image"
    );
}

#[test]
fn overwrite_truncates_and_fsck_stays_clean() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("sd.img");
    let part = partitioned(&img, 40 * MIB);
    format_part(&img, &part);
    let src = dir.path().join("uboot.env");
    fs::write(&src, noise(200_000, 7)).unwrap();
    let mut f = ImageFile::open(&img).unwrap();
    let w = Window::partition(&mut f, &part).unwrap();
    fat::with_fs(w, |fs| {
        fat::fs::copy_in(fs, std::slice::from_ref(&src), "/")
    })
    .unwrap();
    fs::write(&src, b"short now").unwrap();
    let w = Window::partition(&mut f, &part).unwrap();
    fat::with_fs(w, |fs| {
        fat::fs::copy_in(fs, std::slice::from_ref(&src), "/uboot.env")
    })
    .unwrap();
    let w = Window::partition(&mut f, &part).unwrap();
    let mut got = Vec::new();
    fat::with_fs_read_only(w, |fs| fat::fs::read_file(fs, "/uboot.env", &mut got)).unwrap();
    assert_eq!(got, b"short now");
    drop(f);
    let alone = dir.path().join("p1.img");
    extract(&img, &part, &alone);
    fsck_clean(&alone);
}

#[test]
fn big_volumes_fsck_clean_with_files() {
    // 1 GiB and 2 GiB FAT32 with a file in them; fsck.fat -n clean; the image stays sparse.
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("bundle.swu");
    fs::write(&src, noise(8 * MIB as usize, 8)).unwrap();
    for size in [1024 * MIB, 2048 * MIB] {
        let img = dir.path().join(format!("fs{size}.img"));
        let f = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&img)
            .unwrap();
        let mut im = ImageFile::create_in(f, size).unwrap();
        let mut ident = id();
        ident.hidden_sectors = 0;
        fat::format(&mut im, Choice::default(), &ident).unwrap();
        fat::with_fs(&mut im, |fs| {
            fat::fs::copy_in(fs, std::slice::from_ref(&src), "/")
        })
        .unwrap();
        drop(im);
        fsck_clean(&img);
        let used = fs::metadata(&img).unwrap().blocks() * 512;
        assert!(used < 8 * MIB + 6 * MIB, "{size}: {used} bytes allocated");
    }
}

#[test]
fn fat12_with_directories_is_fsck_clean() {
    // 4 MiB: FAT12 (2036 clusters of 2 KiB, as mkfs.vfat picks); the '.'/'..' repair walks
    // 12-bit FAT chains.
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("f12.img");
    let f = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&img)
        .unwrap();
    let mut im = ImageFile::create_in(f, 4 * MIB).unwrap();
    let mut ident = id();
    ident.hidden_sectors = 0;
    let p = fat::format(&mut im, Choice::default(), &ident).unwrap();
    assert_eq!(p.fat_type, fat::FatType::Fat12);
    let src = dir.path().join("src");
    let files = tree(&src);
    let small: Vec<PathBuf> = fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("update-2026.11.swu"))
        .collect();
    fat::with_fs(&mut im, |fs| fat::fs::copy_in(fs, &small, "/")).unwrap();
    let mut got = Vec::new();
    fat::with_fs_read_only(&mut im, |fs| {
        fat::fs::read_file(
            fs,
            "/Long Directory Name/nested/A file with spaces.txt",
            &mut got,
        )
    })
    .unwrap();
    assert_eq!(got, files[3].1);
    drop(im);
    fsck_clean(&img);
}

#[test]
fn fragmented_free_space_and_growing_overwrite_read_back_by_mtools() {
    // File data goes into the image in runs of consecutive clusters, copied by the kernel
    // while fatfs writes the chain: here the free space is in pieces (mtools deleted a file
    // in the middle) and an existing file grows past its old chain, so the runs are several.
    let (Some(mcopy), Some(mdel)) = (mtools("mcopy"), mtools("mdel")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("sd.img");
    let part = partitioned(&img, 64 * MIB);
    format_part(&img, &part);
    let at = format!("{}@@{}", img.display(), part.start * 512);
    let put = |name: &str, data: &[u8]| {
        let src = dir.path().join(name);
        fs::write(&src, data).unwrap();
        let mut f = ImageFile::open(&img).unwrap();
        let w = Window::partition(&mut f, &part).unwrap();
        let n = fat::with_fs(w, |fs| fat::fs::copy_in(fs, &[src], "/")).unwrap();
        assert_eq!(n, data.len() as u64);
    };
    put("a.bin", &noise(300_000, 11));
    put("b.bin", &noise(500_000, 12));
    put("c.bin", &noise(300_001, 13));
    run(&mdel, &["-i", &at, "::/b.bin"]);
    // 2 MiB: the 500 KB hole b.bin left, then on after c.bin.
    let big = noise(2 * MIB as usize + 3, 14);
    put("big.bin", &big);
    // a.bin grows from 300 KB to 1 MB: its old chain, then new clusters elsewhere.
    let a2 = noise(1_000_000, 15);
    put("a.bin", &a2);
    for (name, data) in [("a.bin", &a2), ("big.bin", &big)] {
        let local = dir.path().join(format!("back-{name}"));
        run(
            &mcopy,
            &[
                "-n",
                "-i",
                &at,
                &format!("::/{name}"),
                local.to_str().unwrap(),
            ],
        );
        assert!(fs::read(&local).unwrap() == *data, "{name} differs");
    }
    let alone = dir.path().join("p1.img");
    extract(&img, &part, &alone);
    fsck_clean(&alone);
}
