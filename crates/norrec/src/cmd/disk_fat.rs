//! `norrec disk format|cp|ls`: FAT file systems inside partitions of disk images (or block
//! devices), no mounting, no root. Replaces the seed's `kpartx` + `mkfs.vfat` + `mount` + `cp`
//! (and `mkfs.vfat --offset` / `mcopy -i img@@offset` for the rootless variant). The
//! subcommands are declared in `disk.rs`; their work is here.
//!
//! Targets are written `IMG:N` (partition N of IMG's MBR table; `IMG:0` is the whole image
//! without a table) and `IMG:N:/path` for a path inside the FAT.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use norrec_disk::fat::{self, Choice, DosDateTime, FatType, Identity};
use norrec_disk::{BlockDevice, ImageFile, LinuxBlockDevice, Window, mbr};
use serde::Serialize;

use crate::num::parse_size;
use crate::ui::Ui;

/// `IMG:N[:/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub image: PathBuf,
    /// 1..=4, or 0 for the whole image.
    pub part: usize,
    /// The path inside the FAT (`/` when none was given).
    pub path: String,
    /// Whether a `:/path` part was given.
    pub has_path: bool,
}

/// Splits `IMG:N[:/path]`; `None` when `s` does not have that shape (a local path).
/// The first `:N` after which comes the end or `:` wins, preferring an existing image file.
pub fn parse_target(s: &str) -> Option<Target> {
    let mut found = Vec::new();
    for (i, _) in s.match_indices(':') {
        let rest = &s[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || i == 0 {
            continue;
        }
        let after = &rest[digits..];
        if !(after.is_empty() || after.starts_with(':')) {
            continue;
        }
        let part: usize = rest[..digits].parse().ok()?;
        let path = after.strip_prefix(':').unwrap_or("");
        found.push(Target {
            image: PathBuf::from(&s[..i]),
            part,
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            has_path: !after.is_empty(),
        });
    }
    found
        .iter()
        .find(|t| t.image.is_file())
        .or(found.first())
        .cloned()
}

fn target_arg(s: &str) -> Result<Target, String> {
    parse_target(s).ok_or_else(|| {
        format!("{s:?}: expected IMG:N or IMG:N:/path (N = partition, 0 = whole image)")
    })
}

/// An image file whose `flush` does not fsync: writes reach the file (page cache) and the
/// kernel writes them back as it does for `cp`, `mcopy` or `dd` without `conv=fsync`. The FAT
/// code flushes after every step; an fsync each time cost more than the whole copy. Block
/// devices keep their real flush.
///
/// Writes are also passed on as given, without scanning them for zero runs to punch as holes:
/// the FAT code only writes metadata and file data (formatting clears regions with
/// `zero_range`, which still punches holes), and the scan cost more than the copy.
pub struct Unsynced(pub ImageFile);

impl Unsynced {
    /// Wraps `img`, turning its zero-run scan off.
    pub fn new(mut img: ImageFile) -> Self {
        img.set_sparse(false);
        Unsynced(img)
    }
}

impl BlockDevice for Unsynced {
    fn len(&self) -> u64 {
        self.0.len()
    }
    fn sector_size(&self) -> u32 {
        self.0.sector_size()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> norrec_disk::Result<()> {
        self.0.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> norrec_disk::Result<()> {
        self.0.write_at(offset, buf)
    }
    fn flush(&mut self) -> norrec_disk::Result<()> {
        Ok(())
    }
    fn zero_range(&mut self, offset: u64, len: u64) -> norrec_disk::Result<()> {
        self.0.zero_range(offset, len)
    }
    fn discard(&mut self, offset: u64, len: u64) -> norrec_disk::Result<()> {
        self.0.discard(offset, len)
    }
    fn copy_file_in(
        &mut self,
        offset: u64,
        src: &std::fs::File,
        src_offset: u64,
        len: u64,
    ) -> norrec_disk::Result<()> {
        self.0.copy_file_in(offset, src, src_offset, len)
    }
}

/// An opened image or block device.
pub(crate) enum Dev {
    Image(Unsynced),
    Device(LinuxBlockDevice),
}

impl Dev {
    pub(crate) fn open(path: &Path, write: bool) -> anyhow::Result<Self> {
        let what = || path.display().to_string();
        let meta = std::fs::metadata(path).with_context(what)?;
        Ok(if meta.file_type().is_block_device() {
            Dev::Device(if write {
                LinuxBlockDevice::open(path).with_context(what)?
            } else {
                LinuxBlockDevice::open_read_only(path).with_context(what)?
            })
        } else if write {
            Dev::Image(Unsynced::new(ImageFile::open(path).with_context(what)?))
        } else {
            Dev::Image(Unsynced(
                ImageFile::open_read_only(path).with_context(what)?,
            ))
        })
    }

    pub(crate) fn dev(&mut self) -> &mut dyn BlockDevice {
        match self {
            Dev::Image(i) => i,
            Dev::Device(d) => d,
        }
    }
}

/// The window of partition `t.part` (or the whole device) and its first sector.
pub(crate) fn window<'a>(
    dev: &'a mut dyn BlockDevice,
    t: &Target,
) -> anyhow::Result<(Window<&'a mut dyn BlockDevice>, u64)> {
    let name = || format!("{}:{}", t.image.display(), t.part);
    if t.part == 0 {
        let len = dev.len();
        return Ok((Window::new(dev, 0, len).with_context(name)?, 0));
    }
    let table = mbr::read_table(&mut &mut *dev).with_context(name)?;
    let Some(p) = table.slots.get(t.part - 1).copied().flatten() else {
        bail!(
            "{}: no partition {} in its MBR table (partitions: {})",
            t.image.display(),
            t.part,
            table
                .partitions()
                .map(|(n, _)| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    if mbr::read::is_extended(p.ptype) {
        bail!("{}: partition {} is an extended partition", name(), t.part);
    }
    Ok((Window::partition(dev, &p).with_context(name)?, p.start))
}

/// Whether the window holds an ext4 (ext2/3) file system: the superblock magic at byte
/// 1024 + 0x38 (the format's constants live in `norrec_disk::ext4::consts`).
pub(crate) fn is_ext4(win: &mut impl BlockDevice) -> anyhow::Result<bool> {
    use norrec_disk::ext4::consts::{MAGIC, SUPERBLOCK_OFFSET};
    if win.len() < SUPERBLOCK_OFFSET + 1024 {
        return Ok(false);
    }
    let mut magic = [0u8; 2];
    win.read_at(SUPERBLOCK_OFFSET + 0x38, &mut magic)?;
    Ok(u16::from_le_bytes(magic) == MAGIC)
}

/// A read that found no FAT where there is no ext4 either says both.
fn neither_fs(e: norrec_disk::DiskError) -> anyhow::Error {
    match e {
        norrec_disk::DiskError::NotFat(why) => anyhow::anyhow!(
            "neither FAT nor ext4: no ext4 superblock magic 0xef53 at byte 0x438, and no FAT: {why}"
        ),
        other => other.into(),
    }
}

#[derive(Debug, clap::Args)]
pub struct FormatArgs {
    /// The partition: IMG:N (N from 1; 0 = the whole image, no partition table).
    #[arg(value_parser = target_arg)]
    pub(crate) target: Target,
    /// The file system: vfat (fat, msdos alike) or ext4.
    pub(crate) fstype: String,
    /// Volume label (vfat: up to 11 characters, stored upper-case; ext4: up to 16 bytes).
    #[arg(short = 'L', long, short_alias = 'n')]
    pub(crate) label: Option<String>,
    /// Force the FAT type (12, 16 or 32) instead of mkfs.vfat's choice for the size.
    #[arg(short = 'F', long = "fat", value_parser = ["12", "16", "32"])]
    fat: Option<String>,
    /// Cluster size in bytes (512 … 64K, a power of two) instead of mkfs.vfat's choice.
    #[arg(long, value_parser = parse_size)]
    cluster_size: Option<u64>,
    /// Volume id in hex (default: from the clock, or SOURCE_DATE_EPOCH).
    #[arg(long, value_parser = parse_hex32)]
    volume_id: Option<u32>,
    #[command(flatten)]
    pub(crate) ext4: super::disk_ext4::Ext4Opts,
}

fn parse_hex32(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|e| format!("{s:?}: {e}"))
}

#[derive(Debug, Serialize)]
struct FormatReport {
    image: PathBuf,
    partition: usize,
    fat_type: String,
    sectors: u32,
    cluster_size: u32,
    reserved_sectors: u16,
    fat_sectors: u32,
    root_entries: u16,
    clusters: u32,
    hidden_sectors: u32,
    volume_id: String,
    label: Option<String>,
}

/// Builds the choice and identity from options; everything is validated before any write.
pub fn fat_choice(fat: Option<&str>, cluster_size: Option<u64>) -> anyhow::Result<Choice> {
    let fat_type = fat
        .and_then(|f| f.parse().ok())
        .and_then(FatType::from_bits);
    let sectors_per_cluster = match cluster_size {
        None => None,
        Some(b) if (512..=128 * 512).contains(&b) && b.is_power_of_two() => Some((b / 512) as u8),
        Some(b) => bail!("--cluster-size {b}: must be a power of two from 512 to 65536"),
    };
    Ok(Choice {
        fat_type,
        sectors_per_cluster,
    })
}

pub fn format(a: FormatArgs, ui: &Ui) -> anyhow::Result<()> {
    match a.fstype.as_str() {
        "vfat" | "fat" | "msdos" => {}
        "ext4" => return super::disk_ext4::format(a, ui),
        other => bail!("file system type {other:?}: norrec formats vfat and ext4"),
    }
    let choice = fat_choice(a.fat.as_deref(), a.cluster_size)?;
    let name = format!("{}:{}", a.target.image.display(), a.target.part);
    let mut dev = Dev::open(&a.target.image, true)?;
    let (mut win, start) = window(dev.dev(), &a.target)?;
    let id = Identity {
        volume_id: a.volume_id.unwrap_or_else(fat::volume_id_now),
        label: a.label.clone(),
        hidden_sectors: u32::try_from(start).context("partition starts beyond 2 TiB")?,
        time: DosDateTime::now(),
    };
    let p = fat::format(&mut win, choice, &id).with_context(|| name.clone())?;
    let r = FormatReport {
        image: a.target.image.clone(),
        partition: a.target.part,
        fat_type: p.fat_type.to_string(),
        sectors: p.total_sectors,
        cluster_size: p.cluster_bytes(),
        reserved_sectors: p.reserved_sectors,
        fat_sectors: p.fat_sectors,
        root_entries: p.root_entries,
        clusters: p.clusters,
        hidden_sectors: id.hidden_sectors,
        volume_id: format!("{:08x}", id.volume_id),
        label: a.label.map(|l| l.to_ascii_uppercase()),
    };
    ui.report(&r, || {
        println!(
            "{name}: {} with {} clusters of {} bytes, {} reserved sectors, {} sectors per FAT, volume id {}{}",
            r.fat_type,
            r.clusters,
            r.cluster_size,
            r.reserved_sectors,
            r.fat_sectors,
            r.volume_id,
            r.label.as_deref().map(|l| format!(", label {l}")).unwrap_or_default()
        )
    })
}

#[derive(Debug, clap::Args)]
pub struct CpArgs {
    /// Sources then destination: local paths into IMG:N:/path, or one IMG:N:/path out to a
    /// local path. Directories are copied with everything in them.
    #[arg(required = true, num_args = 2..)]
    paths: Vec<String>,
}

#[derive(Debug, Serialize)]
struct CpReport {
    image: PathBuf,
    partition: usize,
    direction: &'static str,
    bytes: u64,
}

pub fn cp(a: CpArgs, ui: &Ui) -> anyhow::Result<()> {
    let (dst, srcs) = a.paths.split_last().expect("clap requires two paths");
    let dst_t = parse_target(dst).filter(|t| t.has_path);
    let src_ts: Vec<_> = srcs
        .iter()
        .map(|s| parse_target(s).filter(|t| t.has_path))
        .collect();
    match dst_t {
        Some(t) => {
            if let Some((s, _)) = srcs.iter().zip(&src_ts).find(|(_, t)| t.is_some()) {
                bail!("{s}: copying from one image to another is not supported; copy out, then in");
            }
            let locals: Vec<PathBuf> = srcs.iter().map(PathBuf::from).collect();
            for l in &locals {
                std::fs::metadata(l).with_context(|| l.display().to_string())?;
            }
            let mut dev = Dev::open(&t.image, true)?;
            let (mut win, _) = window(dev.dev(), &t)?;
            let name = format!("{}:{}:{}", t.image.display(), t.part, t.path);
            if is_ext4(&mut win)? {
                bail!(
                    "{name}: the partition holds ext4, which norrec writes only whole: build it with `norrec disk mkfs-from-dir`"
                );
            }
            let bytes = fat::with_fs(win, |fs| fat::fs::copy_in(fs, &locals, &t.path))
                .with_context(|| name.clone())?;
            ui.report(
                &CpReport {
                    image: t.image.clone(),
                    partition: t.part,
                    direction: "in",
                    bytes,
                },
                || ui.note(format!("{name}: {bytes} bytes copied in")),
            )
        }
        None => {
            let [Some(t)] = src_ts.as_slice() else {
                bail!(
                    "one side must be IMG:N:/path: copy local files into IMG:N:/dir, or one IMG:N:/path out to a local path"
                );
            };
            let mut dev = Dev::open(&t.image, false)?;
            let (mut win, _) = window(dev.dev(), t)?;
            let name = format!("{}:{}:{}", t.image.display(), t.part, t.path);
            let dst = PathBuf::from(dst);
            if is_ext4(&mut win)? {
                return super::disk_ext4_read::cp_out(win, t, &dst, ui);
            }
            let bytes = fat::with_fs_read_only(win, |fs| fat::fs::copy_out(fs, &t.path, &dst))
                .map_err(neither_fs)
                .with_context(|| name.clone())?;
            ui.report(
                &CpReport {
                    image: t.image.clone(),
                    partition: t.part,
                    direction: "out",
                    bytes,
                },
                || {
                    ui.note(format!(
                        "{name}: {bytes} bytes copied out to {}",
                        dst.display()
                    ))
                },
            )
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// IMG:N or IMG:N:/path.
    #[arg(value_parser = target_arg)]
    target: Target,
}

#[derive(Debug, Serialize)]
struct LsEntry {
    name: String,
    short_name: String,
    dir: bool,
    size: u64,
    modified: String,
}

#[derive(Debug, Serialize)]
struct LsReport {
    image: PathBuf,
    partition: usize,
    path: String,
    fat_type: String,
    label: String,
    cluster_size: u32,
    free_bytes: u64,
    entries: Vec<LsEntry>,
}

pub fn ls(a: LsArgs, ui: &Ui) -> anyhow::Result<()> {
    let t = a.target;
    let name = format!("{}:{}:{}", t.image.display(), t.part, t.path);
    let mut dev = Dev::open(&t.image, false)?;
    let (mut win, _) = window(dev.dev(), &t)?;
    if is_ext4(&mut win)? {
        return super::disk_ext4_read::ls(win, &t, ui);
    }
    let (info, entries) = fat::with_fs_read_only(win, |fs| {
        Ok((fat::fs::info(fs)?, fat::fs::list(fs, &t.path)?))
    })
    .map_err(neither_fs)
    .with_context(|| name.clone())?;
    let r = LsReport {
        image: t.image.clone(),
        partition: t.part,
        path: t.path.clone(),
        fat_type: info.fat_type.to_string(),
        label: info.label.clone(),
        cluster_size: info.cluster_bytes,
        free_bytes: u64::from(info.free_clusters) * u64::from(info.cluster_bytes),
        entries: entries
            .into_iter()
            .map(|e| LsEntry {
                name: e.name,
                short_name: e.short_name,
                dir: e.is_dir,
                size: e.size,
                modified: e.modified,
            })
            .collect(),
    };
    ui.report(&r, || {
        for e in &r.entries {
            let short = if e.short_name.eq_ignore_ascii_case(&e.name) {
                String::new()
            } else {
                format!("  ({})", e.short_name)
            };
            println!(
                "{} {:>12} {} {}{}{short}",
                if e.dir { 'd' } else { '-' },
                e.size,
                e.modified,
                e.name,
                if e.dir { "/" } else { "" }
            );
        }
        ui.note(format!(
            "{name}: {}, label {:?}, {} bytes free",
            r.fat_type, r.label, r.free_bytes
        ));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = parse_target("usb.img:1:/a/b").unwrap();
        assert_eq!(
            (t.image, t.part, t.path, t.has_path),
            ("usb.img".into(), 1, "/a/b".into(), true)
        );
        let t = parse_target("dir:x/sd.img:2").unwrap();
        assert_eq!(
            (t.image, t.part, t.path, t.has_path),
            ("dir:x/sd.img".into(), 2, "/".into(), false)
        );
        let t = parse_target("sd.img:1:").unwrap();
        assert_eq!((t.part, t.path.as_str(), t.has_path), (1, "/", true));
        assert!(parse_target("plain/file.txt").is_none());
        assert!(parse_target("sd.img:x").is_none());
    }
}
