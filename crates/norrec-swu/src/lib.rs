//! SWUpdate bundles (`.swu`): the sw-description model and its selection rules, the cpio
//! container, sha256 of artifacts, and signatures of sw-description (RSA PKCS#1 v1.5, RSA-PSS,
//! CMS detached SignedData).
//!
//! Hand-written parts and why:
//! - [`libconfig`]: no libconfig crate parses SWUpdate's real files (see the module docs).
//! - [`cpio`]: newc/crc reading must stream over `Read` with the crc sum, name and duplicate
//!   checks the installer needs, and writing must be byte-deterministic.
//! - [`sign::cms`]: the `cms` crate has the ASN.1 types but no verification; it is built on them
//!   and tested against OpenSSL's output.
//!
//! Runs on the board: pure Rust, MSRV 1.85. Decompression of zstd uses `ruzstd` (decode only;
//! the CLI brings its own encoder). Signing uses `rsa` 0.9, which carries advisory
//! RUSTSEC-2023-0071 (a timing side channel on private-key operations): sign on a build host you
//! trust, not on a shared machine; verification (all the board does) is not affected.

pub mod bundle;
pub mod cpio;
pub mod description;
pub mod error;
pub mod hash;
pub mod libconfig;
pub mod sign;
pub mod value;

pub use bundle::{BuildOptions, Entry, SwuReader, build};
pub use description::{Artifact, Compression, Description, Selection};
pub use error::{Error, Result};
pub use value::Value;
