//! [`Ext4`]: an opened file system: inodes by number, paths, directories, file contents as a
//! stream, symlink targets.

use std::collections::VecDeque;
use std::io;

use super::dir::{self, DirEntry};
use super::extent::{self, MAX_DEPTH, Node};
use super::group::{GroupDesc, desc_offset};
use super::inode::{FLAG_ENCRYPT, FLAG_HUGE_FILE, FileKind, Inode};
use super::superblock::{
    INCOMPAT_FILETYPE, INCOMPAT_RECOVER, RO_COMPAT_HUGE_FILE, SUPERBLOCK_SIZE, Superblock,
};
use super::{le16, le32};
use crate::block::BlockDevice;
use crate::error::{DiskError, Result};
use crate::ext4::consts::{ROOT_INO, SUPERBLOCK_OFFSET};

/// Symlink targets longer than this are refused (the kernel's PATH_MAX is 4096).
const MAX_LINK: u64 = 4096;
/// Symlinks followed in one lookup before giving up (the kernel's limit is 40).
const MAX_FOLLOW: usize = 40;
/// Blocks of a block-mapped file gathered into one read when they are contiguous.
const MAX_RUN: u64 = 1024;

/// What `ls`, `df` and `dumpe2fs -h` say about a file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub label: String,
    pub uuid: String,
    pub block_size: u32,
    pub blocks: u64,
    pub free_blocks: u64,
    pub reserved_blocks: u64,
    pub inodes: u32,
    pub free_inodes: u32,
    pub inode_size: u16,
    pub groups: u64,
    pub rev_level: u32,
    /// e2fsprogs' feature names.
    pub features: Vec<String>,
    pub mkfs_time: u32,
    pub write_time: u32,
    /// The journal holds transactions not yet written to their places (needs_recovery):
    /// the reader sees the file system as it stands, without replaying them.
    pub needs_recovery: bool,
}

/// An ext2/3/4 file system on a block device, opened read-only.
#[derive(Debug)]
pub struct Ext4<D> {
    dev: D,
    sb: Superblock,
    groups: u64,
}

/// A contiguous piece of a file: `len` logical blocks from `lblk`, stored from physical block
/// `phys`, or zeros (a hole or an uninitialized extent) when `phys` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    lblk: u64,
    len: u64,
    phys: Option<u64>,
}

/// One cached tree block per level of an extent tree or block map.
#[derive(Debug, Default)]
struct MapCache {
    levels: [Option<(u64, Vec<u8>)>; MAX_DEPTH as usize + 1],
}

fn err(offset: u64, msg: impl Into<String>) -> DiskError {
    DiskError::Ext4 {
        offset,
        msg: msg.into(),
    }
}

impl<D: BlockDevice> Ext4<D> {
    /// Opens the file system on `dev`: reads and checks the superblock.
    pub fn open(mut dev: D) -> Result<Self> {
        if dev.len() < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE as u64 {
            return Err(DiskError::NotExt4(format!(
                "{} bytes, too short to hold a superblock at byte 1024",
                dev.len()
            )));
        }
        let mut b = vec![0u8; SUPERBLOCK_SIZE];
        dev.read_at(SUPERBLOCK_OFFSET, &mut b)?;
        let sb = Superblock::parse(&b, dev.len())?;
        let groups = sb.group_count();
        Ok(Ext4 { dev, sb, groups })
    }

    /// The superblock as read.
    pub fn superblock(&self) -> &Superblock {
        &self.sb
    }

    /// Gives the device back.
    pub fn into_inner(self) -> D {
        self.dev
    }

    /// Label, UUID, sizes, counts and features.
    pub fn info(&self) -> Info {
        let sb = &self.sb;
        Info {
            label: sb.label(),
            uuid: sb.uuid_string(),
            block_size: sb.block_size,
            blocks: sb.blocks_count,
            free_blocks: sb.free_blocks,
            reserved_blocks: sb.reserved_blocks,
            inodes: sb.inodes_count,
            free_inodes: sb.free_inodes,
            inode_size: sb.inode_size,
            groups: self.groups,
            rev_level: sb.rev_level,
            features: sb.feature_names(),
            mkfs_time: sb.mkfs_time,
            write_time: sb.write_time,
            needs_recovery: sb.has_incompat(INCOMPAT_RECOVER),
        }
    }

    fn bs(&self) -> u64 {
        u64::from(self.sb.block_size)
    }

