//! `norrec disk format IMG:N ext4` and `norrec disk mkfs-from-dir`: ext4 file systems written
//! by norrec (placeholder while the ext4 writer lands this session).

use std::path::PathBuf;

use anyhow::bail;

use super::disk_fat::FormatArgs;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct MkfsArgs {
    /// The directory whose tree becomes the file system's root.
    dir: PathBuf,
    /// The image file to write.
    #[arg(short = 'o', long)]
    output: PathBuf,
}

pub fn format(a: FormatArgs, _ui: &Ui) -> anyhow::Result<()> {
    bail!(
        "{}:{}: ext4 formatting is not implemented yet",
        a.target.image.display(),
        a.target.part
    )
}

pub fn mkfs_from_dir(a: MkfsArgs, _ui: &Ui) -> anyhow::Result<()> {
    bail!(
        "{}: mkfs-from-dir is not implemented yet",
        a.output.display()
    )
}
