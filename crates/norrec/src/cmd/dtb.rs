//! `norrec dtb`: device-tree source to blob (like `dtc -I dts -O dtb`) and back (like
//! `dtc -I dtb -O dts`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use norrec_uboot::{dts, fdt};
use serde::Serialize;

use crate::output::AtomicFile;
use crate::ui::Ui;

/// Flattened device trees.
#[derive(Debug, clap::Subcommand)]
pub enum DtbCmd {
    /// Compile a .dts into a .dtb, byte for byte as dtc 1.6 does (no C preprocessor).
    #[command(after_help = "Examples:\n  norrec dtb build board.dts -o board.dtb")]
    Build(BuildArgs),
    /// Print a .dtb as source text, as `dtc -I dtb -O dts` prints it (--json: header and tree).
    #[command(
        after_help = "Examples:\n  norrec dtb show board.dtb\n  norrec dtb show image.itb --json"
    )]
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The source file (`/include/` and `/incbin/` resolve relative to its folder).
    pub source: PathBuf,
    /// The blob to write.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The blob (a FIT works too; data past `totalsize` is ignored).
    pub blob: PathBuf,
}

pub fn run(cmd: DtbCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        DtbCmd::Build(a) => build(a, ui),
        DtbCmd::Show(a) => show(a, ui),
    }
}

fn build(a: BuildArgs, ui: &Ui) -> anyhow::Result<()> {
    let parsed = dts::parse_file(&a.source).with_context(|| format!("{}", a.source.display()))?;
    let blob = fdt::write(&parsed.tree);
    let mut out = AtomicFile::create(&a.output)?;
    out.write_all(&blob)
        .with_context(|| format!("{}: write failed", a.output.display()))?;
    out.commit()?;
    ui.note(format!("{}: {} bytes", a.output.display(), blob.len()));
    Ok(())
}

#[derive(Serialize)]
struct JsonNode {
    name: String,
    props: Vec<JsonProp>,
    children: Vec<JsonNode>,
}

#[derive(Serialize)]
struct JsonProp {
    name: String,
    /// The value as dtc would print it.
    value: String,
    len: usize,
}

#[derive(Serialize)]
struct JsonDtb {
    totalsize: u32,
    version: u32,
    last_comp_version: u32,
    boot_cpuid_phys: u32,
    reservations: Vec<(u64, u64)>,
    root: JsonNode,
}

fn json_node(n: fdt::Node<'_>) -> JsonNode {
    JsonNode {
        name: n.name().to_owned(),
        props: n
            .props()
            .map(|p| JsonProp {
                name: p.name.to_owned(),
                value: fdt::source::format_value(p.value),
                len: p.value.len(),
            })
            .collect(),
        children: n.children().map(json_node).collect(),
    }
}

fn show(a: ShowArgs, ui: &Ui) -> anyhow::Result<()> {
    let bytes = super::fit::load(&a.blob)?;
    let f = fdt::Fdt::new(&bytes).with_context(|| format!("{}", a.blob.display()))?;
    let h = f.header();
    let report = JsonDtb {
        totalsize: h.totalsize,
        version: h.version,
        last_comp_version: h.last_comp_version,
        boot_cpuid_phys: h.boot_cpuid_phys,
        reservations: f.reservations(),
        root: json_node(f.root()),
    };
    ui.report(&report, || print!("{}", fdt::source::to_dts(&f)))
}
