//! Interop with util-linux sfdisk: the same script through sfdisk and through norrec must give
//! the same `sfdisk -d` dump (and the same sector 0 byte for byte when the script fixes the
//! disk identifier), and norrec must read back what sfdisk wrote. sfdisk only ever runs on
//! image files in temporary directories (`--no-reread --no-tell-kernel`).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use norrec_disk::script::{self, dump};
use norrec_disk::{BlockDevice, ImageFile, mbr};

const GIB: u64 = 1 << 30;

struct Pair {
    _dir: tempfile::TempDir,
    sfdisk_dir: PathBuf,
    norrec_dir: PathBuf,
}

fn sfdisk() -> Option<PathBuf> {
    norrec_testutil::tool("sfdisk")
}

fn blank_image(path: &Path, size: u64) {
    File::create(path).unwrap().set_len(size).unwrap();
}

/// Runs sfdisk with `script` on stdin against `img`; returns (success, stderr).
fn run_sfdisk(sf: &Path, img: &Path, script: &str) -> (bool, String) {
    let mut child = Command::new(sf)
        .args(["--no-reread", "--no-tell-kernel", "-q"])
        .arg(img)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `sfdisk -d disk.img` run inside `dir`, so the device name is the same for both images.
fn sfdisk_dump(sf: &Path, dir: &Path) -> String {
    let out = Command::new(sf)
        .args(["-d", "disk.img"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sfdisk -d failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn without_label_id(dump: &str) -> String {
    dump.lines()
        .filter(|l| !l.starts_with("label-id:"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Partitions two blank images of `size` bytes, one with sfdisk and one with norrec.
fn both(sf: &Path, script_text: &str, size: u64) -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let sfdisk_dir = dir.path().join("sfdisk");
    let norrec_dir = dir.path().join("norrec");
    std::fs::create_dir(&sfdisk_dir).unwrap();
    std::fs::create_dir(&norrec_dir).unwrap();
    blank_image(&sfdisk_dir.join("disk.img"), size);
    blank_image(&norrec_dir.join("disk.img"), size);
    let (ok, err) = run_sfdisk(sf, &sfdisk_dir.join("disk.img"), script_text);
    assert!(ok, "sfdisk refused {script_text:?}: {err}");
    let mut img = ImageFile::open(&norrec_dir.join("disk.img")).unwrap();
    script::apply(&mut img, script_text).unwrap();
    Pair {
        _dir: dir,
        sfdisk_dir,
        norrec_dir,
    }
}

fn sector0(dir: &Path) -> Vec<u8> {
    let mut b = vec![0u8; 512];
    ImageFile::open_read_only(&dir.join("disk.img"))
        .unwrap()
        .read_at(0, &mut b)
        .unwrap();
    b
}

/// Same dump; when the script fixes the label-id, the same sector 0 too.
fn check_same(script_text: &str, size: u64) {
    let Some(sf) = sfdisk() else { return };
    let p = both(&sf, script_text, size);
    let a = sfdisk_dump(&sf, &p.sfdisk_dir);
    let b = sfdisk_dump(&sf, &p.norrec_dir);
    if script_text.contains("label-id:") {
        assert_eq!(b, a, "script {script_text:?}");
        assert_eq!(
            sector0(&p.norrec_dir),
            sector0(&p.sfdisk_dir),
            "sector 0 differs for {script_text:?}"
        );
    } else {
        assert_eq!(
            without_label_id(&b),
            without_label_id(&a),
            "script {script_text:?}"
        );
        // Same bytes apart from the random disk identifier (440..444).
        let (mut x, mut y) = (sector0(&p.norrec_dir), sector0(&p.sfdisk_dir));
        x[440..444].fill(0);
        y[440..444].fill(0);
        assert_eq!(x, y, "sector 0 differs for {script_text:?}");
    }
    // And norrec reads sfdisk's table back to sfdisk's own dump.
    let mut img = ImageFile::open_read_only(&p.sfdisk_dir.join("disk.img")).unwrap();
    let table = mbr::read_table(&mut img).unwrap();
    assert_eq!(
        dump(&table, "disk.img", size / 512),
        a,
        "reading {script_text:?}"
    );
}

const SEED: &str = "unit: sectors\nsector-size: 512\nstart= 4096, size= 81920, type=c, bootable\n\
start= 86016, size= 681574, type=L\nstart= 770048, size= 681574, type=L\nstart= 1454080, size= , type=L\n";

#[test]
fn seed_layout_1g() {
    check_same(SEED, GIB);
    check_same(&format!("label: dos\nlabel-id: 0x348aa4b8\n{SEED}"), GIB);
}

#[test]
fn usb_stick_shorthand_1g() {
    check_same(",,c\n", GIB);
    check_same("label-id: 0xcafe0001\n,,c\n", GIB);
}

#[test]
fn positional_fields_and_suffixes() {
    for s in [
        "label-id: 0x1\n2048 10 c *\n",
        "label-id: 0x2\n2048,81920,c,*\n,100M\n,,S\n",
        "label-id: 0x3\n2048;10;c;-\n- 40M L\n",
        "label-id: 0x4\n,40M,c,*\n,100M\n,,S\n",
        "label-id: 0x5\nsize=40M, type=0c, bootable\nsize=40MiB, type=83\nsize=40MB\nsize=1.5M\n",
        "label-id: 0x6\nsize=1000K\nsize=1001K\n,100\n,\n",
        "label-id: 0x7\nstart=100, size=10\nsize=10\n,10\n",
        "label-id: 0x8\n,10M\n,1\n,10M\n",
        "label-id: 0x9\nstart=0x800,size=0100\nstart=2M, size=+10\n",
        "label-id: 12345678\nx3 : start=4096, size=100\n,100\n",
        "label-id: 0xa\nstart=2048 size=10 Id=b bootable\n",
        "label-id: 0xb\n# comment\r\n\r\nsize=10M,type=S\nsize=10M,type=linux\nsize=10M,type=0x83\nsize=,type=U\n",
    ] {
        check_same(s, GIB);
    }
}

#[test]
fn odd_disk_sizes() {
    // Not a multiple of 1 MiB: the rest-of-disk partition ends at the last whole sector.
    check_same("label-id: 0xc\n,,c\n", 10_000_000);
    // 4 MiB and less: sfdisk starts at sector 1 and does not align (dump says grain: 512).
    check_same("label-id: 0xd\n,,c\n", 4 << 20);
    check_same("label-id: 0xe\n,1M\n,\n", 4 << 20);
    check_same("label-id: 0xf\n,,c\n", 5 << 20);
    // Big disk: CHS values pinned at cylinder 1023.
    check_same("label-id: 0x10\n,1G\n,\n", 64 * GIB);
}

#[test]
fn both_refuse_bad_lines() {
    let Some(sf) = sfdisk() else { return };
    for (s, needle) in [
        (
            "start=2048,size=100\nstart=2100,size=100\n",
            "line 2: partition 2: start sector 2100",
        ),
        (
            "start=3000000,size=100\n",
            "line 1: partition 1: start sector 3000000",
        ),
        (
            "start=2048,size=3000000\n",
            "line 1: partition 1: 3000000 sectors",
        ),
        ("foo=3\n", "line 1: unknown field"),
        ("unit: bytes\n,10\n", "line 1: unit"),
        (",10,c,?\n", "line 1: bootable"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("disk.img");
        blank_image(&img, GIB);
        let (ok, _) = run_sfdisk(&sf, &img, s);
        assert!(!ok, "sfdisk accepted {s:?}");
        let mut dev = ImageFile::open(&img).unwrap();
        let e = script::apply(&mut dev, s).unwrap_err().to_string();
        assert!(e.contains(needle), "{s:?}: {e}");
        assert!(
            sector0(dir.path()).iter().all(|&b| b == 0),
            "norrec wrote despite {s:?}"
        );
    }
}

#[test]
fn norrec_refuses_what_sfdisk_drops_or_guesses() {
    // sfdisk silently drops a fifth line, writes type 0 for an unknown word and makes type 5
    // extended partitions; norrec refuses each with the line number.
    for (s, needle) in [
        (
            ",10\n,10\n,10\n,10\n,10\n",
            "line 5: more than 4 partitions",
        ),
        ("type=xyz\n", "line 1: type: unknown partition type 'xyz'"),
        (
            "size=10, type=E\n",
            "line 1: partition 1: type 5 is an extended",
        ),
    ] {
        let mut dev = norrec_disk::MemDevice::zeroed(1 << 20);
        let e = script::apply(&mut dev, s).unwrap_err().to_string();
        assert!(e.contains(needle), "{s:?}: {e}");
        assert!(dev.data.iter().all(|&b| b == 0));
    }
}

#[test]
fn keeps_boot_code_like_sfdisk() {
    let Some(sf) = sfdisk() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.img"), dir.path().join("b.img"));
    for p in [&a, &b] {
        blank_image(p, GIB);
        let mut dev = ImageFile::open(p).unwrap();
        dev.write_at(0, &[0xab; 4096]).unwrap();
    }
    let s = "label-id: 0x11223344\n,,c\n";
    assert!(run_sfdisk(&sf, &a, s).0);
    script::apply(&mut ImageFile::open(&b).unwrap(), s).unwrap();
    let head = |p: &Path| {
        let mut buf = vec![0u8; 8192];
        ImageFile::open_read_only(p)
            .unwrap()
            .read_at(0, &mut buf)
            .unwrap();
        buf
    };
    assert_eq!(head(&a), head(&b));
}

/// Runs `prepare` on a 64 MiB image and copies it, then sfdisk on one and norrec on the other;
/// returns (sfdisk's image, norrec's image, norrec's result).
fn over_existing(
    sf: &Path,
    dir: &Path,
    prepare: impl Fn(&Path),
    script_text: &str,
) -> (Vec<u8>, Vec<u8>, norrec_disk::Result<norrec_disk::DosTable>) {
    let (a, b) = (dir.join("a.img"), dir.join("b.img"));
    blank_image(&a, 64 << 20);
    prepare(&a);
    std::fs::copy(&a, &b).unwrap();
    let (ok, err) = run_sfdisk(sf, &a, script_text);
    assert!(ok, "sfdisk refused {script_text:?}: {err}");
    let res = script::apply(&mut ImageFile::open(&b).unwrap(), script_text);
    (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), res)
}

#[test]
fn over_a_whole_disk_vfat_like_sfdisk() {
    let Some(sf) = sfdisk() else { return };
    let Some(mkfs) = norrec_testutil::tool("mkfs.vfat") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b, res) = over_existing(
        &sf,
        dir.path(),
        |p| {
            norrec_testutil::run_ok(&mkfs, [p]);
        },
        "label-id: 0x5eed\n,,c\n",
    );
    res.unwrap();
    // sfdisk warns about the vfat signature and keeps it; so does norrec: same bytes everywhere.
    assert!(a == b, "images differ");
}

#[test]
fn over_a_gpt_like_sfdisk() {
    let Some(sf) = sfdisk() else { return };
    let dir = tempfile::tempdir().unwrap();
    let make_gpt = |p: &Path| assert!(run_sfdisk(&sf, p, "label: gpt\n,10M\n,\n").0);
    // With `label: dos`, sfdisk zeroes the two "EFI PART" signatures and writes the MBR.
    let (a, b, res) = over_existing(
        &sf,
        dir.path(),
        make_gpt,
        "label: dos\nlabel-id: 0x6\n,,c\n",
    );
    res.unwrap();
    assert_eq!(&a[512..520], &[0; 8]);
    assert!(a == b, "images differ");
    // Without `label:`, sfdisk would write a new GPT; norrec refuses and writes nothing.
    let img = dir.path().join("c.img");
    blank_image(&img, 64 << 20);
    make_gpt(&img);
    let before = std::fs::read(&img).unwrap();
    let e = script::apply(&mut ImageFile::open(&img).unwrap(), ",,c\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("add 'label: dos'"), "{e}");
    assert!(std::fs::read(&img).unwrap() == before);
}
