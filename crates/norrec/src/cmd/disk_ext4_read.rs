//! `norrec disk ls` and `norrec disk cp IMG:N:/path DEST` on ext4 partitions (placeholder while
//! the ext4 reader lands this session).

use std::path::Path;

use anyhow::bail;
use norrec_disk::{BlockDevice, Window};

use super::disk_fat::Target;
use crate::ui::Ui;

pub fn ls(_win: Window<&mut dyn BlockDevice>, t: &Target, _ui: &Ui) -> anyhow::Result<()> {
    bail!(
        "{}:{}: reading ext4 is not implemented yet",
        t.image.display(),
        t.part
    )
}

pub fn cp_out(
    _win: Window<&mut dyn BlockDevice>,
    t: &Target,
    _dst: &Path,
    _ui: &Ui,
) -> anyhow::Result<()> {
    bail!(
        "{}:{}: reading ext4 is not implemented yet",
        t.image.display(),
        t.part
    )
}
