//! The seed's `setexpr.b` size trick against `norrec bootcmd nor`'s sequence, both run with
//! U-Boot's semantics on the same flash bytes.

use norrec_uboot::bootcmd::{Machine, NorBoot, seed_sequence};

const RAM_BASE: u64 = 0x4000_0000;
const LOADADDR: u64 = 0x4100_0000;
const FLASH: usize = 16 << 20;

/// A flash holding, at 0, an FDT header with `totalsize` and a body of recognisable bytes.
fn flash_with_fit(totalsize: u32) -> Vec<u8> {
    let mut f = vec![0xff; FLASH];
    for (i, b) in f[..totalsize as usize].iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    let h =
        |f: &mut Vec<u8>, i: usize, v: u32| f[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
    h(&mut f, 0, 0xd00d_feed); // 0x00 magic
    h(&mut f, 1, totalsize); // 0x04 totalsize
    h(&mut f, 2, 0x38); // 0x08 off_dt_struct
    h(&mut f, 3, 0x200); // 0x0c off_dt_strings
    h(&mut f, 4, 0x28); // 0x10 off_mem_rsvmap
    h(&mut f, 5, 17); // 0x14 version
    h(&mut f, 6, 16); // 0x18 last_comp_version
    h(&mut f, 7, 0); // 0x1c boot_cpuid_phys
    h(&mut f, 8, 0x40); // 0x20 size_dt_strings
    h(&mut f, 9, 0x100); // 0x24 size_dt_struct
    f
}

fn ours() -> NorBoot {
    NorBoot {
        flash_offset: 0,
        flash_size: FLASH as u64,
        loadaddr: LOADADDR,
        header_addr: None,
        ram_window: Some(0x100_0000),
        probe: None,
    }
}

fn machine(flash: &[u8]) -> Machine<'_> {
    let mut m = Machine::new(flash, RAM_BASE, 0x200_0000);
    m.env.insert("loadaddr".into(), format!("{LOADADDR:x}"));
    m
}

fn loaded(m: &Machine<'_>, len: usize) -> bool {
    let at = (LOADADDR - RAM_BASE) as usize;
    m.ram[at..at + len] == m.flash[..len]
}

#[test]
fn inner_byte_below_0x10_breaks_the_seed_but_not_fdt_header_get() {
    // bytes 00 a2 0f a4: setexpr.b gives "0", "a2", "f", "a4" -> "0a2fa4" = 0xa2fa4
    let size = 0x00a2_0fa4u32;
    let flash = flash_with_fit(size);

    let mut seed = machine(&flash);
    seed.run(&seed_sequence());
    assert_eq!(seed.env["fit_size_2"], "f");
    assert_eq!(seed.env["fit_size"], "0a2fa4");
    assert_eq!(seed.reads, [8, 0xa2fa4]); // a tenth of the image
    assert_eq!(seed.booted, Some(LOADADDR)); // and bootm runs on a truncated FIT
    assert!(!loaded(&seed, size as usize));

    let mut m = machine(&flash);
    m.run(&ours().script().unwrap());
    assert_eq!(m.env["nor_size"], "a20fa4");
    assert_eq!(m.reads, [0x40, 0xa2_0fa4]);
    assert_eq!(m.booted, Some(LOADADDR));
    assert!(loaded(&m, size as usize));
    assert!(m.console.is_empty(), "{:?}", m.console);
}

#[test]
fn both_agree_when_no_inner_byte_is_below_0x10() {
    // the seed's own example, 0xa2eaa4, works with both
    let flash = flash_with_fit(0x00a2_eaa4);
    let mut seed = machine(&flash);
    seed.run(&seed_sequence());
    let mut m = machine(&flash);
    m.run(&ours().script().unwrap());
    assert_eq!(seed.reads.last(), Some(&0xa2eaa4));
    assert_eq!(m.reads.last(), Some(&0xa2eaa4));
}

#[test]
fn erased_flash_gets_a_message_not_a_bootm() {
    let flash = vec![0xff; FLASH];
    let mut m = machine(&flash);
    m.run(&ours().script().unwrap());
    assert_eq!(m.booted, None);
    assert_eq!(m.reads, [0x40]);
    assert_eq!(m.console.len(), 1);
    assert!(
        m.console[0].contains("no FIT at NOR 0x0: first word reads ffffffff"),
        "{:?}",
        m.console
    );
    // the seed's trick reads "ffffffff" as the size and sf read fails past the flash end
    let mut seed = machine(&flash);
    seed.run(&seed_sequence());
    assert_eq!(seed.env["fit_size"], "ffffffff");
    assert_eq!(seed.reads, [8]);
}

#[test]
fn a_fit_larger_than_the_ram_window_is_refused() {
    let flash = flash_with_fit(0x0090_0000);
    let mut m = machine(&flash);
    let small = NorBoot {
        ram_window: Some(0x80_0000),
        ..ours()
    };
    m.run(&small.script().unwrap());
    assert_eq!(m.booted, None);
    assert_eq!(m.reads, [0x40]);
    assert!(
        m.console[0].contains("claims 900000 (hex) bytes, more than the 0x800000"),
        "{:?}",
        m.console
    );
    // a header claiming more than the flash holds
    let mut flash = flash_with_fit(0x1000);
    flash[4..8].copy_from_slice(&0x0110_0000u32.to_be_bytes());
    let mut m = machine(&flash);
    m.run(
        &NorBoot {
            ram_window: None,
            ..ours()
        }
        .script()
        .unwrap(),
    );
    assert_eq!(m.booted, None);
    assert!(
        m.console[0].contains("more than the 0x1000000"),
        "{:?}",
        m.console
    );
}

#[test]
fn a_bad_fdt_header_is_refused() {
    let mut flash = flash_with_fit(0x1000);
    flash[0x14..0x18].copy_from_slice(&1u32.to_be_bytes()); // version 1
    let mut m = machine(&flash);
    m.run(&ours().script().unwrap());
    assert_eq!(m.booted, None);
    assert!(m.console[0].contains("bad FDT header"), "{:?}", m.console);
}
