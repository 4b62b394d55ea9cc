//! The recovery agent: what runs as PID 1 (`/init`) of norrec's recovery initramfs on the board.
//!
//! This is its start: [`platform::Platform`] (every OS call the agent makes, in one module, done
//! with `rustix` system calls on Linux), the PID-1 life ([`agent::pid1`]: mount proc/sysfs/
//! devtmpfs, load the board's modules with `finit_module`, wait for its devices, never exit), the
//! probe mode, and the initramfs builder ([`initramfs`]) with module ordering from each module's
//! `.modinfo` ([`modinfo`]). Hand-written because none of it exists as a library: the module
//! order is what `depmod` computes, read straight from the ELF so Debian's kernel package needs
//! no `modules.dep`.

pub mod agent;
pub mod error;
pub mod initramfs;
pub mod modinfo;
pub mod platform;

pub use agent::PROBE_MARKER;
pub use error::{Error, Result};
