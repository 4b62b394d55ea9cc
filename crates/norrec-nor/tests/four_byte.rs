//! 4-byte addressing on parts over 16 MiB: EN4B/EX4B, the dedicated 4-byte opcodes, the
//! Spansion bank register, and the host driver across the 16 MiB line.

mod common;
use common::{cmd, nor, rdsr};
use norrec_nor::chips::CHIPS;
use norrec_nor::device::SpiNor;
use norrec_nor::host::SpiFlash;
use norrec_nor::storage::{MemStorage, Storage};

const HIGH: u32 = 0x0123_4500; // above 16 MiB in a 32 MiB part

fn with4(op: u8, addr: u32, tail: &[u8]) -> Vec<u8> {
    let mut b = vec![op];
    b.extend_from_slice(&addr.to_be_bytes());
    b.extend_from_slice(tail);
    b
}

#[test]
fn en4b_switches_3_byte_opcodes_to_4_byte_addresses() {
    let mut n = nor("is25lp256");
    n.storage_mut().write(u64::from(HIGH), b"high");
    n.storage_mut().write(0x23_4500, b"low!");
    // 3-byte mode: READ takes 3 address bytes; 0x23_4500 is below 16 MiB.
    assert_eq!(
        &cmd(&mut n, &[0x03, 0x23, 0x45, 0x00, 0, 0, 0, 0])[4..],
        b"low!"
    );
    cmd(&mut n, &[0xb7]);
    assert!(n.four_byte_mode());
    assert_eq!(&cmd(&mut n, &with4(0x03, HIGH, &[0; 4]))[5..], b"high");
    // FAST_READ in 4-byte mode: 4 address bytes and a dummy byte.
    assert_eq!(&cmd(&mut n, &with4(0x0b, HIGH, &[0; 5]))[6..], b"high");
    // PP and erase take 4 address bytes too.
    cmd(&mut n, &[0x06]);
    cmd(&mut n, &with4(0x02, 0x01ff_ff00, b"top"));
    assert_eq!(&n.storage().as_slice()[0x01ff_ff00..0x01ff_ff03], b"top");
    cmd(&mut n, &[0xe9]);
    assert!(!n.four_byte_mode());
    assert_eq!(
        &cmd(&mut n, &[0x03, 0x23, 0x45, 0x00, 0, 0, 0, 0])[4..],
        b"low!"
    );
}

#[test]
fn dedicated_4_byte_opcodes_work_in_3_byte_mode() {
    let mut n = nor("is25wp256");
    assert!(!n.four_byte_mode());
    // 0x12 PP4 at HIGH, 0x13 READ4 and 0x0C FAST_READ4 back.
    cmd(&mut n, &[0x06]);
    cmd(&mut n, &with4(0x12, HIGH, &[1, 2, 3]));
    assert_eq!(&cmd(&mut n, &with4(0x13, HIGH, &[0; 3]))[5..], &[1, 2, 3]);
    assert_eq!(&cmd(&mut n, &with4(0x0c, HIGH, &[0; 4]))[6..], &[1, 2, 3]);
    // 0x21: 4 KiB erase at a 4-byte address.
    cmd(&mut n, &[0x06]);
    cmd(&mut n, &with4(0x21, HIGH + 0x10, &[]));
    assert_eq!(&cmd(&mut n, &with4(0x13, HIGH, &[0; 3]))[5..], &[0xff; 3]);
    // 0xDC: 64 KiB block erase at a 4-byte address; 0x5C: 32 KiB.
    let s = n.storage_mut();
    s.write(0x0100_0000, &vec![0; 0x20000]);
    cmd(&mut n, &[0x06]);
    cmd(&mut n, &with4(0xdc, 0x0101_0000, &[]));
    cmd(&mut n, &[0x06]);
    cmd(&mut n, &with4(0x5c, 0x0100_8000, &[]));
    let s = n.storage().as_slice();
    assert!(s[0x0100_0000..0x0100_8000].iter().all(|&b| b == 0));
    assert!(s[0x0100_8000..0x0102_0000].iter().all(|&b| b == 0xff));
    assert_eq!(rdsr(&mut n), 0);
}

