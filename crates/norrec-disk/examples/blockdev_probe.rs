//! Exercises the Linux block-device path on a real device node, for the checks the test suite
//! cannot make without root and a device (`BLKDISCARD`, `BLKZEROOUT`, `BLKRRPART`):
//!
//! ```text
//! truncate -s 64M /tmp/probe.img && dev=$(losetup -f --show /tmp/probe.img)
//! cargo run -p norrec-disk --example blockdev_probe -- $dev
//! losetup -d $dev
//! ```
//!
//! It writes a pattern to the first 2 MiB, zeroes the first MiB (`BLKZEROOUT`), discards the
//! second (`BLKDISCARD`), partitions the device from `,,c` and asks the kernel to re-read it.

use std::path::PathBuf;

use norrec_disk::{BlockDevice, LinuxBlockDevice, script};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path: PathBuf = std::env::args_os()
        .nth(1)
        .ok_or("usage: blockdev_probe /dev/DEVICE")?
        .into();
    let mut dev = LinuxBlockDevice::open(&path)?;
    println!(
        "{}: block device {}, {} bytes",
        path.display(),
        dev.is_block_device(),
        dev.len()
    );
    dev.write_at(0, &vec![0x5a; 2 << 20])?;
    dev.zero_range(0, 1 << 20)?;
    let mut buf = vec![0u8; 2 << 20];
    dev.read_at(0, &mut buf)?;
    println!(
        "zero_range: first MiB all zero {}",
        buf[..1 << 20].iter().all(|&b| b == 0)
    );
    dev.discard(1 << 20, 1 << 20)?;
    dev.read_at(0, &mut buf)?;
    println!(
        "discard: second MiB now zero {} (a discard may keep the data)",
        buf[1 << 20..].iter().all(|&b| b == 0)
    );
    let table = script::apply(&mut dev, "label-id: 0x0badcafe\n,,c\n")?;
    dev.reread_partitions()?;
    println!("partitioned and re-read: {table:?}");
    Ok(())
}
