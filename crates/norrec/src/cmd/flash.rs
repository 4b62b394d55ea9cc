//! `norrec flash` (being written).

use crate::ui::Ui;

/// SPI NOR flash images.
#[derive(Debug, clap::Subcommand)]
pub enum FlashCmd {
    /// List the chip table.
    Chips,
}

pub fn run(_cmd: FlashCmd, _ui: &Ui) -> anyhow::Result<()> {
    anyhow::bail!("flash: being written")
}
