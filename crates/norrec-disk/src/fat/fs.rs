//! File operations on a FAT inside a [`BlockDevice`] (a partition window, an image): list,
//! copy files and directory trees in and out, make directories, free space. Built on the
//! `fatfs` crate (0.3.6) through [`CachedIo`]; no mounting, no root.
//!
//! What norrec adds around `fatfs`:
//! - The boot sector is checked by norrec's own reader first, so "no FAT here" is one clear
//!   line naming the field, not a `fatfs` message.
//! - Space is checked before anything is written: a copy that would not fit is refused whole.
//!   The estimate counts every file's clusters and every new directory's clusters; an
//!   overwritten file's old clusters are not counted as free (the check errs on the safe side).
//! - A file whose copy fails midway is removed again, so nothing partial is left behind.
//! - `fatfs::Dir::create_file` opens an existing file without truncating it; norrec truncates.
//! - Modification times come from the source files (UTC), creation times from the clock (or
//!   `SOURCE_DATE_EPOCH`); `fatfs`'s own clock needs `chrono`, which is left out.
//! - `fatfs` 0.3.6 writes long-name slots before `.` and `..` of a new directory (and a
//!   non-zero `..` under a FAT32 root); [`super::fixup`] repairs that after every write session.
//! - Short (8.3) names are `fatfs`'s: a name that is valid 8.3 in upper case is stored as is;
//!   others get a long name plus a `NAME~N.EXT` short name, which U-Boot's FAT code reads.
//! - A regular file's bytes do not go through `fatfs`: it allocates the clusters and writes
//!   the chain and the entry while the cache only notes where the data goes, then the file is
//!   copied there in large runs by the kernel (see [`CachedIo::begin_copy`]). One copy of the
//!   data instead of three (read into memory, into the cache, into the image).

use std::cell::RefCell;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::bpb::BootSector;
use super::io::CachedIo;
use super::params::FatType;
use super::time::{CLOCK, DosDateTime};
use crate::block::BlockDevice;
use crate::error::{DiskError, Result};

/// The stream `fatfs` works on: the session's cache, shared with norrec's own data copies.
pub struct IoRef<'a, D: BlockDevice>(&'a RefCell<CachedIo<D>>);

impl<D: BlockDevice> Read for IoRef<'_, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

impl<D: BlockDevice> Write for IoRef<'_, D> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

impl<D: BlockDevice> Seek for IoRef<'_, D> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.0.borrow_mut().seek(to)
    }
}

/// An open FAT: the `fatfs` file system (its methods are reachable through `Deref`) plus
/// the cache under it, for copies that bypass `fatfs`.
pub struct Fs<'a, D: BlockDevice> {
    fs: fatfs::FileSystem<IoRef<'a, D>>,
    io: &'a RefCell<CachedIo<D>>,
    /// Byte offset of cluster 2 in the partition.
    data_start: u64,
}

impl<'a, D: BlockDevice> std::ops::Deref for Fs<'a, D> {
    type Target = fatfs::FileSystem<IoRef<'a, D>>;
    fn deref(&self) -> &Self::Target {
        &self.fs
    }
}

impl<D: BlockDevice> std::fmt::Debug for IoRef<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IoRef")
    }
}

impl<D: BlockDevice> std::fmt::Debug for Fs<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fs")
            .field("fat_type", &self.fs.fat_type())
            .field("data_start", &self.data_start)
            .finish_non_exhaustive()
    }
}

type Dir<'a, 'b, D> = fatfs::Dir<'b, IoRef<'a, D>>;

/// Copy buffer size (bounded memory for any file size).
const COPY_BUF: usize = 1 << 20;

/// One directory entry as norrec reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The long name (or the short one when there is none).
    pub name: String,
    /// The 8.3 name as stored.
    pub short_name: String,
    pub is_dir: bool,
    /// Bytes (0 for directories).
    pub size: u64,
    /// Last modification, `YYYY-MM-DD HH:MM:SS`.
    pub modified: String,
}

/// Volume facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub fat_type: FatType,
    pub cluster_bytes: u32,
    pub total_clusters: u32,
    pub free_clusters: u32,
    pub volume_id: u32,
    pub label: String,
}

