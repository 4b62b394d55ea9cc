//! `norrec disk format IMG:N ext4` and `norrec disk mkfs-from-dir`: ext4 file systems written
//! by norrec's own writer (`norrec_disk::ext4::write`), no mke2fs, no root, no mounting.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use norrec_disk::ext4::write::{self, Options, Params, Summary, Time, Tree};
use norrec_disk::{BlockDevice, ImageFile};
use serde::Serialize;

use super::disk_fat::{Dev, FormatArgs, Unsynced, window};
use crate::num::parse_size;
use crate::ui::Ui;

/// ext4 options shared by `format … ext4` and `mkfs-from-dir` (mke2fs's letters).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Ext4Opts {
    /// ext4: file system UUID, e.g. 5e1f0c6a-213b-4c7d-8e9f-a0b1c2d3e4f5 (default: random).
    #[arg(short = 'U', long)]
    pub uuid: Option<String>,
    /// ext4: directory hash seed as a UUID (default: random; from the UUID when -U and
    /// SOURCE_DATE_EPOCH are both given, so the image is reproducible).
    #[arg(long = "hash-seed")]
    pub hash_seed: Option<String>,
    /// ext4: block size, 1024, 2048 or 4096 (default 4096).
    #[arg(short = 'b', long = "block-size", value_parser = parse_size)]
    pub block_size: Option<u64>,
    /// ext4: number of inodes (rounded up to fill the inode tables).
    #[arg(short = 'N', long = "inodes")]
    pub inodes: Option<u32>,
    /// ext4: bytes per inode (default as mke2fs: 4096 under 512 MiB, else 16384).
    #[arg(short = 'i', long = "inode-ratio", value_parser = parse_size)]
    pub inode_ratio: Option<u64>,
    /// ext4: per cent of blocks reserved for root (default 5).
    #[arg(short = 'm', long = "reserved-percent")]
    pub reserved_percent: Option<f64>,
    /// ext4: owner of the root directory, UID:GID (default 0:0, like mke2fs -E root_owner).
    #[arg(long = "root-owner", value_name = "UID:GID")]
    pub root_owner: Option<String>,
    /// ext4: do not discard the device first (block devices; image files are always
    /// punched to holes where nothing is written).
    #[arg(long)]
    pub nodiscard: bool,
    /// ext4: do not zero the journal on a device that may hold old data (mke2fs
    /// -E lazy_journal_init); image files never need it.
    #[arg(long)]
    pub lazy_journal_init: bool,
}

fn parse_uuid_arg(s: &str) -> Result<[u8; 16], String> {
    if s == "random" {
        return Ok(write::random_uuid());
    }
    write::parse_uuid(s)
        .ok_or_else(|| format!("--uuid {s:?}: not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"))
}

fn parse_owner(s: &str) -> Result<(u32, u32), String> {
    let (u, g) = s
        .split_once(':')
        .ok_or_else(|| format!("--root-owner {s:?}: expected UID:GID"))?;
    let n = |x: &str| {
        x.parse::<u32>()
            .map_err(|e| format!("--root-owner {s:?}: {e}"))
    };
    Ok((n(u)?, n(g)?))
}

/// The creation time: SOURCE_DATE_EPOCH when set, else now.
fn creation_time() -> anyhow::Result<(Time, Option<i64>)> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => {
            let s: i64 = v
                .trim()
                .parse()
                .with_context(|| format!("SOURCE_DATE_EPOCH={v:?}: not a number of seconds"))?;
            Ok((Time { sec: s, nsec: 0 }, Some(s)))
        }
        Err(_) => {
            let d = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            Ok((
                Time {
                    sec: d.as_secs() as i64,
                    nsec: d.subsec_nanos(),
                },
                None,
            ))
        }
    }
}

fn options(e: &Ext4Opts, label: Option<&str>) -> anyhow::Result<Options> {
    let (time, clamp) = creation_time()?;
    let uuid = match &e.uuid {
        Some(u) => parse_uuid_arg(u).map_err(anyhow::Error::msg)?,
        None => write::random_uuid(),
    };
    // With SOURCE_DATE_EPOCH and a given UUID the image is reproducible: the hash seed then
    // follows from the UUID instead of being random.
    let hash_seed = match (&e.hash_seed, clamp, &e.uuid) {
        (Some(h), _, _) => {
            write::parse_uuid(h).ok_or_else(|| anyhow::anyhow!("--hash-seed {h:?}: not a UUID"))?
        }
        (None, Some(_), Some(_)) => write::hash_seed_from(&uuid),
        _ => write::random_uuid(),
    };
    let mut o = Options::new(uuid, hash_seed, time);
    o.clamp = clamp;
    o.label = label.unwrap_or("").as_bytes().to_vec();
    if o.label.len() > 16 {
        bail!(
            "label {:?} is {} bytes long, ext4 allows 16",
            label.unwrap_or(""),
            o.label.len()
        );
    }
    let mut p = Params::default();
    if let Some(b) = e.block_size {
        if !matches!(b, 1024 | 2048 | 4096) {
            bail!("--block-size {b}: must be 1024, 2048 or 4096");
        }
        p.block_size = b as u32;
    }
    if let Some(r) = e.inode_ratio {
        p.inode_ratio =
            Some(u32::try_from(r).with_context(|| format!("--inode-ratio {r}: too large"))?);
    }
    p.inode_count = e.inodes;
    if let Some(m) = e.reserved_percent {
        p.reserved_percent = m;
    }
    o.params = p;
    o.root_owner = match &e.root_owner {
        Some(r) => Some(parse_owner(r).map_err(anyhow::Error::msg)?),
        None => None,
    };
    o.discard = !e.nodiscard;
    o.lazy_journal = e.lazy_journal_init;
    Ok(o)
}

