//! X.509 helpers for CMS verification: PEM loading, RSA public keys, validity, purpose (keyUsage
//! and extendedKeyUsage, as OpenSSL's S/MIME-sign and SWUpdate's code-sign checks), and checking
//! that one certificate was issued by another.

use ::rsa::pkcs8::DecodePublicKey;
use ::rsa::{Pkcs1v15Sign, RsaPublicKey};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5280, rfc5912};
use der::{Decode, DecodePem, Encode};
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage};

use super::Purpose;
use crate::error::{Error, Result};

/// All certificates of a PEM file, in order.
pub fn certificates_from_pem(pem: &str) -> Result<Vec<Certificate>> {
    let mut out = Vec::new();
    let marker = "-----BEGIN CERTIFICATE-----";
    let end = "-----END CERTIFICATE-----";
    let mut rest = pem;
    while let Some(start) = rest.find(marker) {
        let after = &rest[start..];
        let stop = after
            .find(end)
            .ok_or_else(|| Error::Certificate("PEM certificate without END line".into()))?
            + end.len();
        let block = &after[..stop];
        out.push(
            Certificate::from_pem(block.as_bytes())
                .map_err(|e| Error::Certificate(format!("bad PEM certificate: {e}")))?,
        );
        rest = &after[stop..];
    }
    if out.is_empty() {
        return Err(Error::Certificate("no PEM certificate found".into()));
    }
    Ok(out)
}

/// The subject as text, for messages.
pub fn subject(c: &Certificate) -> String {
    c.tbs_certificate.subject.to_string()
}

/// The certificate's RSA public key.
pub fn public_key(c: &Certificate) -> Result<RsaPublicKey> {
    let der = c
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| Error::Certificate(format!("{}: public key: {e}", subject(c))))?;
    RsaPublicKey::from_public_key_der(&der)
        .map_err(|e| Error::Certificate(format!("{}: not an RSA key: {e}", subject(c))))
}

fn extension(c: &Certificate, oid: ObjectIdentifier) -> Option<&[u8]> {
    c.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

/// Checks the certificate's purpose.
pub fn check_purpose(c: &Certificate, purpose: Purpose) -> Result<()> {
    let who = subject(c);
    let ku = extension(c, rfc5280::ID_CE_KEY_USAGE)
        .map(KeyUsage::from_der)
        .transpose()
        .map_err(|e| Error::Certificate(format!("{who}: bad keyUsage: {e}")))?;
    let eku = extension(c, rfc5280::ID_CE_EXT_KEY_USAGE)
        .map(ExtendedKeyUsage::from_der)
        .transpose()
        .map_err(|e| Error::Certificate(format!("{who}: bad extendedKeyUsage: {e}")))?;
    match purpose {
        Purpose::Any => Ok(()),
        Purpose::EmailProtection => {
            if let Some(ku) = &ku {
                if !ku.digital_signature() && !ku.non_repudiation() {
                    return Err(Error::Certificate(format!(
                        "{who}: keyUsage lacks digitalSignature (purpose email protection; --cert-purpose any to relax)"
                    )));
                }
            }
            if let Some(eku) = &eku {
                if !eku.0.contains(&rfc5280::ID_KP_EMAIL_PROTECTION)
                    && !eku.0.contains(&rfc5280::ANY_EXTENDED_KEY_USAGE)
                {
                    return Err(Error::Certificate(format!(
                        "{who}: extendedKeyUsage lacks emailProtection (purpose email protection; --cert-purpose any to relax)"
                    )));
                }
            }
            Ok(())
        }
        Purpose::CodeSigning => match &eku {
            Some(eku) if eku.0.contains(&rfc5280::ID_KP_CODE_SIGNING) => Ok(()),
            _ => Err(Error::Certificate(format!(
                "{who}: extendedKeyUsage lacks codeSigning (purpose code signing)"
            ))),
        },
    }
}

/// Checks notBefore ≤ now ≤ notAfter.
pub fn check_validity(c: &Certificate) -> Result<()> {
    let now = std::time::SystemTime::now();
    let v = &c.tbs_certificate.validity;
    if now < v.not_before.to_system_time() {
        return Err(Error::Certificate(format!(
            "{}: not valid before {}",
            subject(c),
            v.not_before
        )));
    }
    if now > v.not_after.to_system_time() {
        return Err(Error::Certificate(format!(
            "{}: expired {}",
            subject(c),
            v.not_after
        )));
    }
    Ok(())
}

/// Whether `issuer` signed `child` (names match and the RSA signature verifies).
pub fn issued_by(child: &Certificate, issuer: &Certificate) -> bool {
    if child.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return false;
    }
    let Ok(key) = public_key(issuer) else {
        return false;
    };
    let Ok(tbs) = child.tbs_certificate.to_der() else {
        return false;
    };
    let sig = child.signature.raw_bytes();
    let alg = child.signature_algorithm.oid;
    let ok = if alg == rfc5912::SHA_256_WITH_RSA_ENCRYPTION {
        key.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(&tbs), sig)
    } else if alg == rfc5912::SHA_384_WITH_RSA_ENCRYPTION {
        key.verify(Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(&tbs), sig)
    } else if alg == rfc5912::SHA_512_WITH_RSA_ENCRYPTION {
        key.verify(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(&tbs), sig)
    } else {
        return false;
    };
    ok.is_ok()
}

/// Builds a chain from `signer` to one of `anchors`, through `intermediates` if needed.
pub fn check_chain(
    signer: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
) -> Result<()> {
    let mut current = signer.clone();
    for _ in 0..8 {
        check_validity(&current)?;
        if anchors.contains(&current) {
            return Ok(());
        }
        if anchors.iter().any(|a| issued_by(&current, a)) {
            return Ok(());
        }
        match intermediates
            .iter()
            .find(|i| **i != current && issued_by(&current, i))
        {
            Some(next) => current = next.clone(),
            None => break,
        }
    }
    Err(Error::Certificate(format!(
        "signer {} is not trusted: no chain to the given certificates",
        subject(signer)
    )))
}
