//! U-Boot's formats, read and written apart (gimli/object style): a reader is zero-copy over
//! `&[u8]`, a writer is a builder producing bytes.
//!
//! - device trees: [`fdt`] (binary reader and writer), [`dts`] (source parser), [`fit`] (FIT images
//!   built from `.its` or from parts, listed, verified, extracted);
//! - [`legacy`]: the 64-byte legacy image header and script images (`boot.scr`);
//! - [`env`](mod@env): environment images (single and redundant), `fw_env.config`, default environments
//!   compiled into U-Boot binaries;
//! - [`spl`]: the sunxi eGON.BT0 SPL header;
//! - [`bootcmd`]: the U-Boot command sequence that loads a FIT from SPI NOR correctly.

pub mod bootcmd;
pub mod dts;
pub mod env;
mod error;
pub mod fdt;
pub mod fit;
pub mod legacy;
pub mod spl;

pub use error::{Error, Result};
