//! `norrec disk write`: raw bytes at an offset of an image or device, the seed's
//! `dd if=u-boot-sunxi-with-spl.bin of=/dev/mmcblk0 bs=1024 seek=8 conv=notrunc` and
//! `dd if=rootfs.ext4 of=/dev/mmcblk0p2`, with the checks dd leaves out: the range must lie
//! inside the disk (or the partition, for `IMG:N`), outside sector 0's partition table and outside
//! every partition (unless --force), and with --spl the bytes must be a valid sunxi SPL. The file
//! is streamed in 1 MiB chunks (bounded memory), all-zero chunks become holes (image files) or
//! zero-outs (devices), and everything is read back and compared with the file at the end.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use norrec_disk::BlockDevice;
use serde::Serialize;

use super::disk_fat::{Dev, parse_target, window};
use crate::num::parse_size;
use crate::ui::Ui;

/// Bytes moved per read/write.
const CHUNK: usize = 1 << 20;

/// Arguments of `norrec disk write`.
#[derive(Debug, clap::Args)]
pub struct WriteArgs {
    /// The disk image (or block device) to write into, or IMG:N for partition N of it.
    pub image: String,
    /// The file to write.
    pub file: PathBuf,
    /// Where, e.g. 8K or 0x2000, from the start of the disk (or of partition N); default 0, or
    /// the board's SPL offset with --spl.
    #[arg(long, value_parser = parse_size)]
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
    partition: Option<usize>,
    file: PathBuf,
    offset: u64,
    length: u64,
    spl: bool,
}

pub fn write(a: WriteArgs, ui: &Ui) -> anyhow::Result<()> {
    let file = &a.file;
    let part = parse_target(&a.image).filter(|t| t.part > 0 && !t.has_path);
    let (img, name) = match &part {
        Some(t) => (t.image.clone(), format!("{}:{}", t.image.display(), t.part)),
        None => (PathBuf::from(&a.image), a.image.clone()),
    };
    if part.is_some() && a.spl {
        bail!("{name}: --spl writes to the disk's SPL offset, not into a partition; give IMG");
    }
    let length = std::fs::metadata(file)
        .with_context(|| format!("{}: cannot read", file.display()))?
        .len();
    let offset = match (a.offset, a.spl) {
        (Some(o), _) => o,
        (None, true) => ui.board()?.uboot.spl_offset.0,
        (None, false) if part.is_some() => 0,
        (None, false) => bail!("{name}: give --offset (or --spl, or IMG:N for a partition)"),
    };
    if a.spl {
        let data =
            std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
        norrec_uboot::spl::check(&data)
            .with_context(|| format!("{}: not a bootable sunxi SPL", file.display()))?;
    }
    let mut dev = Dev::open(&img, true)?;
    match &part {
        Some(t) => {
            let (mut win, _) = window(dev.dev(), t)?;
            check_fits(&name, file, offset, length, win.len(), "partition")?;
            copy_verified(&mut win, &name, file, offset, length, ui)?;
        }
        None => {
            let dev = dev.dev();
            check_fits(&name, file, offset, length, dev.len(), "disk")?;
            if !a.force {
                outside_table(dev, &name, offset, offset + length)?;
            }
            copy_verified(dev, &name, file, offset, length, ui)?;
        }
    }
    let report = WriteJson {
        image: img,
        partition: part.as_ref().map(|t| t.part),
        file: file.clone(),
        offset,
        length,
        spl: a.spl,
    };
    ui.report(&report, || {
        println!(
            "{name}: wrote {} ({length} bytes) at {offset:#x}, read back OK",
            file.display(),
        );
    })
}

fn check_fits(
    name: &str,
    file: &std::path::Path,
    offset: u64,
    length: u64,
    room: u64,
    what: &str,
) -> anyhow::Result<()> {
    if offset.checked_add(length).is_none_or(|end| end > room) {
        bail!(
            "{name}: {} ({length:#x} bytes at {offset:#x}) runs past the end of the {room:#x}-byte {what}",
            file.display(),
        );
    }
    Ok(())
}

/// Refuses a range that touches sector 0 or any partition of the MBR table.
fn outside_table(
    dev: &mut dyn BlockDevice,
    name: &str,
    offset: u64,
    end: u64,
) -> anyhow::Result<()> {
    if offset < 512 {
        bail!(
            "{name}: offset {offset:#x} would overwrite sector 0 (the partition table); use --force"
        );
    }
    let mut sector0 = [0u8; 512];
    dev.read_at(0, &mut sector0)
        .with_context(|| format!("{name}: cannot read sector 0"))?;
    if let Ok(table) = norrec_disk::mbr::read::Mbr::parse(&sector0).and_then(|m| m.table()) {
        for (n, p) in table.partitions() {
            let (ps, pe) = (p.start * 512, (p.start + p.size) * 512);
            if offset < pe && ps < end {
                bail!(
                    "{name}: {offset:#x}..{end:#x} overlaps partition {n} ({ps:#x}..{pe:#x}); use --force or write into IMG:{n}"
                );
            }
        }
    }
    Ok(())
}

/// Streams `file` to `offset` in chunks (zero chunks as holes/zero-outs), flushes, then reads
/// both back chunk by chunk and compares.
fn copy_verified(
    dev: &mut dyn BlockDevice,
    name: &str,
    file: &std::path::Path,
    offset: u64,
    length: u64,
    ui: &Ui,
) -> anyhow::Result<()> {
    let open = || File::open(file).with_context(|| format!("{}: cannot read", file.display()));
    let mut src = open()?;
    let mut buf = vec![0u8; CHUNK];
    let bar = ui.progress(length, "writing");
    let mut done = 0u64;
    while done < length {
        let n = (length - done).min(CHUNK as u64) as usize;
        src.read_exact(&mut buf[..n])
            .with_context(|| format!("{}: read at {done:#x}", file.display()))?;
        let at = offset + done;
        let r = if buf[..n].iter().all(|&b| b == 0) {
            dev.zero_range(at, n as u64)
        } else {
            dev.write_at(at, &buf[..n])
        };
        r.with_context(|| format!("{name}: write at {at:#x} failed"))?;
        done += n as u64;
        bar.set_position(done);
    }
    bar.finish_and_clear();
    dev.flush()
        .with_context(|| format!("{name}: flush failed"))?;
    let mut src = open()?;
    let mut back = vec![0u8; CHUNK];
    let mut done = 0u64;
    while done < length {
        let n = (length - done).min(CHUNK as u64) as usize;
        src.read_exact(&mut buf[..n])
            .with_context(|| format!("{}: read at {done:#x}", file.display()))?;
        let at = offset + done;
        dev.read_at(at, &mut back[..n])
            .with_context(|| format!("{name}: read back at {at:#x} failed"))?;
        if back[..n] != buf[..n] {
            bail!(
                "{name}: read back at {at:#x} differs from {}",
                file.display()
            );
        }
        done += n as u64;
    }
    Ok(())
}
