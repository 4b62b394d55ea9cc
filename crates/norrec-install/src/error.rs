//! The crate's one error type. Every variant names the artifact (by file name and by its place
//! in sw-description, e.g. `software.cubieboard.stable.main.images[1].device`) and the device,
//! offset or field at fault.

/// Everything that can stop an installation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bundle itself: cpio, signature, selection, hardware, sha256 (checked before a write).
    #[error(transparent)]
    Swu(#[from] norrec_swu::Error),
    /// A device, partition window or FAT operation.
    #[error(transparent)]
    Disk(#[from] norrec_disk::DiskError),
    /// A U-Boot environment that cannot be read or written.
    #[error("U-Boot environment: {0}")]
    Env(#[from] norrec_uboot::Error),
    /// An I/O error with what was being done.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A `--device NAME=FILE` entry that cannot be used.
    #[error("device map {spec:?}: {msg}")]
    DeviceSpec { spec: String, msg: String },
    /// A handler (`type`) norrec does not implement: refused before anything is written.
    #[error("{field} = {handler:?}: unknown handler for {file:?} (norrec installs {known})")]
    UnknownHandler {
        field: String,
        handler: String,
        file: String,
        known: &'static str,
    },
    /// A setting norrec does not support for this handler, refused up front.
    #[error("{field}: {msg} (artifact {file:?})")]
    Unsupported {
        field: String,
        file: String,
        msg: String,
    },
    /// A `device` that the device map does not hold.
    #[error("{field} = {device:?}: not in the device map (artifact {file:?}; mapped: {known})")]
    NotInMap {
        field: String,
        device: String,
        file: String,
        known: String,
    },
    /// An artifact that does not fit its target, known before the first write.
    #[error(
        "{field}: {file:?} needs {need} bytes at offset {offset} of {device}, which has {len} bytes ({what})"
    )]
    DoesNotFit {
        field: String,
        file: String,
        device: String,
        offset: u64,
        need: u64,
        len: u64,
        what: &'static str,
    },
    /// A listed artifact the bundle does not carry (found from its table of contents).
    #[error("{field} = {file:?}: not in the bundle")]
    Missing { field: String, file: String },
    /// Bytes already on the target when the stream turned out bad (sha256 mismatch or a
    /// broken stream): the written range was discarded (reads as zeros) and the target is
    /// not valid.
    #[error(
        "artifact {file:?} ({field}): {written} bytes written at offset {offset} of {device}, then {why}; target marked invalid (written range discarded)"
    )]
    WrittenInvalid {
        file: String,
        field: String,
        device: String,
        offset: u64,
        written: u64,
        why: String,
    },
    /// A streamed artifact failed before any byte reached the target.
    #[error("artifact {file:?} ({field}): {why}; nothing written to {device}")]
    Stream {
        file: String,
        field: String,
        device: String,
        why: String,
    },
}

impl Error {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

/// Result with the crate's error.
pub type Result<T> = std::result::Result<T, Error>;
