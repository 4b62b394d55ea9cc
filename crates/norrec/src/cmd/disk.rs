//! `norrec disk`: disk images and MBR partition tables from sfdisk scripts. Replaces the seed's
//! `dd if=/dev/zero of=usb.img bs=1M count=1024` / `qemu-img create sd.img 1G` (a sparse file
//! here, no zeros written) and `sfdisk IMG <<EOF … EOF` (same table as sfdisk 2.38 writes, no
//! sleeps, the whole table checked before the image is touched).

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use norrec_disk::mbr::{self, DosTable};
use norrec_disk::script::{self, Script, dump};
use norrec_disk::{BlockDevice, ImageFile, LinuxBlockDevice};
use serde::Serialize;

use crate::num::parse_size;
use crate::ui::Ui;

/// Disk images and MBR partition tables (sfdisk scripts).
#[derive(Debug, clap::Subcommand)]
pub enum DiskCmd {
    /// Create a sparse, all-zero disk image, partitioned when a layout is given.
    ///
    /// No byte of the image is written except sector 0 when partitioned, so a 1 GiB image
    /// takes no space until something is put in it. The layout is checked before the file is
    /// created; the image appears whole or not at all.
    #[command(
        after_help = "Examples:\n  norrec disk create sd.img --size 1G\n  norrec disk create sd.img --size 1G --layout layout.sfdisk\n  norrec disk create sd.img --size 1G --board-layout\n  printf ',,c\\n' > usb.sfdisk && norrec disk create usb.img --size 1G --layout usb.sfdisk"
    )]
    Create(CreateArgs),
    /// Write a new MBR partition table to an image (or block device) from an sfdisk script.
    ///
    /// Gives the table `sfdisk IMG < LAYOUT` gives (same starts, sizes, alignment, and the same
    /// sector 0 when the script sets `label-id:`). Only sector 0 is written, and only after the
    /// whole table has been computed and checked; a bad line leaves the image untouched.
    #[command(
        after_help = "Examples:\n  norrec disk partition sd.img layout.sfdisk\n  norrec disk partition sd.img            # the board's eMMC layout\n  norrec disk partition usb.img usb.sfdisk --json"
    )]
    Partition(PartitionArgs),
    /// Print an image's partition table in `sfdisk -d` form (`--json`: like `sfdisk -J`).
    #[command(
        after_help = "Examples:\n  norrec disk show sd.img\n  norrec disk show sd.img --json\n  norrec disk show sd.img > layout.sfdisk   # feed back to norrec or sfdisk"
    )]
    Show(ShowArgs),
    /// Format a partition (IMG:N) as vfat (FAT type and cluster size chosen as mkfs.vfat
    /// chooses them) or ext4 (geometry, features and journal as mkfs.ext4 1.47 makes them).
    ///
    /// Only the file system's metadata is written (an image file stays sparse); the size, type,
    /// label and options are checked before the first write. `IMG:0` is the whole image without
    /// a table.
    #[command(
        after_help = "Examples:\n  norrec disk format sd.img:1 vfat -L BOOT\n  norrec disk format usb.img:1 vfat --fat 32\n  norrec disk format fs.img:0 vfat --cluster-size 4K\n  norrec disk format sd.img:4 ext4 -L data\n  norrec disk format sd.img:4 ext4 -U 5e1f0c6a-213b-4c7d-8e9f-a0b1c2d3e4f5 -b 1024"
    )]
    Format(super::disk_fat::FormatArgs),
    /// Copy files and directories into a FAT (IMG:N:/path), or out of a FAT or ext4 to a local
    /// path.
    ///
    /// Into a directory when the target is one, else to the target name (cp -r style). Free
    /// space is checked before anything is written; nothing partial is left behind.
    #[command(
        after_help = "Examples:\n  norrec disk cp boot.scr uboot.env sd.img:1:/\n  norrec disk cp update.swu usb.img:1:/update.swu\n  norrec disk cp sd.img:1:/boot.scr ./boot.scr\n  norrec disk cp sd.img:1:/ ./p1-copy\n  norrec disk cp sd.img:2:/etc/os-release .   # out of an ext4"
    )]
    Cp(super::disk_fat::CpArgs),
    /// Write a file's raw bytes at an offset of a disk (dd conv=notrunc), outside the partition
    /// table and every partition unless --force, or into partition N with IMG:N; with --spl,
    /// only a valid sunxi SPL, by default at the board's SPL offset (8 KiB). Streamed; zero runs
    /// stay holes; the bytes are read back and compared.
    #[command(
        after_help = "Examples:\n  norrec disk write sd.img u-boot-sunxi-with-spl.bin --spl\n  norrec disk write sd.img:2 rootfs.ext4\n  norrec disk write sd.img blob.bin --offset 1M --force"
    )]
    Write(super::disk_raw::WriteArgs),
    /// List a directory (or one file) of a FAT or ext4: IMG:N[:/path].
    #[command(
        after_help = "Examples:\n  norrec disk ls usb.img:1\n  norrec disk ls sd.img:1:/boot --json\n  norrec disk ls sd.img:2:/etc   # ext4: ls -l style lines"
    )]
    Ls(super::disk_fat::LsArgs),
    /// Build an ext4 image file from a directory tree (what `mke2fs -t ext4 -d DIR` does):
    /// files, directories, symlinks, hard links, devices, modes, owners and ns times.
    ///
    /// The whole file system is planned first; a tree that does not fit fails before anything
    /// is written, and the output file is replaced only when the build succeeded.
    #[command(
        name = "mkfs-from-dir",
        after_help = "Examples:\n  norrec disk mkfs-from-dir rootfs/ -o rootfs.ext4 --size 64M\n  norrec disk mkfs-from-dir rootfs/ -o rootfs.ext4 --size auto --all-root -L rootfs\n  SOURCE_DATE_EPOCH=0 norrec disk mkfs-from-dir rootfs/ -o r.ext4 --size 64M -U 5e1f0c6a-213b-4c7d-8e9f-a0b1c2d3e4f5   # reproducible\n  norrec disk write sd.img:2 rootfs.ext4"
    )]
    MkfsFromDir(super::disk_ext4::MkfsArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The image file to create (replaced if it exists).
    image: PathBuf,
    /// The image size, e.g. 1G, 512M or 0x40000000 (a whole number of 512-byte sectors).
    #[arg(long, value_parser = parse_size)]
    size: u64,
    /// Partition it with this sfdisk script.
    #[arg(long, value_name = "SCRIPT", conflicts_with = "board_layout")]
    layout: Option<PathBuf>,
    /// Partition it with the board manifest's eMMC layout.
    #[arg(long)]
    board_layout: bool,
}

