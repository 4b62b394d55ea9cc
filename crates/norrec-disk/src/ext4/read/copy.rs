//! Copying files and trees out of an ext4 into the local file system, as `cp -a` would:
//! directories, regular files, symlinks as symlinks, permission bits and modification times
//! kept, owners too where the process may set them (like `cp -p`, a refused `chown` is not an
//! error: only root can give files away). Every file is written to a temporary file beside its
//! destination and renamed into place, so an error never leaves a half-written file.
//!
//! Holes (and uninitialized extents) stay holes in the copy, as with `cp --sparse=auto`.
//!
//! Device nodes, FIFOs and sockets are not recreated (that needs root and `mknod`); they are
//! counted in [`CopyStats::skipped`]. Hard links stay hard links among the files copied in one
//! call (the second name links to the first copy, as `cp -a` does). Symlinks keep their
//! target but not their own time stamp (std cannot set it without following the link).

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::dir::DirEntry;
use super::fs::Ext4;
use super::inode::{FileKind, Inode, Timestamp};
use crate::block::BlockDevice;
use crate::error::{DiskError, Result};

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Bytes of file data written.
    pub bytes: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Device nodes, FIFOs and sockets left out.
    pub skipped: u64,
}

/// Copies `src` (a path inside the ext4) to `dst`. When `dst` is an existing directory the
/// copy goes inside it under `src`'s name; otherwise `dst` is the copy's name (an existing file
/// there is replaced, as `cp` does; a directory is not copied over a file).
pub fn copy_out<D: BlockDevice>(fs: &mut Ext4<D>, src: &str, dst: &Path) -> Result<CopyStats> {
    let inode = fs.lookup(src)?;
    let name = src
        .rsplit('/')
        .find(|c| !c.is_empty() && *c != "." && *c != "..");
    let to = match name {
        Some(n) if dst.is_dir() => dst.join(n),
        _ => dst.to_path_buf(),
    };
    let mut c = Copier {
        fs,
        stats: CopyStats::default(),
        seen: HashSet::new(),
        linked: HashMap::new(),
        buf: vec![0u8; 256 << 10],
    };
    c.copy(&inode, &to)?;
    Ok(c.stats)
}

struct Copier<'a, D> {
    fs: &'a mut Ext4<D>,
    stats: CopyStats,
    /// Directories entered, so a damaged image whose entries loop cannot recurse forever.
    seen: HashSet<u32>,
    /// Where files with more than one link were copied to, by inode.
    linked: HashMap<u32, PathBuf>,
    buf: Vec<u8>,
}

fn io_err(p: &Path) -> impl Fn(io::Error) -> DiskError + '_ {
    move |e| DiskError::io(p.display().to_string(), e)
}

fn system_time(t: Timestamp) -> SystemTime {
    let nanos = Duration::from_nanos(u64::from(t.nanos));
    if t.secs >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(t.secs as u64) + nanos
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(t.secs.unsigned_abs()) + nanos
    }
}

/// `chown`, where a refusal (not root) is not an error.
fn own(r: io::Result<()>, p: &Path) -> Result<()> {
    match r {
        Err(e) if e.kind() != io::ErrorKind::PermissionDenied => Err(io_err(p)(e)),
        _ => Ok(()),
    }
}

