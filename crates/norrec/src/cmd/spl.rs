//! `norrec spl`: the Allwinner eGON.BT0 header of a sunxi SPL, checked the way the boot ROM
//! checks it, so a bundle that would write a broken SPL at 8 KiB is refused before it bricks a
//! board.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use anyhow::Context;
use norrec_uboot::spl::{self, Payload};
use serde::Serialize;

use crate::num::parse_size;
use crate::ui::Ui;

/// sunxi SPL (eGON.BT0) images.
#[derive(Debug, clap::Subcommand)]
pub enum SplCmd {
    /// Check the eGON.BT0 header, length and checksum of an SPL, and the U-Boot image after it.
    ///
    /// Checks: the ARM branch at 0, the magic "eGON.BT0" at 4, the length at 0x10 (a multiple
    /// of 512 that the file holds), and the checksum at 0xc (the sum of the first `length` bytes
    /// as little-endian words, counted with the stamp 0x5f0a6c39 in the checksum's place). When
    /// a legacy U-Boot image follows at 32 KiB, its CRCs are checked too. Use --offset 8K on an
    /// SD card image.
    #[command(
        after_help = "Examples:\n  norrec spl check u-boot-sunxi-with-spl.bin\n  norrec spl check sd.img --offset 8K\n  norrec spl check u-boot-sunxi-with-spl.bin --json"
    )]
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The SPL file or a disk image holding it.
    file: PathBuf,
    /// Where the SPL starts in the file (8K on an SD card image).
    #[arg(long, default_value = "0", value_parser = parse_size)]
    offset: u64,
}

#[derive(Debug, Serialize)]
struct CheckJson {
    length: u32,
    checksum: String,
    spl_header_version: Option<String>,
    dt_name: Option<String>,
    uboot: String,
}

pub fn run(cmd: SplCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        SplCmd::Check(a) => check(a, ui),
    }
}

fn check(a: CheckArgs, ui: &Ui) -> anyhow::Result<()> {
    let ctx = || a.file.display().to_string();
    let mut f = std::fs::File::open(&a.file).with_context(ctx)?;
    f.seek(SeekFrom::Start(a.offset)).with_context(ctx)?;
    // The SPL (at most 32 KiB on sunxi) and the U-Boot image after it (a few MiB at most).
    let mut buf = Vec::new();
    f.take(16 << 20).read_to_end(&mut buf).with_context(ctx)?;
    let info = spl::check(&buf).map_err(|e| match (a.offset, e) {
        (0, e) => anyhow::Error::new(e),
        (off, norrec_uboot::Error::At { offset, msg }) => {
            anyhow::anyhow!("offset {:#x}: {msg}", off + offset as u64)
        }
        (_, e) => anyhow::Error::new(e),
    });
    let info = info.with_context(ctx)?;
    let uboot = match &info.payload {
        Payload::None => "none after the SPL".to_string(),
        Payload::Legacy { name, size } => format!("legacy image \"{name}\", {size} bytes, CRCs ok"),
        Payload::Fit { totalsize } => format!("FIT of {totalsize} bytes (not checked)"),
        Payload::Unknown => "unrecognised data at 32 KiB".to_string(),
    };
    let out = CheckJson {
        length: info.length,
        checksum: format!("{:#010x}", info.checksum),
        spl_header_version: info.spl_version.map(|(a, b)| format!("{a}.{b}")),
        dt_name: info.dt_name.clone(),
        uboot,
    };
    ui.report(&out, || {
        println!(
            "{}: eGON.BT0 SPL, {} bytes, checksum {} ok",
            a.file.display(),
            out.length,
            out.checksum
        );
        if let Some(v) = &out.spl_header_version {
            println!("SPL header version {v}");
        }
        if let Some(d) = &out.dt_name {
            println!("DT name: {d}");
        }
        println!("U-Boot at 32 KiB: {}", out.uboot);
    })
}
