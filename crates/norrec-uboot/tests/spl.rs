//! The eGON.BT0 check on Debian's Cubieboard `u-boot-sunxi-with-spl.bin`, intact and broken.

use norrec_uboot::spl::{Payload, STAMP, check, checksum};

/// Debian's Cubieboard `u-boot-sunxi-with-spl.bin`, from the board assets `scripts/setup` fetches.
fn debian_uboot() -> Option<Vec<u8>> {
    norrec_testutil::board_assets()
        .map(|a| std::fs::read(&a.uboot_spl_bin).expect("read u-boot-sunxi-with-spl.bin"))
}

#[test]
fn debians_spl_checks_out() {
    let Some(bin) = debian_uboot() else {
        return;
    };
    let info = check(&bin).unwrap();
    // mkimage -l says: "Allwinner eGON image, size: 24576 bytes, SPL header version 0.2,
    // DT name: sun4i-a10-cubieboard"
    assert_eq!(info.length, 24576);
    assert_eq!(info.spl_version, Some((0, 2)));
    assert_eq!(info.dt_name.as_deref(), Some("sun4i-a10-cubieboard"));
    assert_eq!(info.branch >> 24, 0xea);
    // the stored checksum is the sum with the stamp in its place
    assert_eq!(info.checksum, checksum(&bin[..24576]));
    assert_ne!(info.checksum, STAMP);
    match info.payload {
        Payload::Legacy { name, size } => {
            assert!(name.starts_with("U-Boot 2023.01"), "{name}");
            assert!(size > 0x40000);
        }
        other => panic!("expected U-Boot proper as a legacy image at 32 KiB, got {other:?}"),
    }
}

#[test]
fn broken_spls_are_refused_with_the_field() {
    let Some(bin) = debian_uboot() else {
        return;
    };
    // a flipped bit inside the SPL: checksum
    let mut b = bin.clone();
    b[0x1234] ^= 0x10;
    let e = check(&b).unwrap_err().to_string();
    assert!(e.starts_with("offset 0xc: check_sum is 0x7e09e63c"), "{e}");
    // the SPL cut short (a partial write)
    let e = check(&bin[..0x4000]).unwrap_err().to_string();
    assert!(
        e.starts_with("offset 0x10: length is 0x6000") && e.contains("truncated"),
        "{e}"
    );
    // U-Boot proper damaged after an intact SPL
    let mut b = bin.clone();
    b[0x9000] ^= 1;
    let e = check(&b).unwrap_err().to_string();
    assert!(
        e.contains("U-Boot image after the SPL") && e.contains("ih_dcrc"),
        "{e}"
    );
    // erased flash or a blank card
    let e = check(&vec![0xff; 0x8000]).unwrap_err().to_string();
    assert!(e.contains("blank"), "{e}");
}
