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
//!
//! The model speaks single-line SPI only (what the A10 SPI controller and U-Boot's `sf` use):
//! no dual/quad reads, OTP, deep power-down or suspend, and block-protect bits are stored but
//! protect nothing. Its tests (`tests/`) drive it only through `select`/`transfer`/`deselect`
//! and the host driver, as U-Boot's `sf probe/read/write/erase` would.
//!
//! ```
//! use norrec_nor::{chips, device::SpiNor, host::SpiFlash, storage::MemStorage};
//! let chip = chips::find("is25wp128").unwrap();
//! let mut flash = SpiFlash::probe(SpiNor::new(chip, MemStorage::erased(chip.size))?)?;
//! assert_eq!(
//!     flash.detected(),
//!     "SF: Detected is25wp128 with page size 256 Bytes, erase size 4 KiB, total 16 MiB"
//! );
//! flash.erase(0, 0x1000)?;
//! flash.write(0, b"norrec")?;
//! let bytes = flash.into_bus().into_storage().into_inner();
//! assert_eq!(&bytes[..6], b"norrec");
//! # Ok::<(), norrec_nor::Error>(())
//! ```

pub mod chips;
pub mod device;
mod error;
pub mod host;
pub mod image;
pub mod sfdp;
pub mod storage;

pub use error::{Error, Result};
