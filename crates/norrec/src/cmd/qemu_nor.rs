//! `norrec qemu nor`: the board with its SPI NOR (the seed's path): the board's QEMU and U-Boot
//! from `scripts/board-firmware`, flash.bin behind `-drive if=mtd`, SD and USB as the seed has
//! them. Stops autoboot, types commands, follows the console (see `norrec_qemu::nor`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use norrec_qemu::nor::{NorFirmware, NorMachine, UbootSession};
use norrec_qemu::{ConsoleMode, Machine};
use serde::Serialize;

use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct NorArgs {
    /// The flash image (raw, the chip's size; `norrec flash create`).
    #[arg(long)]
    flash: PathBuf,
    /// The SD card image (raw).
    #[arg(long)]
    sd: Option<PathBuf>,
    /// The USB stick image (raw).
    #[arg(long)]
    usb: Option<PathBuf>,
    /// A command to type at U-Boot's prompt (repeatable, in order).
    #[arg(long = "type", value_name = "COMMAND")]
    commands: Vec<String>,
    /// A file of commands (e.g. `norrec bootcmd nor` output) typed line by line after --type.
    #[arg(long)]
    script: Option<PathBuf>,
    /// Do not stop autoboot: let the environment's bootcmd run (nothing is typed).
    #[arg(long, conflicts_with_all = ["commands", "script"], requires = "marker")]
    unattended: bool,
    /// Text that ends the run successfully; then QEMU must exit by itself (reboot under
    /// -no-reboot). Without it, `reset` is typed after the commands.
    #[arg(long)]
    marker: Option<String>,
    /// Seconds from start to the first prompt, and from the commands to the marker.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// The console log (timestamped).
    #[arg(long, default_value = "console.log")]
    log: PathBuf,
    /// Copy the console to stderr as it comes.
    #[arg(long)]
    echo: bool,
    /// Hand the console to this terminal instead (Ctrl-A X quits).
    #[arg(long, conflicts_with_all = ["commands", "script", "marker"])]
    interactive: bool,
    /// Print the QEMU command line instead of running it.
    #[arg(long)]
    print: bool,
}

#[derive(Debug, Serialize)]
struct NorJson {
    prompt_seconds: Option<f64>,
    marker_seconds: Option<f64>,
    exit_seconds: f64,
    outputs: Vec<(String, String)>,
    log: String,
}

pub const AFTER_HELP: &str = "Examples:\n  norrec qemu nor --flash flash.bin --type 'sf probe' --type 'sf read 40000000 0 40' --type 'md 40000000 4'\n  norrec bootcmd nor > nor.cmd\n  norrec qemu nor --flash flash.bin --sd sd.img --usb usb.img --type 'setenv bootargs console=ttyS0,115200' \\\n      --script nor.cmd --marker NORREC-AGENT-PROBE-OK --log nor.log\n  norrec qemu nor --flash flash.bin --sd sd.img --usb usb.img --interactive";

pub fn run(a: NorArgs, ui: &Ui) -> anyhow::Result<()> {
    let board = ui.board()?;
    let fw = NorFirmware::locate().map_err(anyhow::Error::msg)?;
    for p in [
        Some(&a.flash),
        a.sd.as_ref(),
        a.usb.as_ref(),
        a.script.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        anyhow::ensure!(p.is_file(), "{}: no such file", p.display());
    }
    let mut m = Machine::from_board(&board);
    m.sd = a.sd.clone();
    m.usb = a.usb.clone();
    if a.interactive {
        m.console = ConsoleMode::Terminal;
    }
    let nm = NorMachine::new(m, &fw, &a.flash);
    if a.print {
        println!("{}", nm.shell_line());
        return Ok(());
    }
    if a.interactive {
        ui.note(format!("{}\n(Ctrl-A X quits)", nm.shell_line()));
        let status = std::process::Command::new(&fw.qemu)
            .args(nm.args())
            .status()
            .with_context(|| format!("cannot start {}", fw.qemu.display()))?;
        anyhow::ensure!(status.success(), "QEMU exited with {status}");
        return Ok(());
    }
    let mut lines = a.commands.clone();
    if let Some(s) = &a.script {
        let text = std::fs::read_to_string(s).with_context(|| format!("{}", s.display()))?;
        lines.extend(text.lines().map(str::to_owned));
    }
    let timeout = Duration::from_secs(a.timeout);
    let mut outputs = Vec::new();
    let (mut console, prompt_seconds) = if a.unattended {
        let mut c = nm.start(&a.log, a.echo)?;
        c.expect("Hit any key to stop autoboot", timeout)?;
        (c, None)
    } else {
        let mut s = UbootSession::start(&nm, &a.log, timeout, a.echo)?;
        if a.marker.is_some() {
            // a boot sequence: typed as a whole (hush continues if/fi), followed to the marker
            s.type_script(&lines.join("\n"))?;
        } else {
            for l in &lines {
                let out = s.run(l, timeout)?;
                outputs.push((l.clone(), out));
            }
            s.reset_and_exit(Duration::from_secs(30))?;
        }
        let p = s.prompt_seconds;
        (s.console, Some(p))
    };
    let mut marker_seconds = None;
    if let Some(marker) = &a.marker {
        marker_seconds = Some(console.expect(marker, timeout)?.as_secs_f64());
        let status = console.wait_exit(Duration::from_secs(60), &format!("{marker:?}"))?;
        anyhow::ensure!(
            status.success(),
            "QEMU exited with {status}; console log: {}",
            a.log.display()
        );
    }
    let json = NorJson {
        prompt_seconds,
        marker_seconds,
        exit_seconds: console.elapsed().as_secs_f64(),
        outputs,
        log: a.log.display().to_string(),
    };
    ui.report(&json, || {
        for (cmd, out) in &json.outputs {
            println!("=> {cmd}");
            print!("{out}");
        }
        if let Some(p) = json.prompt_seconds {
            println!("U-Boot prompt after {p:.1} s");
        }
        if let Some(m) = json.marker_seconds {
            println!("marker after {m:.1} s");
        }
        println!(
            "QEMU exited 0 after {:.1} s; console log: {}",
            json.exit_seconds, json.log
        );
    })
}
