//! `norrec swu`: SWUpdate bundles. `build` replaces swugenerator (and the `cpio -ov -H crc` +
//! `openssl cms -sign` recipes); `list`, `verify` and `extract` read a bundle the way SWUpdate
//! does, streaming, with the signature, every sha256 and the cpio checksums checked.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use norrec_swu::bundle::{self, BuildOptions, SwuReader};
use norrec_swu::cpio::Format;
use norrec_swu::description::{Artifact, Compression, Description, Selection};
use norrec_swu::sign::{self, Method, Purpose, Trust};
use serde::Serialize;

use crate::output::AtomicFile;
use crate::ui::Ui;

/// SWUpdate bundles (.swu): build, list, verify, extract.
#[derive(Debug, clap::Subcommand)]
pub enum SwuCmd {
    /// Build a .swu from a sw-description and the artifacts it names.
    ///
    /// `$swupdate_get_sha256(file)` is replaced and every entry without `sha256` gets one; a
    /// `sha256` already there must match. Entries declaring `compressed = "zlib"` (a gzip stream)
    /// or `"zstd"` take the file as it is when it is already compressed, or compress it with
    /// `--compress`. The cpio holds sw-description, sw-description.sig, then the artifacts, with
    /// mtime 0: the same inputs give the same bytes (except RSA-PSS, whose salt is random).
    #[command(
        after_help = "Examples:\n  norrec swu build sw-description -a images/ -o update.swu\n  norrec swu build sw-description -a images/ --compress zlib --sign cms --key key.pem --cert cert.pem -o update.swu\n  norrec swu build sw-description -a out/ --sign rsa --key priv.pem --format crc -o update.swu"
    )]
    Build(BuildArgs),
    /// List a bundle: entries and sizes, signature, hardware compatibility, and what each image
    /// does for the selection (e.g. "u-boot-sunxi-with-spl.bin → /dev/mmcblk0 @ 8 KiB").
    #[command(
        after_help = "Examples:\n  norrec swu list update.swu\n  norrec swu list update.swu -H cubieboard:1.0 -e stable,main --json"
    )]
    List(ListArgs),
    /// Verify a bundle: the signature of sw-description, every artifact's sha256, the cpio
    /// checksums, every listed file present and no unlisted one.
    #[command(
        after_help = "Examples:\n  norrec swu verify update.swu --cert cert.pem\n  norrec swu verify update.swu --ca ca-chain.pem -H cubieboard:1.0 -e stable,main\n  norrec swu verify update.swu --public-key pub.pem --pss"
    )]
    Verify(VerifyArgs),
    /// Extract a bundle into a new directory, after the same checks as `verify` (the directory
    /// appears only when everything checked out).
    #[command(
        after_help = "Examples:\n  norrec swu extract update.swu -o out/ --cert cert.pem\n  norrec swu extract update.swu -o out/ --no-verify-signature"
    )]
    Extract(ExtractArgs),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SignArg {
    Cms,
    Rsa,
    RsaPss,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CompressArg {
    Zlib,
    Zstd,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Newc,
    Crc,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PurposeArg {
    /// keyUsage digitalSignature, extendedKeyUsage emailProtection (SWUpdate's default).
    EmailProtection,
    /// extendedKeyUsage codeSigning.
    CodeSigning,
    /// No purpose check.
    Any,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The sw-description (libconfig or JSON).
    description: PathBuf,
    /// Where artifacts are looked up, by file name (directories or files; repeatable).
    #[arg(short, long = "artifacts", value_name = "DIR|FILE", required = true)]
    artifacts: Vec<PathBuf>,
    /// The bundle to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Compress entries that declare this compression and are not compressed yet.
    #[arg(long, value_enum)]
    compress: Option<CompressArg>,
    /// cpio format.
    #[arg(long, value_enum, default_value = "newc")]
    format: FormatArg,
    /// Sign sw-description (rsa 0.9 has advisory RUSTSEC-2023-0071: sign on a trusted host).
    #[arg(long, value_enum, requires = "key")]
    sign: Option<SignArg>,
    /// The PEM private key (unencrypted RSA).
    #[arg(long)]
    key: Option<PathBuf>,
    /// The signer's PEM certificate (for --sign cms).
    #[arg(long)]
    cert: Option<PathBuf>,
}

/// Which part of the tree and which hardware.
#[derive(Debug, Clone, clap::Args)]
pub struct SelectArgs {
    /// Hardware as board:revision (selects the board's subtree, checks hardware-compatibility).
    #[arg(short = 'H', long = "hardware", value_name = "BOARD:REV")]
    hardware: Option<String>,
    /// Software set and mode, as swupdate -e.
    #[arg(short = 'e', long = "select", value_name = "SET,MODE")]
    select: Option<String>,
}

impl SelectArgs {
    fn selection(&self) -> anyhow::Result<Option<Selection>> {
        if self.hardware.is_none() && self.select.is_none() {
            return Ok(None);
        }
        let mut s = Selection::default();
        if let Some(h) = &self.hardware {
            s = s.with_hardware(h)?;
        }
        if let Some(e) = &self.select {
            s = s.with_set_mode(e)?;
        }
        Ok(Some(s))
    }
}

/// What the signature is checked against.
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// Trusted signer certificate(s), PEM (CMS signatures), like swupdate -k.
    #[arg(long, conflicts_with = "public_key")]
    cert: Option<PathBuf>,
    /// Trusted CA certificate chain, PEM (CMS signatures).
    #[arg(long, conflicts_with = "public_key")]
    ca: Option<PathBuf>,
    /// RSA public key (PEM) for plain RSA signatures.
    #[arg(long)]
    public_key: Option<PathBuf>,
    /// The RSA signature is RSA-PSS.
    #[arg(long, requires = "public_key")]
    pss: bool,
    /// Required purpose of the CMS signer certificate.
    #[arg(long, value_enum, default_value = "email-protection")]
    cert_purpose: PurposeArg,
}

impl TrustArgs {
    fn trust(&self) -> anyhow::Result<Option<Trust>> {
        if let Some(p) = &self.public_key {
            let pem = read_text(p)?;
            let key =
                sign::rsa::public_key_from_pem(&pem).with_context(|| format!("{}", p.display()))?;
            return Ok(Some(Trust::PublicKey { key, pss: self.pss }));
        }
        let mut anchors = Vec::new();
        for p in self.cert.iter().chain(self.ca.iter()) {
            let pem = read_text(p)?;
            anchors.extend(
                sign::cert::certificates_from_pem(&pem)
                    .with_context(|| format!("{}", p.display()))?,
            );
        }
        if anchors.is_empty() {
            return Ok(None);
        }
        let purpose = match self.cert_purpose {
            PurposeArg::EmailProtection => Purpose::EmailProtection,
            PurposeArg::CodeSigning => Purpose::CodeSigning,
            PurposeArg::Any => Purpose::Any,
        };
        Ok(Some(Trust::Certificates { anchors, purpose }))
    }
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The bundle.
    bundle: PathBuf,
    #[command(flatten)]
    select: SelectArgs,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The bundle.
    bundle: PathBuf,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    select: SelectArgs,
    /// Accept a bundle without checking its signature.
    #[arg(long)]
    no_verify_signature: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// The bundle.
    bundle: PathBuf,
    /// The directory to create.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    select: SelectArgs,
    /// Extract without checking the signature.
    #[arg(long)]
    no_verify_signature: bool,
}

pub fn run(cmd: SwuCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        SwuCmd::Build(a) => build(a, ui),
        SwuCmd::List(a) => list(a, ui),
        SwuCmd::Verify(a) => verify(a, ui),
        SwuCmd::Extract(a) => extract(a, ui),
    }
}

