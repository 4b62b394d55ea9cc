//! `norrec script`: U-Boot script images (`boot.scr`), the legacy image with a length table that
//! U-Boot's `source` runs. Replaces `mkimage -A arm -O linux -T script -C none -n NAME -d boot.cmd
//! boot.scr` and `dumpimage -l`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use norrec_uboot::legacy::{self, Builder, LegacyImage};
use serde::Serialize;

use crate::output::AtomicFile;
use crate::ui::Ui;

/// Script images (boot.scr).
#[derive(Debug, clap::Subcommand)]
pub enum ScriptCmd {
    /// Build a script image from a text script, byte-identical to `mkimage -T script`.
    ///
    /// The header's time is SOURCE_DATE_EPOCH when set (as mkimage does), else now.
    #[command(
        after_help = "Examples:\n  norrec script build boot.cmd -o boot.scr\n  SOURCE_DATE_EPOCH=0 norrec script build boot.cmd -n 'boot script' -o boot.scr"
    )]
    Build(BuildArgs),
    /// Show a script image: header fields, both CRCs checked, and the script.
    #[command(
        after_help = "Examples:\n  norrec script show boot.scr\n  norrec script show boot.scr --json"
    )]
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The script text (boot.cmd).
    input: PathBuf,
    /// The image to write.
    #[arg(short, long)]
    output: PathBuf,
    /// The image name (ih_name, at most 32 bytes).
    #[arg(short, long, default_value = "")]
    name: String,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The script image (boot.scr).
    image: PathBuf,
}

pub fn run(cmd: ScriptCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        ScriptCmd::Build(a) => build(a, ui),
        ScriptCmd::Show(a) => show(a, ui),
    }
}

/// SOURCE_DATE_EPOCH (as mkimage reads it), else the current time.
pub fn source_date() -> anyhow::Result<u32> {
    if let Ok(s) = std::env::var("SOURCE_DATE_EPOCH") {
        let v: u64 = s
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={s:?} is not a number of seconds"))?;
        return u32::try_from(v).context("SOURCE_DATE_EPOCH is past 2106");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(u32::try_from(now).unwrap_or(u32::MAX))
}

/// Writes `bytes` to `path` whole or not at all.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)
        .with_context(|| format!("{}: write failed", path.display()))?;
    f.commit()
}

fn build(a: BuildArgs, ui: &Ui) -> anyhow::Result<()> {
    let script = std::fs::read(&a.input).with_context(|| a.input.display().to_string())?;
    let image = Builder::script(&a.name, source_date()?)
        .build_parts(&[&script])
        .with_context(|| a.input.display().to_string())?;
    write_atomic(&a.output, &image)?;
    #[derive(Serialize)]
    struct Out<'a> {
        output: &'a Path,
        size: usize,
        script_len: usize,
    }
    let out = Out {
        output: &a.output,
        size: image.len(),
        script_len: script.len(),
    };
    ui.report(&out, || {
        ui.note(format!(
            "{}: script image, {} bytes ({} bytes of script)",
            a.output.display(),
            image.len(),
            script.len()
        ))
    })
}

#[derive(Debug, Serialize)]
struct ShowJson {
    name: String,
    time: u32,
    created: String,
    os: &'static str,
    arch: &'static str,
    image_type: &'static str,
    compression: &'static str,
    load: u32,
    entry: u32,
    data_size: u32,
    header_crc: String,
    data_crc: String,
    script: String,
}

fn show(a: ShowArgs, ui: &Ui) -> anyhow::Result<()> {
    let ctx = || a.image.display().to_string();
    let buf = std::fs::read(&a.image).with_context(ctx)?;
    let img = LegacyImage::parse(&buf).with_context(ctx)?;
    let script = img.script().with_context(ctx)?;
    let h = &img.header;
    let out = ShowJson {
        name: h.name(),
        time: h.time,
        created: crate::time::utc_seconds(i64::from(h.time)),
        os: legacy::os_name(h.os),
        arch: legacy::arch_name(h.arch),
        image_type: legacy::type_name(h.image_type),
        compression: legacy::comp_name(h.comp),
        load: h.load,
        entry: h.ep,
        data_size: h.size,
        header_crc: format!("{:#010x}", h.hcrc),
        data_crc: format!("{:#010x}", h.dcrc),
        script: String::from_utf8_lossy(script).into_owned(),
    };
    ui.report(&out, || {
        println!("Image name:   {}", out.name);
        println!("Created:      {} ({})", out.created, out.time);
        println!(
            "Image type:   {} {} {} ({})",
            out.arch, out.os, out.image_type, out.compression
        );
        println!(
            "Data size:    {} bytes ({} of script, after the length table)",
            out.data_size,
            script.len()
        );
        println!("Load address: {:#010x}", out.load);
        println!("Entry point:  {:#010x}", out.entry);
        println!("Header CRC:   {} (ok)", out.header_crc);
        println!("Data CRC:     {} (ok)", out.data_crc);
        println!("--- script ---");
        print!("{}", out.script);
        if !out.script.ends_with('\n') {
            println!();
        }
    })
}
