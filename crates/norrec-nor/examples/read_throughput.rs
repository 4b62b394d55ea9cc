//! Throughput of reading 16 MiB through the SPI NOR model's byte interface, against a plain
//! memory copy of the same 16 MiB (goal: the model reaches at least 25 % of the copy).
//!
//! Run with `cargo run --release -p norrec-nor --example read_throughput`. Prints one line per
//! path and the ratios; every read is checked against the source bytes.

use norrec_nor::chips;
use norrec_nor::device::SpiNor;
use norrec_nor::host::SpiFlash;
use norrec_nor::storage::MemStorage;
use std::hint::black_box;
use std::time::Instant;

const RUNS: usize = 21;

/// Median seconds of `RUNS` calls of `f`.
fn median(mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[RUNS / 2]
}

fn mib_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / f64::from(1 << 20)
}

fn main() {
    let chip = chips::find("is25wp128").expect("is25wp128 in the table");
    let size = chip.size as usize;
    let src: Vec<u8> = (0..size)
        .map(|i| (i ^ (i >> 8) ^ (i >> 16)) as u8)
        .collect();
    let mut dst = vec![0u8; size];

    let copy = median(|| {
        dst.copy_from_slice(black_box(&src));
        black_box(&mut dst);
    });
    assert!(dst == src);

    // The byte interface: opcode and address in one transfer, the 16 MiB data phase in another.
    let mut nor = SpiNor::new(chip, MemStorage::from_vec(src.clone())).expect("16 MiB storage");
    dst.fill(0);
    let model = median(|| {
        nor.select();
        nor.transfer(&mut [0x03, 0, 0, 0]);
        nor.transfer(black_box(&mut dst));
        nor.deselect().expect("memory storage");
    });
    assert!(dst == src);

    // The same data phase in 64-byte transfers, as a controller with a 64-byte FIFO would send it.
    dst.fill(0);
    let fifo = median(|| {
        nor.select();
        nor.transfer(&mut [0x03, 0, 0, 0]);
        for chunk in dst.chunks_mut(64) {
            nor.transfer(black_box(chunk));
        }
        nor.deselect().expect("memory storage");
    });
    assert!(dst == src);

    // The host driver (FAST_READ) as `sf read` uses it.
    let mut flash = SpiFlash::probe(nor).expect("probe");
    dst.fill(0);
    let host = median(|| flash.read(0, black_box(&mut dst)).expect("read"));
    assert!(dst == src);

    let (c, m, h) = (mib_s(size, copy), mib_s(size, model), mib_s(size, host));
    println!("nor read 16 MiB: memcpy {copy:.4} s ({c:.0} MiB/s)");
    println!(
        "nor read 16 MiB: model byte interface {model:.4} s ({m:.0} MiB/s), {:.0}% of memcpy",
        100.0 * m / c
    );
    let f = mib_s(size, fifo);
    println!(
        "nor read 16 MiB: model in 64-byte transfers {fifo:.4} s ({f:.0} MiB/s), {:.0}% of memcpy",
        100.0 * f / c
    );
    println!(
        "nor read 16 MiB: host driver sf read {host:.4} s ({h:.0} MiB/s), {:.0}% of memcpy",
        100.0 * h / c
    );
}
