//! The crate's one error type. Every variant names where the problem is: a byte offset in the
//! archive, a cpio entry, a field of sw-description (as a path like `images[2].offset`), or a line
//! and column of the libconfig text.

/// Everything that can go wrong reading, building, signing or verifying a bundle.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("cpio offset {offset}: bad magic {found:?} (expected 070701 newc or 070702 crc)")]
    BadMagic { offset: u64, found: String },
    #[error("cpio offset {offset}: header field {field} is not hex: {text:?}")]
    BadHeaderField {
        offset: u64,
        field: &'static str,
        text: String,
    },
    #[error("cpio offset {offset}: truncated {what}")]
    Truncated { offset: u64, what: String },
    #[error(
        "cpio entry {name:?} at offset {offset}: checksum mismatch (header {expected:#010x}, data {actual:#010x})"
    )]
    Checksum {
        name: String,
        offset: u64,
        expected: u32,
        actual: u32,
    },
    #[error("cpio entry {name:?} at offset {offset}: unsafe name ({why})")]
    UnsafeName {
        name: String,
        offset: u64,
        why: &'static str,
    },
    #[error("cpio entry {name:?} at offset {offset}: duplicate name")]
    Duplicate { name: String, offset: u64 },
    #[error("cpio entry {name:?} at offset {offset}: {what}")]
    BadEntry {
        name: String,
        offset: u64,
        what: String,
    },
    #[error("cpio entry {name:?}: {size} bytes do not fit the newc header (max 4 GiB - 1)")]
    TooLarge { name: String, size: u64 },
    #[error("libconfig line {line}, column {col}: {msg}")]
    Syntax {
        line: usize,
        col: usize,
        msg: String,
    },
    #[error("sw-description JSON: {0}")]
    Json(String),
    #[error("sw-description field {field}: {msg}")]
    Field { field: String, msg: String },
    #[error("selection {what}: {msg}")]
    Selection { what: String, msg: String },
    #[error("hardware not compatible: {0}")]
    Hardware(String),
    #[error("bundle: first entry is {found:?}, expected \"sw-description\"")]
    NotFirst { found: String },
    #[error("signature: {0}")]
    Signature(String),
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("key: {0}")]
    Key(String),
    #[error("artifact {file:?}: sha256 mismatch (sw-description {expected}, bundle {actual})")]
    HashMismatch {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("artifact {file:?}: listed in sw-description ({field}) but not in the bundle")]
    Missing { file: String, field: String },
    #[error("artifact {file:?}: in the bundle but not referenced by sw-description")]
    Unreferenced { file: String },
    #[error("{0}")]
    Unsupported(String),
}

impl Error {
    /// Wraps the error as an `io::Error`, for errors found inside a `Read` implementation; the
    /// original comes back out with [`Error::from_io`].
    pub fn into_io(self) -> std::io::Error {
        match self {
            Error::Io(e) => e,
            other => std::io::Error::other(other),
        }
    }

    /// Unwraps an error that [`Error::into_io`] wrapped; other I/O errors stay `Io`.
    pub fn from_io(e: std::io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            if let Some(inner) = e.into_inner() {
                if let Ok(err) = inner.downcast::<Error>() {
                    return *err;
                }
            }
            return Error::Unsupported("lost error".into());
        }
        Error::Io(e)
    }
}

/// Result with the crate's error.
pub type Result<T> = std::result::Result<T, Error>;
