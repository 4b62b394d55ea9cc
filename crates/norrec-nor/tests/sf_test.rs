//! A `sf test`-like check (U-Boot's cmd/sf.c `sf test offset len`): erase a region, check it
//! reads erased, write a pattern, read it back, over 1 MiB, through the host driver and the
//! byte interface, on a file.

use norrec_nor::chips;
use norrec_nor::device::SpiNor;
use norrec_nor::host::SpiFlash;
use norrec_nor::storage::FileStorage;

/// xorshift32: a pattern that differs in every byte and every run position.
fn pattern(len: usize, mut x: u32) -> Vec<u8> {
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn sf_test_100000_100000() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flash.bin");
    let chip = chips::find("is25wp128").unwrap();
    let storage = FileStorage::create_erased(&path, chip.size).unwrap();
    let mut f = SpiFlash::probe(SpiNor::new(chip, storage).unwrap()).unwrap();
    let (off, len) = (0x10_0000u64, 0x10_0000usize);

    // Fill the region and its neighbours with something non-erased first.
    let junk = pattern(len + 0x2000, 7);
    f.write(off - 0x1000, &junk).unwrap();

    f.erase(off, len as u64).unwrap();
    let mut buf = vec![0u8; len];
    f.read(off, &mut buf).unwrap();
    assert!(buf.iter().all(|&b| b == 0xff), "erased region reads 0xff");

    let data = pattern(len, 0x1234_5678);
    f.write(off, &data).unwrap();
    f.read(off, &mut buf).unwrap();
    assert!(buf == data, "read back differs");

    // The neighbours kept their bytes: erase did not spill over the region.
    let mut edge = [0u8; 0x1000];
    f.read(off - 0x1000, &mut edge).unwrap();
    assert_eq!(&edge[..], &junk[..0x1000]);
    f.read(off + len as u64, &mut edge).unwrap();
    assert_eq!(&edge[..], &junk[0x1000 + len..]);

    // And the file holds the same bytes.
    let file = std::fs::read(&path).unwrap();
    assert!(file[off as usize..off as usize + len] == data[..]);
}
