//! `norrec flash` against the seed's own commands (dd, tr) and its bad inputs.

use std::process::Command;

use norrec_testutil::{sh_ok, tool};

mod common;
use common::{fails, norrec, ok, s};

const SIXTEEN_MIB: usize = 16 * 1024 * 1024;

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

#[test]
fn create_equals_the_seeds_dd_tr_and_place_equals_dd_notrunc() {
    let (Some(_), Some(_)) = (tool("dd"), tool("tr")) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let seed = t.path().join("seed.bin");
    let ours = t.path().join("ours.bin");
    // The seed's exact command line.
    sh_ok(&format!(
        "dd if=/dev/zero ibs=1 count=$((16*1024*1024)) 2>/dev/null | LC_ALL=C tr '\\000' '\\377' > {}",
        s(&seed)
    ));
    ok(&["flash", "create", "--chip", "is25wp128", "-o", s(&ours)]);
    let (a, b) = (std::fs::read(&seed).unwrap(), std::fs::read(&ours).unwrap());
    assert_eq!(a.len(), SIXTEEN_MIB);
    assert!(a == b, "erased image differs from dd | tr");

    // The seed's helper.bin at 0 and a FIT-sized payload at 1 MiB, placed with dd conv=notrunc.
    let helper = t.path().join("helper.bin");
    std::fs::write(&helper, [0x78, 0x56, 0x34, 0x12]).unwrap();
    let fit = t.path().join("fit.bin");
    std::fs::write(&fit, pattern(0xa2_0fa4, 1)).unwrap();
    sh_ok(&format!(
        "dd if={} of={} conv=notrunc 2>/dev/null",
        s(&helper),
        s(&seed)
    ));
    sh_ok(&format!(
        "dd if={} of={} bs=1M seek=1 conv=notrunc 2>/dev/null",
        s(&fit),
        s(&seed)
    ));
    ok(&[
        "flash",
        "create",
        "--chip",
        "is25wp128",
        "--place",
        &format!("{}@0", s(&helper)),
        "--place",
        &format!("{}@1M", s(&fit)),
        "-o",
        s(&ours),
    ]);
    let (a, b) = (std::fs::read(&seed).unwrap(), std::fs::read(&ours).unwrap());
    assert_eq!(&b[..4], &[0x78, 0x56, 0x34, 0x12]);
    assert!(a == b, "placed image differs from dd conv=notrunc");
}

#[test]
fn bad_input_is_one_line_and_leaves_no_file() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("flash.bin");
    let big = t.path().join("big.bin");
    std::fs::write(&big, vec![0u8; SIXTEEN_MIB + 1]).unwrap();
    let small = t.path().join("small.bin");
    std::fs::write(&small, [1u8; 0x100]).unwrap();

    let e = fails(&["flash", "create", "--chip", "nosuchchip", "-o", s(&out)]);
    assert!(e.contains("unknown chip 'nosuchchip'"), "{e}");
    let e = fails(&[
        "flash",
        "create",
        "--chip",
        "is25wp128",
        "--place",
        &format!("{}@0", s(&big)),
        "-o",
        s(&out),
    ]);
    assert!(
        e.contains("runs past the end") && e.contains("0x1000001"),
        "{e}"
    );
    let e = fails(&[
        "flash",
        "create",
        "--chip",
        "is25wp128",
        "--place",
        &format!("{}@0x1000", s(&small)),
        "--place",
        &format!("{}@0x10ff", s(&small)),
        "-o",
        s(&out),
    ]);
    assert!(e.contains("overlaps") && e.contains("0x10ff"), "{e}");
    let e = fails(&[
        "flash",
        "create",
        "--chip",
        "is25wp128",
        "--place",
        &format!("{}@16M", s(&small)),
        "-o",
        s(&out),
    ]);
    assert!(e.contains("offset 0x1000000"), "{e}");
    let e = fails(&[
        "flash",
        "create",
        "--chip",
        "is25wp128",
        "--place",
        &format!("{}@0", s(&t.path().join("missing"))),
        "-o",
        s(&out),
    ]);
    assert!(
        e.contains("missing") && e.contains("cannot read payload"),
        "{e}"
    );
    assert!(!out.exists(), "a failed create must leave no file");
    assert_eq!(
        std::fs::read_dir(t.path()).unwrap().count(),
        2,
        "no temp files left behind"
    );

    // A file whose size is no chip's size.
    let odd = t.path().join("odd.bin");
    std::fs::write(&odd, vec![0xffu8; 3 * 1024 * 1024]).unwrap();
    let e = fails(&["flash", "inspect", s(&odd)]);
    assert!(
        e.contains("odd.bin") && e.contains("0x300000") && e.contains("matches no chip"),
        "{e}"
    );
}

