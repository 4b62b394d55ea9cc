//! The one error type of `norrec-nor`.

/// Everything that can go wrong in this crate. Variants carry the offset or field they are about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No chip of that name in the table.
    #[error("unknown chip '{0}' (see `norrec flash chips` for the list)")]
    UnknownChip(String),
    /// A size that is no chip's size.
    #[error(
        "size {0:#x} ({0} bytes) matches no chip in the table; name the chip with --chip or give --size"
    )]
    NoChipOfSize(u64),
    /// An access outside the flash.
    #[error("offset {offset:#x} + length {len:#x} runs past the end of the {size:#x}-byte flash")]
    OutOfRange { offset: u64, len: u64, size: u64 },
    /// Two payloads that would share bytes.
    #[error("'{a}' at {a_start:#x}..{a_end:#x} overlaps '{b}' at {b_start:#x}..{b_end:#x}")]
    Overlap {
        a: String,
        a_start: u64,
        a_end: u64,
        b: String,
        b_start: u64,
        b_end: u64,
    },
    /// Programming would need bits to go from 0 to 1, which only an erase does.
    #[error(
        "offset {offset:#x}: flash holds {have:#04x}, programming {want:#04x} needs an erase first (use --erase)"
    )]
    NotErased { offset: u64, have: u8, want: u8 },
    /// The chip did not answer as expected (host driver).
    #[error("{0}")]
    Protocol(String),
    /// SFDP bytes that do not parse (host driver reading a chip's self-description).
    #[error("SFDP offset {offset:#x}: {what}")]
    Sfdp { offset: u32, what: String },
    /// RDID answered an id that is in no chip table entry.
    #[error("unrecognized JEDEC id bytes: {0}")]
    UnknownJedec(String),
    /// An erase or program range that is not aligned to what the chip can do.
    #[error("offset {offset:#x} + length {len:#x} is not aligned to the {align:#x}-byte {what}")]
    Unaligned {
        what: &'static str,
        offset: u64,
        len: u64,
        align: u64,
    },
    /// A storage backend whose size is not the chip's size.
    #[error("storage of {have:#x} bytes does not fit {chip}, which has {want:#x} bytes")]
    SizeMismatch {
        chip: &'static str,
        want: u64,
        have: u64,
    },
    /// An I/O error from a storage backend, with what was being done.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
