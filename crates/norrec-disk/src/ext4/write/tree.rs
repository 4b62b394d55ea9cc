//! The source tree of `mkfs-from-dir`: walked once, before anything is written, into a list of
//! nodes (hard links share a node), so that inodes and blocks can be counted and placed first.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::inode::Time;
use crate::error::{DiskError, Result};

/// What a node is.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A directory and its entries (name, node), sorted by name.
    Dir(Vec<(Vec<u8>, usize)>),
    /// A regular file, read from `path` when the data is written.
    File {
        path: PathBuf,
        size: u64,
    },
    Symlink(Vec<u8>),
    Char {
        major: u32,
        minor: u32,
    },
    Block {
        major: u32,
        minor: u32,
    },
    Fifo,
    Socket,
}

/// One inode-to-be.
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    /// Permission bits with setuid, setgid and sticky (mode & 0o7777).
    pub perm: u16,
    pub uid: u32,
    pub gid: u32,
    pub atime: Time,
    pub mtime: Time,
    pub ctime: Time,
    /// Names that refer to this node inside the tree (hard links).
    pub names: u32,
}

/// The whole source tree; node 0 is the root directory.
#[derive(Debug, Clone)]
pub struct Tree {
    pub nodes: Vec<Node>,
    /// Bytes of regular-file data.
    pub file_bytes: u64,
}

impl Tree {
    /// A tree holding only an empty root directory (what `format` makes).
    pub fn empty(perm: u16, time: Time) -> Self {
        Tree {
            nodes: vec![Node {
                kind: Kind::Dir(Vec::new()),
                perm,
                uid: 0,
                gid: 0,
                atime: time,
                mtime: time,
                ctime: time,
                names: 1,
            }],
            file_bytes: 0,
        }
    }
}

fn times(m: &std::fs::Metadata) -> (Time, Time, Time) {
    let t = |s: i64, n: i64| Time {
        sec: s,
        nsec: n.clamp(0, 999_999_999) as u32,
    };
    (
        t(m.atime(), m.atime_nsec()),
        t(m.mtime(), m.mtime_nsec()),
        t(m.ctime(), m.ctime_nsec()),
    )
}

fn major_minor(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (major as u32, minor as u32)
}

fn node(path: &Path, m: &std::fs::Metadata) -> Result<Node> {
    let ft = m.file_type();
    let kind = if ft.is_dir() {
        Kind::Dir(Vec::new())
    } else if ft.is_file() {
        Kind::File {
            path: path.to_owned(),
            size: m.len(),
        }
    } else if ft.is_symlink() {
        let t = std::fs::read_link(path)
            .map_err(|e| DiskError::io(format!("{}: reading the link", path.display()), e))?;
        Kind::Symlink(t.as_os_str().as_bytes().to_vec())
    } else if ft.is_char_device() {
        let (major, minor) = major_minor(m.rdev());
        Kind::Char { major, minor }
    } else if ft.is_block_device() {
        let (major, minor) = major_minor(m.rdev());
        Kind::Block { major, minor }
    } else if ft.is_fifo() {
        Kind::Fifo
    } else {
        Kind::Socket
    };
    let (atime, mtime, ctime) = times(m);
    Ok(Node {
        kind,
        perm: (m.mode() & 0o7777) as u16,
        uid: m.uid(),
        gid: m.gid(),
        atime,
        mtime,
        ctime,
        names: 1,
    })
}

/// Walks `root` (not following symlinks) into a [`Tree`].
pub fn scan(root: &Path) -> Result<Tree> {
    let io = |p: &Path, e| DiskError::io(p.display().to_string(), e);
    let m = std::fs::symlink_metadata(root).map_err(|e| io(root, e))?;
    if !m.is_dir() {
        return Err(DiskError::Ext4Format(format!(
            "{}: not a directory",
            root.display()
        )));
    }
    let mut nodes = vec![node(root, &m)?];
    let mut links: HashMap<(u64, u64), usize> = HashMap::new();
    let mut file_bytes = 0u64;
    let mut stack = vec![(0usize, root.to_owned())];
    while let Some((dir, path)) = stack.pop() {
        let mut names: Vec<_> = std::fs::read_dir(&path)
            .map_err(|e| io(&path, e))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| io(&path, e))?;
        names.sort();
        let mut entries = Vec::with_capacity(names.len());
        for name in names {
            let p = path.join(&name);
            let bytes = name.as_bytes().to_vec();
            if bytes.len() > 255 {
                return Err(DiskError::Ext4Format(format!(
                    "{}: name longer than 255 bytes",
                    p.display()
                )));
            }
            let m = std::fs::symlink_metadata(&p).map_err(|e| io(&p, e))?;
            if !m.is_dir() && m.nlink() > 1 {
                if let Some(&n) = links.get(&(m.dev(), m.ino())) {
                    nodes[n].names += 1;
                    entries.push((bytes, n));
                    continue;
                }
            }
            let n = nodes.len();
            let nd = node(&p, &m)?;
            if let Kind::File { size, .. } = nd.kind {
                file_bytes += size;
            }
            if m.is_dir() {
                stack.push((n, p));
            } else if m.nlink() > 1 {
                links.insert((m.dev(), m.ino()), n);
            }
            nodes.push(nd);
            entries.push((bytes, n));
        }
        nodes[dir].kind = Kind::Dir(entries);
    }
    Ok(Tree { nodes, file_bytes })
}
