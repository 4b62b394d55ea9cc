//! Signatures against OpenSSL: `openssl cms -sign -binary -outform DER -nosmimecap` and
//! `openssl dgst -sha256 -sign` (PKCS#1 v1.5 and PSS) verify in norrec; norrec's verify in
//! OpenSSL; CA chains, certificate purposes and tampering.

use std::path::{Path, PathBuf};

use norrec_swu::sign::{self, Method, Purpose, Trust};
use norrec_testutil::{run_ok, tool};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Fixture {
    dir: tempfile::TempDir,
    openssl: PathBuf,
    data: PathBuf,
}

impl Fixture {
    fn new() -> Option<Self> {
        let openssl = tool("openssl")?;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("sw-description");
        std::fs::write(&data, "software = { version = \"1.0\"; };\n").unwrap();
        Some(Self { dir, openssl, data })
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) {
        run_ok(&self.openssl, args);
    }

    /// A self-signed certificate and key with the given extendedKeyUsage.
    fn self_signed(&self, stem: &str, eku: &str) -> (PathBuf, PathBuf) {
        let (key, cert) = (
            self.p(&format!("{stem}.key")),
            self.p(&format!("{stem}.pem")),
        );
        self.run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            s(&key),
            "-out",
            s(&cert),
            "-days",
            "5",
            "-subj",
            &format!("/CN={stem}"),
            "-addext",
            "keyUsage=digitalSignature",
            "-addext",
            &format!("extendedKeyUsage={eku}"),
        ]);
        (key, cert)
    }

    fn read(&self, p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    fn anchors(&self, p: &Path, purpose: Purpose) -> Trust {
        Trust::Certificates {
            anchors: sign::cert::certificates_from_pem(&self.read(p)).unwrap(),
            purpose,
        }
    }
}

#[test]
fn openssl_cms_verifies_in_norrec() {
    let Some(f) = Fixture::new() else { return };
    let (key, cert) = f.self_signed("signer", "emailProtection");
    let sig = f.p("sig.der");
    f.run(&[
        "cms",
        "-sign",
        "-in",
        s(&f.data),
        "-out",
        s(&sig),
        "-signer",
        s(&cert),
        "-inkey",
        s(&key),
        "-outform",
        "DER",
        "-nosmimecap",
        "-binary",
    ]);
    let data = std::fs::read(&f.data).unwrap();
    let sigb = std::fs::read(&sig).unwrap();
    let trust = f.anchors(&cert, Purpose::EmailProtection);
    sign::verify(&trust, &data, &sigb).unwrap();
    // one changed byte of sw-description
    let mut bad = data.clone();
    bad[0] ^= 0x20;
    let e = sign::verify(&trust, &bad, &sigb).unwrap_err().to_string();
    assert_eq!(
        e,
        "signature: CMS messageDigest does not match sw-description"
    );
    // another, untrusted certificate
    let (_, other) = f.self_signed("stranger", "emailProtection");
    let e = sign::verify(&f.anchors(&other, Purpose::EmailProtection), &data, &sigb)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not trusted"), "{e}");
    // a flipped signature byte
    let mut bs = sigb.clone();
    let n = bs.len();
    bs[n - 10] ^= 1;
    assert!(sign::verify(&trust, &data, &bs).is_err());
}

