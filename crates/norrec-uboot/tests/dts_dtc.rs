//! `dtc` and norrec agree on a corpus of sources that covers the grammar: the blob bytes of
//! `dtc -I dts -O dtb` equal norrec's, and `dtc -I dtb -O dts` of norrec's blob equals norrec's
//! own source output.

use std::path::Path;

use norrec_testutil::{run_ok, tool};
use norrec_uboot::{dts, fdt};

/// (name, source). Files the sources name (`inc.dtsi`, `blob.bin`) are written beside them.
const CORPUS: &[(&str, &str)] = &[
    ("minimal", "/dts-v1/;\n/ { };\n"),
    (
        "strings",
        r#"/dts-v1/;
/ {
	model = "Cubietech Cubieboard";
	compatible = "cubietech,a10-cubieboard", "allwinner,sun4i-a10";
	escapes = "tab\there", "nl\n", "quote\"", "back\\slash", "hex\x41\x7e", "oct\101\0";
	empty-string = "";
	flag;
};
"#,
    ),
    (
        "cells",
        r#"/dts-v1/;
/* block comment */
// line comment
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	dec = <0 1 4294967295 010 0x10 0XfF 7U 8UL 9ULL>;
	expr = <(1 + 2 * 3) (-1) (10 / 3) (10 % 3) (1 << 31) (0x80 >> 4) (6 & 3) (6 | 1) (6 ^ 3)>;
	expr2 = <(~0) (!0) (!5) (1 ? 2 : 3) (0 ? 2 : 3) (1 == 1) (1 != 1) (1 < 2) (2 <= 1) (3 > 2) (3 >= 4)>;
	expr3 = <(1 && 0) (1 || 0) ((1 + 2) * (3 + 4)) (1-2) ('a' + 1)>;
	chars = <'a' '\n' '\x41' '\0'>;
	b8 = /bits/ 8 <1 2 0xff (-1)>;
	b16 = /bits/ 16 <0x1234 5>;
	b64 = /bits/ 64 <0x123456789abcdef0 1>;
	bytes = [00 01 0203 ab CD];
	mixed = "a", <1>, [02], /bits/ 16 <3>;
	reg = <0x01c00000 0x1000>, <0x2 0x3>;
};
"#,
    ),
    (
        "labels",
        r#"/dts-v1/;
/memreserve/ 0x40000000 0x1000;
/memreserve/ 0x48000000 0x2000;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	soc: soc@1c00000 {
		compatible = "simple-bus";
		#address-cells = <1>;
		#size-cells = <1>;
		ranges;
		intc: interrupt-controller@1c20400 {
			reg = <0x01c20400 0x400>;
			interrupt-controller;
			#interrupt-cells = <1>;
		};
		uart0: serial@1c28000 {
			reg = <0x01c28000 0x400>;
			interrupt-parent = <&intc>;
			clocks = <&osc 0>, <&{/clocks/pll@1}>;
			status = "disabled";
		};
		explicit: node-with-phandle {
			phandle = <5>;
		};
	};
	clocks {
		uses-explicit = <&explicit>;
		osc: osc24M { #clock-cells = <0>; };
		pll@1 { #clock-cells = <0>; };
	};
	aliases {
		serial0 = &uart0;
		soc = &{/soc@1c00000};
	};
	chosen {
		stdout-path = "serial0:115200n8";
		both = &uart0, "x", <&osc>;
	};
};
&uart0 {
	status = "okay";
	extra = <1>;
};
&{/clocks} {
	added = "yes";
};
/ {
	late-node { };
};
"#,
    ),
    (
        "delete",
        r#"/dts-v1/;
/ {
	a { keep = <1>; drop = <2>; child { }; other { }; };
	b: b { x = <1>; };
	c { };
};
/ {
	a {
		/delete-property/ drop;
		/delete-node/ child;
		child { re-added; };
	};
};
/delete-node/ &b;
"#,
    ),
    (
        "include",
        r#"/dts-v1/;
/include/ "inc.dtsi"
/ {
	from-main = <1>;
	blob = /incbin/("blob.bin");
	part = /incbin/("blob.bin", 4, 8);
	both = [aa], /incbin/("blob.bin", 0, 2);
	node { from-main = "yes"; };
};
"#,
    ),
];

const DTSI: &str = r#"/ {
	from-include = "x";
	node { from-include = <2>; };
};
"#;

fn write_inputs(dir: &Path) {
    std::fs::write(dir.join("inc.dtsi"), DTSI).unwrap();
    let blob: Vec<u8> = (0u8..=40).collect();
    std::fs::write(dir.join("blob.bin"), blob).unwrap();
}

