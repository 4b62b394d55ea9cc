//! `norrec usb`: the recovery USB stick image. Replaces the seed's
//! `dd if=/dev/zero of=usb.img bs=1M count=1024` + `sfdisk usb.img <<< ',,c'` + `kpartx -av` +
//! `mkfs.vfat /dev/mapper/loop0p1` + `mount` + `cp update.swu` + `umount` + `kpartx -d`:
//! one command, rootless, and the image stays sparse (only the FAT metadata and the files take
//! space on the host).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use norrec_disk::fat::{self, DosDateTime, Identity};
use norrec_disk::{ImageFile, Window, mbr, script};
use serde::Serialize;

use super::disk_fat::{Unsynced, fat_choice};
use crate::num::parse_size;
use crate::ui::Ui;

/// USB stick images for the recovery.
#[derive(Debug, clap::Subcommand)]
pub enum UsbCmd {
    /// Create a sparse USB stick image: an MBR with one FAT partition from 1 MiB to the end
    /// (type c, as `sfdisk` makes from `,,c`), formatted as `mkfs.vfat` would, with files in it.
    ///
    /// Everything is checked (sizes, files, free space) before the image is written; it
    /// appears whole under its name or not at all.
    #[command(
        after_help = "Examples:\n  norrec usb create usb.img --size 1G --add update.swu\n  norrec usb create usb.img --size 256M --add update.swu --add extra/ --label RECOVERY\n  norrec disk ls usb.img:1:/"
    )]
    Create(CreateArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The image file to create (replaced if it exists).
    image: PathBuf,
    /// Image size (e.g. 1G, 512M).
    #[arg(long, value_parser = parse_size)]
    size: u64,
    /// A file or directory to put in the FAT's root directory (repeatable).
    #[arg(long = "add", value_name = "PATH")]
    add: Vec<PathBuf>,
    /// Volume label.
    #[arg(short = 'L', long)]
    label: Option<String>,
    /// Force the FAT type (12, 16 or 32).
    #[arg(short = 'F', long = "fat", value_parser = ["12", "16", "32"])]
    fat: Option<String>,
    /// Volume id in hex (default: from the clock, or SOURCE_DATE_EPOCH).
    #[arg(long, value_parser = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|e| e.to_string()))]
    volume_id: Option<u32>,
}

#[derive(Debug, Serialize)]
struct Report {
    image: PathBuf,
    size: u64,
    partition_start: u64,
    partition_sectors: u64,
    fat_type: String,
    cluster_size: u32,
    files: Vec<PathBuf>,
    bytes: u64,
}

pub fn run(cmd: UsbCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        UsbCmd::Create(a) => create(a, ui),
    }
}

fn create(a: CreateArgs, ui: &Ui) -> anyhow::Result<()> {
    let what = || a.image.display().to_string();
    if a.size == 0 || a.size % 512 != 0 {
        bail!(
            "--size {}: a disk image is a whole number of 512-byte sectors",
            a.size
        );
    }
    for f in &a.add {
        std::fs::metadata(f).with_context(|| f.display().to_string())?;
    }
    // The table sfdisk makes from ",,c": one FAT32 (LBA) partition from 1 MiB to the end.
    let layout = script::parse(",,c\n").context("built-in layout")?;
    let table = script::layout(&layout, a.size)
        .with_context(|| format!("{}: --size {}", what(), a.size))?;
    let part = table.slots[0].context("layout gave no partition")?;
    let choice = fat_choice(a.fat.as_deref(), None)?;
    // Check the file system fits before creating anything.
    let params = fat::params::choose(part.size * 512, choice).with_context(what)?;
    let need: u64 = a
        .add
        .iter()
        .map(|f| fat::fs::clusters_needed(f, u64::from(params.cluster_bytes())))
        .sum::<norrec_disk::Result<u64>>()?;
    if need + 1 > u64::from(params.clusters) - 1 {
        bail!(
            "{}: the files need {} bytes, a {} FAT of {} bytes holds {}",
            what(),
            (need + 1) * u64::from(params.cluster_bytes()),
            params.fat_type,
            part.size * 512,
            u64::from(params.clusters - 1) * u64::from(params.cluster_bytes())
        );
    }
    let dir = match a.image.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".norrec-")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot create a file in {}", what(), dir.display()))?;
    let mut img = Unsynced::new(
        ImageFile::create_in(tmp.reopen().with_context(what)?, a.size).with_context(what)?,
    );
    mbr::write_table(&mut img, &table).with_context(what)?;
    let id = Identity {
        volume_id: a.volume_id.unwrap_or_else(fat::volume_id_now),
        label: a.label.clone(),
        hidden_sectors: u32::try_from(part.start).context("partition start")?,
        time: DosDateTime::now(),
    };
    let mut win = Window::partition(&mut img, &part).with_context(what)?;
    let p = fat::format(&mut win, choice, &id).with_context(what)?;
    let bytes = if a.add.is_empty() {
        0
    } else {
        fat::with_fs(win, |fs| fat::fs::copy_in(fs, &a.add, "/")).with_context(what)?
    };
    drop(img);
    tmp.persist(&a.image)
        .with_context(|| format!("{}: cannot rename into place", what()))?;
    let r = Report {
        image: a.image.clone(),
        size: a.size,
        partition_start: part.start,
        partition_sectors: part.size,
        fat_type: p.fat_type.to_string(),
        cluster_size: p.cluster_bytes(),
        files: a.add.clone(),
        bytes,
    };
    ui.report(&r, || {
        println!(
            "{}: {} bytes, partition 1 at sector {} ({} sectors, type c), {} with {}-byte clusters, {} bytes of files",
            what(),
            r.size,
            r.partition_start,
            r.partition_sectors,
            r.fat_type,
            r.cluster_size,
            r.bytes
        )
    })
}
