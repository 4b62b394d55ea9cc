//! The file backend: a program or erase reaches the file when its command completes (deselect),
//! not before, as QEMU's m25p80 writes its `-drive if=mtd` file.

mod common;
use common::{cmd, rdsr};
use norrec_nor::device::SpiNor;
use norrec_nor::storage::{FileStorage, Storage};
use std::path::Path;

fn file_byte(path: &Path, at: usize) -> u8 {
    std::fs::read(path).unwrap()[at]
}

#[test]
fn writes_reach_the_file_on_deselect_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flash.bin");
    let chip = common::chip("is25wp128");
    let mut nor = SpiNor::new(chip, FileStorage::create_erased(&path, chip.size).unwrap()).unwrap();

    // WREN; PP 0x2000 "AB" with the data in a second transfer, as U-Boot sends it.
    cmd(&mut nor, &[0x06]);
    nor.select();
    nor.transfer(&mut [0x02, 0x00, 0x20, 0x00]);
    nor.transfer(&mut b"AB".to_vec());
    assert_eq!(
        file_byte(&path, 0x2000),
        0xff,
        "not before the command completes"
    );
    assert_eq!(
        nor.storage().as_slice()[0x2000],
        0xff,
        "the part programs on CS high"
    );
    nor.deselect().unwrap();
    assert_eq!(&std::fs::read(&path).unwrap()[0x2000..0x2002], b"AB");

    // WREN; sector erase: again only after deselect.
    cmd(&mut nor, &[0x06]);
    nor.select();
    nor.transfer(&mut [0x20, 0x00, 0x20, 0x10]);
    assert_eq!(file_byte(&path, 0x2000), b'A');
    nor.deselect().unwrap();
    assert_eq!(file_byte(&path, 0x2000), 0xff);

    // A program without WREN never touches the file.
    cmd(&mut nor, &[0x02, 0x00, 0x00, 0x00, 0x00]);
    assert_eq!(file_byte(&path, 0), 0xff);
    assert!(!nor.storage().is_dirty());
    assert_eq!(rdsr(&mut nor), 0);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), chip.size);
}

#[test]
fn a_reopened_file_holds_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flash.bin");
    let chip = common::chip("w25q64jv");
    {
        let s = FileStorage::create_erased(&path, chip.size).unwrap();
        let mut f = norrec_nor::host::SpiFlash::probe(SpiNor::new(chip, s).unwrap()).unwrap();
        f.erase(0x10000, 0x10000).unwrap();
        f.write(0x10010, b"persist").unwrap();
    }
    let s = FileStorage::open(&path).unwrap();
    let mut f = norrec_nor::host::SpiFlash::probe(SpiNor::new(chip, s).unwrap()).unwrap();
    let mut back = [0u8; 7];
    f.read(0x10010, &mut back).unwrap();
    assert_eq!(&back, b"persist");
}

#[test]
fn wrong_file_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.bin");
    std::fs::write(&path, [0xffu8; 4096]).unwrap();
    let err =
        SpiNor::new(common::chip("is25wp128"), FileStorage::open(&path).unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "storage of 0x1000 bytes does not fit is25wp128, which has 0x1000000 bytes"
    );
}
