//! sfdisk scripts: [`parse`](fn@parse) reads the dialect, [`layout`](fn@layout) places the partitions as sfdisk
//! would on a disk of a given size, [`dump`](fn@dump) prints a table back in `sfdisk -d` form, and
//! [`apply`] does all of it to a device (checking everything before the first byte is written).

pub mod dump;
pub mod layout;
pub mod parse;
pub mod size;
pub mod types;

pub use dump::dump;
pub use layout::layout;
pub use parse::{Script, parse};

use crate::block::BlockDevice;
use crate::error::{DiskError, Result};
use crate::mbr::{self, DosTable};

/// Partitions `dev` from script text: parse, lay out, check, then write sector 0. Returns the
/// table. On any error nothing has been written.
pub fn apply(dev: &mut impl BlockDevice, script_text: &str) -> Result<DosTable> {
    let script = parse(script_text)?;
    let table = layout(&script, dev.len())?;
    check_label(&script, dev)?;
    mbr::write_table(dev, &table)?;
    Ok(table)
}

/// Refuses a script without `label:` on a disk that holds a GPT: sfdisk would write a new GPT
/// there (it keeps the disk's kind of table), which norrec does not do.
pub fn check_label(script: &Script, dev: &mut impl BlockDevice) -> Result<()> {
    if !script.label_given && !mbr::gpt_signatures(dev)?.is_empty() {
        return Err(DiskError::Mbr(
            "the disk holds a GPT and the script has no 'label:' line, so sfdisk would write a \
             new GPT; add 'label: dos' to replace it with an MBR"
                .into(),
        ));
    }
    Ok(())
}
