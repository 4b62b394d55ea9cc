//! norrec's FAT formatter against `mkfs.vfat` (dosfstools 4.2) on the same sizes: the same FAT
//! type, cluster size, reserved sectors, FAT size, root directory, geometry — compared by
//! parsing both boot sectors — and the same metadata bytes (FSInfo, FATs, root directory with
//! the label entry) when mkfs.vfat runs with `--invariant -i 1234abcd`. The only bytes allowed
//! to differ are the OEM name (3..11) and the boot code (from the end of the extended BPB to
//! 510) of the boot sector and its FAT32 backup. `fsck.fat -n` must find nothing to fix, and
//! the image must stay sparse.

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use norrec_disk::ImageFile;
use norrec_disk::fat::{self, BootSector, Choice, DosDateTime, FatType, Identity};

const MIB: u64 = 1 << 20;
/// mkfs.fat's `--invariant` time stamp (2015-03-14 09:26:53 UTC) and volume id.
const INVARIANT_TIME: i64 = 1_426_325_213;
const VOLID: u32 = 0x1234_abcd;

fn identity(label: &str) -> Identity {
    Identity {
        volume_id: VOLID,
        label: Some(label.into()),
        hidden_sectors: 0,
        time: DosDateTime::from_unix(INVARIANT_TIME),
    }
}

fn norrec_format(path: &Path, size: u64, choice: Choice, label: &str) -> fat::Params {
    let f = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .unwrap();
    let mut img = ImageFile::create_in(f, size).unwrap();
    fat::format(&mut img, choice, &identity(label)).unwrap()
}

