//! Every OS call of the crate, in one place: hole punching, preallocation and in-kernel
//! copies (`copy_file_range`) for image files, and the Linux block-device ioctls. Other
//! platforms get fallbacks that report "unsupported", so callers write zeros or copy through
//! memory instead.

#[cfg(target_os = "linux")]
pub mod linux;

#[cfg(target_os = "linux")]
pub use linux::{copy_range, preallocate, punch_hole};

/// Deallocates `len` bytes at `offset` of a regular file, keeping its size (unsupported here).
#[cfg(not(target_os = "linux"))]
pub fn punch_hole(_file: &std::fs::File, _offset: u64, _len: u64) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Copies inside the kernel (unsupported here: the caller copies through memory).
#[cfg(not(target_os = "linux"))]
pub fn copy_range(
    _src: &std::fs::File,
    _src_offset: u64,
    _dst: &std::fs::File,
    _dst_offset: u64,
    _len: u64,
) -> std::io::Result<u64> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Reserves blocks of a regular file (unsupported here; only a speed-up).
#[cfg(not(target_os = "linux"))]
pub fn preallocate(_file: &std::fs::File, _offset: u64, _len: u64) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}
