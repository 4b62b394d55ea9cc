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
//! Installing from a stream, without a temporary copy (what `norrec-install` does):
//!
//! ```no_run
//! use std::io::Read;
//! use norrec_swu::{Selection, SwuReader, hash::decoder, sign::{Purpose, Trust}};
//!
//! # fn main() -> norrec_swu::Result<()> {
//! let pem = std::fs::read_to_string("cert.pem")?;
//! let trust = Trust::Certificates {
//!     anchors: norrec_swu::sign::cert::certificates_from_pem(&pem)?,
//!     purpose: Purpose::EmailProtection,
//! };
//! let sel = Selection::default()
//!     .with_hardware("cubieboard:1.0")?
//!     .with_set_mode("stable,main")?;
//! let stick = std::fs::File::open("/mnt/usb/update.swu")?;
//! // signature, selection and hardware are checked before anything is read further
//! let (mut bundle, description) = SwuReader::open(stick, Some(&trust), &sel)?;
//! while let Some(mut entry) = bundle.next_entry()? {
//!     let Some(artifact) = description.artifacts().find(|a| a.filename == entry.name).cloned()
//!     else {
//!         continue; // another selection's file: skipped (its cpio checksum is still checked)
//!     };
//!     let mut data = decoder(artifact.compressed, &mut entry)?;
//!     std::io::copy(&mut data, &mut std::io::sink())?; // write to the device here
//!     drop(data);
//!     entry.finish()?; // sha256 of the stored bytes against sw-description
//! }
//! bundle.finish()?; // every listed artifact was there
//! # Ok(())
//! # }
//! ```
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