#[derive(Debug, clap::Args)]
pub struct PartitionArgs {
    /// The image (or block device) to partition.
    image: PathBuf,
    /// The sfdisk script; by default the board manifest's eMMC layout.
    layout: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The image (or block device) to read.
    image: PathBuf,
}

pub fn run(cmd: DiskCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        DiskCmd::Create(a) => create(a, ui),
        DiskCmd::Partition(a) => partition(a, ui),
        DiskCmd::Show(a) => show(a, ui),
        DiskCmd::Format(a) => super::disk_fat::format(a, ui),
        DiskCmd::Cp(a) => super::disk_fat::cp(a, ui),
        DiskCmd::Ls(a) => super::disk_fat::ls(a, ui),
        DiskCmd::Write(a) => super::disk_raw::write(a, ui),
        DiskCmd::MkfsFromDir(a) => super::disk_ext4::mkfs_from_dir(a, ui),
    }
}

/// A layout's text and the name errors are reported under.
fn layout_source(path: Option<&Path>, ui: &Ui) -> anyhow::Result<(String, String)> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("{}: cannot read the layout", p.display()))?;
            Ok((text, p.display().to_string()))
        }
        None => {
            let board = ui.board()?;
            let name = format!("{} (layout {})", board.source(), board.storage.layout);
            Ok((board.layout_text().to_owned(), name))
        }
    }
}

/// Parses and lays out a script for a disk of `bytes`; errors name the script.
fn plan(text: &str, name: &str, bytes: u64, ui: &Ui) -> anyhow::Result<(Script, DosTable)> {
    let script = script::parse(text).with_context(|| name.to_owned())?;
    for w in &script.warnings {
        ui.warn(format!("{name}: {w}"));
    }
    let table = script::layout(&script, bytes).with_context(|| name.to_owned())?;
    Ok((script, table))
}

fn create(a: CreateArgs, ui: &Ui) -> anyhow::Result<()> {
    if a.size == 0 || a.size % 512 != 0 {
        bail!(
            "--size {}: a disk image is a whole number of 512-byte sectors",
            a.size
        );
    }
    let layout = match (&a.layout, a.board_layout) {
        (Some(p), _) => Some(layout_source(Some(p), ui)?),
        (None, true) => Some(layout_source(None, ui)?),
        (None, false) => None,
    };
    let table = layout
        .as_ref()
        .map(|(text, name)| plan(text, name, a.size, ui).map(|(_, t)| t))
        .transpose()?;
    let dir = match a.image.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let what = || a.image.display().to_string();
    let tmp = tempfile::Builder::new()
        .prefix(".norrec-")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot create a file in {}", what(), dir.display()))?;
    let mut img =
        ImageFile::create_in(tmp.reopen().with_context(what)?, a.size).with_context(what)?;
    if let Some(t) = &table {
        mbr::write_table(&mut img, t).with_context(what)?;
    }
    drop(img);
    tmp.persist(&a.image)
        .with_context(|| format!("{}: cannot rename into place", what()))?;
    ui.debug(format!("{}: {} bytes, sparse", what(), a.size));
    match &table {
        Some(t) => report(t, &a.image, a.size, ui),
        None => ui.report(
            &serde_json::json!({ "image": a.image, "size": a.size, "partitiontable": null }),
            || ui.note(format!("{}: {} bytes, no partition table", what(), a.size)),
        ),
    }
}