#[derive(Debug, Serialize)]
struct Report {
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<PathBuf>,
    size: u64,
    block_size: u32,
    blocks: u64,
    groups: u32,
    inodes: u32,
    used_inodes: u32,
    free_blocks: u64,
    free_inodes: u32,
    reserved_blocks: u64,
    reserved_gdt_blocks: u32,
    journal_blocks: u32,
    file_bytes: u64,
    uuid: String,
    label: String,
}

fn report(s: &Summary, label: &str) -> Report {
    let g = &s.geometry;
    Report {
        image: None,
        partition: None,
        output: None,
        size: g.blocks * u64::from(g.block_size),
        block_size: g.block_size,
        blocks: g.blocks,
        groups: g.groups,
        inodes: g.inodes(),
        used_inodes: s.used_inodes,
        free_blocks: s.free_blocks,
        free_inodes: s.free_inodes,
        reserved_blocks: g.reserved_blocks,
        reserved_gdt_blocks: g.reserved_gdt,
        journal_blocks: g.journal_blocks,
        file_bytes: s.file_bytes,
        uuid: write::format_uuid(&s.uuid),
        label: label.to_owned(),
    }
}

fn describe(name: &str, r: &Report) -> String {
    format!(
        "{name}: ext4 with {} blocks of {} bytes in {} groups, {} inodes ({} used), {} blocks free, journal {} blocks, uuid {}{}",
        r.blocks,
        r.block_size,
        r.groups,
        r.inodes,
        r.used_inodes,
        r.free_blocks,
        r.journal_blocks,
        r.uuid,
        if r.label.is_empty() {
            String::new()
        } else {
            format!(", label {}", r.label)
        }
    )
}

pub fn format(a: FormatArgs, ui: &Ui) -> anyhow::Result<()> {
    let name = format!("{}:{}", a.target.image.display(), a.target.part);
    let mut o = options(&a.ext4, a.label.as_deref()).with_context(|| name.clone())?;
    let mut dev = Dev::open(&a.target.image, true)?;
    // An image file reads as zeros after the discard (its range is punched to a hole).
    o.zeroed = matches!(dev, Dev::Image(_)) && o.discard;
    let (mut win, _) = window(dev.dev(), &a.target)?;
    let s = write::format(&mut win, &o).with_context(|| name.clone())?;
    let label = a.label.unwrap_or_default();
    let mut r = report(&s, &label);
    r.image = Some(a.target.image.clone());
    r.partition = Some(a.target.part);
    ui.report(&r, || println!("{}", describe(&name, &r)))
}

#[derive(Debug, clap::Args)]
pub struct MkfsArgs {
    /// The directory whose tree becomes the file system's root (with SOURCE_DATE_EPOCH set,
    /// no time stamp in the image is later than it).
    dir: PathBuf,
    /// The image file to write (replaced whole, only when the build succeeded).
    #[arg(short = 'o', long)]
    output: PathBuf,
    /// The image size (e.g. 64M, 1G), or `auto`: what the tree needs plus 10 % free.
    #[arg(long)]
    size: String,
    /// Volume label, up to 16 bytes.
    #[arg(short = 'L', long)]
    label: Option<String>,
    /// Every file owned by 0:0 whoever owns it in DIR (for rootfs trees built without root;
    /// mke2fs -d always copies the owners).
    #[arg(long)]
    all_root: bool,
    #[command(flatten)]
    ext4: Ext4Opts,
}

pub fn mkfs_from_dir(a: MkfsArgs, ui: &Ui) -> anyhow::Result<()> {
    let out_name = a.output.display().to_string();
    let mut o = options(&a.ext4, a.label.as_deref()).with_context(|| out_name.clone())?;
    o.all_root = a.all_root;
    o.discard = false;
    o.zeroed = true;
    let tree = write::tree::scan(&a.dir).with_context(|| a.dir.display().to_string())?;
    let size = if a.size == "auto" {
        write::size_for(&tree, &o, 10).with_context(|| out_name.clone())?
    } else {
        parse_size(&a.size).map_err(|e| anyhow::anyhow!("--size {e}"))?
    };
    // Plan (and so check) everything before the output file exists.
    write::plan(size, &tree, &o).with_context(|| out_name.clone())?;
    let s = build_into(&a.output, size, &tree, &o, ui).with_context(|| out_name.clone())?;
    let label = a.label.unwrap_or_default();
    let mut r = report(&s, &label);
    r.output = Some(a.output.clone());
    ui.report(&r, || println!("{}", describe(&out_name, &r)))
}

/// Builds into a temporary file beside `output` and renames it into place.
fn build_into(
    output: &Path,
    size: u64,
    tree: &Tree,
    o: &Options,
    ui: &Ui,
) -> anyhow::Result<Summary> {
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".norrec-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    let file = tmp.as_file().try_clone()?;
    let mut img = Unsynced::new(ImageFile::create_in(file, size)?);
    let bar = ui.progress(tree.file_bytes, "mkfs-from-dir");
    let s = write::build_tree(&mut img, tree, o, &mut |done| bar.set_position(done))?;
    bar.finish_and_clear();
    img.flush()?;
    tmp.persist(output)
        .with_context(|| format!("cannot rename into {}", output.display()))?;
    Ok(s)
}