    /// Reads `buf.len()` bytes at `offset`, naming `what` when that lies outside the device.
    fn read(&mut self, offset: u64, buf: &mut [u8], what: &str) -> Result<()> {
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.dev.len())
        {
            return Err(err(
                offset,
                format!("{what} lies beyond the end of the partition"),
            ));
        }
        self.dev.read_at(offset, buf)
    }

    /// Checks that `count` blocks from `block` lie inside the file system.
    fn check_blocks(&self, block: u64, count: u64, at: u64, what: &str) -> Result<()> {
        if block == 0
            || block
                .checked_add(count)
                .is_none_or(|e| e > self.sb.blocks_count)
        {
            return Err(err(
                at,
                format!(
                    "{what}: blocks {block}..+{count} outside the file system's {} blocks",
                    self.sb.blocks_count
                ),
            ));
        }
        Ok(())
    }

    /// The byte offset of inode `ino`'s record.
    fn inode_offset(&mut self, ino: u32) -> Result<u64> {
        if ino == 0 || ino > self.sb.inodes_count {
            return Err(err(
                SUPERBLOCK_OFFSET,
                format!(
                    "inode {ino} outside 1..={} (s_inodes_count)",
                    self.sb.inodes_count
                ),
            ));
        }
        let ipg = self.sb.inodes_per_group;
        let g = u64::from((ino - 1) / ipg);
        let index = u64::from((ino - 1) % ipg);
        let at = desc_offset(&self.sb, g);
        let mut d = vec![0u8; usize::from(self.sb.desc_size).min(64)];
        self.read(at, &mut d, &format!("group {g}'s descriptor"))?;
        let table = GroupDesc::parse(&d).inode_table;
        let isz = u64::from(self.sb.inode_size);
        let table_blocks = (u64::from(ipg) * isz).div_ceil(self.bs());
        self.check_blocks(
            table,
            table_blocks,
            at + 8,
            &format!("group {g}'s inode table"),
        )?;
        Ok(table * self.bs() + index * isz)
    }

    /// Reads inode `ino`.
    pub fn inode(&mut self, ino: u32) -> Result<Inode> {
        let (at, raw) = self.raw_inode(ino)?;
        let mut i = Inode::parse(ino, &raw)
            .map_err(|(off, msg)| err(at + off as u64, format!("inode {ino}: {msg}")))?;
        i.offset = at;
        Ok(i)
    }

    fn raw_inode(&mut self, ino: u32) -> Result<(u64, Vec<u8>)> {
        let at = self.inode_offset(ino)?;
        let mut raw = vec![0u8; usize::from(self.sb.inode_size)];
        self.read(at, &mut raw, &format!("inode {ino}"))?;
        Ok((at, raw))
    }

    /// Follows `path` (absolute or relative to the root) to its inode. Symlinks on the way are
    /// followed; the last component is not (like `lstat`).
    pub fn lookup(&mut self, path: &str) -> Result<Inode> {
        let not_found = |msg: &str| DiskError::Ext4Path {
            path: path.to_string(),
            msg: msg.to_string(),
        };
        let mut todo: VecDeque<Vec<u8>> = split(path.as_bytes());
        let mut cur = self.inode(ROOT_INO)?;
        let mut follows = 0;
        while let Some(name) = todo.pop_front() {
            if cur.kind() != FileKind::Dir {
                return Err(not_found("not a directory"));
            }
            let entries = self.read_dir(cur.ino)?;
            let Some(e) = entries.iter().find(|e| e.name == name) else {
                return Err(not_found("no such file or directory"));
            };
            let next = self.inode(e.ino)?;
            if next.kind() == FileKind::Symlink && !todo.is_empty() {
                follows += 1;
                if follows > MAX_FOLLOW {
                    return Err(not_found("too many levels of symbolic links"));
                }
                let target = self.read_link(next.ino)?;
                let mut parts = split(&target);
                parts.extend(todo.drain(..));
                todo = parts;
                if target.first() == Some(&b'/') {
                    cur = self.inode(ROOT_INO)?;
                }
                continue;
            }
            cur = next;
        }
        Ok(cur)
    }

    /// The entries of directory `ino` (with `.` and `..`), in on-disk order.
    pub fn read_dir(&mut self, ino: u32) -> Result<Vec<DirEntry>> {
        let inode = self.inode(ino)?;
        if inode.kind() != FileKind::Dir {
            return Err(DiskError::Ext4Path {
                path: format!("inode {ino}"),
                msg: "not a directory".into(),
            });
        }
        refuse_encrypted(&inode, "directory")?;
        let filetype = self.sb.has_incompat(INCOMPAT_FILETYPE);
        let mut out = Vec::new();
        if inode.has_inline_data() {
            let data = self.inline_data(&inode)?;
            if data.len() < 4 {
                return Err(err(
                    inode.offset + 4,
                    format!(
                        "inline directory {ino}: i_size {} leaves no room for its parent",
                        inode.size
                    ),
                ));
            }
            // i_block starts with the parent's inode number; entries follow, then continue
            // in the system.data attribute.
            out.push(DirEntry {
                name: b".".to_vec(),
                ino,
                kind: FileKind::Dir,
            });
            out.push(DirEntry {
                name: b"..".to_vec(),
                ino: le32(&data, 0),
                kind: FileKind::Dir,
            });
            let split_at = data.len().min(60);
            for (start, part) in [(4usize, &data[4..split_at]), (60, &data[split_at..])] {
                if !part.is_empty() {
                    dir::parse_block(part, filetype, &mut out).map_err(|(off, msg)| {
                        err(
                            inode.offset + 0x28 + (start + off) as u64,
                            format!("inline directory {ino}: {msg}"),
                        )
                    })?;
                }
            }
            return Ok(out);
        }
        let bs = self.bs();
        let max = self.sb.blocks_count * bs;
        if inode.size > max {
            return Err(err(
                inode.offset + 4,
                format!(
                    "directory {ino}: i_size {} larger than the file system",
                    inode.size
                ),
            ));
        }
        let end = inode.size.div_ceil(bs);
        let mut cache = MapCache::default();
        let mut block = vec![0u8; bs as usize];
        let mut lblk = 0;
        while lblk < end {
            let run = self.map(&inode, lblk, &mut cache)?;
            let n = run.len.min(end - lblk);
            if let Some(p) = run.phys {
                for k in 0..n {
                    let at = (p + k) * bs;
                    self.read(at, &mut block, &format!("directory {ino} block"))?;
                    dir::parse_block(&block, filetype, &mut out).map_err(|(off, msg)| {
                        err(at + off as u64, format!("directory {ino}: {msg}"))
                    })?;
                }
            }
            lblk += n;
        }
        Ok(out)
    }

    /// A reader of file (or symlink, or directory) `ino`'s bytes.
    pub fn open_file(&mut self, ino: u32) -> Result<File<'_, D>> {
        let inode = self.inode(ino)?;
        refuse_encrypted(&inode, "file")?;
        let inline = if inode.has_inline_data() {
            Some(self.inline_data(&inode)?)
        } else {
            None
        };
        Ok(File {
            fs: self,
            inode,
            pos: 0,
            cache: MapCache::default(),
            run: None,
            inline,
        })
    }

    /// The target of symlink `ino`.
    pub fn read_link(&mut self, ino: u32) -> Result<Vec<u8>> {
        let inode = self.inode(ino)?;
        if inode.kind() != FileKind::Symlink {
            return Err(DiskError::Ext4Path {
                path: format!("inode {ino}"),
                msg: "not a symbolic link".into(),
            });
        }
        refuse_encrypted(&inode, "symlink")?;
        if inode.size > MAX_LINK {
            return Err(err(
                inode.offset + 4,
                format!("symlink {ino}: target of {} bytes", inode.size),
            ));
        }
        let n = inode.size as usize;
        if n < 60 && !inode.has_inline_data() && self.data_blocks(&inode) == 0 {
            // A fast symlink: the target is in i_block.
            return Ok(inode.i_block[..n].to_vec());
        }
        let mut v = Vec::with_capacity(n);
        io::Read::read_to_end(&mut self.open_file(ino)?, &mut v)
            .map_err(|e| DiskError::io(format!("symlink {ino}"), e))?;
        Ok(v)
    }

    /// Data blocks an inode owns (i_blocks less its extended-attribute block), in 512-byte
    /// units.
    fn data_blocks(&self, inode: &Inode) -> u64 {
        let huge = self.sb.feature_ro_compat & RO_COMPAT_HUGE_FILE != 0
            && inode.flags & FLAG_HUGE_FILE != 0;
        let sectors = if huge {
            inode.blocks.saturating_mul(self.bs() / 512)
        } else {
            inode.blocks
        };
        let xattr = if inode.file_acl != 0 {
            self.bs() / 512
        } else {
            0
        };
        sectors.saturating_sub(xattr)
    }

    /// The inline data of an inode: `i_block` followed by the value of its in-inode
    /// `system.data` extended attribute, cut to `i_size`.
    fn inline_data(&mut self, inode: &Inode) -> Result<Vec<u8>> {
        let (at, raw) = self.raw_inode(inode.ino)?;
        let size = inode.size;
        let mut data = inode.i_block.to_vec();
        let xattr_at = 128 + usize::from(inode.extra_isize);
        if size > 60 {
            let v = in_inode_xattr(&raw, xattr_at, 7, b"data").map_err(|(off, msg)| {
                err(
                    at + off as u64,
                    format!("inode {}: inline data: {msg}", inode.ino),
                )
            })?;
            let Some(v) = v else {
                return Err(err(
                    at + xattr_at as u64,
                    format!(
                        "inode {}: {size} bytes of inline data but no system.data attribute",
                        inode.ino
                    ),
                ));
            };
            data.extend_from_slice(v);
        }
        if size > data.len() as u64 {
            return Err(err(
                at + 4,
                format!(
                    "inode {}: i_size {size} beyond its {} bytes of inline data",
                    inode.ino,
                    data.len()
                ),
            ));
        }
        data.truncate(size as usize);
        Ok(data)
    }

    /// Maps logical block `lblk` of `inode` to the run of blocks it starts.
    fn map(&mut self, inode: &Inode, lblk: u64, cache: &mut MapCache) -> Result<Run> {
        if inode.has_extents() {
            self.map_extent(inode, lblk, cache)
        } else {
            let first = self.map_blockmap(inode, lblk, cache)?;
            // Gather contiguous blocks (or holes) so reads stay large.
            let mut run = Run {
                lblk,
                len: 1,
                phys: first,
            };
            let end = inode.size.div_ceil(self.bs());
            while run.len < MAX_RUN && lblk + run.len < end {
                let next = self.map_blockmap(inode, lblk + run.len, cache)?;
                let contiguous = match (first, next) {
                    (None, None) => true,
                    (Some(a), Some(b)) => b == a + run.len,
                    _ => false,
                };
                if !contiguous {
                    break;
                }
                run.len += 1;
            }
            Ok(run)
        }
    }

    fn map_extent(&mut self, inode: &Inode, lblk: u64, cache: &mut MapCache) -> Result<Run> {
        let bs = self.bs();
        let mut limit = u64::MAX;
        let mut expect_depth: Option<u16> = None;
        let mut level = 0usize;
        let mut node_at = inode.offset + 0x28;
        let mut node = extent::parse_node(&inode.i_block);
        loop {
            let parsed = node.map_err(|(off, msg)| {
                err(node_at + off as u64, format!("inode {}: {msg}", inode.ino))
            })?;
            let depth = match &parsed {
                Node::Index { depth, .. } => *depth,
                Node::Leaf(_) => 0,
            };
            if expect_depth.is_some_and(|d| d != depth) {
                return Err(err(
                    node_at + 6,
                    format!(
                        "inode {}: extent node of depth {depth} under a node of depth {}",
                        inode.ino,
                        expect_depth.unwrap_or(0) + 1
                    ),
                ));
            }
            let hole = |next: u64| Run {
                lblk,
                len: next.saturating_sub(lblk).max(1),
                phys: None,
            };
            match parsed {
                Node::Index { depth, entries } => {
                    let i = entries.partition_point(|e| u64::from(e.block) <= lblk);
                    if i == 0 {
                        let next = entries.first().map_or(limit, |e| u64::from(e.block));
                        return Ok(hole(next.min(limit)));
                    }
                    if let Some(n) = entries.get(i) {
                        limit = limit.min(u64::from(n.block));
                    }
                    let leaf = entries[i - 1].leaf;
                    let entry_at = node_at + 12 + 12 * (i as u64 - 1) + 4;
                    self.check_blocks(
                        leaf,
                        1,
                        entry_at,
                        &format!("inode {} extent index", inode.ino),
                    )?;
                    level += 1;
                    if level > MAX_DEPTH as usize {
                        return Err(err(
                            entry_at,
                            format!("inode {}: extent tree too deep", inode.ino),
                        ));
                    }
                    let b = load(&mut self.dev, cache, level, leaf, bs)?;
                    node = extent::parse_node(b);
                    node_at = leaf * bs;
                    expect_depth = Some(depth - 1);
                }
                Node::Leaf(v) => {
                    let i = v.partition_point(|x| u64::from(x.block) <= lblk);
                    if i > 0 {
                        let x = v[i - 1];
                        let end = u64::from(x.block) + u64::from(x.len);
                        if lblk < end {
                            let at = node_at + 12 + 12 * (i as u64 - 1);
                            self.check_blocks(
                                x.start,
                                u64::from(x.len),
                                at,
                                &format!("inode {} extent", inode.ino),
                            )?;
                            let skip = lblk - u64::from(x.block);
                            return Ok(Run {
                                lblk,
                                len: end - lblk,
                                phys: (!x.uninit).then_some(x.start + skip),
                            });
                        }
                    }
                    let next = v.get(i).map_or(limit, |x| u64::from(x.block));
                    return Ok(hole(next.min(limit)));
                }
            }
        }
    }

    /// The physical block of logical block `lblk` in a block-mapped (ext2/ext3) inode, or
    /// `None` for a hole.
    fn map_blockmap(
        &mut self,
        inode: &Inode,
        lblk: u64,
        cache: &mut MapCache,
    ) -> Result<Option<u64>> {
        let bs = self.bs();
        let per = bs / 4;
        // The slot in i_block and the indices inside each indirect level.
        let mut idx = [0u64; 3];
        let (slot, levels) = if lblk < 12 {
            (lblk, 0)
        } else if lblk - 12 < per {
            idx[0] = lblk - 12;
            (12, 1)
        } else if lblk - 12 - per < per * per {
            let l = lblk - 12 - per;
            idx[0] = l / per;
            idx[1] = l % per;
            (13, 2)
        } else if lblk - 12 - per - per * per < per * per * per {
            let l = lblk - 12 - per - per * per;
            idx[0] = l / (per * per);
            idx[1] = (l / per) % per;
            idx[2] = l % per;
            (14, 3)
        } else {
            return Err(err(
                inode.offset + 4,
                format!(
                    "inode {}: block {lblk} beyond what a block map can address",
                    inode.ino
                ),
            ));
        };
        let mut ptr = u64::from(le32(&inode.i_block, slot as usize * 4));
        let mut at = inode.offset + 0x28 + slot * 4;
        for (level, &i) in idx.iter().take(levels).enumerate() {
            if ptr == 0 {
                return Ok(None);
            }
            self.check_blocks(ptr, 1, at, &format!("inode {} indirect block", inode.ino))?;
            let b = load(&mut self.dev, cache, level + 1, ptr, bs)?;
            at = ptr * bs + i * 4;
            ptr = u64::from(le32(b, i as usize * 4));
        }
        if ptr == 0 {
            return Ok(None);
        }
        self.check_blocks(ptr, 1, at, &format!("inode {} data block", inode.ino))?;
        Ok(Some(ptr))
    }
}

