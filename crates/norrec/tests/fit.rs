//! `norrec fit` against mkimage and dumpimage: the same bytes from the same .its, listing,
//! verification, extraction, the flash load size, and one-line errors on bad input with no
//! output file left behind.

use std::path::Path;
use std::process::{Command, Output};

use norrec_testutil::tool;

mod common;

const EPOCH: &str = "1700000000";

fn cmd(program: &Path, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("TZ", "UTC")
        .output()
        .expect("run")
}

fn norrec(args: &[&str], dir: &Path) -> Output {
    cmd(Path::new(env!("CARGO_BIN_EXE_norrec")), args, dir)
}

fn ok(args: &[&str], dir: &Path) -> String {
    common::expect_ok(args, norrec(args, dir))
}

fn fails(args: &[&str], dir: &Path) -> String {
    common::expect_fails(args, norrec(args, dir))
}

fn tool_ok(program: &Path, args: &[&str], dir: &Path) -> String {
    let out = cmd(program, args, dir);
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const ITS: &str = r#"/dts-v1/;
/ {
	description = "norrec test FIT";
	#address-cells = <1>;
	images {
		kernel-1 {
			description = "Linux kernel";
			data = /incbin/("zImage");
			type = "kernel";
			arch = "arm";
			os = "linux";
			compression = "none";
			load = <0x40008000>;
			entry = <0x40008000>;
			hash-1 { algo = "sha256"; };
		};
		fdt-1 {
			description = "board";
			data = /incbin/("board.dtb");
			type = "flat_dt";
			arch = "arm";
			compression = "none";
			hash-1 { algo = "crc32"; };
		};
	};
	configurations {
		default = "conf-1";
		conf-1 { description = "Linux"; kernel = "kernel-1"; fdt = "fdt-1"; };
	};
};
"#;

fn setup(dir: &Path) {
    let kernel: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("zImage"), kernel).unwrap();
    std::fs::write(dir.join("initrd.cpio.gz"), vec![0x1f; 4099]).unwrap();
    std::fs::write(
        dir.join("board.dts"),
        "/dts-v1/;\n/ { model = \"Cubieboard\"; };\n",
    )
    .unwrap();
    ok(&["dtb", "build", "board.dts", "-o", "board.dtb"], dir);
    std::fs::write(dir.join("image.its"), ITS).unwrap();
}

#[test]
fn build_matches_mkimage_and_reads_back() {
    let (Some(mkimage), Some(dumpimage)) = (tool("mkimage"), tool("dumpimage")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    for (flags, theirs) in [(&[][..], "m.itb"), (&["-E"][..], "me.itb")] {
        let mut args = flags.to_vec();
        args.extend(["-f", "image.its", theirs]);
        tool_ok(&mkimage, &args, dir);
        let ours = format!("n-{theirs}");
        let mut args = vec!["fit", "build", "image.its", "-o", &ours];
        args.extend(flags);
        ok(&args, dir);
        assert!(
            std::fs::read(dir.join(&ours)).unwrap() == std::fs::read(dir.join(theirs)).unwrap(),
            "{ours} differs from mkimage's {theirs}"
        );
        assert_eq!(
            ok(&["fit", "list", &ours], dir),
            tool_ok(&mkimage, &["-l", &ours], dir)
        );
        let verified = ok(&["fit", "verify", &ours], dir);
        assert!(
            verified.contains("OK  /images/kernel-1/hash-1 sha256"),
            "{verified}"
        );
        assert!(verified.ends_with("2 hashes OK\n"), "{verified}");
        ok(&["fit", "extract", &ours, "fdt-1", "-o", "x.dtb"], dir);
        assert_eq!(
            std::fs::read(dir.join("x.dtb")).unwrap(),
            std::fs::read(dir.join("board.dtb")).unwrap()
        );
        ok(&["fit", "extract", &ours, "0", "-o", "x.bin"], dir);
        tool_ok(
            &dumpimage,
            &["-T", "flat_dt", "-p", "0", "-o", "d.bin", &ours],
            dir,
        );
        assert_eq!(
            std::fs::read(dir.join("x.bin")).unwrap(),
            std::fs::read(dir.join("d.bin")).unwrap()
        );
    }
    // fit size: totalsize when embedded, the end of the data with -E.
    let size = ok(&["fit", "size", "n-m.itb"], dir);
    let len = std::fs::metadata(dir.join("n-m.itb")).unwrap().len();
    assert_eq!(size, format!("{len} ({len:#x})\n"));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["fit", "size", "n-me.itb", "--json"], dir)).unwrap();
    // The blob rounded up to 4, the kernel (200000 bytes, already aligned), then the dtb.
    let dtb_len = std::fs::metadata(dir.join("board.dtb")).unwrap().len();
    let data_end = json["totalsize"].as_u64().unwrap().next_multiple_of(4) + 200_000 + dtb_len;
    assert_eq!(json["external_data"], true);
    assert_eq!(json["load_size"].as_u64().unwrap(), data_end);
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&["fit", "list", "n-me.itb", "--json"], dir)).unwrap();
    assert_eq!(listed["images"][0]["location"], "data-offset");
    assert_eq!(listed["images"][0]["data_size"], 200_000);
    assert_eq!(listed["default_configuration"], "conf-1");
    assert_eq!(listed["load_size"], json["load_size"]);
}

