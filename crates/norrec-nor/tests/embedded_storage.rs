//! The `embedded-storage` NOR traits over the host driver over the model: what Rust firmware
//! would use to test its flash code.

use embedded_storage::nor_flash::{NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};
use norrec_nor::chips;
use norrec_nor::device::SpiNor;
use norrec_nor::host::SpiFlash;
use norrec_nor::storage::MemStorage;

/// Firmware-style code that knows only the traits: erase a sector, store a record, read it back.
fn store_record<F: NorFlash>(flash: &mut F, at: u32, record: &[u8]) -> Result<Vec<u8>, F::Error> {
    flash.erase(at, at + F::ERASE_SIZE as u32)?;
    flash.write(at, record)?;
    let mut back = vec![0; record.len()];
    flash.read(at, &mut back)?;
    Ok(back)
}

fn flash(name: &str) -> SpiFlash<SpiNor<MemStorage>> {
    let chip = chips::find(name).unwrap();
    SpiFlash::probe(SpiNor::new(chip, MemStorage::erased(chip.size)).unwrap()).unwrap()
}

#[test]
fn round_trip_through_the_traits() {
    let mut f = flash("is25wp128");
    assert_eq!(ReadNorFlash::capacity(&f), 16 << 20);
    // A record straddling a page boundary.
    let record: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(store_record(&mut f, 0x3000, &record).unwrap(), record);
    // Writing again without an erase ANDs (MultiwriteNorFlash).
    NorFlash::write(&mut f, 0x3000, &[0x0f]).unwrap();
    let mut b = [0u8; 1];
    ReadNorFlash::read(&mut f, 0x3000, &mut b).unwrap();
    assert_eq!(b[0], record[0] & 0x0f);
    // The erase reached only that sector.
    let nor = f.into_bus();
    let s = norrec_nor::storage::Storage::as_slice(nor.storage());
    assert!(s[..0x3000].iter().chain(&s[0x4000..]).all(|&x| x == 0xff));
}

#[test]
fn error_kinds() {
    let mut f = flash("is25wp128");
    let mut b = [0u8; 2];
    let e = ReadNorFlash::read(&mut f, (16 << 20) - 1, &mut b).unwrap_err();
    assert_eq!(e.kind(), NorFlashErrorKind::OutOfBounds);
    let e = NorFlash::erase(&mut f, 0x100, 0x1000).unwrap_err();
    assert_eq!(e.kind(), NorFlashErrorKind::NotAligned);
    assert!(e.to_string().contains("0x100"), "{e}");
    // A part whose smallest erase is 64 KiB needs 64 KiB alignment despite ERASE_SIZE = 4 KiB.
    let mut big = flash("mx25l25635e");
    let e = NorFlash::erase(&mut big, 0, 0x1000).unwrap_err();
    assert_eq!(e.kind(), NorFlashErrorKind::NotAligned);
    NorFlash::erase(&mut big, 0, 0x10000).unwrap();
}
