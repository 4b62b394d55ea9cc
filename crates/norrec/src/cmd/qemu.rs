//! `norrec qemu`: the board in real QEMU (`qemu-system-arm -M cubieboard`), with the command line
//! built from the board manifest. `run` hands the console to a person; `boot` drives it to a
//! marker and reports the timings.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use norrec_qemu::{ConsoleMode, Machine};
use serde::Serialize;

use crate::ui::Ui;

/// Real QEMU runs of the board.
#[derive(Debug, clap::Subcommand)]
pub enum QemuCmd {
    /// Start the board with the console on this terminal (Ctrl-A X quits QEMU).
    ///
    /// Without --kernel the boot ROM path runs: SPL at 8 KiB of --sd → U-Boot → boot.scr.
    #[command(
        after_help = "Examples:\n  norrec qemu run --sd sd.img --usb usb.img\n  norrec qemu run --kernel vmlinuz --dtb sun4i-a10-cubieboard.dtb --initrd initrd.cpio.gz --sd sd.img --usb usb.img\n  norrec qemu run --sd sd.img --print"
    )]
    Run(RunArgs),
    /// Boot, wait for a marker on the console, require QEMU to end by itself (reboot under
    /// -no-reboot) with status 0, and report the seconds to the marker. The whole console goes
    /// to --log with timestamps.
    #[command(
        after_help = "Example:\n  norrec qemu boot --kernel vmlinuz --dtb sun4i-a10-cubieboard.dtb --initrd initrd.cpio.gz \\\n      --sd sd.img --usb usb.img --marker NORREC-AGENT-PROBE-OK --log console.log"
    )]
    Boot(BootArgs),
    /// The seed's NOR path: the board's QEMU and U-Boot (scripts/board-firmware) with flash.bin
    /// as the SPI NOR (-drive if=mtd); stops autoboot, types commands, follows the console.
    #[command(after_help = crate::cmd::qemu_nor::AFTER_HELP)]
    Nor(crate::cmd::qemu_nor::NorArgs),
}

#[derive(Debug, clap::Args)]
pub struct MachineArgs {
    /// The SD card image (raw).
    #[arg(long)]
    sd: Option<PathBuf>,
    /// The USB stick image (raw).
    #[arg(long)]
    usb: Option<PathBuf>,
    /// Boot this kernel directly (zImage) instead of the SD's SPL.
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// The device tree for --kernel.
    #[arg(long, requires = "kernel")]
    dtb: Option<PathBuf>,
    /// The initramfs for --kernel.
    #[arg(long, requires = "kernel")]
    initrd: Option<PathBuf>,
    /// The kernel command line (default: the manifest's console, e.g. console=ttyS0,115200).
    #[arg(long, requires = "kernel")]
    append: Option<String>,
    /// Let a reboot restart the machine instead of ending QEMU.
    #[arg(long)]
    allow_reboot: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    machine: MachineArgs,
    /// Print the QEMU command line instead of running it.
    #[arg(long)]
    print: bool,
}

#[derive(Debug, clap::Args)]
pub struct BootArgs {
    #[command(flatten)]
    machine: MachineArgs,
    /// The text that ends the boot successfully.
    #[arg(long, default_value = norrec_agent::PROBE_MARKER)]
    marker: String,
    /// Texts expected before the marker, in order (repeatable).
    #[arg(long = "expect")]
    expect: Vec<String>,
    /// Seconds from start to the marker.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// The console log (timestamped).
    #[arg(long, default_value = "console.log")]
    log: PathBuf,
    /// Copy the console to stderr as it comes.
    #[arg(long)]
    echo: bool,
}

#[derive(Debug, Serialize)]
struct BootJson {
    marker_seconds: f64,
    exit_seconds: f64,
    milestones: Vec<(String, f64)>,
    log: String,
}

fn machine(a: &MachineArgs, ui: &Ui, console: ConsoleMode) -> anyhow::Result<Machine> {
    let board = ui.board()?;
    let mut m = Machine::from_board(&board);
    for p in [&a.sd, &a.usb, &a.kernel, &a.dtb, &a.initrd]
        .into_iter()
        .flatten()
    {
        anyhow::ensure!(p.is_file(), "{}: no such file", p.display());
    }
    m.sd = a.sd.clone();
    m.usb = a.usb.clone();
    m.kernel = a.kernel.clone();
    m.dtb = a.dtb.clone();
    m.initrd = a.initrd.clone();
    m.append = Some(
        a.append
            .clone()
            .unwrap_or_else(|| Machine::console_append(&board)),
    );
    m.no_reboot = !a.allow_reboot;
    m.console = console;
    Ok(m)
}

pub fn run(cmd: QemuCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        QemuCmd::Run(a) => {
            let m = machine(&a.machine, ui, ConsoleMode::Terminal)?;
            if a.print {
                println!("{}", m.shell_line());
                return Ok(());
            }
            ui.note(format!("{}\n(Ctrl-A X quits)", m.shell_line()));
            let status = std::process::Command::new(&m.binary)
                .args(m.args())
                .status()
                .with_context(|| format!("cannot start {}", m.binary.display()))?;
            anyhow::ensure!(status.success(), "QEMU exited with {status}");
            Ok(())
        }
        QemuCmd::Nor(a) => crate::cmd::qemu_nor::run(a, ui),
        QemuCmd::Boot(a) => {
            let m = machine(&a.machine, ui, ConsoleMode::Pipe)?;
            let expect: Vec<&str> = a.expect.iter().map(String::as_str).collect();
            let report = norrec_qemu::boot_to_marker(
                &m,
                &a.log,
                &expect,
                &a.marker,
                Duration::from_secs(a.timeout),
                Duration::from_secs(60),
                a.echo,
            )?;
            let json = BootJson {
                marker_seconds: report.marker_seconds,
                exit_seconds: report.exit_seconds,
                milestones: report.milestones.clone(),
                log: report.log.display().to_string(),
            };
            ui.report(&json, || {
                for (m, s) in &json.milestones {
                    println!("{s:8.3} s  {m}");
                }
                println!(
                    "marker after {:.1} s, QEMU exited 0 after {:.1} s; console log: {}",
                    json.marker_seconds, json.exit_seconds, json.log
                );
            })
        }
    }
}
