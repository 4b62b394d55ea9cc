//! The crate's one error type.

use std::io;

/// Everything that can go wrong with block devices, partition tables and sfdisk scripts.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// An I/O error from the device or image, with what was being done.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    /// An access outside a device or partition window.
    #[error("{what}: bytes {offset}..{end} lie outside the {len}-byte device")]
    OutOfBounds {
        what: &'static str,
        offset: u64,
        end: u64,
        len: u64,
    },
    /// A line of an sfdisk script that norrec (or sfdisk) refuses.
    #[error("line {line}: {msg}")]
    Script { line: usize, msg: String },
    /// The layout as a whole does not fit the disk.
    #[error("line {line}: partition {partno}: {msg}")]
    Layout {
        line: usize,
        partno: usize,
        msg: String,
    },
    /// A sector 0 that is not a usable MBR.
    #[error("MBR: {0}")]
    Mbr(String),
    /// A partition that holds no FAT file system (the field that says so is named).
    #[error("no FAT file system: {0}")]
    NotFat(String),
    /// A FAT that cannot be made with the size, type or options asked for.
    #[error("cannot format FAT: {0}")]
    FatFormat(String),
    /// A path inside a FAT that does not exist or is of the wrong kind.
    #[error("{path}: {msg}")]
    FatPath { path: String, msg: String },
    /// A partition or image that holds no ext4 file system (the field that says so is named).
    #[error("no ext4 file system: {0}")]
    NotExt4(String),
    /// An ext4 that cannot be made with the size or options asked for.
    #[error("cannot make ext4: {0}")]
    Ext4Format(String),
    /// An ext4 structure that is damaged or uses what norrec does not read, at a byte offset
    /// from the start of the file system.
    #[error("ext4 at byte {offset:#x}: {msg}")]
    Ext4 { offset: u64, msg: String },
    /// A path inside an ext4 that does not exist or is of the wrong kind for what was asked.
    #[error("{path}: {msg}")]
    Ext4Path { path: String, msg: String },
    /// Not enough free space in the FAT for a copy (checked before anything is written).
    #[error("not enough space: {needed} bytes needed, {free} bytes free")]
    NoSpace { needed: u64, free: u64 },
}

impl DiskError {
    /// Wraps an I/O error with a short description of the operation.
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        DiskError::Io {
            what: what.into(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, DiskError>;
