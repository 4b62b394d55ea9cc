//! CMS detached SignedData (RFC 5652) over sw-description, built on the `cms` crate's ASN.1
//! types. The crate has no verification and its builder always adds a signing time; both sides
//! are written here instead so signing is deterministic (no signing time, no S/MIME
//! capabilities: the attributes are contentType and messageDigest only) and verification follows
//! what `openssl cms -verify -binary` checks.

use ::rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::{rfc5280, rfc5911, rfc5912};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use super::{Purpose, cert};
use crate::error::{Error, Result};

fn der_err(what: &str) -> impl Fn(der::Error) -> Error + '_ {
    move |e| Error::Signature(format!("CMS {what}: {e}"))
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: rfc5912::ID_SHA_256,
        parameters: None,
    }
}

fn attribute(oid: const_oid::ObjectIdentifier, value: Any) -> Result<Attribute> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(der_err("attribute"))?;
    Ok(Attribute { oid, values })
}

/// Signs `data` detached: DER ContentInfo(SignedData) with the signer certificate.
pub fn sign(key: &RsaPrivateKey, signer: &Certificate, data: &[u8]) -> Result<Vec<u8>> {
    let digest = Sha256::digest(data);
    let mut attrs = SetOfVec::new();
    attrs
        .insert(attribute(
            rfc5911::ID_CONTENT_TYPE,
            Any::encode_from(&rfc5911::ID_DATA).map_err(der_err("attribute"))?,
        )?)
        .map_err(der_err("attribute"))?;
    attrs
        .insert(attribute(
            rfc5911::ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest.to_vec()).map_err(der_err("digest"))?)
                .map_err(der_err("attribute"))?,
        )?)
        .map_err(der_err("attribute"))?;
    let signed_bytes = attrs.to_der().map_err(der_err("attributes"))?;
    let signature = key
        .sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(&signed_bytes),
        )
        .map_err(|e| Error::Signature(format!("CMS RSA signing failed: {e}")))?;
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: signer.tbs_certificate.issuer.clone(),
        serial_number: signer.tbs_certificate.serial_number.clone(),
    });
    let info = SignerInfo {
        version: CmsVersion::V1,
        sid,
        digest_alg: sha256_alg(),
        signed_attrs: Some(attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: rfc5912::RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        signature: OctetString::new(signature).map_err(der_err("signature"))?,
        unsigned_attrs: None,
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms
        .insert(sha256_alg())
        .map_err(der_err("algorithms"))?;
    let mut certs = SetOfVec::new();
    certs
        .insert(cms::cert::CertificateChoices::Certificate(signer.clone()))
        .map_err(der_err("certificates"))?;
    let mut infos = SetOfVec::new();
    infos.insert(info).map_err(der_err("signer infos"))?;
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: rfc5911::ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(certs)),
        crls: None,
        signer_infos: SignerInfos(infos),
    };
    let ci = ContentInfo {
        content_type: rfc5911::ID_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(der_err("SignedData"))?,
    };
    ci.to_der().map_err(der_err("ContentInfo"))
}

fn matches_sid(c: &Certificate, sid: &SignerIdentifier) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            c.tbs_certificate.issuer == ias.issuer
                && c.tbs_certificate.serial_number == ias.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => c
            .tbs_certificate
            .extensions
            .as_ref()
            .and_then(|exts| {
                exts.iter()
                    .find(|e| e.extn_id == rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
            })
            .and_then(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).ok())
            .is_some_and(|k| k == *ski),
    }
}

/// Verifies a detached CMS signature (DER) of `data` against trusted certificates: every
/// signer's signature, the messageDigest attribute, the chain to an anchor, validity, and the
/// signer certificate's purpose.
pub fn verify(anchors: &[Certificate], purpose: Purpose, data: &[u8], sig: &[u8]) -> Result<()> {
    let ci = ContentInfo::from_der(sig).map_err(der_err("ContentInfo (not DER CMS?)"))?;
    if ci.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(Error::Signature(format!(
            "CMS content type {} is not signedData",
            ci.content_type
        )));
    }
    let sd: SignedData = ci.content.decode_as().map_err(der_err("SignedData"))?;
    if sd.encap_content_info.econtent.is_some() {
        return Err(Error::Signature(
            "CMS signature is not detached (it embeds content)".into(),
        ));
    }
    let embedded: Vec<Certificate> = sd
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let infos = sd.signer_infos.0.as_slice();
    if infos.is_empty() {
        return Err(Error::Signature("CMS has no signer".into()));
    }
    let content_digest = Sha256::digest(data);
    for info in infos {
        if info.digest_alg.oid != rfc5912::ID_SHA_256 {
            return Err(Error::Signature(format!(
                "CMS digest algorithm {} is not sha256",
                info.digest_alg.oid
            )));
        }
        let signer = embedded
            .iter()
            .chain(anchors.iter())
            .find(|c| matches_sid(c, &info.sid))
            .ok_or_else(|| {
                Error::Signature(
                    "CMS signer certificate not found (neither in the signature nor given)".into(),
                )
            })?;
        let signed_digest = match &info.signed_attrs {
            Some(attrs) => {
                let md = attrs
                    .iter()
                    .find(|a| a.oid == rfc5911::ID_MESSAGE_DIGEST)
                    .and_then(|a| a.values.iter().next())
                    .ok_or_else(|| {
                        Error::Signature("CMS messageDigest attribute missing".into())
                    })?;
                let md: OctetString = md.decode_as().map_err(der_err("messageDigest"))?;
                if md.as_bytes() != content_digest.as_slice() {
                    return Err(Error::Signature(
                        "CMS messageDigest does not match sw-description".into(),
                    ));
                }
                if let Some(ct) = attrs.iter().find(|a| a.oid == rfc5911::ID_CONTENT_TYPE) {
                    let ok = ct
                        .values
                        .iter()
                        .next()
                        .and_then(|v| v.decode_as::<const_oid::ObjectIdentifier>().ok())
                        == Some(rfc5911::ID_DATA);
                    if !ok {
                        return Err(Error::Signature(
                            "CMS contentType attribute is not data".into(),
                        ));
                    }
                }
                Sha256::digest(attrs.to_der().map_err(der_err("attributes"))?)
            }
            None => content_digest,
        };
        let key = cert::public_key(signer)?;
        let sigbytes = info.signature.as_bytes();
        let alg = info.signature_algorithm.oid;
        let ok = if alg == rfc5912::RSA_ENCRYPTION || alg == rfc5912::SHA_256_WITH_RSA_ENCRYPTION {
            key.verify(Pkcs1v15Sign::new::<Sha256>(), &signed_digest, sigbytes)
                .is_ok()
        } else if alg == rfc5912::ID_RSASSA_PSS {
            key.verify(Pss::new::<Sha256>(), &signed_digest, sigbytes)
                .is_ok()
        } else {
            return Err(Error::Signature(format!(
                "CMS signature algorithm {alg} is not supported"
            )));
        };
        if !ok {
            return Err(Error::Signature(format!(
                "CMS signature by {} does not match sw-description",
                cert::subject(signer)
            )));
        }
        cert::check_chain(signer, &embedded, anchors)?;
        cert::check_purpose(signer, purpose)?;
    }
    Ok(())
}
