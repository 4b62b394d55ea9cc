//! The one error type of norrec-qemu. Every error about a run names its console log.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start {binary}: {source} (scripts/setup installs qemu-system-arm)")]
    Spawn {
        binary: String,
        #[source]
        source: std::io::Error,
    },
    /// What was awaited did not come in time.
    #[error(
        "no {pattern:?} on the console within {seconds:.1} s; console log: {log} (last line: {last:?})"
    )]
    Timeout {
        pattern: String,
        seconds: f64,
        log: PathBuf,
        last: String,
    },
    /// QEMU ended while a pattern was awaited.
    #[error(
        "QEMU exited ({status}) before {pattern:?} came; console log: {log} (last line: {last:?})"
    )]
    Exited {
        pattern: String,
        status: String,
        log: PathBuf,
        last: String,
    },
    /// QEMU did not exit when it should have.
    #[error("QEMU still running {seconds:.1} s after {after}; killed it; console log: {log}")]
    NoExit {
        after: String,
        seconds: f64,
        log: PathBuf,
    },
    #[error("QEMU exited with {status}, expected success; console log: {log}")]
    ExitStatus { status: String, log: PathBuf },
    #[error("console: cannot write to QEMU: {0}")]
    Send(#[source] std::io::Error),
    #[error("{0}")]
    Config(String),
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
