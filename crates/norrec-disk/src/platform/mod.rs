//! Every OS call of the crate, in one place: hole punching for image files and the Linux
//! block-device ioctls. Other platforms get fallbacks that report "unsupported", so callers
//! write zeros instead.

#[cfg(target_os = "linux")]
pub mod linux;

#[cfg(target_os = "linux")]
pub use linux::punch_hole;

/// Deallocates `len` bytes at `offset` of a regular file, keeping its size (unsupported here).
#[cfg(not(target_os = "linux"))]
pub fn punch_hole(_file: &std::fs::File, _offset: u64, _len: u64) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}