/// An opened disk: an image file, or a block device through the Linux implementation.
enum Disk {
    Image(ImageFile),
    Device(LinuxBlockDevice),
}

impl Disk {
    fn open(path: &Path, write: bool) -> anyhow::Result<Self> {
        let meta = std::fs::metadata(path).with_context(|| path.display().to_string())?;
        Ok(if meta.file_type().is_block_device() {
            let dev = if write {
                LinuxBlockDevice::open(path)
            } else {
                LinuxBlockDevice::open_read_only(path)
            };
            Disk::Device(dev.with_context(|| path.display().to_string())?)
        } else if write {
            Disk::Image(ImageFile::open(path).with_context(|| path.display().to_string())?)
        } else {
            Disk::Image(
                ImageFile::open_read_only(path).with_context(|| path.display().to_string())?,
            )
        })
    }

    fn dev(&mut self) -> &mut dyn BlockDevice {
        match self {
            Disk::Image(i) => i,
            Disk::Device(d) => d,
        }
    }
}

fn partition(a: PartitionArgs, ui: &Ui) -> anyhow::Result<()> {
    let (text, name) = layout_source(a.layout.as_deref(), ui)?;
    let what = || a.image.display().to_string();
    let mut disk = Disk::open(&a.image, true)?;
    let len = disk.dev().len();
    let (script, table) = plan(&text, &name, len, ui)?;
    script::check_label(&script, &mut disk.dev()).with_context(what)?;
    mbr::write_table(&mut disk.dev(), &table).with_context(what)?;
    if let Disk::Device(d) = &disk {
        // The table is written either way; like sfdisk, only warn when the kernel keeps the old.
        if let Err(e) = d.reread_partitions() {
            ui.warn(format!(
                "{}: the kernel still uses the old partition table ({e})",
                what()
            ));
        }
    }
    report(&table, &a.image, len, ui)
}

fn show(a: ShowArgs, ui: &Ui) -> anyhow::Result<()> {
    let mut disk = Disk::open(&a.image, false)?;
    let len = disk.dev().len();
    let table = mbr::read_table(&mut disk.dev()).with_context(|| a.image.display().to_string())?;
    report(&table, &a.image, len, ui)
}

/// `sfdisk -J`'s shape: `{"partitiontable": {label, id, device, unit, sectorsize, partitions}}`.
#[derive(Debug, Serialize)]
struct TableJson {
    partitiontable: TableInner,
}

#[derive(Debug, Serialize)]
struct TableInner {
    label: &'static str,
    id: String,
    device: String,
    unit: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    grain: Option<String>,
    sectorsize: u32,
    partitions: Vec<PartJson>,
}

#[derive(Debug, Serialize)]
struct PartJson {
    node: String,
    start: u64,
    size: u64,
    #[serde(rename = "type")]
    ptype: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    bootable: bool,
}

fn report(table: &DosTable, image: &Path, len: u64, ui: &Ui) -> anyhow::Result<()> {
    let device = image.display().to_string();
    let sectors = len / 512;
    for (n, p) in table.partitions() {
        if mbr::read::is_extended(p.ptype) {
            ui.warn(format!(
                "{}: partition {n} is extended (type {:x}); the logical partitions in it are not listed",
                device, p.ptype
            ));
        }
    }
    let grain = dump::grain_bytes(sectors);
    let json = TableJson {
        partitiontable: TableInner {
            label: "dos",
            id: format!("0x{:08x}", table.disk_id),
            device: device.clone(),
            unit: "sectors",
            grain: (grain != 1 << 20).then(|| grain.to_string()),
            sectorsize: 512,
            partitions: table
                .partitions()
                .map(|(n, p)| PartJson {
                    node: dump::partition_name(&device, n),
                    start: p.start,
                    size: p.size,
                    ptype: format!("{:x}", p.ptype),
                    bootable: p.bootable,
                })
                .collect(),
        },
    };
    ui.report(&json, || print!("{}", dump::dump(table, &device, sectors)))
}
