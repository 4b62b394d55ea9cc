//! What the host driver sends: the opcodes of probe, write and erase, seen on the bus.

use norrec_nor::chips;
use norrec_nor::device::SpiNor;
use norrec_nor::host::{SpiBus, SpiFlash};
use norrec_nor::storage::MemStorage;

/// A bus that records the first bytes of each command (opcode and address) on its way.
#[derive(Debug)]
struct Logged {
    nor: SpiNor<MemStorage>,
    log: Vec<Vec<u8>>,
    first: bool,
}

impl SpiBus for Logged {
    fn select(&mut self) {
        self.first = true;
        self.nor.select();
    }
    fn transfer(&mut self, buf: &mut [u8]) {
        if self.first {
            self.log.push(buf.to_vec());
            self.first = false;
        }
        self.nor.transfer(buf);
    }
    fn deselect(&mut self) -> norrec_nor::Result<()> {
        self.nor.deselect()
    }
}

fn logged(name: &str) -> SpiFlash<Logged> {
    let chip = chips::find(name).unwrap();
    let nor = SpiNor::new(chip, MemStorage::erased(chip.size)).unwrap();
    SpiFlash::probe(Logged {
        nor,
        log: Vec::new(),
        first: false,
    })
    .unwrap()
}

fn opcodes(f: &mut SpiFlash<Logged>) -> Vec<(u8, u32)> {
    let log = std::mem::take(&mut f.bus_mut().log);
    log.into_iter()
        .filter(|c| !matches!(c[0], 0x05 | 0x70)) // status polls
        .map(|c| {
            let addr = c[1..]
                .iter()
                .take(4)
                .fold(0u32, |a, &b| a << 8 | u32::from(b));
            (c[0], if c.len() >= 4 { addr } else { 0 })
        })
        .collect()
}

#[test]
fn probe_reads_id_then_sfdp_then_enters_4_byte_mode() {
    let mut f = logged("is25lp256");
    let ops: Vec<u8> = opcodes(&mut f).iter().map(|o| o.0).collect();
    assert_eq!(ops, [0x9f, 0x5a, 0x5a, 0x5a, 0xb7]);
    assert!(f.into_bus().nor.four_byte_mode());
    // Micron wants WREN around EN4B; a part with 4-byte opcodes stays in 3-byte mode.
    let mut m = logged("n25q256a");
    let ops: Vec<u8> = opcodes(&mut m).iter().map(|o| o.0).collect();
    assert_eq!(&ops[4..], [0x06, 0xb7, 0x04]);
    let w = logged("is25wp256");
    assert!(!w.into_bus().nor.four_byte_mode());
}

#[test]
fn erase_picks_the_largest_aligned_unit() {
    let mut f = logged("is25wp128");
    opcodes(&mut f);
    // 0x7000..0x31000: 4K at 0x7000, 32K at 0x8000, 64K at 0x10000 and 0x20000, 4K at 0x30000.
    f.erase(0x7000, 0x2a000).unwrap();
    let erases: Vec<(u8, u32)> = opcodes(&mut f)
        .into_iter()
        .filter(|o| o.0 != 0x06)
        .collect();
    assert_eq!(
        erases,
        [
            (0x20, 0x7000),
            (0x52, 0x8000),
            (0xd8, 0x10000),
            (0xd8, 0x20000),
            (0x20, 0x30000)
        ]
    );
    // The whole chip: one chip erase.
    f.erase(0, 16 << 20).unwrap();
    assert_eq!(opcodes(&mut f), [(0x06, 0), (0xc7, 0)]);
}

#[test]
fn write_is_wren_then_page_program_per_page() {
    let mut f = logged("is25wp128");
    opcodes(&mut f);
    f.write(0xf0, &[0u8; 0x120]).unwrap();
    assert_eq!(
        opcodes(&mut f),
        [
            (0x06, 0),
            (0x02, 0xf0),
            (0x06, 0),
            (0x02, 0x100),
            (0x06, 0),
            (0x02, 0x200)
        ]
    );
}

#[test]
fn host_polls_until_the_part_is_ready() {
    let mut f = logged("is25wp128");
    f.bus_mut().nor.set_busy_polls(5);
    f.write(0, b"slow").unwrap();
    let polls = f.bus_mut().log.iter().filter(|c| c[0] == 0x05).count();
    assert_eq!(polls, 6, "five busy answers, then ready");
    // Had the driver not waited, this read would have been ignored by the busy part.
    let mut b = [0u8; 4];
    f.read(0, &mut b).unwrap();
    assert_eq!(&b, b"slow");
}

#[test]
fn update_skips_equal_sectors_and_keeps_neighbouring_bytes() {
    let mut f = logged("is25wp128");
    f.write(0x0ff0, b"keep").unwrap();
    f.write(0x1000, &[0x11; 0x1000]).unwrap();
    opcodes(&mut f);
    // 0x0ff8..0x2010: sector 0 partly (differs), sector 1 whole (equal), sector 2 partly.
    let mut data = vec![0x22u8; 8];
    data.extend_from_slice(&[0x11; 0x1000]);
    data.extend_from_slice(&[0x33; 0x10]);
    let u = f.update(0x0ff8, &data).unwrap();
    assert_eq!(
        u,
        norrec_nor::host::Update {
            written: 0x18,
            skipped: 0x1000
        }
    );
    let erases: Vec<(u8, u32)> = opcodes(&mut f)
        .into_iter()
        .filter(|o| o.0 == 0x20)
        .collect();
    assert_eq!(erases, [(0x20, 0), (0x20, 0x2000)]);
    let mut back = vec![0u8; 0x1030];
    f.read(0x0ff0, &mut back).unwrap();
    assert_eq!(&back[..4], b"keep");
    assert_eq!(&back[4..8], &[0xff; 4]);
    assert_eq!(&back[8..0x1020], &data[..]);
    assert!(back[0x1020..].iter().all(|&b| b == 0xff));
}
