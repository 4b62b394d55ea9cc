//! Random scripts (fixed seeds, so failures reproduce) through sfdisk and norrec: where sfdisk
//! accepts a script norrec must give the same `sfdisk -d`, where sfdisk refuses norrec must
//! refuse too. Also random sector-0 bytes and random script text must never make norrec panic,
//! and every table norrec lays out must be inside the disk, without overlaps, and read back the
//! same after writing.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use norrec_disk::mbr::{self, read::Mbr};
use norrec_disk::script::{self, dump};
use norrec_disk::{ImageFile, MemDevice};

/// xorshift64*: a small deterministic generator for test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const STARTS: &[&str] = &[
    "1", "63", "100", "2048", "2049", "4096", "30000", "100000", "1M", "2M", "3M", "500K",
    "0x1000", "1.5M", "200000", "1500000",
];
const SIZES: &[&str] = &[
    "1", "10", "100", "2047", "2048", "4096", "20480", "1M", "40M", "1000K", "3M", "2.5M", "100MB",
    "500000", "3000000", "+", "2049", "1G", "300M",
];
const TYPES: &[&str] = &[
    "L", "c", "0c", "83", "b", "S", "linux", "0x83", "U", "V", "ef",
];

fn random_script(rng: &mut Rng, id: u64) -> String {
    let mut s = format!("label: dos\nlabel-id: 0x{:08x}\n", id as u32);
    let lines = 1 + rng.next() % 4;
    for _ in 0..lines {
        let start = rng.chance(45).then(|| rng.pick(STARTS));
        let size = rng.chance(75).then(|| rng.pick(SIZES));
        let ty = rng.chance(60).then(|| rng.pick(TYPES));
        let boot = rng.chance(20);
        if rng.chance(15) {
            s.push_str(&format!("disk{} : ", 1 + rng.next() % 4));
        }
        if rng.chance(50) {
            let mut f = Vec::new();
            if let Some(v) = start {
                f.push(format!("start={v}"));
            }
            if let Some(v) = size {
                f.push(format!("size={v}"));
            }
            if let Some(v) = ty {
                f.push(format!("type={v}"));
            }
            if boot {
                f.push("bootable".into());
            }
            if f.is_empty() {
                f.push("size=".into());
            }
            s.push_str(&f.join(", "));
        } else {
            s.push_str(&format!(
                "{},{},{}{}",
                start.unwrap_or(""),
                size.unwrap_or(""),
                ty.unwrap_or(""),
                if boot { ",*" } else { "" }
            ));
        }
        s.push('\n');
    }
    s
}

fn sfdisk_apply(sf: &Path, img: &Path, script: &str) -> bool {
    let mut child = Command::new(sf)
        .args(["--no-reread", "--no-tell-kernel", "-q"])
        .arg(img)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait().unwrap().success()
}

#[test]
fn random_scripts_agree_with_sfdisk() {
    let Some(sf) = norrec_testutil::tool("sfdisk") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("disk.img");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut agreed = (0, 0);
    for case in 0..300u64 {
        let script_text = random_script(&mut rng, case + 1);
        let size: u64 = match case % 6 {
            0 => 64 << 20,
            1 => 10_000_000,
            2 => 4 << 20,
            _ => 1 << 30,
        };
        std::fs::File::create(&img).unwrap().set_len(size).unwrap();
        let theirs = sfdisk_apply(&sf, &img, &script_text).then(|| {
            let mut dev = ImageFile::open_read_only(&img).unwrap();
            dump(&mbr::read_table(&mut dev).unwrap(), "disk.img", size / 512)
        });
        let ours = script::parse(&script_text)
            .and_then(|s| script::layout(&s, size))
            .map(|t| dump(&t, "disk.img", size / 512));
        match (theirs, ours) {
            (Some(a), Ok(b)) => {
                assert_eq!(b, a, "case {case}, {size} bytes:\n{script_text}");
                agreed.0 += 1;
            }
            (None, Err(_)) => agreed.1 += 1,
            (Some(a), Err(e)) => {
                // Known differences, where sfdisk exits 0 with a table that is not what the
                // script says: it moves an explicit start that lies inside an earlier partition,
                // and for a size that does not fit (no start given) it writes an empty entry.
                let e = e.to_string();
                let lines = script_text.lines().count() - 2;
                let written = a.lines().filter(|l| l.contains(" : start=")).count();
                assert!(
                    e.contains("lies inside another partition")
                        || (e.contains("no free space") && written < lines),
                    "case {case}: sfdisk accepted, norrec refused ({e}):\n{script_text}\nsfdisk:\n{a}"
                );
            }
            (None, Ok(b)) => {
                panic!("case {case}: sfdisk refused, norrec accepted:\n{script_text}\nnorrec:\n{b}")
            }
        }
    }
    // Both outcomes must have been exercised for the test to mean something.
    assert!(agreed.0 > 30 && agreed.1 > 5, "agreed {agreed:?}");
}

#[test]
fn random_inputs_never_panic_and_tables_are_sound() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let pool = [
        "start=",
        "size=",
        "type=",
        "bootable",
        ",",
        ";",
        " ",
        "\n",
        "label: dos\n",
        "-",
        "+",
        "0x",
        "1",
        "9",
        "M",
        "K",
        "G",
        "iB",
        "B",
        ".",
        "\"",
        "x3 :",
        "label-id: ",
        "grain: ",
        "#",
        "=",
        ":",
        "L",
        "c",
        "E",
        "99999999999999999999",
        "4294967295",
        "sector-size: ",
    ];
    for _ in 0..3000 {
        let n = rng.next() % 24;
        let text: String = (0..n).map(|_| rng.pick(&pool)).collect();
        let Ok(script) = script::parse(&text) else {
            continue;
        };
        for disk in [1024u64, 4 << 20, 1 << 30, 3 << 40] {
            let Ok(t) = script::layout(&script, disk) else {
                continue;
            };
            let total = disk / 512;
            let parts: Vec<_> = t.partitions().map(|(_, p)| *p).collect();
            for (i, p) in parts.iter().enumerate() {
                assert!(
                    p.start >= 1 && p.size >= 1 && p.end() < total,
                    "{text:?}: {p:?}"
                );
                for q in &parts[i + 1..] {
                    assert!(p.end() < q.start || q.end() < p.start, "{text:?}: overlap");
                }
            }
            if disk <= 1 << 30 {
                let mut dev = MemDevice::zeroed(4096);
                mbr::write_table(&mut dev, &t).unwrap();
                assert_eq!(mbr::read_table(&mut dev).unwrap(), t, "{text:?}");
            }
        }
    }
    for _ in 0..3000 {
        let mut sector = [0u8; 512];
        for b in sector.iter_mut() {
            *b = rng.next() as u8;
        }
        if rng.chance(80) {
            sector[510] = 0x55;
            sector[511] = 0xaa;
        }
        if let Ok(m) = Mbr::parse(&sector) {
            if let Ok(t) = m.table() {
                let _ = dump(&t, "d", 1 << 21);
            }
        }
    }
}
