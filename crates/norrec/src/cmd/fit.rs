//! `norrec fit`: FIT images — build (like `mkimage -f image.its` and `mkimage -f auto`), list
//! (like `mkimage -l`), verify, extract (like `dumpimage -p`) and the size to read from flash.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use norrec_uboot::dts;
use norrec_uboot::fit::{self, AutoFit, BuildOptions, External, Fit, Lints, Location};
use serde::Serialize;

use crate::num::parse_size;
use crate::output::AtomicFile;
use crate::ui::Ui;

/// FIT images (U-Boot's multi-image format).
#[derive(Debug, clap::Subcommand)]
pub enum FitCmd {
    /// Build a FIT from an .its (like `mkimage -f`), or from parts without one (like
    /// `mkimage -f auto`).
    ///
    /// The root `timestamp` comes from SOURCE_DATE_EPOCH, else the current time. Hash nodes
    /// (crc32, md5, sha1, sha256, sha384, sha512) of images get their `value`. With --external
    /// the image data goes after the blob (`mkimage -E`), each piece aligned to --align.
    #[command(
        after_help = "Examples:\n  norrec fit build image.its -o image.itb\n  SOURCE_DATE_EPOCH=1700000000 norrec fit build image.its -o image.itb --external --align 0x1000\n  norrec fit build --kernel zImage --fdt board.dtb --ramdisk initrd.cpio.gz --arch arm --load 0x40008000 -o image.itb"
    )]
    Build(Box<BuildArgs>),
    /// Print what `mkimage -l` prints, field for field (times in UTC), or --json.
    #[command(
        after_help = "Examples:\n  norrec fit list image.itb\n  norrec fit list image.itb --json"
    )]
    List(FileArgs),
    /// Check every image hash; name the image and hash node that fails.
    #[command(
        after_help = "Examples:\n  norrec fit verify image.itb\n  norrec fit verify flash.bin   (a FIT at offset 0 of a flash image)"
    )]
    Verify(VerifyArgs),
    /// Write one image's data to a file, by name or position (like `dumpimage -p N`).
    #[command(
        after_help = "Examples:\n  norrec fit extract image.itb kernel-1 -o zImage\n  norrec fit extract image.itb 1 -o board.dtb"
    )]
    Extract(ExtractArgs),
    /// Print the number of bytes to read from flash to get the whole FIT: `totalsize`, or the
    /// end of the external data.
    #[command(
        after_help = "Examples:\n  norrec fit size image.itb\n  norrec fit size image.itb --json"
    )]
    Size(FileArgs),
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The .its source (omit it to build from --kernel/--fdt/--ramdisk).
    pub its: Option<PathBuf>,
    /// The FIT to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Put image data after the blob (`mkimage -E`).
    #[arg(short = 'E', long)]
    pub external: bool,
    /// Alignment of the blob's end and of each external image (`mkimage -B`).
    #[arg(long, value_parser = parse_size, default_value = "4", requires = "external")]
    pub align: u64,
    /// Place the external data at this absolute offset (`mkimage -p`; nodes get
    /// `data-position`).
    #[arg(long, value_parser = parse_size, requires = "external")]
    pub position: Option<u64>,
    /// Main image for the quick form (`mkimage -d`).
    #[arg(long, conflicts_with = "its")]
    pub kernel: Option<PathBuf>,
    /// Device tree blob(s) for the quick form (`mkimage -b`; one configuration each).
    #[arg(long)]
    pub fdt: Vec<PathBuf>,
    /// Ramdisk for the quick form (`mkimage -i`).
    #[arg(long)]
    pub ramdisk: Option<PathBuf>,
    /// Architecture (`-A`).
    #[arg(long, default_value = "arm")]
    pub arch: String,
    /// Operating system (`-O`).
    #[arg(long, default_value = "linux")]
    pub os: String,
    /// Compression of the main image (`-C`): none, gzip, lzma, lzo, lz4, zstd, bzip2.
    #[arg(long, default_value = "none")]
    pub compression: String,
    /// Type of the main image (`-T`).
    #[arg(long = "type", default_value = "kernel")]
    pub kind: String,
    /// Load address (`-a`).
    #[arg(long, value_parser = parse_size, default_value = "0")]
    pub load: u64,
    /// Entry point (`-e`; defaults to the load address).
    #[arg(long, value_parser = parse_size)]
    pub entry: Option<u64>,
    /// Description of the main image (`-n`).
    #[arg(long, default_value = "")]
    pub name: String,
    /// Hash algorithm of each image's hash-1 node in the quick form (mkimage: crc32).
    #[arg(long, default_value = "crc32")]
    pub hash: String,
    /// Bootm size limit for the lint (CONFIG_SYS_BOOTM_LEN).
    #[arg(long, value_parser = parse_size, default_value = "8M")]
    pub bootm_len: u64,
}

