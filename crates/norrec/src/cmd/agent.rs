//! `norrec agent`: the recovery agent. On the board it runs by itself as PID 1 (`/init` of the
//! initramfs, see `main.rs`); these subcommands run its parts by hand.

use std::path::PathBuf;

use anyhow::Context;
use norrec_agent::agent;
use norrec_agent::modinfo;
use norrec_agent::platform::Linux;
use serde::Serialize;

use crate::ui::Ui;

/// The recovery agent.
#[derive(Debug, clap::Subcommand)]
pub enum AgentCmd {
    /// What PID 1 does (mount proc/sys/dev, load modules, wait for the devices, probe, reboot).
    /// Refuses unless this process is PID 1: it reboots the machine.
    #[command(
        after_help = "Example (the kernel runs it as /init; by hand only in a PID namespace):\n  norrec agent pid1"
    )]
    Pid1,
    /// Probe a running Linux: block devices and partitions, the USB stick's files (mounted
    /// read-only at /mnt/usb), the marker. Needs root; does not reboot.
    #[command(after_help = "Example (on the board, from a shell):\n  norrec agent probe")]
    Probe,
    /// Print the order the agent loads the board's modules in (from each .ko's `depends=`).
    #[command(
        after_help = "Example:\n  norrec agent modules --modules-from ~/.cache/norrec/board/kernel/lib/modules/6.1.0-50-armmp"
    )]
    Modules {
        /// The kernel's `lib/modules/<version>` (or a tree holding one).
        #[arg(long)]
        modules_from: PathBuf,
    },
}

#[derive(Debug, Serialize)]
struct ModuleJson {
    name: String,
    entry: String,
    depends: Vec<String>,
}

/// PID 1: never returns.
pub fn pid1() -> ! {
    agent::pid1(&mut Linux)
}

pub fn run(cmd: AgentCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        AgentCmd::Pid1 => {
            if std::process::id() != 1 {
                anyhow::bail!(
                    "not PID 1 (this is PID {}): the agent would reboot this machine",
                    std::process::id()
                );
            }
            pid1()
        }
        AgentCmd::Probe => {
            let board = ui.board()?;
            agent::probe(&mut Linux, &board)?;
            Ok(())
        }
        AgentCmd::Modules { modules_from } => {
            let board = ui.board()?;
            let dir = super::initramfs::resolve_modules_dir(&modules_from)?;
            let modules = modinfo::find_all(&dir, &board.recovery.modules)
                .with_context(|| dir.display().to_string())?;
            let order = modinfo::load_order(&modules)?;
            let json: Vec<ModuleJson> = order
                .iter()
                .map(|m| ModuleJson {
                    name: m.info.name.clone(),
                    entry: m.entry.clone(),
                    depends: m.info.depends.clone(),
                })
                .collect();
            ui.report(&json, || {
                for m in &json {
                    if m.depends.is_empty() {
                        println!("{}", m.name);
                    } else {
                        println!("{} (after {})", m.name, m.depends.join(", "));
                    }
                }
            })
        }
    }
}
