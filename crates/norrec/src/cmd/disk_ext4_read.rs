//! `norrec disk ls IMG:N[:/path]` and `norrec disk cp IMG:N:/path DEST` on ext2/3/4 partitions:
//! listings like `ls -l` (or `--json`) and copies out like `cp -a`, through norrec's own
//! reader ([`norrec_disk::ext4::read`]), no mounting, no root. `disk_fat.rs` dispatches here
//! when the partition's superblock has the ext4 magic.

use std::path::{Path, PathBuf};

use anyhow::Context;
use norrec_disk::ext4::read::{self, Ext4, FileKind, Inode};
use norrec_disk::{BlockDevice, Window};
use serde::Serialize;

use super::disk_fat::Target;
use crate::ui::Ui;

#[derive(Debug, Serialize)]
struct LsEntry {
    name: String,
    kind: &'static str,
    ino: u32,
    /// Permission bits (with set-id and sticky), e.g. 493 for 0755.
    mode: u16,
    /// `ls -l`'s mode string, e.g. `drwxr-xr-x`.
    mode_string: String,
    links: u16,
    uid: u32,
    gid: u32,
    size: u64,
    /// Seconds since 1970 (UTC).
    mtime: i64,
    mtime_nanos: u32,
    /// A device node's "major,minor".
    #[serde(skip_serializing_if = "Option::is_none")]
    rdev: Option<String>,
    /// The symlink's target.
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
}

#[derive(Debug, Serialize)]
struct LsReport {
    image: PathBuf,
    partition: usize,
    path: String,
    label: String,
    uuid: String,
    block_size: u32,
    blocks: u64,
    free_bytes: u64,
    entries: Vec<LsEntry>,
}

#[derive(Debug, Serialize)]
struct CpReport {
    image: PathBuf,
    partition: usize,
    direction: &'static str,
    bytes: u64,
    files: u64,
    dirs: u64,
    symlinks: u64,
    skipped: u64,
}

/// The size, or `major, minor` for a device node (as `ls -l` prints them).
fn size_column(e: &LsEntry) -> String {
    match &e.rdev {
        Some(d) => d.replace(',', ", "),
        None => e.size.to_string(),
    }
}

fn entry<D: BlockDevice>(
    fs: &mut Ext4<D>,
    name: String,
    inode: &Inode,
) -> norrec_disk::Result<LsEntry> {
    let target = if inode.kind() == FileKind::Symlink {
        Some(String::from_utf8_lossy(&fs.read_link(inode.ino)?).into_owned())
    } else {
        None
    };
    Ok(LsEntry {
        name,
        kind: inode.kind().name(),
        ino: inode.ino,
        mode: inode.permissions(),
        mode_string: inode.mode_string(),
        links: inode.links,
        uid: inode.uid,
        gid: inode.gid,
        size: inode.size,
        mtime: inode.mtime.secs,
        mtime_nanos: inode.mtime.nanos,
        rdev: inode.device().map(|(ma, mi)| format!("{ma},{mi}")),
        target,
    })
}

fn list<D: BlockDevice>(fs: &mut Ext4<D>, path: &str) -> norrec_disk::Result<Vec<LsEntry>> {
    let inode = fs.lookup(path)?;
    if inode.kind() != FileKind::Dir {
        let name = path.rsplit('/').find(|c| !c.is_empty()).unwrap_or(path);
        return Ok(vec![entry(fs, name.to_string(), &inode)?]);
    }
    let mut entries = fs.read_dir(inode.ino)?;
    entries.retain(|e| !e.is_dot());
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let child = fs.inode(e.ino)?;
        out.push(entry(fs, e.name_lossy(), &child)?);
    }
    Ok(out)
}

/// An unclean journal: what is read may miss the last writes (norrec does not replay it).
fn warn_recovery<D: BlockDevice>(fs: &Ext4<D>, part: &str, ui: &Ui) {
    if fs.info().needs_recovery {
        ui.warn(format!(
            "{part}: the journal needs recovery (not cleanly unmounted); reading the file system as it stands, the last writes may be missing"
        ));
    }
}

pub fn ls(win: Window<&mut dyn BlockDevice>, t: &Target, ui: &Ui) -> anyhow::Result<()> {
    let part = format!("{}:{}", t.image.display(), t.part);
    let mut fs = Ext4::open(win).with_context(|| part.clone())?;
    warn_recovery(&fs, &part, ui);
    let entries = list(&mut fs, &t.path).with_context(|| part.clone())?;
    let info = fs.info();
    let r = LsReport {
        image: t.image.clone(),
        partition: t.part,
        path: t.path.clone(),
        label: info.label.clone(),
        uuid: info.uuid.clone(),
        block_size: info.block_size,
        blocks: info.blocks,
        free_bytes: info.free_blocks * u64::from(info.block_size),
        entries,
    };
    ui.report(&r, || {
        let w = |f: &dyn Fn(&LsEntry) -> String| {
            r.entries.iter().map(|e| f(e).len()).max().unwrap_or(0)
        };
        let (wl, wu, wg, ws) = (
            w(&|e| e.links.to_string()),
            w(&|e| e.uid.to_string()),
            w(&|e| e.gid.to_string()),
            w(&size_column),
        );
        for e in &r.entries {
            let target = e
                .target
                .as_deref()
                .map(|t| format!(" -> {t}"))
                .unwrap_or_default();
            println!(
                "{} {:>wl$} {:>wu$} {:>wg$} {:>ws$} {} {}{target}",
                e.mode_string,
                e.links,
                e.uid,
                e.gid,
                size_column(e),
                crate::time::utc_minutes(e.mtime),
                e.name,
            );
        }
        ui.note(format!(
            "{part}: ext4, label {:?}, uuid {}, {}-byte blocks, {} bytes free",
            r.label, r.uuid, r.block_size, r.free_bytes
        ));
    })
}

pub fn cp_out(
    win: Window<&mut dyn BlockDevice>,
    t: &Target,
    dst: &Path,
    ui: &Ui,
) -> anyhow::Result<()> {
    let part = format!("{}:{}", t.image.display(), t.part);
    let name = format!("{part}:{}", t.path);
    let mut fs = Ext4::open(win).with_context(|| part.clone())?;
    warn_recovery(&fs, &part, ui);
    let s = read::copy::copy_out(&mut fs, &t.path, dst).with_context(|| part.clone())?;
    if s.skipped > 0 {
        ui.warn(format!(
            "{name}: {} device nodes, FIFOs or sockets not copied (norrec does not mknod)",
            s.skipped
        ));
    }
    let r = CpReport {
        image: t.image.clone(),
        partition: t.part,
        direction: "out",
        bytes: s.bytes,
        files: s.files,
        dirs: s.dirs,
        symlinks: s.symlinks,
        skipped: s.skipped,
    };
    ui.report(&r, || {
        ui.note(format!(
            "{name}: {} bytes in {} files, {} directories, {} symlinks copied out to {}",
            r.bytes,
            r.files,
            r.dirs,
            r.symlinks,
            dst.display()
        ))
    })
}