#[test]
fn dtc_and_norrec_agree_on_the_corpus() {
    let Some(dtc) = tool("dtc") else { return };
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    for (name, src) in CORPUS {
        let dts_path = dir.path().join(format!("{name}.dts"));
        std::fs::write(&dts_path, src).unwrap();
        let dtb_path = dir.path().join(format!("{name}.dtc.dtb"));
        run_ok(
            &dtc,
            [
                "-q".as_ref(),
                "-I".as_ref(),
                "dts".as_ref(),
                "-O".as_ref(),
                "dtb".as_ref(),
                "-o".as_ref(),
                dtb_path.as_os_str(),
                dts_path.as_os_str(),
            ],
        );
        let theirs = std::fs::read(&dtb_path).unwrap();
        let parsed = dts::parse_file(&dts_path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ours = fdt::write(&parsed.tree);
        assert_eq!(ours, theirs, "{name}: blob differs from dtc's");

        // dtc's decompiler on our blob equals our source output.
        let ours_path = dir.path().join(format!("{name}.norrec.dtb"));
        std::fs::write(&ours_path, &ours).unwrap();
        let out = run_ok(
            &dtc,
            [
                "-q".as_ref(),
                "-I".as_ref(),
                "dtb".as_ref(),
                "-O".as_ref(),
                "dts".as_ref(),
                ours_path.as_os_str(),
            ],
        );
        let dtc_text = String::from_utf8(out.stdout).unwrap();
        let our_text = fdt::source::to_dts(&fdt::Fdt::new(&ours).unwrap());
        assert_eq!(
            our_text, dtc_text,
            "{name}: source output differs from dtc's"
        );

        // And our source output compiles back to the same blob.
        let again = dts::parse(&our_text, &dts_path, &mut dts::FsLoader).unwrap();
        assert_eq!(fdt::write(&again.tree), ours, "{name}: source round trip");
    }
}

#[test]
fn phandles_are_numbered_like_dtc() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let p = dir.path().join("l.dts");
    std::fs::write(&p, CORPUS[3].1).unwrap();
    let d = dts::parse_file(&p).unwrap();
    let blob = fdt::write(&d.tree);
    let f = fdt::Fdt::new(&blob).unwrap();
    // intc is referenced first (phandle 1), then osc (2), pll@1 (3); explicit keeps 5.
    let ph = |path: &str| f.find(path).unwrap().prop_u32("phandle").unwrap();
    assert_eq!(ph("/soc@1c00000/interrupt-controller@1c20400"), 1);
    assert_eq!(ph("/clocks/osc24M"), 2);
    assert_eq!(ph("/clocks/pll@1"), 3);
    assert_eq!(ph("/soc@1c00000/node-with-phandle"), 5);
    assert_eq!(
        f.find("/aliases").unwrap().prop_str("serial0"),
        Some("/soc@1c00000/serial@1c28000")
    );
    let labels: Vec<&str> = d.labels.iter().map(|(l, _)| l.as_str()).collect();
    assert!(labels.contains(&"uart0"));
}

#[test]
fn source_errors_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        ("/ { };", "line 1, column 1"),
        ("/dts-v1/;\n/ {\n\ta = <1 2;\n};", "line 3"),
        ("/dts-v1/;\n/ { a = <&nolabel>; };", "non-existent"),
        (
            "/dts-v1/;\n/ { a = /incbin/(\"missing.bin\"); };",
            "missing.bin",
        ),
        ("/dts-v1/;\n/ { a = <(1/0)>; };", "division by zero"),
        ("/dts-v1/;\n/ { a = /bits/ 8 <256>; };", "out of range"),
        ("/dts-v1/;\n/ { a = \"open; };", "unterminated string"),
        ("/dts-v1/;\n/ { /* open", "unterminated comment"),
        ("/dts-v1/;\n/include/ \"nope.dtsi\"", "nope.dtsi"),
        (
            "/dts-v1/;\n/ { n { }; p = <1>; };",
            "properties must precede subnodes",
        ),
    ];
    for (src, want) in cases {
        let p = dir.path().join("bad.dts");
        std::fs::write(&p, src).unwrap();
        let err = dts::parse_file(&p).unwrap_err().to_string();
        assert!(err.contains(want), "{src:?}: {err:?} lacks {want:?}");
        assert!(err.contains("line "), "{src:?}: {err:?} names no line");
        assert!(!err.contains('\n'), "{err:?} is not one line");
    }
}
