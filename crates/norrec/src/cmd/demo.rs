//! `norrec demo`: the whole chain that exists, on the built-in example (being written).

use crate::ui::Ui;

/// Arguments of `norrec demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep the outputs in this folder instead of a temporary one.
    #[arg(long)]
    pub keep: Option<std::path::PathBuf>,
}

pub fn run(_args: Args, _ui: &Ui) -> anyhow::Result<()> {
    anyhow::bail!("demo: being written")
}