/// Opens the FAT on `dev`, runs `f` on it, then unmounts (FSInfo, clean flag) and writes the
/// cache out — also when `f` fails, so that its clean-up (removing a partial file) lands.
pub fn with_fs<D: BlockDevice, R>(dev: D, f: impl FnOnce(&Fs<'_, D>) -> Result<R>) -> Result<R> {
    open_fs(dev, true, f)
}

/// Like [`with_fs`] for reading only: nothing is ever written to `dev` (what `fatfs` would
/// update — FSInfo's free count after counting, the clean flag — is dropped), so a device
/// opened read-only works.
pub fn with_fs_read_only<D: BlockDevice, R>(
    dev: D,
    f: impl FnOnce(&Fs<'_, D>) -> Result<R>,
) -> Result<R> {
    open_fs(dev, false, f)
}

fn open_fs<D: BlockDevice, R>(
    dev: D,
    write: bool,
    f: impl FnOnce(&Fs<'_, D>) -> Result<R>,
) -> Result<R> {
    let mut sector = [0u8; 512];
    if dev.len() < 512 {
        return Err(DiskError::NotFat(format!(
            "{} bytes, smaller than a boot sector",
            dev.len()
        )));
    }
    let mut io = CachedIo::new(dev);
    io.get_mut().read_at(0, &mut sector)?;
    let bs = BootSector::parse(&sector)?;
    let end = u64::from(bs.total_sectors()) * u64::from(bs.bytes_per_sector());
    if end > io.get_mut().len() {
        return Err(DiskError::NotFat(format!(
            "boot sector offset 19/32 (total sectors): {} sectors reach byte {end}, past the {}-byte partition",
            bs.total_sectors(),
            io.get_mut().len()
        )));
    }
    let data_start = u64::from(bs.first_data_sector()) * u64::from(bs.bytes_per_sector());
    let opts = fatfs::FsOptions::new()
        .update_accessed_date(false)
        .time_provider(&CLOCK);
    let io = RefCell::new(io);
    let r = {
        let fs = fatfs::FileSystem::new(IoRef(&io), opts)
            .map_err(|e| DiskError::NotFat(format!("fatfs refuses the volume: {e}")))?;
        let fs = Fs {
            fs,
            io: &io,
            data_start,
        };
        let r = f(&fs);
        let u = fs.fs.unmount().map_err(|e| DiskError::io("unmount", e));
        match (r, u) {
            (Ok(v), Ok(())) => Ok(v),
            (Err(e), _) | (Ok(_), Err(e)) => Err(e),
        }
    };
    let mut io = io.into_inner();
    if write {
        io.sync()?;
        super::fixup::fix_dot_entries(io.get_mut())?;
        io.get_mut().flush()?;
    } else {
        io.discard_changes();
    }
    r
}

/// The components of a FAT path (`/a/b`, `a/b/`, `/` …); `.` and empty parts dropped.
pub fn components(path: &str) -> Result<Vec<&str>> {
    let mut out = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(DiskError::FatPath {
                    path: path.to_owned(),
                    msg: "'..' is not supported".into(),
                });
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn path_err(path: &str, e: io::Error) -> DiskError {
    match e.kind() {
        io::ErrorKind::NotFound => DiskError::FatPath {
            path: path.to_owned(),
            msg: "no such file or directory".into(),
        },
        io::ErrorKind::AlreadyExists => DiskError::FatPath {
            path: path.to_owned(),
            msg: "already exists (as a file where a directory is wanted, or the reverse)".into(),
        },
        _ => DiskError::io(format!("FAT {path}"), e),
    }
}

fn fmt_time(t: fatfs::DateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.date.year, t.date.month, t.date.day, t.time.hour, t.time.min, t.time.sec
    )
}

fn entry_of<T: fatfs::ReadWriteSeek>(e: &fatfs::DirEntry<'_, T>) -> Entry {
    Entry {
        name: e.file_name(),
        short_name: e.short_file_name(),
        is_dir: e.is_dir(),
        size: if e.is_dir() { 0 } else { e.len() },
        modified: fmt_time(e.modified()),
    }
}

/// What a path names: `None` for the root directory, else its entry.
pub fn stat<D: BlockDevice>(fs: &Fs<'_, D>, path: &str) -> Result<Option<Entry>> {
    let parts = components(path)?;
    let Some((last, parents)) = parts.split_last() else {
        return Ok(None);
    };
    let dir = open_dir_parts(fs, parents, path)?;
    for e in dir.iter() {
        let e = e.map_err(|e| path_err(path, e))?;
        if e.file_name().eq_ignore_ascii_case(last)
            || e.short_file_name().eq_ignore_ascii_case(last)
        {
            return Ok(Some(entry_of(&e)));
        }
    }
    Err(path_err(path, io::ErrorKind::NotFound.into()))
}

fn open_dir_parts<'b, 'a, D: BlockDevice>(
    fs: &'b Fs<'a, D>,
    parts: &[&str],
    path: &str,
) -> Result<Dir<'a, 'b, D>> {
    let root = fs.root_dir();
    if parts.is_empty() {
        return Ok(root);
    }
    root.open_dir(&parts.join("/"))
        .map_err(|e| path_err(path, e))
}

fn open_dir<'b, 'a, D: BlockDevice>(fs: &'b Fs<'a, D>, path: &str) -> Result<Dir<'a, 'b, D>> {
    open_dir_parts(fs, &components(path)?, path)
}

/// The entries of a directory (without `.` and `..`), or the one entry of a file.
pub fn list<D: BlockDevice>(fs: &Fs<'_, D>, path: &str) -> Result<Vec<Entry>> {
    if let Some(e) = stat(fs, path)? {
        if !e.is_dir {
            return Ok(vec![e]);
        }
    }
    let dir = open_dir(fs, path)?;
    let mut out = Vec::new();
    for e in dir.iter() {
        let e = e.map_err(|e| path_err(path, e))?;
        let n = e.file_name();
        if n == "." || n == ".." {
            continue;
        }
        out.push(entry_of(&e));
    }
    Ok(out)
}

/// Type, sizes, label and free space.
pub fn info<D: BlockDevice>(fs: &Fs<'_, D>) -> Result<Info> {
    let st = fs.stats().map_err(|e| DiskError::io("FAT statistics", e))?;
    let label = fs
        .read_volume_label_from_root_dir()
        .ok()
        .flatten()
        .unwrap_or_else(|| fs.volume_label());
    Ok(Info {
        fat_type: match fs.fat_type() {
            fatfs::FatType::Fat12 => FatType::Fat12,
            fatfs::FatType::Fat16 => FatType::Fat16,
            fatfs::FatType::Fat32 => FatType::Fat32,
        },
        cluster_bytes: st.cluster_size(),
        total_clusters: st.total_clusters(),
        free_clusters: st.free_clusters(),
        volume_id: fs.volume_id(),
        label: match label.trim_end() {
            "NO NAME" => String::new(),
            l => l.to_owned(),
        },
    })
}

/// Creates `path` and its missing parents (like `mkdir -p`).
pub fn mkdir_p<D: BlockDevice>(fs: &Fs<'_, D>, path: &str) -> Result<()> {
    let mut dir = fs.root_dir();
    for c in components(path)? {
        dir = dir.create_dir(c).map_err(|e| path_err(path, e))?;
    }
    Ok(())
}

/// Clusters a directory of `names` needs (entries with long-name slots, `.` and `..`).
fn dir_clusters(names: &[String], cluster: u64) -> u64 {
    let slots: u64 = 2 + names
        .iter()
        .map(|n| 1 + (n.encode_utf16().count() as u64).div_ceil(13))
        .sum::<u64>();
    (slots * 32).div_ceil(cluster).max(1)
}

/// Clusters a local file or tree needs in a FAT with `cluster`-byte clusters.
pub fn clusters_needed(src: &Path, cluster: u64) -> Result<u64> {
    let meta = fs::metadata(src).map_err(|e| DiskError::io(src.display().to_string(), e))?;
    if meta.is_dir() {
        let mut names = Vec::new();
        let mut total = 0;
        for e in fs::read_dir(src).map_err(|e| DiskError::io(src.display().to_string(), e))? {
            let e = e.map_err(|e| DiskError::io(src.display().to_string(), e))?;
            names.push(e.file_name().to_string_lossy().into_owned());
            total += clusters_needed(&e.path(), cluster)?;
        }
        Ok(total + dir_clusters(&names, cluster))
    } else {
        Ok(meta.len().div_ceil(cluster))
    }
}

fn join(dir: &str, name: &str) -> String {
    let d = dir.trim_end_matches('/');
    format!("{d}/{name}")
}

fn local_name(src: &Path) -> Result<String> {
    src.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| DiskError::FatPath {
            path: src.display().to_string(),
            msg: "has no file name to copy under".into(),
        })
}

/// Copies local files or trees into the FAT, `cp -r` style: into `dst` when it is a
/// directory, else to `dst` itself (one source only). Refused whole, before any write, when
/// the sources do not fit. Returns the bytes of file data copied.
pub fn copy_in<D: BlockDevice>(fs: &Fs<'_, D>, srcs: &[PathBuf], dst: &str) -> Result<u64> {
    // Some(None): the root; Some(Some(e)): exists; None: does not exist (yet).
    let target = match stat(fs, dst) {
        Ok(t) => Some(t),
        Err(DiskError::FatPath { .. }) => None,
        Err(e) => return Err(e),
    };
    let dst_is_dir = match &target {
        Some(None) => true,
        Some(Some(e)) => e.is_dir,
        None => false,
    };
    if srcs.len() > 1 && !dst_is_dir {
        return Err(DiskError::FatPath {
            path: dst.to_owned(),
            msg: "copying several sources needs an existing directory as target".into(),
        });
    }
    let mut plan = Vec::new();
    for s in srcs {
        let meta = fs::metadata(s).map_err(|e| DiskError::io(s.display().to_string(), e))?;
        let to = if dst_is_dir {
            join(dst, &local_name(s)?)
        } else {
            dst.to_owned()
        };
        if let Ok(Some(existing)) = stat(fs, &to) {
            if existing.is_dir != meta.is_dir() {
                return Err(DiskError::FatPath {
                    path: to,
                    msg: if existing.is_dir {
                        "is a directory; the source is a file".into()
                    } else {
                        "is a file; the source is a directory".into()
                    },
                });
            }
        }
        plan.push((s.clone(), to));
    }
    if !dst_is_dir {
        // The parent of a new target name must exist.
        let parts = components(dst)?;
        if let Some((_, parents)) = parts.split_last() {
            open_dir_parts(fs, parents, dst)?;
        }
    }
    let st = fs.stats().map_err(|e| DiskError::io("FAT statistics", e))?;
    let cluster = u64::from(st.cluster_size());
    let mut need = 1; // the target directory may have to grow by a cluster
    for (s, _) in &plan {
        need += clusters_needed(s, cluster)?;
    }
    let free = u64::from(st.free_clusters());
    if need > free {
        return Err(DiskError::NoSpace {
            needed: need * cluster,
            free: free * cluster,
        });
    }
    let mut bytes = 0;
    for (s, to) in &plan {
        bytes += copy_in_one(fs, s, to)?;
    }
    Ok(bytes)
}

fn copy_in_one<D: BlockDevice>(fs: &Fs<'_, D>, src: &Path, to: &str) -> Result<u64> {
    let meta = fs::metadata(src).map_err(|e| DiskError::io(src.display().to_string(), e))?;
    if meta.is_dir() {
        mkdir_p(fs, to)?;
        let mut entries: Vec<_> = fs::read_dir(src)
            .and_then(|rd| rd.collect::<io::Result<Vec<_>>>())
            .map_err(|e| DiskError::io(src.display().to_string(), e))?;
        entries.sort_by_key(|e| e.file_name());
        let mut bytes = 0;
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            bytes += copy_in_one(fs, &e.path(), &join(to, &name))?;
        }
        return Ok(bytes);
    }
    let mut input = fs::File::open(src).map_err(|e| DiskError::io(src.display().to_string(), e))?;
    let mtime = meta
        .modified()
        .map(DosDateTime::from_system)
        .unwrap_or_else(|_| DosDateTime::now());
    let r = if meta.is_file() {
        copy_file(fs, to, input, mtime)
    } else {
        write_file(fs, to, &mut input, mtime)
    };
    r.map_err(|e| annotate(e, &src.display().to_string()))
}

/// Writes a FAT file at `path` (created or truncated) with the contents of the regular file
/// `src`, copied by reference (see the module docs); on failure the file is removed again.
/// Returns its length (the source's length when it was opened).
pub fn copy_file<D: BlockDevice>(
    fs: &Fs<'_, D>,
    path: &str,
    src: fs::File,
    mtime: DosDateTime,
) -> Result<u64> {
    let len = src.metadata().map_err(|e| DiskError::io("stat", e))?.len();
    let parts = components(path)?;
    let Some((name, parents)) = parts.split_last() else {
        return Err(DiskError::FatPath {
            path: path.to_owned(),
            msg: "is the root directory".into(),
        });
    };
    let dir = open_dir_parts(fs, parents, path)?;
    let result = (|| -> Result<u64> {
        // An existing file is overwritten in place: its clusters are reused (already
        // allocated on the host, no new holes filled) and the rest is freed after.
        let mut f = dir.create_file(name).map_err(|e| path_err(path, e))?;
        fs.io.borrow_mut().begin_copy(src, fs.data_start);
        // `fatfs` allocates a cluster per write call and the cache records where it goes;
        // the buffer's bytes are never read (calloc'd, its pages are not even touched).
        let fed = (|| -> io::Result<()> {
            let placeholder = vec![0u8; (COPY_BUF as u64).min(len) as usize];
            let mut left = len;
            while left > 0 {
                let n = left.min(placeholder.len() as u64) as usize;
                f.write_all(&placeholder[..n])?;
                left -= n as u64;
            }
            Ok(())
        })();
        let placed = fs.io.borrow_mut().end_copy(fed.is_ok());
        fed.map_err(|e| path_err(path, e))?;
        let placed = placed?;
        if placed != len {
            return Err(DiskError::FatPath {
                path: path.to_owned(),
                msg: format!("placed {placed} of {len} bytes"),
            });
        }
        f.truncate().map_err(|e| path_err(path, e))?;
        #[allow(deprecated)]
        f.set_modified(mtime.to_fatfs());
        f.flush().map_err(|e| path_err(path, e))?;
        Ok(len)
    })();
    if result.is_err() {
        let _ = dir.remove(name);
    }
    result
}

fn annotate(e: DiskError, what: &str) -> DiskError {
    match e {
        DiskError::Io { what: w, source } => DiskError::Io {
            what: format!("{what} → {w}"),
            source,
        },
        e => e,
    }
}

/// Writes a FAT file at `path` (created or truncated) from `input`, streaming; on failure the
/// file is removed again. Returns its length.
pub fn write_file<D: BlockDevice>(
    fs: &Fs<'_, D>,
    path: &str,
    input: &mut dyn Read,
    mtime: DosDateTime,
) -> Result<u64> {
    let parts = components(path)?;
    let Some((name, parents)) = parts.split_last() else {
        return Err(DiskError::FatPath {
            path: path.to_owned(),
            msg: "is the root directory".into(),
        });
    };
    let dir = open_dir_parts(fs, parents, path)?;
    let result = (|| -> Result<u64> {
        let mut f = dir.create_file(name).map_err(|e| path_err(path, e))?;
        f.truncate().map_err(|e| path_err(path, e))?;
        let mut buf = vec![0u8; COPY_BUF];
        let mut total = 0u64;
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(DiskError::io("read", e)),
            };
            f.write_all(&buf[..n]).map_err(|e| path_err(path, e))?;
            total += n as u64;
        }
        // Deprecated in fatfs 0.3.6 only because a later write would overwrite it; this is
        // after the last write, so the source's time stays.
        #[allow(deprecated)]
        f.set_modified(mtime.to_fatfs());
        f.flush().map_err(|e| path_err(path, e))?;
        Ok(total)
    })();
    if result.is_err() {
        let _ = dir.remove(name);
    }
    result
}