#[test]
fn four_byte_commands_do_not_exist_on_16_mib_parts() {
    let mut n = nor("is25wp128");
    n.storage_mut().write(0, b"x");
    assert_eq!(
        cmd(&mut n, &[0x13, 0, 0, 0, 0, 0])[5],
        0xff,
        "READ4 ignored"
    );
    cmd(&mut n, &[0xb7]);
    assert!(!n.four_byte_mode(), "EN4B ignored");
    assert_eq!(&cmd(&mut n, &[0x03, 0, 0, 0, 0])[4..], b"x");
}

#[test]
fn spansion_bank_register_extadd() {
    let mut n = nor("s25fl256s1");
    cmd(&mut n, &[0x17, 0x80]);
    assert_eq!(cmd(&mut n, &[0x16, 0])[1], 0x80);
    assert!(n.four_byte_mode());
    n.storage_mut().write(u64::from(HIGH), b"S");
    assert_eq!(cmd(&mut n, &with4(0x03, HIGH, &[0]))[5], b'S');
}

#[test]
fn micron_flag_status_shows_address_mode_and_ready() {
    let mut n = nor("n25q256a");
    assert_eq!(cmd(&mut n, &[0x70, 0])[1], 0x80);
    cmd(&mut n, &[0x06]);
    cmd(&mut n, &[0xb7]);
    cmd(&mut n, &[0x04]);
    assert_eq!(cmd(&mut n, &[0x70, 0])[1], 0x81);
}

#[test]
fn host_driver_crosses_16_mib_on_every_large_part() {
    for c in CHIPS.iter().filter(|c| c.addr4) {
        let nor = SpiNor::new(c, MemStorage::erased(c.size)).unwrap();
        let mut f = SpiFlash::probe(nor).unwrap();
        let at = (16 << 20) - 3;
        let data = b"across the line";
        f.write(at, data).unwrap();
        let mut back = [0u8; 15];
        f.read(at, &mut back).unwrap();
        assert_eq!(&back, data, "{}", c.name);
        f.erase(16 << 20, u64::from(f.erase_size())).unwrap();
        f.read(at, &mut back).unwrap();
        assert_eq!(&back[..3], b"acr", "{}", c.name);
        assert!(back[3..].iter().all(|&b| b == 0xff), "{}", c.name);
        // The bytes landed where the storage says, not folded below 16 MiB.
        let nor = f.into_bus();
        assert_eq!(
            &nor.storage().as_slice()[at as usize..at as usize + 3],
            b"acr"
        );
        assert_eq!(nor.storage().as_slice()[0], 0xff, "{}: folded to 0", c.name);
    }
}

#[test]
fn bank_and_extended_address_registers_reach_the_upper_half_in_3_byte_mode() {
    // Winbond W25Q256: WREN; WREAR 0x01; READ with 3 address bytes now reads 16 MiB higher.
    let mut n = nor("w25q256");
    n.storage_mut().write(0x0100_0010, b"EAR");
    cmd(&mut n, &[0xc5, 0x01]);
    assert_eq!(
        cmd(&mut n, &[0xc8, 0])[1],
        0,
        "WREAR without WREN is ignored"
    );
    cmd(&mut n, &[0x06]);
    cmd(&mut n, &[0xc5, 0x01]);
    assert_eq!(cmd(&mut n, &[0xc8, 0])[1], 1);
    assert_eq!(
        &cmd(&mut n, &[0x03, 0x00, 0x00, 0x10, 0, 0, 0])[4..],
        b"EAR"
    );
    // Spansion: bank register bit 0 (BA24) with EXTADD clear.
    let mut s = nor("s25fl256s1");
    s.storage_mut().write(0x0100_0020, b"BAR");
    cmd(&mut s, &[0x17, 0x01]);
    assert!(!s.four_byte_mode());
    assert_eq!(
        &cmd(&mut s, &[0x03, 0x00, 0x00, 0x20, 0, 0, 0])[4..],
        b"BAR"
    );
    // RDSFDP always uses its own 3-byte address space.
    assert_eq!(&cmd(&mut s, &[0x5a, 0, 0, 0, 0, 0, 0, 0, 0])[5..], b"SFDP");
}
