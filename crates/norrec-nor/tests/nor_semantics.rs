//! NOR semantics through the byte interface: AND programming, erase granularity, page wrap, the
//! write enable latch, ignored commands, deselect resetting the command state.

mod common;
use common::{cmd, nor, rdsr, read3, wren_cmd3};
use norrec_nor::device::sr;
use norrec_nor::storage::Storage;

#[test]
fn program_over_programmed_data_ands() {
    let mut n = nor("is25wp128");
    wren_cmd3(&mut n, 0x02, 0x1000, &[0xf0, 0x0f, 0xaa]);
    wren_cmd3(&mut n, 0x02, 0x1000, &[0x3c, 0x3c, 0xff]);
    assert_eq!(read3(&mut n, 0x0fff, 5), [0xff, 0x30, 0x0c, 0xaa, 0xff]);
    // Programming 0xff over data changes nothing; only an erase brings bits back.
    wren_cmd3(&mut n, 0x02, 0x1000, &[0xff]);
    assert_eq!(read3(&mut n, 0x1000, 1), [0x30]);
}

#[test]
fn erase_granularity_follows_the_opcode() {
    let mut n = nor("is25wp128");
    n.storage_mut().write(0, &vec![0u8; 0x30000]);
    // 4 KiB erase at an unaligned address erases the whole aligned sector 0x1000..0x2000.
    wren_cmd3(&mut n, 0x20, 0x1234, &[]);
    // 32 KiB at 0x8000..0x10000, 64 KiB block at 0x20000..0x30000.
    wren_cmd3(&mut n, 0x52, 0x8001, &[]);
    wren_cmd3(&mut n, 0xd8, 0x2ffff, &[]);
    let s = n.storage().as_slice();
    let erased = |a: usize, b: usize| s[a..b].iter().all(|&x| x == 0xff);
    let zero = |a: usize, b: usize| s[a..b].iter().all(|&x| x == 0);
    assert!(zero(0, 0x1000) && erased(0x1000, 0x2000) && zero(0x2000, 0x8000));
    assert!(erased(0x8000, 0x10000) && zero(0x10000, 0x20000));
    assert!(erased(0x20000, 0x30000));
    assert_eq!(s[0x30000], 0xff); // was never written
}

#[test]
fn erase_sizes_the_part_lacks_are_ignored() {
    // s25fl512s erases 256 KiB blocks only: 0x20 and 0x52 do nothing, 0xD8 erases 256 KiB.
    let mut n = nor("s25fl512s");
    n.storage_mut().write(0, &vec![0u8; 0x80000]);
    wren_cmd3(&mut n, 0x20, 0, &[]);
    wren_cmd3(&mut n, 0x52, 0, &[]);
    assert_eq!(read3(&mut n, 0, 1), [0]);
    // The ignored erases left WEL set (they never started).
    assert_eq!(rdsr(&mut n) & sr::WEL, sr::WEL);
    wren_cmd3(&mut n, 0xd8, 0x10000, &[]);
    let s = n.storage().as_slice();
    assert!(s[..0x40000].iter().all(|&x| x == 0xff));
    assert_eq!(s[0x40000], 0);
}

#[test]
fn chip_erase() {
    let mut n = nor("w25q128");
    n.storage_mut().write(0x123456, &[0; 16]);
    cmd(&mut n, &[0x06]);
    cmd(&mut n, &[0xc7]);
    assert!(n.storage().as_slice().iter().all(|&x| x == 0xff));
}

#[test]
fn page_program_wraps_within_the_page() {
    let mut n = nor("is25wp128");
    // 260 bytes from column 0x80 of page 0x200: 128 bytes to the page end, the remaining 132
    // wrap to the page start; the first 4 bytes are overwritten in the page buffer by the last 4.
    let data: Vec<u8> = (0..260u32).map(|i| i as u8).collect();
    wren_cmd3(&mut n, 0x02, 0x280, &data);
    let page = read3(&mut n, 0x200, 256);
    for (col, &b) in page.iter().enumerate() {
        let i = if col >= 0x80 { col - 0x80 } else { col + 0x80 };
        let want = if i < 4 { data[i + 256] } else { data[i] };
        assert_eq!(b, want, "column {col:#x}");
    }
    assert_eq!(read3(&mut n, 0x1ff, 1), [0xff]);
    assert_eq!(read3(&mut n, 0x300, 1), [0xff]);
}

#[test]
fn write_enable_latch_is_needed_and_cleared() {
    let mut n = nor("is25wp128");
    // Without WREN: program, erase, WRSR are ignored.
    cmd(&mut n, &[0x02, 0, 0, 0, 0x00]);
    assert_eq!(read3(&mut n, 0, 1), [0xff]);
    n.storage_mut().write(0, &[0]);
    cmd(&mut n, &[0x20, 0, 0, 0]);
    cmd(&mut n, &[0xc7]);
    assert_eq!(read3(&mut n, 0, 1), [0]);
    cmd(&mut n, &[0x01, 0x1c]);
    assert_eq!(rdsr(&mut n), 0);

    // WREN sets WEL; WRDI clears it.
    cmd(&mut n, &[0x06]);
    assert_eq!(rdsr(&mut n), sr::WEL);
    cmd(&mut n, &[0x04]);
    assert_eq!(rdsr(&mut n), 0);

    // Each of program, erase, WRSR clears WEL when it completes.
    wren_cmd3(&mut n, 0x02, 0x100, &[0x55]);
    assert_eq!(rdsr(&mut n) & sr::WEL, 0);
    wren_cmd3(&mut n, 0x20, 0, &[]);
    assert_eq!(rdsr(&mut n) & sr::WEL, 0);
    assert_eq!(read3(&mut n, 0, 1), [0xff]);
    cmd(&mut n, &[0x06]);
    cmd(&mut n, &[0x01, 0x1c]);
    assert_eq!(rdsr(&mut n), 0x1c, "BP bits written, WEL cleared");
    // WIP and WEL are not writable.
    cmd(&mut n, &[0x06]);
    cmd(&mut n, &[0x01, 0x03]);
    assert_eq!(rdsr(&mut n), 0);
}

