//! One module per command group.

pub mod agent;
pub mod bootcmd;
pub mod demo;
pub mod disk;
pub mod disk_ext4;
pub mod disk_ext4_read;
pub mod disk_fat;
pub mod disk_raw;
pub mod dtb;
pub mod env;
pub mod fit;
pub mod flash;
pub mod initramfs;
pub mod install;
pub mod qemu;
pub mod qemu_nor;
pub mod recover;
pub mod script;
pub mod spl;
pub mod swu;
pub mod usb;

use norrec_nor::image::{FdtInfo, Kind};

/// Tells the flash inspector what a FDT blob is: a FIT (with its description, how far its
/// external data reaches, and U-Boot's objections to it) or a plain device tree.
pub fn classify_fdt(blob: &[u8]) -> Option<FdtInfo> {
    let fit = norrec_uboot::fit::Fit::new(blob).ok()?;
    let lints = norrec_uboot::fit::Lints::default();
    Some(FdtInfo {
        kind: Kind::Fit,
        load_size: fit.load_size() as u64,
        name: fit.description().map(str::to_owned),
        warnings: fit.lints(&lints),
    })
}