#[test]
fn write_keeps_nor_rules_and_read_gives_the_bytes_back() {
    let t = tempfile::tempdir().unwrap();
    let flash = t.path().join("flash.bin");
    ok(&["flash", "create", "--chip", "is25wp128", "-o", s(&flash)]);
    let a = t.path().join("a.bin");
    std::fs::write(&a, pattern(10_000, 7)).unwrap();
    ok(&["flash", "write", s(&flash), &format!("{}@0x1800", s(&a))]);
    let img = std::fs::read(&flash).unwrap();
    assert_eq!(&img[0x1800..0x1800 + 10_000], &pattern(10_000, 7)[..]);
    assert!(img[..0x1800].iter().all(|&b| b == 0xff));

    // Programming other bytes over it needs an erase: refused, file untouched.
    let b = t.path().join("b.bin");
    std::fs::write(&b, pattern(100, 99)).unwrap();
    let e = fails(&["flash", "write", s(&flash), &format!("{}@0x1800", s(&b))]);
    assert!(e.contains("--erase") && e.contains("offset 0x18"), "{e}");
    assert!(std::fs::read(&flash).unwrap() == img);

    // With --erase the covering sector is erased, the bytes around the payload kept.
    ok(&[
        "flash",
        "write",
        "--erase",
        s(&flash),
        &format!("{}@0x1800", s(&b)),
    ]);
    let mut want = img.clone();
    want[0x1800..0x1800 + 100].copy_from_slice(&pattern(100, 99));
    assert!(std::fs::read(&flash).unwrap() == want);

    // The file is replaced whole (a crash leaves old or new, never a mix), keeping its mode;
    // nothing else is left in the directory.
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::set_permissions(&flash, std::fs::Permissions::from_mode(0o640)).unwrap();
    let ino = std::fs::metadata(&flash).unwrap().ino();
    ok(&["flash", "write", s(&flash), &format!("{}@0x100000", s(&b))]);
    let meta = std::fs::metadata(&flash).unwrap();
    assert_ne!(meta.ino(), ino, "a new file renamed into place");
    assert_eq!(meta.mode() & 0o777, 0o640);
    want[0x100000..0x100000 + 100].copy_from_slice(&pattern(100, 99));
    assert!(std::fs::read(&flash).unwrap() == want);
    let names: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".norrec-"))
        .collect();
    assert!(names.is_empty(), "temp files left: {names:?}");

    let back = t.path().join("back.bin");
    ok(&[
        "flash",
        "read",
        s(&flash),
        "--offset",
        "0x1800",
        "--length",
        "100",
        "-o",
        s(&back),
    ]);
    assert_eq!(std::fs::read(&back).unwrap(), pattern(100, 99));
}

