//! The seed's U-Boot session against the model, on a file like QEMU's `-drive if=mtd`:
//!
//! ```text
//! => sf probe
//! SF: Detected is25wp128 with page size 256 Bytes, erase size 4 KiB, total 16 MiB
//! => mw 40000000 12345678
//! => sf write 40000000 0 4
//! => sf read 40001000 0 4
//! => md 40001000 1
//! 40001000: 12345678 xV4.
//! $ xxd -p flash.bin | head -c 4    (the blog prints 8 hex digits)
//! 78563412
//! ```

use norrec_nor::device::SpiNor;
use norrec_nor::host::SpiFlash;
use norrec_nor::storage::FileStorage;

#[test]
fn sf_probe_write_read_reaches_flash_bin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flash.bin");
    // The blog's `dd if=/dev/zero ibs=1 count=16M | tr '\000' '\377' > flash.bin`.
    std::fs::write(&path, vec![0xff; 16 << 20]).unwrap();
    let chip = norrec_nor::chips::find("is25wp128").unwrap();
    let nor = SpiNor::new(chip, FileStorage::open(&path).unwrap()).unwrap();

    // sf probe: RDID answers 9d 70 18.
    let mut flash = SpiFlash::probe(nor).unwrap();
    assert_eq!(&flash.id()[..3], &[0x9d, 0x70, 0x18]);
    assert_eq!(
        flash.detected(),
        "SF: Detected is25wp128 with page size 256 Bytes, erase size 4 KiB, total 16 MiB"
    );

    // mw 40000000 12345678: the ARM stores the word little-endian in RAM.
    let ram_word = 0x1234_5678u32.to_le_bytes();
    flash.write(0, &ram_word).unwrap();

    let mut back = [0u8; 4];
    flash.read(0, &mut back).unwrap();
    assert_eq!(u32::from_le_bytes(back), 0x1234_5678, "md 40001000 1");

    // The host sees the bytes in flash order: 78 56 34 12, and nothing else changed.
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..4], &[0x78, 0x56, 0x34, 0x12]);
    assert_eq!(bytes.len(), 16 << 20);
    assert!(bytes[4..].iter().all(|&b| b == 0xff));
}
