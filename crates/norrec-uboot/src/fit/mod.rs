//! Flattened Image Trees (FIT): U-Boot's multi-image format, a device tree whose `/images`
//! nodes carry data (embedded, or after the blob with `data-offset` / `data-position`) and
//! hash nodes, and whose `/configurations` pick a kernel, device trees and a ramdisk.
//!
//! - [`Fit`] reads: images, configurations, data, [`Fit::verify`], [`Fit::extract`],
//!   [`Fit::load_size`] (what to read from flash), [`Fit::list`] (`mkimage -l`'s text) and
//!   [`Fit::lints`];
//! - [`build()`] / [`AutoFit`] write, as `mkimage -f image.its` / `mkimage -f auto` do, byte
//!   for byte (see [`build`](mod@build)).
//!
//! Hand-written: there is no Rust FIT crate, and matching mkimage's bytes needs control over
//! every libfdt step.

pub mod build;
pub mod hash;
pub mod names;
mod read;
pub mod time;

pub use build::{AutoFit, BuildOptions, External, build, build_to};
pub use hash::Algo;
pub use read::{Check, Config, Fit, HashNode, Image, Lints, Location};