fn read_text(p: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))
}

fn open(p: &Path) -> anyhow::Result<BufReader<File>> {
    let f = File::open(p).with_context(|| format!("{}: cannot open", p.display()))?;
    Ok(BufReader::with_capacity(1 << 20, f))
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

fn find_artifact(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter().find_map(|d| {
        if d.is_dir() {
            let p = d.join(name);
            p.is_file().then_some(p)
        } else if d.file_name().is_some_and(|f| f == name) {
            Some(d.clone())
        } else {
            None
        }
    })
}

fn build(a: BuildArgs, ui: &Ui) -> anyhow::Result<()> {
    let text = read_text(&a.description)?;
    let key = a.key.as_deref().map(read_text).transpose()?;
    let cert = a.cert.as_deref().map(read_text).transpose()?;
    let method = a.sign.map(|s| match s {
        SignArg::Cms => Method::Cms,
        SignArg::Rsa => Method::Rsa,
        SignArg::RsaPss => Method::RsaPss,
    });
    if method == Some(Method::Cms) && cert.is_none() {
        bail!("--sign cms needs --cert (the signer certificate)");
    }
    let opts = BuildOptions {
        format: match a.format {
            FormatArg::Newc => Format::Newc,
            FormatArg::Crc => Format::Crc,
        },
        sign: method.map(|m| (m, key.unwrap_or_default(), cert)),
    };
    if matches!(a.compress, Some(CompressArg::Zstd)) && !cfg!(feature = "zstd-compress") {
        bail!("{ZSTD_LEFT_OUT}");
    }
    let compress = a.compress;
    let dirs = a.artifacts.clone();
    let mut load = |name: &str, c: Compression| -> norrec_swu::Result<Vec<u8>> {
        let path = find_artifact(&dirs, name).ok_or_else(|| norrec_swu::Error::Missing {
            file: name.to_owned(),
            field: format!("filename (looked in {})", display_list(&dirs)),
        })?;
        let data = std::fs::read(&path)?;
        ui.debug(format!("{name}: {} ({} bytes)", path.display(), data.len()));
        let unsupported = |what: &str| {
            norrec_swu::Error::Unsupported(format!(
                "artifact {name:?}: sw-description declares compressed = \"{}\" but {} is not {what}; pass --compress {}",
                c.as_str(),
                path.display(),
                c.as_str()
            ))
        };
        Ok(match c {
            Compression::None => data,
            Compression::Zlib if data.starts_with(GZIP_MAGIC) => data,
            Compression::Zstd if data.starts_with(ZSTD_MAGIC) => data,
            Compression::Zlib => match compress {
                Some(CompressArg::Zlib) => norrec_swu::hash::gzip(&data)?,
                _ => return Err(unsupported("gzip")),
            },
            Compression::Zstd => match compress {
                Some(CompressArg::Zstd) => zstd_compress(&data)?,
                _ if !cfg!(feature = "zstd-compress") => {
                    return Err(norrec_swu::Error::Unsupported(format!(
                        "artifact {name:?}: sw-description declares compressed = \"zstd\" but {} is not zstd, and this norrec cannot compress it (built without the cargo feature zstd-compress); compress it on the build host",
                        path.display()
                    )));
                }
                _ => return Err(unsupported("zstd")),
            },
        })
    };
    let mut out = AtomicFile::create(&a.output)?;
    let (_, report) = bundle::build(&text, &mut load, &opts, &mut out)
        .with_context(|| format!("{}", a.description.display()))?;
    out.commit()?;
    ui.report(&report.entries, || {
        for (n, s, h) in &report.entries {
            println!("{s:>12}  {h}  {n}");
        }
        println!("{}: {} bytes", a.output.display(), report.size);
    })
}

/// Why `--compress zstd` is refused by a norrec built without the C zstd library.
const ZSTD_LEFT_OUT: &str = "--compress zstd: this norrec is built without zstd compression (cargo feature zstd-compress, left out of the board binary to keep it pure Rust); compress on the build host, or give an artifact that is already .zst";

/// zstd level 3 (the `zstd` tool's default), through the C library.
#[cfg(feature = "zstd-compress")]
fn zstd_compress(data: &[u8]) -> norrec_swu::Result<Vec<u8>> {
    Ok(zstd::bulk::compress(data, 3)?)
}

#[cfg(not(feature = "zstd-compress"))]
fn zstd_compress(_: &[u8]) -> norrec_swu::Result<Vec<u8>> {
    Err(norrec_swu::Error::Unsupported(ZSTD_LEFT_OUT.to_owned()))
}

fn display_list(p: &[PathBuf]) -> String {
    p.iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line saying what an artifact does, e.g. "spl.bin → /dev/mmcblk0 @ 8 KiB (raw)".
pub fn describe(a: &Artifact) -> String {
    let mut s = a.filename.clone();
    let handler = a.handler.as_deref().unwrap_or("?");
    if let Some(p) = &a.path {
        s.push_str(&format!(" → {p}"));
        if let Some(d) = &a.device {
            s.push_str(&format!(" on {d}"));
        }
        if let Some(fs) = &a.filesystem {
            s.push_str(&format!(" ({fs})"));
        }
    } else if let Some(d) = &a.device {
        s.push_str(&format!(" → {d}"));
        if a.offset > 0 {
            s.push_str(&format!(" @ {}", human(a.offset)));
        }
    } else if let Some(v) = &a.volume {
        s.push_str(&format!(" → UBI volume {v}"));
    }
    s.push_str(&format!(" [{handler}"));
    if a.compressed != Compression::None {
        s.push_str(&format!(", {}", a.compressed.as_str()));
    }
    if a.installed_directly {
        s.push_str(", streamed");
    }
    if let Some(e) = &a.encrypted {
        s.push_str(&format!(", encrypted {e}"));
    }
    s.push(']');
    s
}

fn human(n: u64) -> String {
    if n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n % 1024 == 0 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

#[derive(Debug, Serialize)]
struct ListReport {
    format: Format,
    signed: bool,
    entries: Vec<(String, u64)>,
    selection: Option<Selection>,
    description: Description,
}

fn list(a: ListArgs, ui: &Ui) -> anyhow::Result<()> {
    let ctx = || format!("{}", a.bundle.display());
    let sel = a.select.selection()?;
    let mut r = SwuReader::new(open(&a.bundle)?).with_context(ctx)?;
    let desc = norrec_swu::description::resolve(
        &r.tree().with_context(ctx)?,
        &sel.clone().unwrap_or_default(),
    )
    .with_context(ctx)?;
    let mut entries = vec![(
        bundle::DESCRIPTION.to_owned(),
        r.description_bytes().len() as u64,
    )];
    if let Some(s) = r.signature() {
        entries.push((bundle::SIGNATURE.to_owned(), s.len() as u64));
    }
    let report_head = (r.format(), r.signature().is_some());
    while let Some(e) = r.next_entry().with_context(ctx)? {
        entries.push((e.name.clone(), e.size));
    }
    let report = ListReport {
        format: report_head.0,
        signed: report_head.1,
        entries,
        selection: sel,
        description: desc,
    };
    ui.report(&report, || {
        let d = &report.description;
        println!(
            "{} ({:?} cpio, {})",
            a.bundle.display(),
            report.format,
            if report.signed { "signed" } else { "unsigned" }
        );
        for (n, s) in &report.entries {
            println!("  {s:>12}  {n}");
        }
        if let Some(v) = &d.version {
            println!("version: {v}");
        }
        if let Some(v) = &d.description {
            println!("description: {v}");
        }
        if !d.hardware_compatibility.is_empty() {
            println!(
                "hardware-compatibility: {}",
                d.hardware_compatibility.join(", ")
            );
        }
        for (title, items) in [
            ("images", &d.images),
            ("files", &d.files),
            ("scripts", &d.scripts),
        ] {
            if !items.is_empty() {
                println!("{title}:");
                for i in items {
                    println!("  {}", describe(i));
                }
            }
        }
        if !d.bootenv.is_empty() {
            println!("bootenv:");
            for v in &d.bootenv {
                println!("  {}={}", v.name, v.value);
            }
        }
        for p in &d.partitions {
            println!(
                "partition {} [{}] on {}",
                p.name.as_deref().unwrap_or("?"),
                p.handler.as_deref().unwrap_or("?"),
                p.device.as_deref().unwrap_or("?")
            );
        }
    })
}

fn trust_or_refuse(t: &TrustArgs, skip: bool) -> anyhow::Result<Option<Trust>> {
    let trust = t.trust()?;
    if trust.is_none() && !skip {
        bail!(
            "no --cert, --ca or --public-key to check the signature with (--no-verify-signature to skip)"
        );
    }
    Ok(if skip { None } else { trust })
}

fn verify(a: VerifyArgs, ui: &Ui) -> anyhow::Result<()> {
    let trust = trust_or_refuse(&a.trust, a.no_verify_signature)?;
    let sel = a.select.selection()?;
    let size = std::fs::metadata(&a.bundle).map(|m| m.len()).unwrap_or(0);
    let bar = ui.progress(size, "verify");
    let input = bar.wrap_read(open(&a.bundle)?);
    let report = bundle::verify(input, trust.as_ref(), sel.as_ref(), None)
        .with_context(|| format!("{}", a.bundle.display()))?;
    bar.finish_and_clear();
    ui.report(&report, || {
        for e in &report.entries {
            println!(
                "  {:>12}  {}  {}{}",
                e.size,
                e.sha256,
                e.name,
                if e.hash_checked {
                    ""
                } else {
                    "  (no sha256 in sw-description)"
                }
            );
        }
        println!(
            "{}: OK ({} artifacts{})",
            a.bundle.display(),
            report.entries.len(),
            if report.signature_checked {
                ", signature verified"
            } else {
                ", signature NOT checked"
            }
        );
    })
}

fn extract(a: ExtractArgs, ui: &Ui) -> anyhow::Result<()> {
    let trust = trust_or_refuse(&a.trust, a.no_verify_signature)?;
    let sel = a.select.selection()?;
    if a.output.exists() {
        bail!("{}: already exists", a.output.display());
    }
    let parent = match a.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".norrec-extract-")
        .tempdir_in(&parent)
        .with_context(|| format!("{}: cannot create a directory", parent.display()))?;
    let r = SwuReader::new(open(&a.bundle)?).with_context(|| format!("{}", a.bundle.display()))?;
    std::fs::write(tmp.path().join(bundle::DESCRIPTION), r.description_bytes())?;
    if let Some(s) = r.signature() {
        std::fs::write(tmp.path().join(bundle::SIGNATURE), s)?;
    }
    drop(r);
    let dir = tmp.path().to_owned();
    let mut sink = |name: &str, data: &mut dyn Read| -> norrec_swu::Result<()> {
        let path = dir.join(name);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p)?;
        }
        let mut f = std::io::BufWriter::new(File::create(&path)?);
        std::io::copy(data, &mut f).map_err(norrec_swu::Error::from_io)?;
        f.flush()?;
        Ok(())
    };
    let report = bundle::verify(
        open(&a.bundle)?,
        trust.as_ref(),
        sel.as_ref(),
        Some(&mut sink),
    )
    .with_context(|| format!("{}", a.bundle.display()))?;
    let kept = tmp.keep();
    std::fs::rename(&kept, &a.output)
        .with_context(|| format!("{}: cannot rename into place", a.output.display()))?;
    ui.report(&report, || {
        for e in &report.entries {
            println!("  {:>12}  {}", e.size, e.name);
        }
        println!(
            "{}: {} artifacts extracted",
            a.output.display(),
            report.entries.len()
        );
    })
}