#[derive(Debug, clap::Args)]
pub struct FileArgs {
    /// The FIT (or a flash image with a FIT at offset 0).
    pub file: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The FIT (or a flash image with a FIT at offset 0).
    pub file: PathBuf,
    /// Bootm size limit for the lint (CONFIG_SYS_BOOTM_LEN).
    #[arg(long, value_parser = parse_size, default_value = "8M")]
    pub bootm_len: u64,
}

#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// The FIT.
    pub file: PathBuf,
    /// Image node name (`kernel-1`) or position (0 is the first image, as `dumpimage -p`).
    pub image: String,
    /// Where to write the data.
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn run(cmd: FitCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        FitCmd::Build(a) => build(*a, ui),
        FitCmd::List(a) => list(&a.file, ui),
        FitCmd::Verify(a) => verify(&a, ui),
        FitCmd::Extract(a) => extract(&a, ui),
        FitCmd::Size(a) => size(&a.file, ui),
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// The most a FIT or device tree is read into memory for: far above any FIT U-Boot can boot
/// (`bootm` stops at CONFIG_SYS_BOOTM_LEN, 8 MiB by default) and above a whole NOR flash dump,
/// yet small enough that a wrong path (a disk image, a block device) fails at once.
const MAX_LOAD: u64 = 1 << 30;

/// A file's bytes, read whole but bounded by [`MAX_LOAD`]: a FIT is checked in memory, zero-copy
/// from there on. A plain read, not a memory map: no `unsafe` and no OS call outside the platform
/// layers, and reading 10 MiB from the page cache costs less than hashing them.
pub(crate) fn load(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    // The size is only a hint (devices report 0); the limit is enforced on the bytes read.
    let hint = f.metadata().map(|m| m.len()).unwrap_or(0).min(MAX_LOAD);
    let mut bytes = Vec::with_capacity(hint as usize);
    f.take(MAX_LOAD + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if bytes.len() as u64 > MAX_LOAD {
        bail!(
            "{}: larger than {} MiB, more than a FIT or device tree is read into memory for",
            path.display(),
            MAX_LOAD >> 20
        );
    }
    Ok(bytes)
}

fn timestamp() -> anyhow::Result<u32> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<u32>()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?}: not a number of seconds")),
        Err(_) => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0)),
    }
}

fn u32_arg(v: u64, what: &str) -> anyhow::Result<u32> {
    u32::try_from(v).with_context(|| format!("--{what} {v:#x}: does not fit in 32 bits"))
}

fn build(a: BuildArgs, ui: &Ui) -> anyhow::Result<()> {
    let opts = BuildOptions {
        timestamp: timestamp()?,
        external: a.external.then(|| External {
            align: a.align.max(1) as usize,
            position: a.position.map(|p| p as usize),
        }),
    };
    let mut out = AtomicFile::create(&a.output)?;
    match (&a.its, &a.kernel) {
        (Some(its), _) => {
            let parsed = dts::parse_file(its).with_context(|| format!("{}", its.display()))?;
            // Streams the blob from the parsed tree into the output: no copy of the data.
            fit::build_to(parsed.tree, &opts, &mut out)
                .with_context(|| format!("{}", its.display()))?;
        }
        (None, Some(kernel)) => {
            for (v, what, ok) in [
                (&a.arch, "arch", fit::names::is_arch as fn(&str) -> bool),
                (&a.os, "os", fit::names::is_os),
                (&a.compression, "compression", fit::names::is_comp),
            ] {
                if !ok(v) {
                    bail!("--{what} {v}: unknown to U-Boot");
                }
            }
            if fit::Algo::from_name(&a.hash).is_none() {
                bail!(
                    "--hash {}: not one of crc32, md5, sha1, sha256, sha384, sha512",
                    a.hash
                );
            }
            let mut fdts = Vec::new();
            for f in &a.fdt {
                let base = f
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                fdts.push((base, read(f)?));
            }
            let load = u32_arg(a.load, "load")?;
            let auto = AutoFit {
                name: a.name.clone(),
                kind: a.kind.clone(),
                arch: a.arch.clone(),
                os: a.os.clone(),
                compression: a.compression.clone(),
                load,
                entry: match a.entry {
                    Some(e) => u32_arg(e, "entry")?,
                    None => load,
                },
                data: read(kernel)?,
                fdts,
                ramdisk: a.ramdisk.as_deref().map(read).transpose()?,
                hash: a.hash.clone(),
            };
            out.write_all(&auto.build(&opts)?)
                .with_context(|| format!("{}: write failed", a.output.display()))?;
        }
        (None, None) => {
            bail!("give an .its file, or --kernel (with --fdt, --ramdisk) for the quick form")
        }
    }
    out.commit()?;
    let bytes = load(&a.output)?;
    let fit = Fit::new(&bytes).context("the FIT just built does not read back")?;
    for w in fit.lints(&Lints {
        bootm_len: a.bootm_len,
    }) {
        ui.warn(w);
    }
    ui.note(format!(
        "{}: {} bytes, totalsize {:#x}, load size {:#x}",
        a.output.display(),
        bytes.len(),
        fit.fdt().totalsize(),
        fit.load_size()
    ));
    Ok(())
}

