//! `norrec recover`: the recovery agent's state machine (`norrec_agent::recovery`) run on the
//! host against image files — the same code the board runs as PID 1, with the board manifest's
//! `storage.emmc` mapped to `--sd` and `storage.usb` to `--usb`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use norrec_agent::recovery::{self, Fault, Inputs, Step};
use norrec_swu::Selection;
use norrec_swu::sign::{self, Purpose, Trust};
use norrec_uboot::env::parse_mkenvimage_text;

use crate::ui::Ui;

/// The example environment of the built-in board, written to uboot.env by default.
const EXAMPLE_ENV: &str = include_str!("../../../../boards/cubieboard/example/uboot-env.txt");

/// Recover an SD/eMMC image from a USB stick image, as the board's recovery agent does.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The SD card / eMMC image (stands for the board's storage.emmc).
    #[arg(long, value_name = "IMG")]
    sd: PathBuf,
    /// The USB stick image (stands for the board's storage.usb).
    #[arg(long, value_name = "IMG")]
    usb: PathBuf,
    /// Trusted signer certificate(s), PEM (like swupdate -k).
    #[arg(short = 'k', long = "cert", value_name = "PEM")]
    cert: Vec<PathBuf>,
    /// Accept a bundle without checking its signature.
    #[arg(long, conflicts_with = "cert")]
    no_verify_signature: bool,
    /// Board and hardware revision [default: the board manifest's].
    #[arg(short = 'H', long, value_name = "BOARD:REV")]
    hardware: Option<String>,
    /// Software set and mode, like swupdate -e.
    #[arg(short = 'e', long = "select", value_name = "SET,MODE")]
    select: Option<String>,
    /// The environment written to uboot.env, as name=value lines [default: the example
    /// boards/cubieboard/example/uboot-env.txt].
    #[arg(long, value_name = "FILE")]
    env_default: Option<PathBuf>,
    /// Tests: simulate a power cut after this step's writes (check, partition, format, env,
    /// install, done), before the journal records it; exit status 3.
    #[arg(long, value_name = "STEP", value_parser = parse_step)]
    stop_after: Option<Step>,
    /// Tests, with --stop-after: cut during the step instead, after N device writes (install:
    /// after N KiB of the bundle).
    #[arg(long, value_name = "N", requires = "stop_after", hide = true)]
    fault_writes: Option<u64>,
}

fn parse_step(s: &str) -> Result<Step, String> {
    Step::from_name(s)
        .ok_or_else(|| format!("unknown step {s:?} (check, partition, format, env, install, done)"))
}

pub fn run(a: Args, ui: &Ui) -> anyhow::Result<()> {
    let board = ui.board()?;
    let trust = trust(&a)?;
    let hw = a
        .hardware
        .clone()
        .unwrap_or_else(|| format!("{}:{}", board.board.hardware, board.board.revision));
    let mut selection = Selection::default().with_hardware(&hw)?;
    if let Some(e) = &a.select {
        selection = selection.with_set_mode(e)?;
    }
    let env_default = match &a.env_default {
        Some(p) => {
            let text = std::fs::read(p).with_context(|| format!("{}", p.display()))?;
            parse_mkenvimage_text(&text).with_context(|| format!("{}", p.display()))?
        }
        None => parse_mkenvimage_text(EXAMPLE_ENV.as_bytes()).context("example uboot-env.txt")?,
    };
    ui.note(format_args!(
        "device map: {}={}, {}={}",
        board.storage.emmc,
        a.sd.display(),
        board.storage.usb,
        a.usb.display()
    ));
    let inputs = Inputs {
        board,
        emmc: a.sd.clone(),
        usb: a.usb.clone(),
        trust,
        selection,
        env_default,
        identity: None,
        fault: a.stop_after.map(|step| Fault {
            step,
            writes: a.fault_writes,
        }),
    };
    let json = ui.json;
    let result = recovery::recover(&inputs, &mut |line| {
        if !json {
            println!("{line}");
        }
    });
    let out = match result {
        Ok(o) => o,
        Err(norrec_agent::Error::Interrupted(msg)) => {
            eprintln!("norrec: {msg}");
            std::process::exit(3);
        }
        Err(e) => return Err(e).with_context(|| format!("recover {}", a.sd.display())),
    };
    let lines: Vec<_> = out
        .lines
        .iter()
        .map(|l| {
            serde_json::json!({
                "step": l.step.name(),
                "number": l.step as u8,
                "outcome": l.outcome,
                "detail": l.detail,
            })
        })
        .collect();
    ui.report(
        &serde_json::json!({
            "sd": a.sd,
            "usb": a.usb,
            "bundle": out.bundle,
            "resumed_at": out.resumed_at.map(|s| s.name()),
            "journal_offset": out.journal_offset,
            "journal_seq": out.seq,
            "steps": lines,
        }),
        || {
            println!(
                "recovered {} from {} (journal at {:#x}, record {})",
                a.sd.display(),
                out.bundle,
                out.journal_offset,
                out.seq
            )
        },
    )
}

fn trust(a: &Args) -> anyhow::Result<Option<Trust>> {
    let mut anchors = Vec::new();
    for p in &a.cert {
        let pem =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        anchors.extend(
            sign::cert::certificates_from_pem(&pem).with_context(|| format!("{}", p.display()))?,
        );
    }
    if anchors.is_empty() {
        if a.no_verify_signature {
            return Ok(None);
        }
        bail!("no -k CERT to check the bundle's signature with (--no-verify-signature to skip)");
    }
    Ok(Some(Trust::Certificates {
        anchors,
        purpose: Purpose::EmailProtection,
    }))
}
