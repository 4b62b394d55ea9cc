//! Signatures of sw-description, in the three forms SWUpdate verifies: RSA PKCS#1 v1.5 and
//! RSA-PSS over the sha256 of the file (`openssl dgst -sha256 -sign`), and CMS detached
//! SignedData in DER with the signer certificate (`openssl cms -sign -binary -outform DER`).
//!
//! Signing uses `rsa` 0.9, which carries RUSTSEC-2023-0071 (timing side channel on private-key
//! operations, the "Marvin" attack): sign on a build host you trust. Verification only uses the
//! public key and is not affected.

pub mod cert;
pub mod cms;
pub mod rsa;

use crate::error::{Error, Result};

/// How sw-description is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// RSA PKCS#1 v1.5 over sha256.
    Rsa,
    /// RSA-PSS over sha256 (MGF1 sha256, salt of the digest length).
    RsaPss,
    /// CMS detached SignedData (DER) with the signer certificate.
    Cms,
}

/// Which certificate purpose the CMS signer certificate must allow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Purpose {
    /// S/MIME signing, SWUpdate's default: keyUsage, if present, has digitalSignature or
    /// nonRepudiation; extendedKeyUsage, if present, has emailProtection.
    #[default]
    EmailProtection,
    /// SWUpdate's code-sign option: extendedKeyUsage must be present and have codeSigning.
    CodeSigning,
    /// No purpose check (the chain and the signature are still checked).
    Any,
}

/// What a signature is checked against.
#[derive(Debug, Clone)]
pub enum Trust {
    /// An RSA public key, for `Method::Rsa` / `Method::RsaPss` signatures.
    PublicKey { key: ::rsa::RsaPublicKey, pss: bool },
    /// Trusted certificates (the signer's own certificate or CAs), for CMS.
    Certificates {
        anchors: Vec<x509_cert::Certificate>,
        purpose: Purpose,
    },
}

/// Signs `data` (sw-description) with a PEM private key; CMS needs the signer certificate.
pub fn sign(method: Method, key_pem: &str, cert_pem: Option<&str>, data: &[u8]) -> Result<Vec<u8>> {
    let key = rsa::private_key_from_pem(key_pem)?;
    match method {
        Method::Rsa => rsa::sign_pkcs1v15(&key, data),
        Method::RsaPss => rsa::sign_pss(&key, data),
        Method::Cms => {
            let cert_pem = cert_pem.ok_or_else(|| {
                Error::Key("CMS signing needs the signer certificate (--cert)".into())
            })?;
            let certs = cert::certificates_from_pem(cert_pem)?;
            let signer = certs
                .first()
                .ok_or_else(|| Error::Certificate("no certificate in the PEM file".into()))?;
            cms::sign(&key, signer, data)
        }
    }
}

/// Verifies `sig` over `data` against `trust`.
pub fn verify(trust: &Trust, data: &[u8], sig: &[u8]) -> Result<()> {
    match trust {
        Trust::PublicKey { key, pss: false } => rsa::verify_pkcs1v15(key, data, sig),
        Trust::PublicKey { key, pss: true } => rsa::verify_pss(key, data, sig),
        Trust::Certificates { anchors, purpose } => cms::verify(anchors, *purpose, data, sig),
    }
}
