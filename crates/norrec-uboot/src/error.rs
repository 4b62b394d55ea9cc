//! The one error type of `norrec-uboot`. Every parse error names the offset or the field.

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A structural error in binary data, at a byte offset.
    #[error("offset {offset:#x}: {msg}")]
    At { offset: usize, msg: String },
    /// An error about a named field, node or property.
    #[error("{field}: {msg}")]
    Field { field: String, msg: String },
    /// A source-text error at a line and column (`.its`, `.dts`, env text, boot.cmd).
    #[error("line {line}, column {col}: {msg}")]
    Source {
        line: usize,
        col: usize,
        msg: String,
    },
    /// An I/O error with what was being done.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
