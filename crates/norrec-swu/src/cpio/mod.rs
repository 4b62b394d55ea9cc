//! cpio in the two "new ASCII" formats SWUpdate reads: newc (`070701`) and crc (`070702`, where
//! the header's `check` field is the 32-bit wrapping sum of the data bytes).
//!
//! Layout of one entry (all numbers 8 ASCII hex digits):
//!
//! ```text
//! off  0  magic      6 bytes "070701" / "070702"
//! off  6  ino        off 14 mode       off 22 uid      off 30 gid
//! off 38  nlink      off 46 mtime      off 54 filesize off 62 devmajor
//! off 70  devminor   off 78 rdevmajor  off 86 rdevminor
//! off 94  namesize (with the NUL)      off 102 check
//! off 110 name, NUL, padded so header + name is a multiple of 4; data, padded to 4
//! ```
//!
//! The archive ends with an entry named `TRAILER!!!`. Hand-written (the `cpio` crate neither
//! checks the crc sum nor streams entries the way the installer needs).

mod read;
mod write;

pub use read::{CpioReader, Header};
pub use write::CpioWriter;

/// Length of a new-ASCII header.
pub const HEADER_LEN: usize = 110;
/// The name of the last entry.
pub const TRAILER: &str = "TRAILER!!!";

/// Which of the two new-ASCII formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `070701`: no data checksum.
    Newc,
    /// `070702`: `check` = sum of the data bytes.
    Crc,
}

impl Format {
    /// The magic string.
    pub fn magic(self) -> &'static [u8; 6] {
        match self {
            Format::Newc => b"070701",
            Format::Crc => b"070702",
        }
    }
}

/// The crc format's checksum: the wrapping 32-bit sum of all bytes.
pub fn sum32(start: u32, data: &[u8]) -> u32 {
    data.iter()
        .fold(start, |acc, &b| acc.wrapping_add(u32::from(b)))
}

/// Padding after `len` bytes to reach a multiple of 4.
pub(crate) fn pad4(len: u64) -> u64 {
    (4 - (len % 4)) % 4
}

/// Checks a member name: relative, no `..` component, no NUL, not empty. Returns why not.
pub fn check_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.starts_with('/') {
        return Err("absolute path");
    }
    if name.contains('\0') {
        return Err("NUL in name");
    }
    if name.split('/').any(|c| c == "..") {
        return Err("'..' component (path traversal)");
    }
    Ok(())
}
