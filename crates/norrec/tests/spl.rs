//! `norrec spl check` on Debian's Cubieboard U-Boot, intact, broken, and inside an SD image.

use std::path::PathBuf;

mod common;
use common::{norrec, s};

/// Debian's Cubieboard `u-boot-sunxi-with-spl.bin`, from the board assets `scripts/setup` fetches.
fn debian_uboot() -> Option<PathBuf> {
    norrec_testutil::board_assets().map(|a| a.uboot_spl_bin)
}

#[test]
fn checks_debians_spl_and_refuses_a_broken_one() {
    let Some(bin) = debian_uboot() else {
        return;
    };
    let out = norrec(&["spl", "check", s(&bin)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("eGON.BT0 SPL, 24576 bytes, checksum 0x7e09e63c ok"),
        "{text}"
    );
    assert!(text.contains("DT name: sun4i-a10-cubieboard"), "{text}");
    assert!(text.contains("legacy image \"U-Boot 2023.01"), "{text}");

    // at 8 KiB of an SD card image, as the bundle writes it
    let t = tempfile::tempdir().unwrap();
    let data = std::fs::read(&bin).unwrap();
    let mut sd = vec![0u8; 1 << 20];
    sd[8192..8192 + data.len()].copy_from_slice(&data);
    let img = t.path().join("sd.img");
    std::fs::write(&img, &sd).unwrap();
    assert!(
        norrec(&["spl", "check", s(&img), "--offset", "8K"])
            .status
            .success()
    );

    // one flipped bit in the SPL: one line naming file and field, non-zero exit
    sd[8192 + 0x2000] ^= 4;
    std::fs::write(&img, &sd).unwrap();
    let out = norrec(&["spl", "check", s(&img), "--offset", "8K"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("sd.img: offset 0x200c: check_sum is 0x7e09e63c"),
        "{err}"
    );
    // nothing at 8 KiB (a blank card)
    let out = norrec(&["spl", "check", s(&img), "--offset", "768K"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("blank"));
}