#[test]
fn unknown_opcodes_and_trailing_bytes_are_ignored_until_deselect() {
    let mut n = nor("is25wp128");
    n.storage_mut().write(0, b"hello");
    // An unknown opcode swallows everything after it, even what looks like a command.
    assert_eq!(cmd(&mut n, &[0xa5, 0x9f, 0, 0, 0]), [0xff; 5]);
    // WREN followed by junk bytes: still WREN.
    cmd(&mut n, &[0x06, 0x02, 0, 0, 0, 0]);
    assert_eq!(rdsr(&mut n), sr::WEL);
    assert_eq!(read3(&mut n, 0, 5), b"hello");
    // After deselect the next byte is an opcode again.
    assert_eq!(&cmd(&mut n, &[0x9f, 0, 0, 0])[1..], &[0x9d, 0x70, 0x18]);
}

#[test]
fn deselect_resets_the_command_state() {
    // The QEMU bug without a chip select line: a read that stops early must not leave the
    // model in its data phase. Here the first read stops after one data byte.
    let mut n = nor("is25wp128");
    n.storage_mut().write(0x10, b"abcdef");
    n.select();
    let mut b = [0x03, 0, 0, 0x10, 0];
    n.transfer(&mut b);
    assert_eq!(b[4], b'a');
    n.deselect().unwrap();
    assert_eq!(read3(&mut n, 0x13, 3), b"def");
    // An address cut short (2 of 3 bytes) is dropped too: the program never happens.
    cmd(&mut n, &[0x06]);
    cmd(&mut n, &[0x02, 0x00, 0x00]);
    assert_eq!(rdsr(&mut n), sr::WEL, "the aborted program leaves WEL set");
    assert_eq!(read3(&mut n, 0, 1), [0xff]);
}

#[test]
fn transfers_may_split_anywhere() {
    // U-Boot sends the opcode+address and the data in separate transfers; spidev users may send
    // byte by byte. Both must give the same bytes.
    let mut n = nor("is25wp128");
    n.storage_mut().write(0x100, b"0123456789");
    n.select();
    for b in [0x0b, 0x00, 0x01, 0x00, 0x00] {
        assert_eq!(n.transfer_byte(b), 0xff);
    }
    let got: Vec<u8> = (0..10).map(|_| n.transfer_byte(0)).collect();
    n.deselect().unwrap();
    assert_eq!(got, b"0123456789");
}

#[test]
fn reads_wrap_at_the_end_of_the_flash() {
    let mut n = nor("is25wp128");
    n.storage_mut().write(0, b"AB");
    n.storage_mut().write((16 << 20) - 2, b"yz");
    assert_eq!(read3(&mut n, 0xff_fffe, 4), b"yzAB");
}

#[test]
fn status_polling_sees_wip_while_busy() {
    let mut n = nor("is25wp128");
    n.set_busy_polls(3);
    wren_cmd3(&mut n, 0x02, 0, &[0x42]);
    // Busy: a read is ignored, and the status says WIP for three polls.
    assert_eq!(read3(&mut n, 0, 1), [0xff]);
    let polls: Vec<u8> = cmd(&mut n, &[0x05, 0, 0, 0, 0])[1..].to_vec();
    assert_eq!(polls, [sr::WIP, sr::WIP, sr::WIP, 0]);
    assert_eq!(read3(&mut n, 0, 1), [0x42]);
}

#[test]
fn software_reset_needs_reset_enable_first() {
    let mut n = nor("is25lp256");
    cmd(&mut n, &[0xb7]);
    cmd(&mut n, &[0x06]);
    assert!(n.four_byte_mode());
    cmd(&mut n, &[0x99]); // no 0x66 before: ignored
    assert!(n.four_byte_mode());
    cmd(&mut n, &[0x66]);
    cmd(&mut n, &[0x99]);
    assert!(!n.four_byte_mode());
    assert_eq!(rdsr(&mut n), 0, "reset clears WEL");
}

#[test]
fn random_traffic_never_wedges_the_part() {
    // Arbitrary bytes, split arbitrarily, with chip select toggled at random: the model must not
    // panic, and after a deselect it must answer a fresh command correctly.
    let mut n = nor("w25q64jv");
    let mut x = 0x2545_f491u32;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for _ in 0..3000 {
        n.select();
        for _ in 0..(next() % 4) {
            let mut b: Vec<u8> = (0..next() % 40).map(|_| next() as u8).collect();
            n.transfer(&mut b);
        }
        n.deselect().unwrap();
        if next() % 50 == 0 {
            assert_eq!(&cmd(&mut n, &[0x9f, 0, 0, 0])[1..], &[0xef, 0x70, 0x17]);
        }
    }
    cmd(&mut n, &[0x66]);
    cmd(&mut n, &[0x99]);
    assert_eq!(&cmd(&mut n, &[0x9f, 0, 0, 0])[1..], &[0xef, 0x70, 0x17]);
    assert_eq!(cmd(&mut n, &[0x5a, 0, 0, 0, 0, 0, 0, 0, 0])[5..], *b"SFDP");
}
