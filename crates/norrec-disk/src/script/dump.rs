//! Printing a table in `sfdisk -d` form (util-linux 2.38 `fdisk_script_write_file`):
//!
//! ```text
//! label: dos
//! label-id: 0x348aa4b8
//! device: sd.img
//! unit: sectors
//! sector-size: 512
//!
//! sd.img1 : start=        4096, size=       81920, type=c, bootable
//! ```
//!
//! Partition names are the device name plus the number, with a `p` between when the device
//! name ends in a digit (`/dev/mmcblk0p1`). A `grain: 512` line appears for disks of at most
//! 8192 sectors, where libfdisk does not align to 1 MiB.

use std::fmt::Write as _;

use crate::mbr::DosTable;

/// The name sfdisk gives partition `n` (1-based) of `device`.
pub fn partition_name(device: &str, n: usize) -> String {
    if device.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{device}p{n}")
    } else {
        format!("{device}{n}")
    }
}

/// The alignment grain in bytes libfdisk reports for a disk of `total_sectors`.
pub fn grain_bytes(total_sectors: u64) -> u64 {
    if total_sectors <= 2048 * 4 {
        512
    } else {
        1 << 20
    }
}

/// `sfdisk -d` text for `table` on `device` (a disk of `total_sectors` 512-byte sectors).
pub fn dump(table: &DosTable, device: &str, total_sectors: u64) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "label: dos");
    let _ = writeln!(s, "label-id: 0x{:08x}", table.disk_id);
    let _ = writeln!(s, "device: {device}");
    let _ = writeln!(s, "unit: sectors");
    let grain = grain_bytes(total_sectors);
    if grain != 1 << 20 {
        let _ = writeln!(s, "grain: {grain}");
    }
    let _ = writeln!(s, "sector-size: 512");
    let _ = writeln!(s);
    for (n, p) in table.partitions() {
        let _ = write!(
            s,
            "{} : start={:>12}, size={:>12}, type={:x}",
            partition_name(device, n),
            p.start,
            p.size,
            p.ptype
        );
        if p.bootable {
            s.push_str(", bootable");
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mbr::DosPartition;

    #[test]
    fn dump_matches_sfdisk_layout() {
        let mut t = DosTable {
            disk_id: 0x348a_a4b8,
            ..Default::default()
        };
        t.slots[0] = Some(DosPartition {
            start: 4096,
            size: 81920,
            ptype: 0x0c,
            bootable: true,
        });
        t.slots[2] = Some(DosPartition {
            start: 770048,
            size: 681574,
            ptype: 0x83,
            bootable: false,
        });
        assert_eq!(
            dump(&t, "a.img", 2_097_152),
            "label: dos\nlabel-id: 0x348aa4b8\ndevice: a.img\nunit: sectors\nsector-size: 512\n\n\
             a.img1 : start=        4096, size=       81920, type=c, bootable\n\
             a.img3 : start=      770048, size=      681574, type=83\n"
        );
        assert_eq!(partition_name("/dev/mmcblk0", 2), "/dev/mmcblk0p2");
        assert!(dump(&t, "x", 8192).contains("unit: sectors\ngrain: 512\nsector-size"));
    }
}
