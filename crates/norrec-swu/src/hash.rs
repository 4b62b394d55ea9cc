//! sha256 helpers, hashing readers, and the decompressors an installer streams artifacts through.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use crate::description::Compression;
use crate::error::{Error, Result};

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of a byte slice, in hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Checks that a sw-description `sha256` value is 64 hex digits.
pub fn check_sha256_field(value: &str, field: &str) -> Result<()> {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::Field {
            field: field.into(),
            msg: format!("sha256 must be 64 hex digits, found {value:?}"),
        })
    }
}

/// A reader that hashes what passes through it.
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The hex digest and byte count of what was read.
    pub fn finish(self) -> (String, u64) {
        (hex(&self.hasher.finalize()), self.count)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Wraps `r` in the decompressor for `c` (gzip for "zlib", zstd via the pure-Rust `ruzstd`).
pub fn decoder<'a, R: Read + 'a>(c: Compression, r: R) -> Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Zlib => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::Zstd => Box::new(
            ruzstd::StreamingDecoder::new(r)
                .map_err(|e| Error::Unsupported(format!("zstd stream: {e}")))?,
        ),
    })
}

/// gzip-compresses bytes (what SWUpdate's `compressed = "zlib"` expects), level 6, no name and
/// mtime 0 so the output is deterministic.
pub fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::new(6));
    enc.write_all(data)?;
    Ok(enc.finish()?)
}
