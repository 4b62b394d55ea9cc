//! sfdisk scripts: [`parse`] reads the dialect, [`layout`] places the partitions as sfdisk
//! would on a disk of a given size, [`dump`] prints a table back in `sfdisk -d` form, and
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
use crate::error::Result;
use crate::mbr::{self, DosTable};

/// Partitions `dev` from script text: parse, lay out, then write sector 0. Returns the table.
/// On any error nothing has been written.
pub fn apply(dev: &mut impl BlockDevice, script_text: &str) -> Result<DosTable> {
    let script = parse(script_text)?;
    let table = layout(&script, dev.len())?;
    mbr::write_table(dev, &table)?;
    Ok(table)
}
