//! `norrec install`: apply a .swu to a device map, like `swupdate -i`, onto image files or
//! devices (crate `norrec-install`).

use std::fs::File;
use std::path::PathBuf;

use anyhow::{Context, bail};
use norrec_install::{DeviceMap, EnvTarget, Options, Toc};
use norrec_swu::Selection;
use norrec_swu::sign::{self, Purpose, Trust};
use norrec_uboot::env::{Layout, parse_mkenvimage_text};

use crate::ui::Ui;

/// Install a SWUpdate bundle into disk images or devices (what `swupdate -i` does on the board).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle (.swu); `-` reads it from stdin (sizes are then checked while streaming).
    bundle: PathBuf,
    /// NAME=FILE: the file (image or block device) standing for a device name of
    /// sw-description. A disk image's MBR partitions come with it: /dev/mmcblk0=sd.img also maps
    /// /dev/mmcblk0p1… to partition windows of sd.img. Repeat for more devices.
    #[arg(
        short = 'd',
        long = "device",
        value_name = "NAME=FILE",
        required = true
    )]
    devices: Vec<String>,
    /// Trusted signer certificate(s), PEM, for CMS signatures (like swupdate -k).
    #[arg(short = 'k', long = "cert", value_name = "PEM")]
    cert: Vec<PathBuf>,
    /// RSA public key (PEM) for plain RSA signatures.
    #[arg(long, conflicts_with = "cert")]
    public_key: Option<PathBuf>,
    /// The RSA signature is RSA-PSS.
    #[arg(long, requires = "public_key")]
    pss: bool,
    /// Install a bundle without checking its signature (no -k).
    #[arg(long, conflicts_with_all = ["cert", "public_key"])]
    no_verify_signature: bool,
    /// Software set and mode, like swupdate -e.
    #[arg(short = 'e', long = "select", value_name = "SET,MODE")]
    select: Option<String>,
    /// Board and hardware revision checked against hardware-compatibility, like swupdate -H
    /// [default: the board manifest's hardware:revision].
    #[arg(short = 'H', long, value_name = "BOARD:REV")]
    hardware: Option<String>,
    /// Write the bootenv variables into this environment image file instead of the board's
    /// uboot.env in its boot partition (created if missing).
    #[arg(long, value_name = "FILE")]
    env: Option<PathBuf>,
    /// The environment to start from when the target has no valid one, as `name=value` lines
    /// (like /etc/u-boot-initial-env). U-Boot replaces its whole default environment with a
    /// loaded one, so give the board's default here.
    #[arg(long, value_name = "FILE")]
    env_default: Option<PathBuf>,
    /// Artifacts stored in at most this many bytes are verified before they are written;
    /// larger ones stream and are checked at their end.
    #[arg(long, value_name = "SIZE", default_value = "8M", value_parser = crate::num::parse_size)]
    verify_first: u64,
}

pub fn run(a: Args, ui: &Ui) -> anyhow::Result<()> {
    let board = ui.board()?;
    let bundle_name = a.bundle.display().to_string();
    let trust = trust(&a)?;
    let mut selection = Selection::default();
    let hw = a
        .hardware
        .clone()
        .unwrap_or_else(|| format!("{}:{}", board.board.hardware, board.board.revision));
    selection = selection.with_hardware(&hw)?;
    if let Some(e) = &a.select {
        selection = selection.with_set_mode(e)?;
    }
    let mut map = DeviceMap::new();
    for d in &a.devices {
        map.add_spec(d)?;
    }
    let size = board.uboot.env_size.0 as usize;
    let layout = Layout {
        size,
        redundant: board.uboot.env_redundant,
        big_endian: false,
    };
    let env = Some(match &a.env {
        Some(p) => EnvTarget::File {
            path: p.clone(),
            layout,
        },
        None => EnvTarget::Fat {
            device: norrec_board::Board::partition_device(
                &board.storage.emmc,
                board.storage.boot_partition,
            ),
            path: format!("/{}", board.uboot.env_file),
            layout,
        },
    });
    let env_default = match &a.env_default {
        Some(p) => {
            let text = std::fs::read(p).with_context(|| format!("{}", p.display()))?;
            Some(parse_mkenvimage_text(&text).with_context(|| format!("{}", p.display()))?)
        }
        None => None,
    };
    let opts = Options {
        trust,
        selection,
        env,
        env_default,
        verify_first: a.verify_first,
    };
    let report = if a.bundle.as_os_str() == "-" {
        let bar = ui.progress(0, "install");
        let r = norrec_install::install(bar.wrap_read(std::io::stdin().lock()), None, &map, &opts);
        bar.finish_and_clear();
        r
    } else {
        let f = File::open(&a.bundle).with_context(|| format!("cannot open {bundle_name}"))?;
        let toc = Toc::read(&f).with_context(|| bundle_name.clone())?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let bar = ui.progress(len, "install");
        let input = bar.wrap_read(
            File::open(&a.bundle).with_context(|| format!("cannot open {bundle_name}"))?,
        );
        let r = norrec_install::install(input, Some((&toc, &f)), &map, &opts);
        bar.finish_and_clear();
        r
    }
    .with_context(|| bundle_name.clone())?;
    if let Some(env) = &report.env {
        if env.base == "empty" {
            ui.warn(format!(
                "{}: no valid environment was there and no --env-default: it holds only the bundle's variables, and U-Boot will load nothing else",
                env.written_to
            ));
        }
    }
    ui.report(&report, || {
        for s in &report.steps {
            let place = if s.handler == "raw" {
                format!("@ {}", s.place)
            } else {
                format!("vfat {}", s.place)
            };
            println!(
                "{} → {} {place} [{}] {} bytes ({} stored), sha256 {}",
                s.file,
                s.device,
                s.handler,
                s.written,
                s.stored,
                if s.verified_before_write {
                    "checked before writing"
                } else {
                    "checked while streaming"
                }
            );
        }
        if let Some(env) = &report.env {
            let vars: Vec<String> = env.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "bootenv → {} (from {} environment): {}",
                env.written_to,
                env.base,
                vars.join(" ")
            );
        }
        println!(
            "installed {}{}",
            bundle_name,
            report
                .version
                .as_deref()
                .map(|v| format!(" version {v}"))
                .unwrap_or_default()
        );
    })
}

fn trust(a: &Args) -> anyhow::Result<Option<Trust>> {
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
    };
    if let Some(p) = &a.public_key {
        let key = sign::rsa::public_key_from_pem(&read(p)?)
            .with_context(|| format!("{}", p.display()))?;
        return Ok(Some(Trust::PublicKey { key, pss: a.pss }));
    }
    let mut anchors = Vec::new();
    for p in &a.cert {
        anchors.extend(
            sign::cert::certificates_from_pem(&read(p)?)
                .with_context(|| format!("{}", p.display()))?,
        );
    }
    if anchors.is_empty() {
        if a.no_verify_signature {
            return Ok(None);
        }
        bail!(
            "no -k CERT or --public-key to check the signature with (--no-verify-signature to skip)"
        );
    }
    Ok(Some(Trust::Certificates {
        anchors,
        purpose: Purpose::EmailProtection,
    }))
}
