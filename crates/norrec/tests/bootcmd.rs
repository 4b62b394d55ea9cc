//! `norrec bootcmd nor`: its three output forms, and the seed's failing size against its own.

use norrec_uboot::bootcmd::{Machine, NorBoot, Script, seed_sequence};
use norrec_uboot::legacy::LegacyImage;

mod common;
use common::{ok, s};

const ARGS: &[&str] = &[
    "bootcmd",
    "nor",
    "--flash-offset",
    "0",
    "--flash-size",
    "16M",
    "--loadaddr",
    "0x41000000",
    "--ram-window",
    "0x2000000",
];

/// The sequence [`ARGS`] ask for: the FIT at NOR 0 of a 16 MiB chip, loaded at 0x41000000
/// within a 32 MiB RAM window.
fn for_args() -> Script {
    NorBoot {
        flash_offset: 0,
        flash_size: 16 << 20,
        loadaddr: 0x4100_0000,
        header_addr: None,
        ram_window: Some(0x200_0000),
        probe: None,
    }
    .script()
    .unwrap()
}

#[test]
fn text_bootcmd_and_script_forms_carry_the_same_sequence() {
    let text = ok(ARGS);
    let expect = for_args();
    assert_eq!(text, expect.to_text());
    for needed in [
        "sf probe",
        "sf read 0x41000000 0x0 0x40",
        "setexpr.l nor_magic *0x41000000",
        "test \"${nor_magic}\" = \"edfe0dd0\"",
        "fdt addr -q 0x41000000",
        "fdt header get nor_size totalsize",
        "itest ${nor_size} -le 0x1000000",
        "sf read 0x41000000 0x0 ${nor_size}",
        "bootm 0x41000000",
    ] {
        assert!(text.contains(needed), "{needed:?} missing from:\n{text}");
    }
    assert!(!text.contains("setexpr.b"));

    let mut a = ARGS.to_vec();
    a.extend(["--format", "bootcmd"]);
    let line = ok(&a);
    assert_eq!(line, format!("{}\n", expect.to_line()));
    assert_eq!(line.lines().count(), 1);

    let t = tempfile::tempdir().unwrap();
    let scr = t.path().join("nor.scr");
    let mut a = ARGS.to_vec();
    a.extend(["--format", "script", "-o", s(&scr)]);
    ok(&a);
    let bytes = std::fs::read(&scr).unwrap();
    let img = LegacyImage::parse(&bytes).unwrap();
    assert_eq!(img.script().unwrap(), text.as_bytes());

    // the help explains the seed's failure with its example
    let help = ok(&["bootcmd", "nor", "--help"]);
    assert!(
        help.contains("0x00a20fa4") && help.contains("0xa2fa4"),
        "{help}"
    );
}

#[test]
fn the_seeds_size_is_wrong_where_ours_is_right() {
    // totalsize 0x00a20fa4: the inner byte 0x0f loses its zero in the seed's concatenation
    let size = 0x00a2_0fa4usize;
    let mut flash = vec![0xffu8; 16 << 20];
    for (i, b) in flash[..size].iter_mut().enumerate() {
        *b = (i % 253) as u8;
    }
    let header: [u32; 10] = [
        0xd00d_feed,
        size as u32,
        0x38,
        0x200,
        0x28,
        17,
        16,
        0,
        0x40,
        0x100,
    ];
    for (i, v) in header.iter().enumerate() {
        flash[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
    }
    let run = |script: &norrec_uboot::bootcmd::Script| {
        let mut m = Machine::new(&flash, 0x4000_0000, 0x200_0000);
        m.env.insert("loadaddr".into(), "41000000".into());
        m.run(script);
        (m.reads.clone(), m.booted)
    };
    let (seed_reads, _) = run(&seed_sequence());
    assert_eq!(seed_reads.last(), Some(&0xa2fa4));
    let ours = for_args();
    // the sequence the CLI prints is the one that runs right
    assert_eq!(ok(ARGS), ours.to_text());
    let (reads, booted) = run(&ours);
    assert_eq!(reads, [0x40, 0xa2_0fa4]);
    assert_eq!(booted, Some(0x4100_0000));
}

#[test]
fn defaults_come_from_the_board_manifest() {
    // boards/cubieboard/board.toml: is25wp128 (16 MiB), recovery_offset 0, header_addr
    // 0x40000000, fit_addr 0x42000000
    let text = ok(&["bootcmd", "nor"]);
    let expect = NorBoot {
        flash_offset: 0,
        flash_size: 16 << 20,
        loadaddr: 0x4200_0000,
        header_addr: Some(0x4000_0000),
        ram_window: None,
        probe: None,
    }
    .script()
    .unwrap();
    assert_eq!(text, expect.to_text());
    assert!(text.contains("sf read 0x40000000 0x0 0x40"), "{text}");
    assert!(text.contains("bootm 0x42000000"), "{text}");
}