/// The block `pblk` at cache level `level`, read if not already there.
fn load<'c, D: BlockDevice>(
    dev: &mut D,
    cache: &'c mut MapCache,
    level: usize,
    pblk: u64,
    bs: u64,
) -> Result<&'c [u8]> {
    let slot = &mut cache.levels[level];
    if slot.as_ref().is_none_or(|(p, _)| *p != pblk) {
        let mut b = slot
            .take()
            .map(|(_, b)| b)
            .unwrap_or_else(|| vec![0u8; bs as usize]);
        dev.read_at(pblk * bs, &mut b)?;
        *slot = Some((pblk, b));
    }
    Ok(&slot.as_ref().expect("just filled").1)
}

/// The value of the in-inode extended attribute `index`.`name` (7, "data" is system.data) in
/// an inode record `raw` whose attribute area starts at `start`.
fn in_inode_xattr<'r>(
    raw: &'r [u8],
    start: usize,
    index: u8,
    name: &[u8],
) -> std::result::Result<Option<&'r [u8]>, (usize, String)> {
    if start + 4 > raw.len() || le32(raw, start) != 0xEA02_0000 {
        return Ok(None);
    }
    let base = start + 4;
    let mut off = base;
    while off + 4 <= raw.len() && le32(raw, off) != 0 {
        if off + 16 > raw.len() {
            return Err((off, "extended attribute entry past the inode".into()));
        }
        let name_len = usize::from(raw[off]);
        let name_index = raw[off + 1];
        let value_offs = usize::from(le16(raw, off + 2));
        let value_inum = le32(raw, off + 4);
        let value_size = le32(raw, off + 8) as usize;
        if off + 16 + name_len > raw.len() {
            return Err((off, "extended attribute name past the inode".into()));
        }
        if name_index == index && &raw[off + 16..off + 16 + name_len] == name {
            if value_inum != 0 {
                return Err((off + 4, "value in another inode (ea_inode)".into()));
            }
            let v = base
                .checked_add(value_offs)
                .and_then(|s| Some(s..s.checked_add(value_size)?))
                .filter(|r| r.end <= raw.len())
                .ok_or_else(|| {
                    (
                        off + 2,
                        format!("value of {value_size} bytes at {value_offs} past the inode"),
                    )
                })?;
            return Ok(Some(&raw[v]));
        }
        off += (16 + name_len).div_ceil(4) * 4;
    }
    Ok(None)
}

