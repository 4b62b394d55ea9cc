//! norrec-install: applies a SWUpdate bundle (`.swu`) to a device map, as `swupdate -i` does on
//! the board, but onto image files as well as devices.
//!
//! - [`devmap`]: device names (`/dev/mmcblk0`, and `/dev/mmcblk0p2` from the image's MBR) to
//!   image files or block devices, each write confined to its partition window.
//! - [`toc`]: the bundle's table of contents from its cpio headers (sizes, presence, the
//!   decompressed size a gzip/zstd stream announces), so "does it fit" is answered before the
//!   first write.
//! - [`plan`]: every check before the first write — signature, selection and hardware (through
//!   `norrec_swu::SwuReader::open`), handlers (an unknown `type` is refused with its field),
//!   devices in the map, offsets and sizes, the FAT a file goes into, the environment's bytes.
//! - [`apply`]: the one pass over the bundle; what is verified before it is written and what is
//!   written before it can be verified is documented there (streamed artifacts that turn out bad
//!   are discarded from the target, which is then reported invalid).
//!
//! Handlers, in SWUpdate's order: `images` `raw` (device, offset; `compressed` "zlib" (gzip)
//! or "zstd"), `files` `rawfile` into a vfat partition (device, `filesystem = "vfat"`, path,
//! `create-destination`), then `bootenv`/`uboot` variables into a U-Boot environment image (a
//! `uboot.env` in a FAT partition, or a standalone file); an empty value removes a variable, as
//! in SWUpdate. Not done: scripts, `partitions`, encrypted artifacts, ubi/mtd handlers, files
//! into ext4 — all refused before anything is written. SWUpdate's own bookkeeping variables
//! (`recovery_status`, `ustate`) are not written; idempotence and a journal are the agent's.
//!
//! Hand-written: the cpio table of contents (see [`toc`]); everything else composes the format
//! crates.

pub mod apply;
pub mod devmap;
pub mod error;
pub mod plan;
pub mod toc;

pub use apply::{Report, StepReport, install};
pub use devmap::{DeviceMap, Target};
pub use error::{Error, Result};
pub use plan::{EnvTarget, Options, Plan};
pub use toc::Toc;
