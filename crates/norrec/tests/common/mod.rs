//! Helpers the CLI integration tests share: run the `norrec` binary cargo built for them.
// Each test binary compiles this module and uses its own subset.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod board;

/// Runs `norrec ARGS…` to completion.
pub fn norrec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args(args)
        .output()
        .expect("run norrec")
}

/// Runs `norrec ARGS…` to completion in `dir` (relative paths in ARGS are from there).
pub fn norrec_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run norrec")
}

/// Runs norrec, panics with its stderr unless it succeeds, returns its stdout.
pub fn ok(args: &[&str]) -> String {
    expect_ok(args, norrec(args))
}

/// [`ok`] with arguments of any kind (paths, strings).
pub fn ok_os(args: &[&dyn AsRef<OsStr>]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("run norrec");
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    assert!(
        out.status.success(),
        "norrec {shown:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// [`ok`] in `dir`.
pub fn ok_in(dir: &Path, args: &[&str]) -> String {
    expect_ok(args, norrec_in(dir, args))
}

/// Runs norrec expecting exit code 1 and exactly one stderr line, which is returned.
pub fn fails(args: &[&str]) -> String {
    expect_fails(args, norrec(args))
}

/// [`fails`] in `dir`.
pub fn fails_in(dir: &Path, args: &[&str]) -> String {
    expect_fails(args, norrec_in(dir, args))
}

/// The stdout of a finished `norrec ARGS…`; panics with its stderr unless it succeeded.
pub fn expect_ok(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "norrec {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The one stderr line of a finished `norrec ARGS…` that must have exited with code 1.
pub fn expect_fails(args: &[&str], out: Output) -> String {
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "norrec {args:?} should fail: {err}"
    );
    assert_eq!(err.lines().count(), 1, "one line expected, got:\n{err}");
    err
}

/// A path as the `&str` an argument list wants.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Makes a self-signed RSA-2048 signer certificate with openssl: keyUsage digitalSignature and the
/// given extendedKeyUsage (SWUpdate wants emailProtection).
pub fn signer_cert(openssl: &Path, key: &Path, cert: &Path, eku: &str) {
    norrec_testutil::run_ok(
        openssl,
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            s(key),
            "-out",
            s(cert),
            "-days",
            "30",
            "-subj",
            "/CN=norrec test signer",
            "-addext",
            "keyUsage=digitalSignature",
            "-addext",
            &format!("extendedKeyUsage={eku}"),
        ],
    );
}

/// A CMS signer made by openssl: a private key and its certificate.
pub struct Signer {
    pub key: PathBuf,
    pub cert: PathBuf,
}

impl Signer {
    /// `{prefix}key.pem` and `{prefix}cert.pem` in `dir`, with the given extendedKeyUsage (see
    /// [`signer_cert`]); `None` (the test skips) without openssl.
    pub fn new(dir: &Path, prefix: &str, eku: &str) -> Option<Signer> {
        let openssl = norrec_testutil::tool("openssl")?;
        let key = dir.join(format!("{prefix}key.pem"));
        let cert = dir.join(format!("{prefix}cert.pem"));
        signer_cert(&openssl, &key, &cert, eku);
        Some(Signer { key, cert })
    }

    /// `--sign METHOD --key KEY --cert CERT` for `norrec swu build`.
    pub fn sign_args<'a>(&'a self, method: &'a str) -> [&'a str; 6] {
        [
            "--sign",
            method,
            "--key",
            s(&self.key),
            "--cert",
            s(&self.cert),
        ]
    }
}

/// `norrec swu build DESC -a ARTIFACTS --compress zlib EXTRA… -o OUT`, which must succeed.
pub fn swu_build(desc: &Path, artifacts: &Path, extra: &[&str], out: &Path) {
    let mut args = vec![
        "swu",
        "build",
        s(desc),
        "-a",
        s(artifacts),
        "--compress",
        "zlib",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-o", s(out)]);
    ok(&args);
}
