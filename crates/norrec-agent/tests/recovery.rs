//! The recovery's library API on image files, without external tools: a cut after the
//! install's writes resumes at format (the boot partition group) and ends in the bytes of an
//! uncut run; a cut inside the format is redone as the journal's decision says (the data
//! partition formatted); a torn journal slot falls back to the other one; a bundle writing
//! into the journal area is refused.

use std::path::Path;

use norrec_agent::journal;
use norrec_agent::recovery::{Fault, Inputs, Step, StepLine, recover};
use norrec_disk::{BlockDevice, DosPartition, DosTable, ImageFile, Window, fat, mbr};
use norrec_swu::{BuildOptions, Compression, Selection};

const DESC: &str = r#"software = {
    version = "2.0";
    hardware-compatibility = [ "1.0" ];
    images: ( {
        filename = "root.img";
        device = "/dev/mmcblk0p2";
        sha256 = "$swupdate_get_sha256(root.img)";
    } );
    files: ( {
        filename = "boot.scr";
        path = "/boot.scr";
        device = "/dev/mmcblk0p1";
        filesystem = "vfat";
        sha256 = "$swupdate_get_sha256(boot.scr)";
    } );
    uboot: ( { name = "rootpart"; value = "2"; } );
}
"#;

/// Byte offset of the journal: the 8 KiB before p1 (sector 4096) of the board layout.
const JOURNAL: u64 = 4096 * 512 - 8192;

/// A 16 MiB stick image: MBR, FAT on p1, `update.swu` (unsigned) in its root.
fn stick(path: &Path, desc: &str) {
    let mut load = |name: &str, _: Compression| -> norrec_swu::Result<Vec<u8>> {
        Ok(match name {
            "spl.bin" => vec![0x5a; 4096],
            "root.img" => (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect(),
            _ => b"echo hello\n".to_vec(),
        })
    };
    let (swu, _) =
        norrec_swu::build(desc, &mut load, &BuildOptions::default(), Vec::new()).unwrap();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap();
    let mut img = ImageFile::create_in(file, 16 << 20).unwrap();
    let p = DosPartition {
        start: 2048,
        size: (16 << 20) / 512 - 2048,
        ptype: 0x0c,
        bootable: false,
    };
    let table = DosTable {
        disk_id: 1,
        slots: [Some(p), None, None, None],
    };
    mbr::write_table(&mut img, &table).unwrap();
    let mut win = Window::partition(&mut img, &p).unwrap();
    let id = fat::Identity {
        volume_id: 1,
        label: None,
        hidden_sectors: 2048,
        time: fat::DosDateTime::from_unix(1_700_000_000),
    };
    fat::format(&mut win, fat::Choice::default(), &id).unwrap();
    fat::with_fs(win, |fs| {
        fat::fs::write_file(fs, "/update.swu", &mut &swu[..], id.time).map(|_| ())
    })
    .unwrap();
}

fn inputs(dir: &Path, sd: &str, fault: Option<Fault>) -> Inputs {
    let sd = dir.join(sd);
    if !sd.exists() {
        std::fs::File::create(&sd)
            .unwrap()
            .set_len(1 << 30)
            .unwrap();
    }
    Inputs {
        board: norrec_board::Board::builtin("cubieboard").unwrap(),
        emmc: sd,
        usb: dir.join("usb.img"),
        trust: None,
        selection: Selection::default()
            .with_hardware("cubieboard:1.0")
            .unwrap(),
        env_default: vec![("bootdelay".into(), "1".into())],
        identity: Some(journal::Identity {
            volume_id: 0x1234_5678,
            disk_id: 0x0bad_cafe,
            uuid: [0x42; 16],
            hash_seed: [0x17; 16],
            time: 1_700_000_000,
        }),
        fault,
    }
}

fn run(i: &Inputs) -> Result<Vec<StepLine>, norrec_agent::Error> {
    recover(i, &mut |_| {}).map(|o| o.lines)
}

/// Both images equal outside the journal area (compared 4 MiB at a time: they are sparse
/// 1 GiB files).
fn same_outside_journal(a: &Path, b: &Path) {
    use std::io::Read;
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut x, mut y) = (vec![0u8; 4 << 20], vec![0u8; 4 << 20]);
    let mut at = 0u64;
    loop {
        let n = fa.read(&mut x).unwrap();
        if n == 0 {
            break;
        }
        fb.read_exact(&mut y[..n]).unwrap();
        if x[..n] != y[..n] {
            for i in (0..n).step_by(512) {
                let off = at + i as u64;
                let journal = (JOURNAL..JOURNAL + 8192).contains(&off);
                assert!(
                    journal || x[i..i + 512] == y[i..i + 512],
                    "{} and {} differ in the sector at byte {off:#x}",
                    a.display(),
                    b.display()
                );
            }
        }
        at += n as u64;
    }
}