#[test]
fn wrong_certificate_purpose_is_refused_unless_relaxed() {
    let Some(f) = Fixture::new() else { return };
    let (key, cert) = f.self_signed("coder", "codeSigning");
    let data = std::fs::read(&f.data).unwrap();
    let sig = sign::sign(Method::Cms, &f.read(&key), Some(&f.read(&cert)), &data).unwrap();
    let e = sign::verify(&f.anchors(&cert, Purpose::EmailProtection), &data, &sig)
        .unwrap_err()
        .to_string();
    assert!(e.contains("extendedKeyUsage lacks emailProtection"), "{e}");
    sign::verify(&f.anchors(&cert, Purpose::CodeSigning), &data, &sig).unwrap();
    sign::verify(&f.anchors(&cert, Purpose::Any), &data, &sig).unwrap();
    // OpenSSL agrees: the S/MIME purpose refuses this certificate
    let (sigp, datap) = (f.p("c.sig"), f.p("c.data"));
    std::fs::write(&sigp, &sig).unwrap();
    std::fs::write(&datap, &data).unwrap();
    let out = std::process::Command::new(&f.openssl)
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            s(&sigp),
            "-content",
            s(&datap),
            "-CAfile",
            s(&cert),
            "-purpose",
            "smimesign",
            "-out",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn ca_chain_and_norrec_cms_in_openssl() {
    let Some(f) = Fixture::new() else { return };
    let (ca_key, ca) = (f.p("ca.key"), f.p("ca.pem"));
    f.run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        s(&ca_key),
        "-out",
        s(&ca),
        "-days",
        "5",
        "-subj",
        "/CN=norrec CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=keyCertSign,cRLSign",
    ]);
    let (key, csr, leaf, ext) = (
        f.p("leaf.key"),
        f.p("leaf.csr"),
        f.p("leaf.pem"),
        f.p("ext.cnf"),
    );
    f.run(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        s(&key),
        "-out",
        s(&csr),
        "-subj",
        "/CN=norrec leaf",
    ]);
    std::fs::write(
        &ext,
        "keyUsage=digitalSignature\nextendedKeyUsage=emailProtection\n",
    )
    .unwrap();
    f.run(&[
        "x509",
        "-req",
        "-in",
        s(&csr),
        "-CA",
        s(&ca),
        "-CAkey",
        s(&ca_key),
        "-CAcreateserial",
        "-out",
        s(&leaf),
        "-days",
        "5",
        "-extfile",
        s(&ext),
    ]);
    let data = std::fs::read(&f.data).unwrap();
    let sig = sign::sign(Method::Cms, &f.read(&key), Some(&f.read(&leaf)), &data).unwrap();
    // trusted through the CA only (the leaf travels inside the signature)
    sign::verify(&f.anchors(&ca, Purpose::EmailProtection), &data, &sig).unwrap();
    // deterministic: no signing time
    assert_eq!(
        sig,
        sign::sign(Method::Cms, &f.read(&key), Some(&f.read(&leaf)), &data).unwrap()
    );
    // OpenSSL verifies norrec's CMS against the CA
    let sigp = f.p("n.sig");
    std::fs::write(&sigp, &sig).unwrap();
    f.run(&[
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        s(&sigp),
        "-content",
        s(&f.data),
        "-CAfile",
        s(&ca),
        "-purpose",
        "smimesign",
        "-out",
        "/dev/null",
    ]);
    // openssl cms with the CA-issued leaf verifies in norrec too
    let osig = f.p("o.sig");
    f.run(&[
        "cms",
        "-sign",
        "-in",
        s(&f.data),
        "-out",
        s(&osig),
        "-signer",
        s(&leaf),
        "-inkey",
        s(&key),
        "-outform",
        "DER",
        "-nosmimecap",
        "-binary",
    ]);
    sign::verify(
        &f.anchors(&ca, Purpose::EmailProtection),
        &data,
        &std::fs::read(&osig).unwrap(),
    )
    .unwrap();
}

#[test]
fn plain_rsa_both_directions() {
    let Some(f) = Fixture::new() else { return };
    let (key, _) = f.self_signed("rsa", "emailProtection");
    let pubkey = f.p("pub.pem");
    f.run(&["pkey", "-in", s(&key), "-pubout", "-out", s(&pubkey)]);
    let data = std::fs::read(&f.data).unwrap();
    let pk = sign::rsa::public_key_from_pem(&f.read(&pubkey)).unwrap();
    for (pss, method, opts) in [
        (false, Method::Rsa, vec![]),
        (
            true,
            Method::RsaPss,
            vec!["-sigopt", "rsa_padding_mode:pss"],
        ),
        (
            true,
            Method::RsaPss,
            vec![
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
            ],
        ),
        (
            true,
            Method::RsaPss,
            vec![
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:0",
            ],
        ),
    ] {
        let trust = Trust::PublicKey {
            key: pk.clone(),
            pss,
        };
        // OpenSSL signs, norrec verifies
        let sig = f.p("o.sig");
        let mut args = vec!["dgst", "-sha256", "-sign", s(&key)];
        args.extend(opts.iter().copied());
        args.extend(["-out", s(&sig), s(&f.data)]);
        f.run(&args);
        let sigb = std::fs::read(&sig).unwrap();
        sign::verify(&trust, &data, &sigb).unwrap();
        let mut bad = data.clone();
        bad.push(b'\n');
        assert!(sign::verify(&trust, &bad, &sigb).is_err());
        // the other padding does not verify
        let other = Trust::PublicKey {
            key: pk.clone(),
            pss: !pss,
        };
        assert!(sign::verify(&other, &data, &sigb).is_err());
        // norrec signs, OpenSSL verifies
        let nsig = sign::sign(method, &f.read(&key), None, &data).unwrap();
        let np = f.p("n.sig");
        std::fs::write(&np, &nsig).unwrap();
        let mut args = vec!["dgst", "-sha256", "-verify", s(&pubkey)];
        args.extend(opts.iter().copied().take(2));
        args.extend(["-signature", s(&np), s(&f.data)]);
        let out = run_ok(&f.openssl, args);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Verified OK");
    }
}