#[test]
fn quick_form_matches_mkimage_auto() {
    let Some(mkimage) = tool("mkimage") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    tool_ok(
        &mkimage,
        &norrec_testutil::mkimage_auto_args("zImage", &["board.dtb"], "initrd.cpio.gz", "auto.itb"),
        dir,
    );
    ok(
        &[
            "fit",
            "build",
            "--kernel",
            "zImage",
            "--fdt",
            "board.dtb",
            "--ramdisk",
            "initrd.cpio.gz",
            "--arch",
            "arm",
            "--load",
            "0x40008000",
            "--name",
            "Linux",
            "-o",
            "n-auto.itb",
        ],
        dir,
    );
    assert!(
        std::fs::read(dir.join("n-auto.itb")).unwrap()
            == std::fs::read(dir.join("auto.itb")).unwrap()
    );
}

#[test]
fn bad_input_is_one_line_and_leaves_no_file() {
    let Some(_) = tool("mkimage") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);

    // An .its naming a missing file: names the .its, the line and the missing file.
    std::fs::write(
        dir.join("missing.its"),
        ITS.replace("board.dtb", "nope.dtb"),
    )
    .unwrap();
    let err = fails(&["fit", "build", "missing.its", "-o", "out.itb"], dir);
    assert!(
        err.contains("missing.its: line 19, column 11: /incbin/(\"nope.dtb\") in property 'data'"),
        "{err}"
    );
    assert!(!dir.join("out.itb").exists());

    // An unsupported hash algorithm names the field.
    std::fs::write(dir.join("algo.its"), ITS.replace("\"crc32\"", "\"crc99\"")).unwrap();
    let err = fails(&["fit", "build", "algo.its", "-o", "out.itb"], dir);
    assert!(
        err.contains("/images/fdt-1/hash-1/algo: unsupported algorithm 'crc99'"),
        "{err}"
    );
    assert!(!dir.join("out.itb").exists());

    ok(&["fit", "build", "image.its", "-o", "good.itb"], dir);
    let good = std::fs::read(dir.join("good.itb")).unwrap();

    // A flipped hash byte: verify names the image and hash node.
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&["fit", "list", "good.itb", "--json"], dir)).unwrap();
    let value = listed["images"][0]["hashes"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = u8::from_str_radix(&value[..2], 16).unwrap();
    let at = good
        .windows(32)
        .position(|w| w[0] == first && format!("{:02x}{:02x}", w[0], w[1]) == value[..4])
        .unwrap();
    let mut bad = good.clone();
    bad[at + 31] ^= 0xff;
    std::fs::write(dir.join("flipped.itb"), &bad).unwrap();
    let err = fails(&["fit", "verify", "flipped.itb"], dir);
    assert!(
        err.contains("flipped.itb: /images/kernel-1/hash-1/value: sha256 mismatch"),
        "{err}"
    );

    // Truncated: the header's totalsize runs past the end of the file.
    std::fs::write(dir.join("short.itb"), &good[..good.len() / 2]).unwrap();
    let err = fails(&["fit", "list", "short.itb"], dir);
    assert!(err.contains("short.itb: offset 0x4: totalsize"), "{err}");
    let err = fails(&["fit", "extract", "short.itb", "0", "-o", "k.bin"], dir);
    assert!(err.contains("short.itb: offset 0x4"), "{err}");
    assert!(!dir.join("k.bin").exists());

    // A bad structure offset in the header.
    let mut bad = good.clone();
    bad[8..12].copy_from_slice(&0x7fff_0000u32.to_be_bytes());
    std::fs::write(dir.join("badoff.itb"), &bad).unwrap();
    let err = fails(&["fit", "verify", "badoff.itb"], dir);
    assert!(
        err.contains("badoff.itb: offset 0x8: structure block 0x7fff0000"),
        "{err}"
    );

    // An image that does not exist.
    let err = fails(
        &["fit", "extract", "good.itb", "ramdisk-1", "-o", "r.bin"],
        dir,
    );
    assert!(err.contains("/images/ramdisk-1: no such image"), "{err}");
    assert!(!dir.join("r.bin").exists());
}