#[derive(Serialize)]
struct JsonHash {
    name: String,
    algo: Option<String>,
    value: Option<String>,
    signature: bool,
}

#[derive(Serialize)]
struct JsonImage {
    index: usize,
    name: String,
    description: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    compression: Option<String>,
    arch: Option<String>,
    os: Option<String>,
    load: Option<u64>,
    entry: Option<u64>,
    data_size: Option<usize>,
    /// "embedded", "data-offset" or "data-position".
    location: &'static str,
    /// Absolute offset of the data in the file.
    data_start: Option<usize>,
    hashes: Vec<JsonHash>,
}

#[derive(Serialize)]
struct JsonConfig {
    index: usize,
    name: String,
    description: Option<String>,
    kernel: Option<String>,
    ramdisk: Option<String>,
    firmware: Option<String>,
    fdt: Vec<String>,
    loadables: Vec<String>,
    hashes: Vec<JsonHash>,
}

#[derive(Serialize)]
struct JsonFit {
    description: Option<String>,
    timestamp: Option<u32>,
    totalsize: usize,
    load_size: usize,
    images: Vec<JsonImage>,
    default_configuration: Option<String>,
    configurations: Vec<JsonConfig>,
}

fn json_hashes(h: &[fit::HashNode<'_>]) -> Vec<JsonHash> {
    h.iter()
        .map(|h| JsonHash {
            name: h.name.to_owned(),
            algo: h.algo.map(str::to_owned),
            value: h.value.map(fit::hash::hex),
            signature: h.signature,
        })
        .collect()
}

fn open<'a>(path: &Path, bytes: &'a [u8]) -> anyhow::Result<Fit<'a>> {
    Fit::new(bytes).with_context(|| format!("{}", path.display()))
}

fn list(path: &Path, ui: &Ui) -> anyhow::Result<()> {
    let bytes = load(path)?;
    let f = open(path, &bytes)?;
    let o = |s: Option<&str>| s.map(str::to_owned);
    let report = JsonFit {
        description: o(f.description()),
        timestamp: f.timestamp(),
        totalsize: f.fdt().totalsize(),
        load_size: f.load_size(),
        images: f
            .images()
            .iter()
            .map(|i| JsonImage {
                index: i.index,
                name: i.name.to_owned(),
                description: o(i.description),
                kind: o(i.kind),
                compression: o(i.compression),
                arch: o(i.arch),
                os: o(i.os),
                load: i.load,
                entry: i.entry,
                data_size: i.size,
                location: match i.location {
                    Location::Embedded => "embedded",
                    Location::Offset(_) => "data-offset",
                    Location::Position(_) => "data-position",
                },
                data_start: i.range.map(|r| r.0),
                hashes: json_hashes(&i.hashes),
            })
            .collect(),
        default_configuration: o(f.default_config()),
        configurations: f
            .configurations()
            .iter()
            .map(|c| JsonConfig {
                index: c.index,
                name: c.name.to_owned(),
                description: o(c.description),
                kernel: o(c.kernel),
                ramdisk: o(c.ramdisk),
                firmware: o(c.firmware),
                fdt: c.fdt.iter().map(|s| s.to_string()).collect(),
                loadables: c.loadables.iter().map(|s| s.to_string()).collect(),
                hashes: json_hashes(&c.hashes),
            })
            .collect(),
    };
    ui.report(&report, || print!("{}", f.list()))
}

