//! Plain RSA signatures over sha256 of sw-description (what `openssl dgst -sha256 -sign` makes).

use ::rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use ::rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ::rsa::traits::PublicKeyParts;
use ::rsa::{BigUint, Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Reads an unencrypted RSA private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
pub fn private_key_from_pem(pem: &str) -> Result<RsaPrivateKey> {
    if pem.contains("ENCRYPTED PRIVATE KEY") {
        return Err(Error::Key(
            "encrypted private keys are not supported (decrypt with openssl pkey first)".into(),
        ));
    }
    RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|e| Error::Key(format!("not an RSA private key in PEM: {e}")))
}

/// Reads an RSA public key: `PUBLIC KEY`, `RSA PUBLIC KEY`, or the key of a `CERTIFICATE`.
pub fn public_key_from_pem(pem: &str) -> Result<RsaPublicKey> {
    if pem.contains("BEGIN CERTIFICATE") {
        let certs = super::cert::certificates_from_pem(pem)?;
        let c = certs
            .first()
            .ok_or_else(|| Error::Certificate("no certificate in the PEM file".into()))?;
        return super::cert::public_key(c);
    }
    RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|e| Error::Key(format!("not an RSA public key in PEM: {e}")))
}

/// PKCS#1 v1.5 signature of sha256(data).
pub fn sign_pkcs1v15(key: &RsaPrivateKey, data: &[u8]) -> Result<Vec<u8>> {
    key.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(data))
        .map_err(|e| Error::Signature(format!("RSA signing failed: {e}")))
}

/// RSA-PSS signature of sha256(data), MGF1-sha256, salt of 32 bytes.
pub fn sign_pss(key: &RsaPrivateKey, data: &[u8]) -> Result<Vec<u8>> {
    let mut rng = ::rsa::rand_core::OsRng;
    key.sign_with_rng(&mut rng, Pss::new::<Sha256>(), &Sha256::digest(data))
        .map_err(|e| Error::Signature(format!("RSA-PSS signing failed: {e}")))
}

/// Checks a PKCS#1 v1.5 signature of sha256(data).
pub fn verify_pkcs1v15(key: &RsaPublicKey, data: &[u8], sig: &[u8]) -> Result<()> {
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(data), sig)
        .map_err(|_| Error::Signature("RSA signature does not match sw-description".into()))
}

/// Checks an RSA-PSS signature of sha256(data) with any salt length (OpenSSL signs with the
/// maximum by default and verifies with "auto"): the salt length is read from the encoded
/// message, then the signature is checked with it.
pub fn verify_pss(key: &RsaPublicKey, data: &[u8], sig: &[u8]) -> Result<()> {
    let bad = || Error::Signature("RSA-PSS signature does not match sw-description".into());
    let salt_len = pss_salt_len(key, sig).ok_or_else(bad)?;
    key.verify(
        Pss::new_with_salt::<Sha256>(salt_len),
        &Sha256::digest(data),
        sig,
    )
    .map_err(|_| bad())
}

/// Recovers the salt length of a PSS encoded message (public operation only).
fn pss_salt_len(key: &RsaPublicKey, sig: &[u8]) -> Option<usize> {
    let k = key.size();
    if sig.len() != k {
        return None;
    }
    let s = BigUint::from_bytes_be(sig);
    if &s >= key.n() {
        return None;
    }
    let m = s.modpow(key.e(), key.n()).to_bytes_be();
    let em_bits = key.n().bits() - 1;
    let em_len = em_bits.div_ceil(8);
    let mut em = vec![0u8; em_len];
    if m.len() > em_len {
        return None;
    }
    em[em_len - m.len()..].copy_from_slice(&m);
    let h_len = 32;
    if em_len < h_len + 2 || em[em_len - 1] != 0xbc {
        return None;
    }
    let (masked_db, rest) = em.split_at(em_len - h_len - 1);
    let h = &rest[..h_len];
    let mut db = masked_db.to_vec();
    // MGF1 with sha256.
    let mut counter = 0u32;
    let mut off = 0;
    while off < db.len() {
        let block = Sha256::new()
            .chain_update(h)
            .chain_update(counter.to_be_bytes())
            .finalize();
        for (d, m) in db[off..].iter_mut().zip(block.iter()) {
            *d ^= m;
        }
        off += h_len;
        counter += 1;
    }
    db[0] &= 0xff >> (8 * em_len - em_bits);
    let one = db.iter().position(|&b| b != 0)?;
    if db[one] != 0x01 {
        return None;
    }
    Some(db.len() - one - 1)
}
