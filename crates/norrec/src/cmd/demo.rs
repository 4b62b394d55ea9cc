//! `norrec demo`: the whole chain that exists, on the built-in example, in a temporary folder.
//!
//! Stage by stage it does what the seed does by hand, and says what each step produced:
//! 1. the example payload (the recovery image that goes to offset 0 of the NOR);
//! 2. the seed's flash: an erased IS25WP128 image with the payload placed at offset 0;
//! 3. `flash inspect` on it.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cmd::flash::{self, FlashCmd};
use crate::ui::Ui;

/// Arguments of `norrec demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep the outputs in this folder instead of a temporary one.
    #[arg(long)]
    pub keep: Option<PathBuf>,
}

/// The example's flash chip (the seed's).
const CHIP: &str = "is25wp128";

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    let tmp;
    let dir: &Path = match &args.keep {
        Some(d) => {
            std::fs::create_dir_all(d)
                .with_context(|| format!("{}: cannot create", d.display()))?;
            d
        }
        None => {
            tmp = tempfile::tempdir().context("cannot create a temporary folder")?;
            tmp.path()
        }
    };
    let step = |n: u32, what: &str| ui.note(format_args!("\n== {n}. {what}"));

    step(1, "the recovery payload for offset 0 of the NOR");
    let payload = dir.join("payload.bin");
    std::fs::write(&payload, example_payload())
        .with_context(|| format!("{}: cannot write", payload.display()))?;
    ui.note(format_args!(
        "{} ({} bytes)",
        payload.display(),
        example_payload().len()
    ));

    step(
        2,
        &format!(
            "the {CHIP} flash image with the payload at 0 (the seed's dd | tr + dd conv=notrunc)"
        ),
    );
    let flash_bin = dir.join("flash.bin");
    let create = |o: &Path, p: &Path| -> Vec<String> {
        vec![
            "create".into(),
            "--chip".into(),
            CHIP.into(),
            "--place".into(),
            format!("{}@0", p.display()),
            "-o".into(),
            o.display().to_string(),
        ]
    };
    run_flash(create(&flash_bin, &payload), ui)?;

    step(3, "norrec flash inspect flash.bin");
    run_flash(vec!["inspect".into(), flash_bin.display().to_string()], ui)?;

    if args.keep.is_some() {
        ui.note(format_args!("\noutputs kept in {}", dir.display()));
    }
    Ok(())
}

/// Runs a `norrec flash …` command line as the user would type it.
fn run_flash(argv: Vec<String>, ui: &Ui) -> anyhow::Result<()> {
    use clap::Parser;
    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(subcommand)]
        cmd: FlashCmd,
    }
    ui.note(format_args!("$ norrec flash {}", argv.join(" ")));
    let w = Wrap::try_parse_from(std::iter::once("flash".to_owned()).chain(argv))?;
    flash::run(w.cmd, ui)
}

/// A deterministic stand-in for the recovery image: 64 KiB of a counter pattern.
fn example_payload() -> Vec<u8> {
    (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}
