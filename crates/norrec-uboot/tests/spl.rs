//! The eGON.BT0 check on Debian's Cubieboard `u-boot-sunxi-with-spl.bin`, intact and broken.

use norrec_testutil::tools_required;
use norrec_uboot::spl::{Payload, STAMP, check, checksum};
use std::path::PathBuf;

fn debian_uboot() -> Option<Vec<u8>> {
    // NORREC_UBOOT_SUNXI, else the cache scripts/setup fills: $NORREC_CACHE, else
    // $XDG_CACHE_HOME/norrec, else ~/.cache/norrec; then debs/u-boot-sunxi/ (dpkg -x of
    // u-boot-sunxi:armhf).
    let cache = std::env::var_os("NORREC_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|x| PathBuf::from(x).join("norrec")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/norrec")));
    let path = std::env::var_os("NORREC_UBOOT_SUNXI")
        .map(PathBuf::from)
        .or_else(|| {
            cache.map(|c| {
                c.join("debs/u-boot-sunxi/usr/lib/u-boot/Cubieboard/u-boot-sunxi-with-spl.bin")
            })
        });
    match path.filter(|p| p.is_file()) {
        Some(p) => Some(std::fs::read(p).unwrap()),
        None if tools_required() => panic!(
            "Debian's Cubieboard u-boot-sunxi-with-spl.bin not found (NORREC_UBOOT_SUNXI or ~/.cache/norrec/debs): run scripts/setup"
        ),
        None => {
            eprintln!("skipping: Debian's u-boot-sunxi-with-spl.bin not found (run scripts/setup)");
            None
        }
    }
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
