//! The recovery agent: what runs as PID 1 (`/init`) of norrec's recovery initramfs on the board.
//!
//! This is its start: [`platform::Platform`] (every OS call the agent makes, in one module, done
//! with `rustix` system calls on Linux), the PID-1 life ([`agent::pid1`]: mount proc/sysfs/
//! devtmpfs, load the board's modules with `finit_module`, wait for its devices, never exit), the
//! probe mode, and the initramfs builder ([`initramfs`]) with module ordering from each module's
//! `.modinfo` ([`modinfo`]). Hand-written because none of it exists as a library: the module
//! order is what `depmod` computes, read straight from the ELF so Debian's kernel package needs
//! no `modules.dep`.
//!
//! The recovery itself is [`recovery`]: the journaled state machine (check the stick, partition,
//! format, uboot.env, install, done) over the eMMC and the stick, run by `norrec recover` on
//! image files; its on-card [`journal`] makes every step resumable after a power cut.

pub mod agent;
pub mod error;
pub mod initramfs;
pub mod journal;
pub mod modinfo;
pub mod platform;
pub mod recovery;

pub use agent::PROBE_MARKER;
pub use error::{Error, Result};