#[test]
fn cuts_resume_to_the_same_bytes_and_torn_slots_fall_back() {
    // norrec-install stamps the FAT files it writes (boot.scr, uboot.env) with the clock
    // unless SOURCE_DATE_EPOCH is set: the one time-dependent input. This binary has only this
    // test, so no other thread reads the environment.
    unsafe { std::env::set_var("SOURCE_DATE_EPOCH", "1700000000") };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stick(&d.join("usb.img"), DESC);
    let reference = inputs(d, "ref.img", None);
    let lines = run(&reference).unwrap();
    assert_eq!(lines.len(), 6);
    assert!(
        lines[2].detail.contains("p4 ext4 formatted"),
        "{}",
        lines[2]
    );

    // Cut after the install's writes: resumes at format (p4 then kept), same bytes.
    let cut = inputs(
        d,
        "a.img",
        Some(Fault {
            step: Step::Install,
            writes: None,
        }),
    );
    assert!(matches!(
        run(&cut),
        Err(norrec_agent::Error::Interrupted(_))
    ));
    let again = inputs(d, "a.img", None);
    let o = recover(&again, &mut |_| {}).unwrap();
    assert_eq!(o.resumed_at, Some(Step::Format));
    assert_eq!(o.lines[1].outcome, "earlier");
    assert!(o.lines[2].detail.contains("p4 kept"), "{}", o.lines[2]);
    same_outside_journal(&reference.emmc, &again.emmc);

    // Cut inside the format after 2 writes: the journal holds the decision to format p4 (made
    // before the first write), and the re-run does it.
    let cut = inputs(
        d,
        "b.img",
        Some(Fault {
            step: Step::Format,
            writes: Some(2),
        }),
    );
    let e = run(&cut).unwrap_err().to_string();
    assert!(e.contains("simulated power cut"), "{e}");
    let mut dev = ImageFile::open(&cut.emmc).unwrap();
    let r = journal::read(&mut dev, JOURNAL).unwrap().unwrap();
    assert_eq!((r.done, r.started, r.format_data), (2, 3, true));
    drop(dev);
    let again = inputs(d, "b.img", None);
    let lines = run(&again).unwrap();
    assert!(
        lines[2].detail.contains("p4 ext4 formatted"),
        "{}",
        lines[2]
    );
    same_outside_journal(&reference.emmc, &again.emmc);

    // Tear the newest record of the finished reference card: the other slot is read instead.
    let mut dev = ImageFile::open(&reference.emmc).unwrap();
    let newest = journal::read(&mut dev, JOURNAL).unwrap().unwrap();
    assert_eq!(newest.done, Step::Done as u8);
    let slot = JOURNAL + (newest.seq % 2) * journal::RECORD as u64;
    dev.write_at(slot + 100, &[0xee]).unwrap();
    let older = journal::read(&mut dev, JOURNAL).unwrap().unwrap();
    assert_eq!(older.seq, newest.seq - 1);
    assert_eq!(older.done, Step::Install as u8);
    assert_eq!(older.identity, newest.identity);

    // A bundle whose raw image reaches into the journal area is refused after its install
    // (the journal's bytes compared before and after).
    let bad = DESC.replace(
        "images: ( {",
        "images: ( { filename = \"spl.bin\"; device = \"/dev/mmcblk0\"; offset = \"2093056\"; sha256 = \"$swupdate_get_sha256(spl.bin)\"; }, {",
    );
    stick(&d.join("usb.img"), &bad);
    let e = run(&inputs(d, "c.img", None)).unwrap_err().to_string();
    assert!(
        e.contains("wrote into the recovery journal at bytes 0x1fe000..0x200000"),
        "{e}"
    );
}
