//! `norrec disk write`: raw bytes at an offset of an image or device, the seed's
//! `dd if=u-boot-sunxi-with-spl.bin of=/dev/mmcblk0 bs=1024 seek=8 conv=notrunc`, with the checks
//! dd leaves out: the range must lie inside the disk, outside sector 0's partition table and
//! outside every partition (unless --force), and with --spl the bytes must be a valid sunxi SPL.

use std::path::PathBuf;

use anyhow::{Context, bail};
use norrec_disk::BlockDevice;
use serde::Serialize;

use crate::num::parse_size;
use crate::ui::Ui;

/// Arguments of `norrec disk write`.
#[derive(Debug, clap::Args)]
pub struct WriteArgs {
    /// The disk image (or block device) to write into.
    pub image: PathBuf,
    /// The file to write.
    pub file: PathBuf,
    /// Where, e.g. 8K or 0x2000 (default with --spl: the board's SPL offset).
    #[arg(long, value_parser = parse_size, required_unless_present = "spl")]
    pub offset: Option<u64>,
    /// Check the bytes are a sunxi SPL (eGON.BT0 header and checksum) before writing.
    #[arg(long)]
    pub spl: bool,
    /// Write even where a partition (or the partition table) is.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Serialize)]
struct WriteJson {
    image: PathBuf,
    file: PathBuf,
    offset: u64,
    length: u64,
    spl: bool,
}

pub fn write(a: WriteArgs, ui: &Ui) -> anyhow::Result<()> {
    let file = &a.file;
    let data = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    let offset = match a.offset {
        Some(o) => o,
        None => ui.board()?.uboot.spl_offset.0,
    };
    if a.spl {
        norrec_uboot::spl::check(&data)
            .with_context(|| format!("{}: not a bootable sunxi SPL", file.display()))?;
    }
    let img = &a.image;
    let mut dev = norrec_disk::ImageFile::open(img)
        .with_context(|| format!("{}: cannot open", img.display()))?;
    let end = offset + data.len() as u64;
    if end > dev.len() {
        bail!(
            "{}: {} ({:#x} bytes at {offset:#x}) runs past the end of the {:#x}-byte disk",
            img.display(),
            file.display(),
            data.len(),
            dev.len()
        );
    }
    if !a.force {
        let mut sector0 = [0u8; 512];
        dev.read_at(0, &mut sector0)
            .with_context(|| format!("{}: cannot read sector 0", img.display()))?;
        if offset < 512 {
            bail!(
                "{}: offset {offset:#x} would overwrite sector 0 (the partition table); use --force",
                img.display()
            );
        }
        if let Ok(table) = norrec_disk::mbr::read::Mbr::parse(&sector0).and_then(|m| m.table()) {
            for (n, p) in table.partitions() {
                let (ps, pe) = (p.start * 512, (p.start + p.size) * 512);
                if offset < pe && ps < end {
                    bail!(
                        "{}: {offset:#x}..{end:#x} overlaps partition {n} ({ps:#x}..{pe:#x}); use --force",
                        img.display()
                    );
                }
            }
        }
    }
    dev.write_at(offset, &data)
        .and_then(|()| dev.flush())
        .with_context(|| format!("{}: write at {offset:#x} failed", img.display()))?;
    let mut back = vec![0u8; data.len()];
    dev.read_at(offset, &mut back)
        .with_context(|| format!("{}: read back failed", img.display()))?;
    if back != data {
        bail!(
            "{}: read back at {offset:#x} differs from {}",
            img.display(),
            file.display()
        );
    }
    let report = WriteJson {
        image: img.clone(),
        file: file.clone(),
        offset,
        length: data.len() as u64,
        spl: a.spl,
    };
    ui.report(&report, || {
        println!(
            "{}: wrote {} ({} bytes) at {offset:#x}, read back OK",
            img.display(),
            file.display(),
            data.len()
        );
    })
}