fn mkfs(mkfs: &Path, path: &Path, size: u64, extra: &[&str], label: &str) {
    File::create(path).unwrap().set_len(size).unwrap();
    let mut args: Vec<String> = vec!["--invariant".into(), "-i".into(), format!("{VOLID:08x}")];
    args.extend(["-n".into(), label.into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(path.display().to_string());
    norrec_testutil::run_ok(mkfs, &args);
}

/// Boot code starts at the end of the extended BPB.
fn code_start(b: &[u8]) -> usize {
    if BootSector::parse(b).unwrap().is_fat32_layout() {
        0x5a
    } else {
        0x3e
    }
}

fn assert_boot_sectors_agree(ours: &[u8], theirs: &[u8], what: &str) {
    let c = code_start(theirs);
    assert_eq!(&ours[0..3], &theirs[0..3], "{what}: jump (offset 0)");
    for off in 11..c {
        assert_eq!(ours[off], theirs[off], "{what}: boot sector byte {off:#x}");
    }
    assert_eq!(
        &ours[510..512],
        &theirs[510..512],
        "{what}: signature (510)"
    );
    assert_eq!(&ours[3..11], b"norrec  ", "{what}: OEM name (3)");
}

fn fsck_clean(path: &Path) {
    let Some(fsck) = norrec_testutil::tool("fsck.fat") else {
        return;
    };
    let out = std::process::Command::new(fsck)
        .arg("-n")
        .arg(path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "fsck.fat -n {}: {text}",
        path.display()
    );
    for bad in [
        "differ",
        "dirty",
        "Free cluster summary",
        "Fix",
        "Fixing",
        "wrong",
    ] {
        assert!(
            !text.contains(bad),
            "fsck.fat -n {}: {text}",
            path.display()
        );
    }
}

fn compare(size: u64, choice: Choice, extra: &[&str]) {
    let Some(mkfs_vfat) = norrec_testutil::tool("mkfs.vfat") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("norrec.img");
    let theirs = dir.path().join("mkfs.img");
    let p = norrec_format(&ours, size, choice, "NORRECBOOT");
    mkfs(&mkfs_vfat, &theirs, size, extra, "NORRECBOOT");
    // The metadata lies in the first few MiB.
    let head = |path: &Path| {
        use std::io::Read;
        let mut v = Vec::new();
        File::open(path)
            .unwrap()
            .take(16 * MIB)
            .read_to_end(&mut v)
            .unwrap();
        v
    };
    let (a, b) = (head(&ours), head(&theirs));
    let what = format!("{} MiB {extra:?}", size / MIB);

    // Parsed: the choices mkfs.vfat made.
    let (sa, sb) = (
        BootSector::parse(&a[..512]).unwrap(),
        BootSector::parse(&b[..512]).unwrap(),
    );
    assert_eq!(sa.fat_type(), sb.fat_type(), "{what}: FAT type");
    assert_eq!(
        sa.sectors_per_cluster(),
        sb.sectors_per_cluster(),
        "{what}: cluster size"
    );
    assert_eq!(
        sa.reserved_sectors(),
        sb.reserved_sectors(),
        "{what}: reserved"
    );
    assert_eq!(sa.fat_sectors(), sb.fat_sectors(), "{what}: FAT size");
    assert_eq!(sa.root_entries(), sb.root_entries(), "{what}: root entries");
    assert_eq!(
        sa.total_sectors(),
        sb.total_sectors(),
        "{what}: total sectors"
    );
    assert_eq!(
        (sa.heads(), sa.sectors_per_track()),
        (sb.heads(), sb.sectors_per_track())
    );
    assert_eq!(sa.clusters(), p.clusters, "{what}: norrec's own count");

    // Bytes: boot sector, then everything up to the end of the root directory.
    assert_boot_sectors_agree(&a[..512], &b[..512], &what);
    let root_end = (u64::from(sa.first_data_sector())
        + if sa.is_fat32_layout() {
            u64::from(sa.sectors_per_cluster())
        } else {
            0
        })
        * 512;
    let backup = sa.backup_boot_sector().map(|s| usize::from(s) * 512);
    let mut off = 512;
    while off < root_end as usize {
        if Some(off) == backup {
            assert_boot_sectors_agree(&a[off..off + 512], &b[off..off + 512], &what);
        } else {
            assert!(
                a[off..off + 512] == b[off..off + 512],
                "{what}: sector {} differs from mkfs.vfat's",
                off / 512
            );
        }
        off += 512;
    }
    fsck_clean(&ours);
    // Sparse: only the metadata takes space.
    let used = fs::metadata(&ours).unwrap().blocks() * 512;
    assert!(
        used <= root_end + 64 * 1024,
        "{what}: {used} bytes allocated for {root_end} bytes of metadata"
    );
}

#[test]
fn default_16m_fat16() {
    compare(16 * MIB, Choice::default(), &[]);
}

#[test]
fn default_40m_fat16() {
    // The seed's p1 (81920 sectors): mkfs.vfat 4.2 picks FAT16 by default; so does norrec.
    compare(40 * MIB, Choice::default(), &[]);
}

#[test]
fn default_256m_fat16() {
    compare(256 * MIB, Choice::default(), &[]);
}

#[test]
fn default_1g_fat32() {
    compare(1024 * MIB, Choice::default(), &[]);
}

#[test]
fn default_2g_fat32() {
    compare(2048 * MIB, Choice::default(), &[]);
}

#[test]
fn forced_fat32_40m() {
    let c = Choice {
        fat_type: Some(FatType::Fat32),
        ..Choice::default()
    };
    compare(40 * MIB, c, &["-F", "32"]);
}

#[test]
fn forced_fat12_and_cluster_size() {
    let c = Choice {
        fat_type: Some(FatType::Fat12),
        sectors_per_cluster: Some(8),
    };
    compare(8 * MIB, c, &["-F", "12", "-s", "8"]);
    let c = Choice {
        fat_type: None,
        sectors_per_cluster: Some(16),
    };
    compare(256 * MIB, c, &["-s", "16"]);
}

#[test]
fn odd_size_not_track_aligned() {
    // 100 MiB + 3 sectors: rounded down to whole tracks like mkfs.vfat.
    compare(100 * MIB + 1536, Choice::default(), &[]);
}

#[test]
fn too_small_for_its_type_leaves_device_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.img");
    fs::write(&path, vec![0xa5u8; 32 * MIB as usize]).unwrap();
    let mut img = ImageFile::open(&path).unwrap();
    let c = Choice {
        fat_type: Some(FatType::Fat32),
        ..Choice::default()
    };
    let e = fat::format(&mut img, c, &identity("X"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("too small for FAT32"), "{e}");
    let e = fat::format(&mut img, Choice::default(), &identity("bad:label"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not allowed"), "{e}");
    drop(img);
    assert!(fs::read(&path).unwrap().iter().all(|&b| b == 0xa5));
}
