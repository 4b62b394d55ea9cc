//! SPI NOR flash for norrec: the chip table, a byte-level device model with injected storage
//! backends, the `embedded-storage` traits on top of it, and flash image assembly and inspection.
//!
//! Data flow, in file order:
//! - [`chips`]: what a part is (JEDEC id, size, page and erase sizes, addressing), as U-Boot's
//!   spi-nor table and QEMU's m25p80 model know it.
//! - [`storage`]: where the bytes live ([`storage::MemStorage`], [`storage::FileStorage`], the
//!   seed's `flash.bin`).
//! - [`device`]: [`device::SpiNor`], the chip itself: `select`, `transfer`, `deselect`, speaking the
//!   command set the U-Boot and Linux spi-nor cores use, with NOR semantics.
//! - [`sfdp`]: the SFDP basic parameter table a chip answers to RDSFDP.
//! - [`host`]: a host-side driver that talks to any SPI NOR through the byte interface, as U-Boot's
//!   `sf` does, and implements `embedded-storage`'s `ReadNorFlash`/`NorFlash` on top.
//! - [`image`]: whole flash images: erased images with payloads placed at offsets, and inspection
//!   (FDT/FIT and legacy headers, erased runs).
//!
//! Everything here is written by hand: the device model has no crate to build on (QEMU's m25p80 is
//! C), and the image inspection needs only the two header layouts it recognises.

pub mod chips;
pub mod device;
mod error;
pub mod host;
pub mod image;
pub mod sfdp;
pub mod storage;

pub use error::{Error, Result};
