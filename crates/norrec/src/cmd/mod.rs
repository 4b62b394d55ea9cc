//! One module per command group.

pub mod bootcmd;
pub mod demo;
pub mod dtb;
pub mod env;
pub mod fit;
pub mod flash;
pub mod script;
pub mod spl;

use norrec_nor::image::FdtInfo;

/// Tells the flash inspector what a FDT blob is (plain device tree, or FIT and how far its data
/// reaches). Until the FIT reader lands this reports nothing beyond the FDT header.
pub fn classify_fdt(_blob: &[u8]) -> Option<FdtInfo> {
    None
}
