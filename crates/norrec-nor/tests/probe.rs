//! Every chip in the table answers RDID and RDSFDP in agreement with the table, and the host
//! driver's probe finds it again.

mod common;
use common::cmd;
use norrec_nor::chips::CHIPS;
use norrec_nor::device::SpiNor;
use norrec_nor::host::SpiFlash;
use norrec_nor::sfdp::{Bfpt, Header};
use norrec_nor::storage::MemStorage;

#[test]
fn every_chip_answers_rdid_and_sfdp_from_the_table() {
    for chip in CHIPS {
        let mut nor = SpiNor::new(chip, MemStorage::erased(chip.size)).unwrap();
        // RDID: JEDEC id, the extended id, then zeros (6 bytes, as U-Boot reads).
        let id = cmd(&mut nor, &[0x9f, 0, 0, 0, 0, 0, 0]);
        assert_eq!(id[0], 0xff, "{}: MISO idle during the opcode", chip.name);
        assert_eq!(&id[1..4], &chip.jedec, "{}", chip.name);
        let ext = chip.ext_id.unwrap_or(&[]);
        assert_eq!(&id[4..4 + ext.len()], ext, "{}", chip.name);
        assert!(id[4 + ext.len()..].iter().all(|&b| b == 0), "{}", chip.name);
        assert_eq!(
            norrec_nor::chips::by_jedec(&id[1..]).unwrap().name,
            chip.name
        );

        // RDSFDP: opcode, 3 address bytes, a dummy byte, then the SFDP space from address 0.
        let mut rd = vec![0x5a, 0, 0, 0, 0];
        rd.resize(5 + 0x100, 0);
        let space = cmd(&mut nor, &rd)[5..].to_vec();
        let header = Header::parse(&space).unwrap();
        let (ptr, len) = header.bfpt().unwrap();
        let bfpt = Bfpt::parse(&space[ptr as usize..ptr as usize + len]).unwrap();
        assert_eq!(bfpt.density_bytes(), chip.size, "{}", chip.name);
        assert_eq!(bfpt.page_size(), Some(chip.page_size), "{}", chip.name);
        assert_eq!(
            bfpt.erase_4k_opcode(),
            (chip.sector_size == 4096).then_some(0x20)
        );
        // Reading the BFPT at its own address gives the same bytes.
        let a = ptr.to_be_bytes();
        let mut at = vec![0x5a, a[1], a[2], a[3], 0];
        at.resize(5 + len, 0);
        assert_eq!(
            &cmd(&mut nor, &at)[5..],
            &space[ptr as usize..ptr as usize + len]
        );

        let flash = SpiFlash::probe(nor).unwrap();
        assert_eq!(flash.chip().name, chip.name);
        assert_eq!(u64::from(flash.erase_size()), u64::from(chip.sector_size));
    }
}

#[test]
fn unknown_id_names_the_bytes() {
    #[derive(Debug)]
    struct Blank;
    impl norrec_nor::host::SpiBus for Blank {
        fn select(&mut self) {}
        fn transfer(&mut self, buf: &mut [u8]) {
            buf.copy_from_slice(&[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde][..buf.len()]);
        }
        fn deselect(&mut self) -> norrec_nor::Result<()> {
            Ok(())
        }
    }
    let err = SpiFlash::probe(Blank).unwrap_err().to_string();
    assert_eq!(err, "unrecognized JEDEC id bytes: 34, 56, 78");
}

#[test]
fn no_transfer_without_chip_select() {
    let mut nor = common::nor("is25wp128");
    let mut b = [0x9f, 0, 0, 0];
    nor.transfer(&mut b);
    assert_eq!(b, [0xff; 4]);
}