/// Encrypted inodes (fscrypt) hold ciphertext: names, targets and data are not read.
fn refuse_encrypted(inode: &Inode, what: &str) -> Result<()> {
    if inode.flags & FLAG_ENCRYPT != 0 {
        return Err(err(
            inode.offset + 0x20,
            format!("{what} inode {} is encrypted (i_flags)", inode.ino),
        ));
    }
    Ok(())
}

fn split(path: &[u8]) -> VecDeque<Vec<u8>> {
    path.split(|&c| c == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// A file's bytes as a stream (from [`Ext4::open_file`]). Reads go straight into the
/// caller's buffer; holes and uninitialized extents read as zeros.
#[derive(Debug)]
pub struct File<'a, D> {
    fs: &'a mut Ext4<D>,
    inode: Inode,
    pos: u64,
    cache: MapCache,
    run: Option<Run>,
    inline: Option<Vec<u8>>,
}

impl<D: BlockDevice> File<'_, D> {
    /// The inode being read.
    pub fn inode(&self) -> &Inode {
        &self.inode
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.inode.size
    }

    /// The run of blocks holding the current position, and the byte where it ends.
    fn run_here(&mut self) -> Result<(Run, u64)> {
        let bs = self.fs.bs();
        let lblk = self.pos / bs;
        let run = match self.run {
            Some(r) if r.lblk <= lblk && lblk < r.lblk + r.len => r,
            _ => {
                let r = self.fs.map(&self.inode, lblk, &mut self.cache)?;
                self.run = Some(r);
                r
            }
        };
        Ok((run, (run.lblk + run.len).saturating_mul(bs)))
    }

    /// How many bytes from the current position read as zeros because no block stores them
    /// (a hole or an uninitialized extent); 0 where data is stored. A copy can skip them
    /// ([`File::skip`]) and leave a hole, as `cp --sparse=auto` does.
    pub fn zeros_ahead(&mut self) -> Result<u64> {
        let size = self.inode.size;
        if self.pos >= size || self.inline.is_some() {
            return Ok(0);
        }
        let (run, run_end) = self.run_here()?;
        Ok(match run.phys {
            Some(_) => 0,
            None => run_end.min(size) - self.pos,
        })
    }

    /// Moves the position `n` bytes on (not past the end).
    pub fn skip(&mut self, n: u64) {
        self.pos = self.pos.saturating_add(n).min(self.inode.size);
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        let size = self.inode.size;
        if self.pos >= size || buf.is_empty() {
            return Ok(0);
        }
        if let Some(data) = &self.inline {
            let p = self.pos as usize;
            let n = buf.len().min(data.len() - p);
            buf[..n].copy_from_slice(&data[p..p + n]);
            self.pos += n as u64;
            return Ok(n);
        }
        let bs = self.fs.bs();
        let (run, run_end) = self.run_here()?;
        let n = (buf.len() as u64)
            .min(run_end - self.pos)
            .min(size - self.pos) as usize;
        match run.phys {
            Some(p) => {
                let at = p * bs + (self.pos - run.lblk * bs);
                self.fs.read(at, &mut buf[..n], "file data")?;
            }
            None => buf[..n].fill(0),
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl<D: BlockDevice> io::Read for File<'_, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_some(buf).map_err(io::Error::other)
    }
}