/// Streams a FAT file into `out`; returns its length.
pub fn read_file<D: BlockDevice>(fs: &Fs<'_, D>, path: &str, out: &mut dyn Write) -> Result<u64> {
    let parts = components(path)?;
    let mut f = fs
        .root_dir()
        .open_file(&parts.join("/"))
        .map_err(|e| path_err(path, e))?;
    let mut buf = vec![0u8; COPY_BUF];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| path_err(path, e))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .map_err(|e| DiskError::io("write", e))?;
        total += n as u64;
    }
    Ok(total)
}

/// Copies a FAT file or directory tree out to `dst` (`cp -r` style: into `dst` when it is an
/// existing directory). Each file appears whole or not at all (written beside its final
/// name and renamed). Returns the bytes copied.
pub fn copy_out<D: BlockDevice>(fs: &Fs<'_, D>, src: &str, dst: &Path) -> Result<u64> {
    let entry = stat(fs, src)?;
    let name = entry.as_ref().map(|e| e.name.clone());
    let to = match (&name, dst.is_dir()) {
        (Some(n), true) => dst.join(n),
        _ => dst.to_path_buf(),
    };
    copy_out_one(fs, src, entry.is_none_or(|e| e.is_dir), &to)
}

fn copy_out_one<D: BlockDevice>(fs: &Fs<'_, D>, src: &str, is_dir: bool, to: &Path) -> Result<u64> {
    let io_err = |e| DiskError::io(to.display().to_string(), e);
    if is_dir {
        fs::create_dir_all(to).map_err(io_err)?;
        let mut bytes = 0;
        for e in list(fs, src)? {
            bytes += copy_out_one(fs, &join(src, &e.name), e.is_dir, &to.join(&e.name))?;
        }
        return Ok(bytes);
    }
    let dir = match to.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".norrec-")
        .tempfile_in(dir)
        .map_err(io_err)?;
    let n = read_file(fs, src, tmp.as_file_mut())?;
    tmp.persist(to).map_err(|e| io_err(e.error))?;
    Ok(n)
}