#[derive(Serialize)]
struct JsonCheck {
    path: String,
    algo: String,
    value: String,
}

/// Property values longer than this are not read into memory by `fit verify`: they are hashed
/// from the file in [`HASH_CHUNK`] pieces.
const SKIP_OVER: usize = 4096;
/// Bytes read per piece when hashing image data from the file.
const HASH_CHUNK: usize = 1 << 20;

/// The FIT's metadata with image data left unread (see `norrec_uboot::fdt::skeleton`), or the
/// whole file when the skeleton reader refuses it (the full parser then names the problem).
fn load_skeleton(path: &Path) -> anyhow::Result<Vec<u8>> {
    let f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let len = f
        .metadata()
        .with_context(|| format!("{}: cannot stat", path.display()))?
        .len();
    if len > MAX_LOAD {
        return load(path);
    }
    match norrec_uboot::fdt::skeleton::read_skeleton(&f, len as usize, SKIP_OVER) {
        Ok(skeleton) => Ok(skeleton.bytes),
        Err(_) => load(path),
    }
}

/// Hashes `start..end` of `file` in pieces.
fn hash_range(
    file: &std::fs::File,
    buf: &mut [u8],
    algo: fit::Algo,
    (start, end): (usize, usize),
) -> norrec_uboot::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut h = algo.hasher();
    let mut at = start;
    while at < end {
        let n = (end - at).min(buf.len());
        file.read_exact_at(&mut buf[..n], at as u64)
            .map_err(|source| norrec_uboot::Error::Io {
                what: format!("reading image data at {at:#x}"),
                source,
            })?;
        h.update(&buf[..n]);
        at += n;
    }
    Ok(h.finish())
}

/// Checks every hash reading the FIT once: its metadata into memory, its image data in 1 MiB
/// pieces straight into the hashes (bounded memory, no copy of the whole file).
fn verify(a: &VerifyArgs, ui: &Ui) -> anyhow::Result<()> {
    let bytes = load_skeleton(&a.file)?;
    let f = open(&a.file, &bytes)?;
    let file = std::fs::File::open(&a.file)
        .with_context(|| format!("{}: cannot open", a.file.display()))?;
    let mut buf = vec![0u8; HASH_CHUNK];
    let checks = f
        .verify_with(|algo, range| hash_range(&file, &mut buf, algo, range))
        .with_context(|| format!("{}", a.file.display()))?;
    for w in f.lints(&Lints {
        bootm_len: a.bootm_len,
    }) {
        ui.warn(w);
    }
    let report: Vec<JsonCheck> = checks
        .iter()
        .map(|c| JsonCheck {
            path: c.path.clone(),
            algo: c.algo.clone(),
            value: c.value.clone(),
        })
        .collect();
    for i in f.images() {
        if !i.hashes.iter().any(|h| !h.signature) {
            ui.warn(format!(
                "image '{}' has no hash node: nothing to check",
                i.name
            ));
        }
    }
    ui.report(&report, || {
        for c in &checks {
            println!("OK  {} {} {}", c.path, c.algo, c.value);
        }
        println!("{}: {} hashes OK", a.file.display(), checks.len());
    })
}

fn extract(a: &ExtractArgs, ui: &Ui) -> anyhow::Result<()> {
    let bytes = load(&a.file)?;
    let f = open(&a.file, &bytes)?;
    let data = f
        .extract(&a.image)
        .with_context(|| format!("{}", a.file.display()))?;
    let mut out = AtomicFile::create(&a.output)?;
    out.write_all(data)
        .with_context(|| format!("{}: write failed", a.output.display()))?;
    out.commit()?;
    ui.note(format!("{}: {} bytes", a.output.display(), data.len()));
    Ok(())
}

#[derive(Serialize)]
struct JsonSize {
    load_size: usize,
    totalsize: usize,
    external_data: bool,
}

fn size(path: &Path, ui: &Ui) -> anyhow::Result<()> {
    let bytes = load(path)?;
    let f = open(path, &bytes)?;
    let report = JsonSize {
        load_size: f.load_size(),
        totalsize: f.fdt().totalsize(),
        external_data: f.load_size() > f.fdt().totalsize(),
    };
    ui.report(&report, || {
        println!("{} (0x{:x})", report.load_size, report.load_size)
    })
}
