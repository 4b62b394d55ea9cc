//! The one error type of norrec-agent.

use std::path::PathBuf;

/// Everything the agent and the initramfs builder can fail on; each names the file, module or
/// device it is about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An OS call of the platform failed (mount, finit_module, reboot…).
    #[error("{what}: {source}")]
    Os {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A kernel module file is not an ELF object with a `.modinfo` section.
    #[error("module {path}: {msg}")]
    Module { path: PathBuf, msg: String },
    #[error(
        "module {module} depends on {needs}, which is not in the board's module list (add it to [recovery] modules)"
    )]
    MissingDependency { module: String, needs: String },
    #[error("modules depend on each other in a cycle: {0}")]
    DependencyCycle(String),
    #[error("module {0} of the board's list not found (looked for {1})")]
    ModuleNotFound(String, PathBuf),
    #[error("waited {seconds} s, still missing: {missing}")]
    DevicesMissing { missing: String, seconds: u64 },
    #[error("initramfs: {0}")]
    Cpio(#[from] norrec_swu::error::Error),
    #[error("initramfs: {0}")]
    Initramfs(String),
    #[error(transparent)]
    Board(#[from] norrec_board::Error),
    /// The recovery cannot go on (bad stick, bad bundle, card too small…); names the device.
    #[error("{0}")]
    Recovery(String),
    /// A simulated power cut (test fault injection).
    #[error("{0}")]
    Interrupted(String),
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