#[test]
fn inspect_finds_the_placed_images() {
    let t = tempfile::tempdir().unwrap();
    let flash = t.path().join("flash.bin");
    // A minimal FDT header (totalsize 0x48) as the payload at 0x10000.
    let mut fdt = Vec::new();
    for w in [0xd00d_feedu32, 0x48, 0x38, 0x48, 0x28, 17, 16, 0, 0, 0x10] {
        fdt.extend_from_slice(&w.to_be_bytes());
    }
    fdt.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0]); // rsvmap end, FDT_END
    fdt.resize(0x48, 0);
    let p = t.path().join("dtb");
    std::fs::write(&p, &fdt).unwrap();
    ok(&[
        "flash",
        "create",
        "--chip",
        "is25wp128",
        "--place",
        &format!("{}@0x10000", s(&p)),
        "-o",
        s(&flash),
    ]);
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "flash",
        "inspect",
        s(&flash),
        "--chip",
        "is25wp128",
        "--json",
    ]))
    .unwrap();
    let regions = json["regions"].as_array().unwrap();
    let kinds: Vec<(String, u64, u64)> = regions
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["offset"].as_u64().unwrap(),
                r["length"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("erased".to_owned(), 0, 0x10000),
            ("fdt".to_owned(), 0x10000, 0x48),
            ("erased".to_owned(), 0x10048, 0x100_0000 - 0x10048),
        ]
    );
    assert_eq!(json["chip"], "is25wp128");
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        vec!["--help"],
        vec!["demo", "--help"],
        vec!["flash", "create", "--help"],
        vec!["flash", "write", "--help"],
        vec!["flash", "read", "--help"],
        vec!["flash", "inspect", "--help"],
        vec!["flash", "chips", "--help"],
    ] {
        let out = ok(&cmd);
        assert!(
            out.contains("Example"),
            "norrec {cmd:?} --help has no example"
        );
    }
    // usage errors exit 2
    assert_eq!(norrec(&["flash", "create"]).status.code(), Some(2));
}

/// A FIT made by the real mkimage, with embedded and with external (`-E`) data, placed in flash:
/// inspect calls both FIT, and for the external one says how much to load and warns.
#[test]
fn inspect_sizes_fits_from_mkimage_and_warns_on_external_data() {
    let Some(mkimage) = tool("mkimage") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("kernel.bin"), pattern(300_000, 3)).unwrap();
    let its = r#"/dts-v1/;
/ {
    description = "inspect test";
    #address-cells = <1>;
    images {
        kernel-1 {
            data = /incbin/("kernel.bin");
            type = "kernel"; arch = "arm"; os = "linux"; compression = "none";
            load = <0x41000000>; entry = <0x41000000>;
            hash-1 { algo = "sha256"; };
        };
    };
    configurations { default = "conf-1"; conf-1 { kernel = "kernel-1"; }; };
};
"#;
    std::fs::write(t.path().join("x.its"), its).unwrap();
    for (flag, external) in [(None, false), (Some("-E"), true)] {
        let itb = t.path().join("x.itb");
        let mut args = vec!["-f", "x.its"];
        args.extend(flag);
        args.push("x.itb");
        let out = Command::new(&mkimage)
            .args(&args)
            .current_dir(t.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let len = std::fs::metadata(&itb).unwrap().len();
        let flash = t.path().join("flash.bin");
        ok(&[
            "flash",
            "create",
            "--place",
            &format!("{}@0", s(&itb)),
            "-o",
            s(&flash),
        ]);
        let out = norrec(&["flash", "inspect", s(&flash), "--json"]);
        assert!(out.status.success());
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let fit = &json["regions"][0];
        assert_eq!(fit["kind"], "fit", "{json}");
        assert_eq!(fit["name"], "inspect test");
        // mkimage -E pads the external data to 4 bytes; the load size is the end of the data
        assert_eq!(fit["load_size"].as_u64().unwrap(), len);
        let total = fit["header_size"].as_u64().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if external {
            assert!(total < 300_000, "external data is outside totalsize");
            assert!(stderr.contains("outside the FDT"), "{stderr}");
        } else {
            assert_eq!(total, len);
            assert!(stderr.is_empty(), "{stderr}");
        }
    }
}