fn parent_of(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

impl<D: BlockDevice> Copier<'_, D> {
    fn copy(&mut self, inode: &Inode, to: &Path) -> Result<()> {
        match inode.kind() {
            FileKind::Dir => self.dir(inode, to),
            FileKind::File => self.file(inode, to),
            FileKind::Symlink => self.symlink(inode, to),
            _ => {
                self.stats.skipped += 1;
                Ok(())
            }
        }
    }

    fn dir(&mut self, inode: &Inode, to: &Path) -> Result<()> {
        if !self.seen.insert(inode.ino) {
            return Err(DiskError::Ext4 {
                offset: inode.offset,
                msg: format!(
                    "directory inode {} reached twice: the tree loops",
                    inode.ino
                ),
            });
        }
        match fs::symlink_metadata(to) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(DiskError::io(
                    to.display().to_string(),
                    io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "exists and is not a directory",
                    ),
                ));
            }
            Err(_) => fs::create_dir(to).map_err(io_err(to))?,
        }
        self.stats.dirs += 1;
        let entries: Vec<DirEntry> = self.fs.read_dir(inode.ino)?;
        for e in entries.iter().filter(|e| !e.is_dot()) {
            if e.name.contains(&b'/') || e.name.contains(&0) {
                return Err(DiskError::Ext4 {
                    offset: inode.offset,
                    msg: format!(
                        "directory inode {} holds the name {:?}, which no file may have",
                        inode.ino,
                        e.name_lossy()
                    ),
                });
            }
            let child = self.fs.inode(e.ino)?;
            self.copy(&child, &to.join(OsStr::from_bytes(&e.name)))?;
        }
        own(
            std::os::unix::fs::chown(to, Some(inode.uid), Some(inode.gid)),
            to,
        )?;
        fs::set_permissions(
            to,
            fs::Permissions::from_mode(u32::from(inode.permissions())),
        )
        .map_err(io_err(to))?;
        // The time goes last: creating the entries inside changed it.
        fs::File::open(to)
            .and_then(|f| f.set_modified(system_time(inode.mtime)))
            .map_err(io_err(to))
    }

    fn file(&mut self, inode: &Inode, to: &Path) -> Result<()> {
        if let Some(first) = self.linked.get(&inode.ino) {
            // Linked under a temporary name, then renamed over `to` (replacing a file there).
            let tmp = tempfile::Builder::new()
                .prefix(".norrec-")
                .make_in(parent_of(to), |p| fs::hard_link(first, p))
                .map_err(io_err(to))?;
            tmp.persist(to).map_err(|e| io_err(to)(e.error))?;
            self.stats.files += 1;
            return Ok(());
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(".norrec-")
            .tempfile_in(parent_of(to))
            .map_err(io_err(to))?;
        let mut r = self.fs.open_file(inode.ino)?;
        let out = tmp.as_file_mut();
        loop {
            // Holes stay holes: skipped in the source, seeked over in the copy.
            let zeros = r.zeros_ahead()?;
            if zeros > 0 {
                r.skip(zeros);
                out.seek(SeekFrom::Current(zeros as i64))
                    .map_err(io_err(to))?;
                self.stats.bytes += zeros;
                continue;
            }
            let n = match r.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    // The reader's errors are DiskErrors wrapped in io::Error: unwrap them.
                    return Err(match e.downcast::<DiskError>() {
                        Ok(d) => d,
                        Err(e) => io_err(to)(e),
                    });
                }
            };
            out.write_all(&self.buf[..n]).map_err(io_err(to))?;
            self.stats.bytes += n as u64;
        }
        // A trailing hole: the size is set, no zeros written.
        out.set_len(inode.size).map_err(io_err(to))?;
        own(
            std::os::unix::fs::fchown(&*out, Some(inode.uid), Some(inode.gid)),
            to,
        )?;
        out.set_permissions(fs::Permissions::from_mode(u32::from(inode.permissions())))
            .map_err(io_err(to))?;
        out.set_modified(system_time(inode.mtime))
            .map_err(io_err(to))?;
        tmp.persist(to).map_err(|e| io_err(to)(e.error))?;
        if inode.links > 1 {
            self.linked.insert(inode.ino, to.to_path_buf());
        }
        self.stats.files += 1;
        Ok(())
    }

    fn symlink(&mut self, inode: &Inode, to: &Path) -> Result<()> {
        let target = self.fs.read_link(inode.ino)?;
        let dir = parent_of(to);
        // Made under a temporary name, then renamed over `to` (which replaces a file there).
        let mut tmp: Option<PathBuf> = None;
        for i in 0..100u32 {
            let p = dir.join(format!(".norrec-link-{}-{i}", std::process::id()));
            match std::os::unix::fs::symlink(OsStr::from_bytes(&target), &p) {
                Ok(()) => {
                    tmp = Some(p);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_err(to)(e)),
            }
        }
        let tmp = tmp.ok_or_else(|| {
            io_err(to)(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "no free temporary name",
            ))
        })?;
        let done = own(
            std::os::unix::fs::lchown(&tmp, Some(inode.uid), Some(inode.gid)),
            to,
        )
        .and_then(|()| fs::rename(&tmp, to).map_err(io_err(to)));
        if done.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        done?;
        self.stats.symlinks += 1;
        Ok(())
    }
}
