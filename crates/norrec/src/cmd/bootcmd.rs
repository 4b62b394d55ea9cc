//! `norrec bootcmd`: U-Boot command sequences that boot what norrec builds.

use std::path::PathBuf;

use anyhow::{Context, bail};
use norrec_uboot::bootcmd::NorBoot;
use norrec_uboot::legacy::Builder;
use serde::Serialize;

use crate::cmd::script::{source_date, write_atomic};
use crate::num::parse_size;
use crate::ui::Ui;

/// U-Boot boot command sequences.
#[derive(Debug, clap::Subcommand)]
pub enum BootcmdCmd {
    /// The sequence that loads a FIT from SPI NOR and boots it: sf probe; read the header;
    /// check the magic; size from `fdt header get`; check it fits; sf read; bootm.
    ///
    /// Why not the seed's sequence: it reads totalsize with four `setexpr.b` and glues the
    /// results with `setenv fit_size ${fit_size_msb}${fit_size_3}${fit_size_2}${fit_size_lsb}`.
    /// U-Boot stores each result with %lx, without zero padding, so any inner byte below 0x10
    /// loses a digit: totalsize 0x00a20fa4 (bytes 00 a2 0f a4) becomes "0" "a2" "f" "a4" =
    /// 0xa2fa4, `sf read` loads a tenth of the image and `bootm` fails on a truncated FIT (the
    /// seed's 0xa2eaa4 only worked by luck). Erased flash reads ffffffff and the seed's sequence
    /// tries to read 4 GiB. This sequence lets `fdt header get nor_size totalsize` read the
    /// field whole, says so when the magic is not d00dfeed (as a little-endian word: edfe0dd0),
    /// and refuses a size beyond the flash or the RAM window. The FIT must hold its data inside
    /// totalsize (mkimage without -E). Needs U-Boot >= 2022.07 (`fdt addr -q`) with CMD_SF,
    /// CMD_FDT, CMD_SETEXPR and CMD_ITEST.
    #[command(
        after_help = "Examples:\n  norrec bootcmd nor                      (all from the board manifest)\n  norrec bootcmd nor --flash-offset 0 --chip is25wp128 --loadaddr 0x41000000\n  norrec bootcmd nor --flash-size 16M --loadaddr 0x41000000 --ram-window 0x2000000 --format bootcmd\n  norrec bootcmd nor --chip is25wp128 --loadaddr 0x41000000 --format script -o nor-boot.scr"
    )]
    Nor(NorArgs),
}

/// How to print the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Script text, one command per line (boot.cmd, or typed at the prompt).
    Text,
    /// One line, for `bootcmd=` in an environment.
    Bootcmd,
    /// A script image (like boot.scr), for `source`; needs -o.
    Script,
}

#[derive(Debug, clap::Args)]
pub struct NorArgs {
    /// Where the FIT starts in the flash (default: the board's flash.recovery_offset).
    #[arg(long, value_parser = parse_size)]
    flash_offset: Option<u64>,
    /// The flash chip (see `norrec flash chips`), for its size (default: the board's).
    #[arg(long, conflicts_with = "flash_size")]
    chip: Option<String>,
    /// The flash size, when no chip is named.
    #[arg(long, value_parser = parse_size)]
    flash_size: Option<u64>,
    /// RAM address the FIT is loaded to and booted from (default: the board's memory.fit_addr).
    #[arg(long, value_parser = parse_size)]
    loadaddr: Option<u64>,
    /// RAM address the header is read to first (default: the board's memory.header_addr when
    /// --loadaddr is not given, else --loadaddr).
    #[arg(long, value_parser = parse_size)]
    header_addr: Option<u64>,
    /// Bytes of RAM free from --loadaddr on (default: as much as the flash holds).
    #[arg(long, value_parser = parse_size)]
    ram_window: Option<u64>,
    /// Arguments of `sf probe` (e.g. "0:0 50000000").
    #[arg(long)]
    probe: Option<String>,
    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write to this file instead of stdout (needed for --format script).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// ih_name of the script image.
    #[arg(short, long, default_value = "norrec NOR boot")]
    name: String,
}

pub fn run(cmd: BootcmdCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        BootcmdCmd::Nor(a) => nor(a, ui),
    }
}

fn nor(a: NorArgs, ui: &Ui) -> anyhow::Result<()> {
    // Whatever is not given comes from the board manifest (--board).
    let needs_board = a.flash_offset.is_none()
        || a.loadaddr.is_none()
        || (a.chip.is_none() && a.flash_size.is_none());
    let board = if needs_board { Some(ui.board()?) } else { None };
    let chip = a
        .chip
        .clone()
        .or_else(|| board.as_ref().map(|b| b.flash.chip.clone()));
    let flash_size = match (chip, a.flash_size) {
        (_, Some(s)) => s,
        (Some(name), None) => {
            norrec_nor::chips::find(&name)
                .ok_or(norrec_nor::Error::UnknownChip(name))?
                .size
        }
        (None, None) => bail!("name the chip with --chip or give --flash-size"),
    };
    let (loadaddr, header_addr) = match (a.loadaddr, &board) {
        (Some(l), _) => (l, a.header_addr),
        (None, Some(b)) => (
            b.memory.fit_addr.0,
            a.header_addr.or(Some(b.memory.header_addr.0)),
        ),
        (None, None) => bail!("give --loadaddr"),
    };
    let flash_offset = match (a.flash_offset, &board) {
        (Some(o), _) => o,
        (None, Some(b)) => b.flash.recovery_offset.0,
        (None, None) => 0,
    };
    let nb = NorBoot {
        flash_offset,
        flash_size,
        loadaddr,
        header_addr,
        ram_window: a.ram_window,
        probe: a.probe.clone(),
    };
    let script = nb.script().context("bootcmd nor")?;
    let text = script.to_text();
    let line = script.to_line();
    let bytes: Vec<u8> = match a.format {
        Format::Text => text.clone().into_bytes(),
        Format::Bootcmd => format!("{line}\n").into_bytes(),
        Format::Script => {
            if a.output.is_none() {
                bail!("--format script writes a binary image: give -o FILE");
            }
            Builder::script(&a.name, source_date()?)
                .build_parts(&[text.as_bytes()])
                .context("script image")?
        }
    };
    if let Some(out) = &a.output {
        write_atomic(out, &bytes)?;
        ui.note(format!("{}: {} bytes", out.display(), bytes.len()));
    }
    #[derive(Serialize)]
    struct Out {
        max_size: u64,
        text: String,
        bootcmd: String,
    }
    let out = Out {
        max_size: nb.max_size(),
        text,
        bootcmd: line,
    };
    if a.output.is_some() && !ui.json {
        return Ok(());
    }
    ui.report(&out, || print!("{}", String::from_utf8_lossy(&bytes)))
}
