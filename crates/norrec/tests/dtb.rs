//! `norrec dtb` against dtc: the same blob from the same source, the same source back out, and
//! one-line errors on bad input with no output file left behind.

use std::path::Path;
use std::process::{Command, Output};

use norrec_testutil::tool;

mod common;
use common::{fails_in, ok_in};

fn run(program: &Path, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run")
}

fn stdout_ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const BOARD: &str = r#"/dts-v1/;
/memreserve/ 0x40000000 0x100000;
/ {
	model = "Cubietech Cubieboard";
	compatible = "cubietech,a10-cubieboard", "allwinner,sun4i-a10";
	#address-cells = <1>;
	#size-cells = <1>;
	flash-user = <&flash (16 * 1024 * 1024)>;
	aliases { serial0 = &uart0; spi0 = &spi0; };
	chosen { stdout-path = "serial0:115200n8"; };
	soc {
		compatible = "simple-bus";
		#address-cells = <1>;
		#size-cells = <1>;
		ranges;
		spi0: spi@1c05000 {
			reg = <0x01c05000 0x1000>;
			#address-cells = <1>;
			#size-cells = <0>;
			flash: m25p80@0 {
				compatible = "issi,is25wp128", "jedec,spi-nor";
				spi-max-frequency = <20000000>;
				reg = <0>;
			};
		};
		uart0: serial@1c28000 {
			reg = <0x01c28000 0x400>;
			reg-shift = /bits/ 8 <2>;
			status = "okay";
		};
	};
};
"#;

#[test]
fn build_and_show_match_dtc() {
    let Some(dtc) = tool("dtc") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("board.dts"), BOARD).unwrap();
    ok_in(dir, &["dtb", "build", "board.dts", "-o", "n.dtb"]);
    stdout_ok(
        run(
            &dtc,
            &["-q", "-I", "dts", "-O", "dtb", "-o", "d.dtb", "board.dts"],
            dir,
        ),
        "dtc",
    );
    assert_eq!(
        std::fs::read(dir.join("n.dtb")).unwrap(),
        std::fs::read(dir.join("d.dtb")).unwrap()
    );
    let ours = ok_in(dir, &["dtb", "show", "d.dtb"]);
    let theirs = stdout_ok(
        run(&dtc, &["-q", "-I", "dtb", "-O", "dts", "n.dtb"], dir),
        "dtc -O dts",
    );
    assert_eq!(ours, theirs);
    let json: serde_json::Value =
        serde_json::from_str(&ok_in(dir, &["dtb", "show", "n.dtb", "--json"])).unwrap();
    assert_eq!(json["version"], 17);
    assert_eq!(json["reservations"][0][0], 0x4000_0000u64);
    assert_eq!(
        json["root"]["props"][0]["value"],
        "\"Cubietech Cubieboard\""
    );
}

#[test]
fn bad_input_is_one_line_and_leaves_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("bad.dts"),
        BOARD.replace("reg = <0>;", "reg = <0;"),
    )
    .unwrap();
    let err = fails_in(dir, &["dtb", "build", "bad.dts", "-o", "out.dtb"]);
    assert!(
        err.starts_with("norrec: error: bad.dts: line 23, column"),
        "{err}"
    );
    assert!(!dir.join("out.dtb").exists());

    std::fs::write(dir.join("ok.dts"), BOARD).unwrap();
    ok_in(dir, &["dtb", "build", "ok.dts", "-o", "ok.dtb"]);
    let good = std::fs::read(dir.join("ok.dtb")).unwrap();
    // Strings block size runs past totalsize.
    let mut bad = good.clone();
    bad[0x20..0x24].copy_from_slice(&0x1000u32.to_be_bytes());
    std::fs::write(dir.join("strings.dtb"), &bad).unwrap();
    let err = fails_in(dir, &["dtb", "show", "strings.dtb"]);
    assert!(
        err.contains("strings.dtb: offset 0xc: strings block"),
        "{err}"
    );
    // Truncated.
    std::fs::write(dir.join("short.dtb"), &good[..30]).unwrap();
    let err = fails_in(dir, &["dtb", "show", "short.dtb"]);
    assert!(
        err.contains("short.dtb: offset 0x1e: truncated FDT header"),
        "{err}"
    );
}
