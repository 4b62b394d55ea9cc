//! `norrec initramfs`: the recovery initramfs (gzip'd cpio newc, `/init` = the static ARM norrec
//! binary, the board's modules in `depends=` order) and its listing.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use norrec_agent::initramfs::{self, EntryInfo, Spec};
use serde::Serialize;

use crate::output::AtomicFile;
use crate::ui::Ui;

/// Recovery initramfs images.
#[derive(Debug, clap::Subcommand)]
pub enum InitramfsCmd {
    /// Build the recovery initramfs: norrec as /init, the board's modules (recovery.modules of
    /// the manifest) ordered by the `depends=` in each module's .modinfo, extra files.
    ///
    /// The output is deterministic: the same inputs give the same bytes.
    #[command(
        after_help = "Example:\n  norrec initramfs build --norrec-bin target/board/armv7-unknown-linux-gnueabihf/release/norrec \\\n      --modules-from ~/.cache/norrec/board/kernel/lib/modules/6.1.0-50-armmp -o initrd.cpio.gz"
    )]
    Build(BuildArgs),
    /// List an initramfs (gzip'd or plain cpio): mode, size, name.
    #[command(
        after_help = "Example:\n  norrec initramfs list initrd.cpio.gz\n  norrec initramfs list initrd.cpio.gz --json"
    )]
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The static armv7 norrec binary that becomes /init.
    #[arg(long)]
    norrec_bin: PathBuf,
    /// The kernel's `lib/modules/<version>` directory (or a tree holding exactly one
    /// `lib/modules/<version>`, like an unpacked linux-image package).
    #[arg(long)]
    modules_from: PathBuf,
    /// An extra file: SRC:DEST (DEST is the path inside the initramfs; mode 0755 if SRC is
    /// executable, else 0644). Repeatable.
    #[arg(long = "add", value_name = "SRC:DEST")]
    add: Vec<String>,
    /// The initramfs to write.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The initramfs.
    file: PathBuf,
}

#[derive(Debug, Serialize)]
struct Entry {
    name: String,
    mode: String,
    size: u64,
}

impl From<&EntryInfo> for Entry {
    fn from(e: &EntryInfo) -> Self {
        Entry {
            name: e.name.clone(),
            mode: format!("{:06o}", e.mode),
            size: e.size,
        }
    }
}

#[derive(Debug, Serialize)]
struct BuildJson {
    output: String,
    bytes: u64,
    cpio_bytes: u64,
    modules: Vec<String>,
    entries: usize,
}

pub fn run(cmd: InitramfsCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        InitramfsCmd::Build(a) => build(a, ui),
        InitramfsCmd::List(a) => list(a, ui),
    }
}

/// `DIR` itself when it holds `kernel/`, else the one `DIR/lib/modules/<version>`.
pub fn resolve_modules_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.join("kernel").is_dir() {
        return Ok(dir.to_owned());
    }
    let root = dir.join("lib/modules");
    let versions: Vec<PathBuf> = std::fs::read_dir(&root)
        .with_context(|| {
            format!(
                "{}: neither a lib/modules/<version> directory (no kernel/) nor a tree with lib/modules",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("kernel").is_dir())
        .collect();
    match versions.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("{}: no lib/modules/<version>/kernel", dir.display()),
        _ => bail!(
            "{}: several kernel versions; give one lib/modules/<version>",
            dir.display()
        ),
    }
}

fn build(a: BuildArgs, ui: &Ui) -> anyhow::Result<()> {
    let board = ui.board()?;
    let modules_dir = resolve_modules_dir(&a.modules_from)?;
    let mut extra = Vec::new();
    for spec in &a.add {
        let Some((src, dest)) = spec.rsplit_once(':') else {
            bail!("--add {spec}: expected SRC:DEST");
        };
        let bytes = std::fs::read(src).with_context(|| format!("--add {src}"))?;
        let exec = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(src)
                .map(|m| m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        };
        extra.push((
            dest.to_owned(),
            bytes,
            if exec { 0o100755 } else { 0o100644 },
        ));
    }
    let spec = Spec {
        norrec_bin: a.norrec_bin.clone(),
        modules_dir: modules_dir.clone(),
        modules: board.recovery.modules.clone(),
        board_name: board.board.name.clone(),
        extra,
    };
    let built = initramfs::build(&spec).with_context(|| {
        format!(
            "initramfs from {} and {}",
            a.norrec_bin.display(),
            modules_dir.display()
        )
    })?;
    for w in &built.warnings {
        ui.warn(w);
    }
    let mut out = AtomicFile::create(&a.output)?;
    out.write_all(&built.gz)
        .with_context(|| a.output.display().to_string())?;
    out.commit()?;
    let report = BuildJson {
        output: a.output.display().to_string(),
        bytes: built.gz.len() as u64,
        cpio_bytes: built.cpio_len,
        modules: built.module_order.clone(),
        entries: built.entries.len(),
    };
    ui.report(&report, || {
        println!(
            "{}: {} bytes ({} uncompressed), {} entries",
            report.output, report.bytes, report.cpio_bytes, report.entries
        );
        println!("modules in load order: {}", report.modules.join(" "));
    })
}

fn list(a: ListArgs, ui: &Ui) -> anyhow::Result<()> {
    let bytes = std::fs::read(&a.file).with_context(|| a.file.display().to_string())?;
    let entries = initramfs::list(&bytes, &a.file).with_context(|| a.file.display().to_string())?;
    let json: Vec<Entry> = entries.iter().map(Entry::from).collect();
    ui.report(&json, || {
        for e in &entries {
            println!(
                "{} {:>9} {}",
                initramfs::mode_string(e.mode),
                e.size,
                e.name
            );
        }
    })
}
