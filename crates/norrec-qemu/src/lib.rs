//! The board in real QEMU (`qemu-system-arm -M cubieboard`): command lines from the board
//! manifest ([`cmdline`]), a serial console driver with expect/send, timeouts and a timestamped
//! log ([`console`]), and boot scenarios as functions ([`scenario`]).
//!
//! Hand-written: an expect-style driver is a few hundred lines over `std::process` and threads,
//! and owning it means every failure names its console log.

pub mod cmdline;
pub mod console;
pub mod error;
pub mod nor;
pub mod scenario;

pub use cmdline::{ConsoleMode, Machine};
pub use console::Console;
pub use error::{Error, Result};
pub use scenario::{BootReport, boot_to_marker, uboot_prompt};
