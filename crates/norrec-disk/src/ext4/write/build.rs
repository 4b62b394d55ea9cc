//! The builder: plans a whole file system in memory (geometry, metadata placement, inode
//! numbers, every block of every file, directory and extent tree), then writes it.
//! Nothing touches the device until the plan has succeeded.

use std::io::Read;

use super::alloc::BlockMap;
use super::csum::crc32c;
use super::dir::{self, Entry, ft};
use super::extent::{self, Extent};
use super::inode::{self, EXTENTS_FL, Inode, Time, inode_seed};
use super::layout::{FIRST_INO, Geometry, INODE_SIZE, Params};
use super::meta::{
    self, BG_BLOCK_UNINIT, BG_INODE_UNINIT, BG_INODE_ZEROED, GroupDesc, SuperFields,
};
use super::tree::{Kind, Tree};
use crate::block::BlockDevice;
use crate::error::{DiskError, Result};

/// Choices for a new file system.
#[derive(Debug, Clone)]
pub struct Options {
    pub params: Params,
    /// Volume label, up to 16 bytes.
    pub label: Vec<u8>,
    pub uuid: [u8; 16],
    pub hash_seed: [u8; 16],
    /// The creation time (superblock, root, lost+found, special inodes).
    pub time: Time,
    /// SOURCE_DATE_EPOCH: no time stamp later than this.
    pub clamp: Option<i64>,
    /// Owner of the root directory (default 0:0, like mke2fs's `-E root_owner`).
    pub root_owner: Option<(u32, u32)>,
    /// Every inode owned by 0:0.
    pub all_root: bool,
    /// Discard the whole device before writing (image files: punch it to a hole).
    pub discard: bool,
    /// The device reads as zeros where nothing is written (a fresh or discarded image file):
    /// inode tables are marked zeroed, and the journal is not zeroed.
    pub zeroed: bool,
    /// Leave the journal unzeroed even when the device may hold old data (mke2fs's
    /// `-E lazy_journal_init`): saves writing it (32 MiB for 1 GiB) on slow cards.
    pub lazy_journal: bool,
}

impl Options {
    /// Defaults with the given identity.
    pub fn new(uuid: [u8; 16], hash_seed: [u8; 16], time: Time) -> Self {
        Options {
            params: Params::default(),
            label: Vec::new(),
            uuid,
            hash_seed,
            time,
            clamp: None,
            root_owner: None,
            all_root: false,
            discard: true,
            zeroed: false,
            lazy_journal: false,
        }
    }
}

/// What was made.
#[derive(Debug, Clone)]
pub struct Summary {
    pub geometry: Geometry,
    pub free_blocks: u64,
    pub free_inodes: u32,
    pub used_inodes: u32,
    pub uuid: [u8; 16],
    pub file_bytes: u64,
}

/// Where a group's bitmaps and inode table are.
#[derive(Debug, Clone, Copy, Default)]
struct GroupLoc {
    bb: u64,
    ib: u64,
    it: u64,
}

/// An inode with its data placement.
#[derive(Debug, Clone, Default)]
struct Placed {
    inode: Inode,
    extents: Vec<Extent>,
    leaves: Vec<u64>,
    node: Option<usize>,
}

/// A directory entry to write: name, inode, file type.
type DirEntry = (Vec<u8>, u32, u8);

/// The complete in-memory plan.
#[derive(Debug)]
pub struct Plan {
    g: Geometry,
    map: BlockMap,
    locs: Vec<GroupLoc>,
    inodes: Vec<Placed>, // index ino - 1
    dirs_per_group: Vec<u32>,
    /// Directory contents: ino → entries (name, ino, type), in order.
    dirs: Vec<(u32, Vec<DirEntry>)>,
    dind: u64,
    journal_extents: Vec<Extent>,
    overhead: u64,
    seed: u32,
    time: Time,
}

fn err(msg: String) -> DiskError {
    DiskError::Ext4Format(msg)
}

fn file_type(k: &Kind) -> (u16, u8) {
    match k {
        Kind::Dir(_) => (inode::S_IFDIR, ft::DIR),
        Kind::File { .. } => (inode::S_IFREG, ft::REG),
        Kind::Symlink(_) => (inode::S_IFLNK, ft::LNK),
        Kind::Char { .. } => (inode::S_IFCHR, ft::CHR),
        Kind::Block { .. } => (inode::S_IFBLK, ft::BLK),
        Kind::Fifo => (inode::S_IFIFO, ft::FIFO),
        Kind::Socket => (inode::S_IFSOCK, ft::SOCK),
    }
}

fn dev_block(major: u32, minor: u32) -> [u8; 60] {
    let mut b = [0u8; 60];
    if major < 256 && minor < 256 {
        b[0..4].copy_from_slice(&((major << 8) | minor).to_le_bytes());
    } else {
        let v = (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
        b[4..8].copy_from_slice(&v.to_le_bytes());
    }
    b
}

/// Plans the file system for a device of `bytes` bytes holding `tree`.
pub fn plan(bytes: u64, tree: &Tree, o: &Options) -> Result<Plan> {
    if o.label.len() > 16 {
        return Err(err(format!(
            "label {:?} is {} bytes long, ext4 allows 16",
            String::from_utf8_lossy(&o.label),
            o.label.len()
        )));
    }
    let g = Geometry::plan(bytes, &o.params)?;
    let bs = g.block_size;
    let bs64 = u64::from(bs);
    let mut map = BlockMap::new(g.blocks);
    if g.first_data_block > 0 {
        map.mark(0, u64::from(g.first_data_block));
    }
    for grp in 0..g.groups {
        map.mark(g.group_first(grp), u64::from(g.super_overhead(grp)));
    }
    // flex_bg: each flex group's block bitmaps, then inode bitmaps, then inode tables, packed
    // from the first free block of its first group (mke2fs's flexbg_offset).
    let mut locs = vec![GroupLoc::default(); g.groups as usize];
    let flex = g.flex();
    let mut first = 0;
    while first < g.groups {
        let n = flex.min(g.groups - first);
        let start = g.group_first(first);
        let no_room = || err(format!("no room for the metadata of groups {first}.."));
        let bb = map.alloc_contig(start, u64::from(n)).ok_or_else(no_room)?;
        let ib = map
            .alloc_contig(bb + u64::from(n), u64::from(n))
            .ok_or_else(no_room)?;
        let mut it_goal = ib + u64::from(n);
        for k in 0..n {
            let it = map
                .alloc_contig(it_goal, u64::from(g.itable_blocks))
                .ok_or_else(no_room)?;
            it_goal = it + u64::from(g.itable_blocks);
            locs[(first + k) as usize] = GroupLoc {
                bb: bb + u64::from(k),
                ib: ib + u64::from(k),
                it,
            };
        }
        first += n;
    }
    let static_used = g.blocks - map.free();
    let inode_count = g.inodes();
    let seed = crc32c(!0, &o.uuid);
    let time = match o.clamp {
        Some(c) => Time { sec: c, nsec: 0 },
        None => o.time,
    };
    let clamp = |t: Time| match o.clamp {
        Some(c) if t.sec > c => Time { sec: c, nsec: 0 },
        _ => t,
    };

    // Inode numbers: root 2, lost+found 11, the rest from 12 depth first (mke2fs -d order).
    let n_nodes = tree.nodes.len();
    let mut ino_of = vec![0u32; n_nodes];
    ino_of[0] = 2;
    let root_entries = match &tree.nodes[0].kind {
        Kind::Dir(e) => e,
        _ => return Err(err("the root is not a directory".into())),
    };
    let lpf_node = root_entries
        .iter()
        .find(|(n, c)| n == b"lost+found" && matches!(tree.nodes[*c].kind, Kind::Dir(_)))
        .map(|&(_, c)| c);
    if let Some(l) = lpf_node {
        ino_of[l] = 11;
    } else if root_entries.iter().any(|(n, _)| n == b"lost+found") {
        return Err(err(
            "lost+found in the source directory is not a directory".into()
        ));
    }
    let mut next = FIRST_INO + 1;
    let mut order = Vec::with_capacity(n_nodes);
    fn number(tree: &Tree, d: usize, ino_of: &mut [u32], next: &mut u32, order: &mut Vec<usize>) {
        let Kind::Dir(entries) = &tree.nodes[d].kind else {
            return;
        };
        for &(_, c) in entries {
            if ino_of[c] == 0 {
                ino_of[c] = *next;
                *next += 1;
                order.push(c);
                if matches!(tree.nodes[c].kind, Kind::Dir(_)) {
                    number(tree, c, ino_of, next, order);
                }
            } else if ino_of[c] == 11 && !order.contains(&c) {
                order.push(c);
                number(tree, c, ino_of, next, order);
            }
        }
    }
    number(tree, 0, &mut ino_of, &mut next, &mut order);
    let max_ino = next - 1;
    if max_ino > inode_count {
        return Err(err(format!(
            "the tree needs {max_ino} inodes with the first 11, a file system of this size has {inode_count} (raise it with -N or a smaller -i)"
        )));
    }

    // Directory contents.
    let mut dirs: Vec<(u32, Vec<DirEntry>)> = Vec::new();
    let dir_entries = |d: usize, parent: u32, extra_lpf: bool| {
        let mut v = vec![
            (b".".to_vec(), ino_of[d], ft::DIR),
            (b"..".to_vec(), parent, ft::DIR),
        ];
        if extra_lpf {
            v.push((b"lost+found".to_vec(), 11, ft::DIR));
        }
        if let Kind::Dir(e) = &tree.nodes[d].kind {
            for (name, c) in e {
                v.push((name.clone(), ino_of[*c], file_type(&tree.nodes[*c].kind).1));
            }
        }
        v
    };
    let mut parent_of = vec![0u32; n_nodes];
    parent_of[0] = 2;
    for (d, nd) in tree.nodes.iter().enumerate() {
        if let Kind::Dir(e) = &nd.kind {
            for &(_, c) in e {
                if matches!(tree.nodes[c].kind, Kind::Dir(_)) {
                    parent_of[c] = ino_of[d];
                }
            }
        }
    }

    let mut inodes = vec![Placed::default(); max_ino as usize];
    let mut dirs_per_group = vec![0u32; g.groups as usize];
    let owner = |n: &super::tree::Node| {
        if o.all_root { (0, 0) } else { (n.uid, n.gid) }
    };
    let dir_links = |entries: &[(Vec<u8>, u32, u8)]| {
        let n = 2 + entries[2..].iter().filter(|e| e.2 == ft::DIR).count();
        if n >= 65000 { 1 } else { n as u16 }
    };

    // Root, lost+found, the resize inode's block, the journal: in mke2fs's order.
    let alloc_runs = |map: &mut BlockMap, n: u64, what: &str| {
        map.alloc(n).ok_or_else(|| {
            err(format!(
                "does not fit: {what} needs {n} blocks, {} are free",
                map.free()
            ))
        })
    };
    let sectors = |blocks: u64| blocks * bs64 / 512;
    let root_e = dir_entries(0, 2, lpf_node.is_none());
    let root_n = dir::blocks_needed(root_e.iter().map(|e| e.0.len()), bs);
    map.set_cursor(0);
    let root_runs = alloc_runs(&mut map, u64::from(root_n), "the root directory")?;
    let lpf_e = match lpf_node {
        Some(l) => dir_entries(l, 2, false),
        None => vec![(b".".to_vec(), 11, ft::DIR), (b"..".to_vec(), 2, ft::DIR)],
    };
    // mke2fs grows lost+found to 16 KiB, but only through its 12 direct blocks.
    let lpf_min = (16384 / bs).clamp(2, 12);
    let lpf_n = dir::blocks_needed(lpf_e.iter().map(|e| e.0.len()), bs).max(lpf_min);
    let lpf_runs = alloc_runs(&mut map, u64::from(lpf_n), "lost+found")?;
    let dind = alloc_runs(&mut map, 1, "the resize inode")?[0].0;
    let after_fixed = map.free();

    // The journal in the middle group with the most free blocks (get_midpoint_journal_block).
    let group_free = |map: &BlockMap, grp: u32| {
        u64::from(g.group_len(grp)) - map.used_in(g.group_first(grp), u64::from(g.group_len(grp)))
    };
    let mid =
        ((g.blocks - u64::from(g.first_data_block)) / 2 / u64::from(g.blocks_per_group)) as u32;
    let jgroup = if mid > flex {
        let mut grp = mid & !(flex - 1);
        while grp < g.groups && group_free(&map, grp) == 0 {
            grp += 1;
        }
        if grp == g.groups { 0 } else { grp }
    } else {
        let start = mid.saturating_sub(1);
        let end = if mid + 1 < g.groups { mid + 1 } else { mid };
        let mut best = start;
        for grp in start + 1..=end {
            if group_free(&map, grp) > group_free(&map, best) {
                best = grp;
            }
        }
        best
    };
    map.set_cursor(g.group_first(jgroup));
    let jruns = alloc_runs(&mut map, u64::from(g.journal_blocks), "the journal")?;
    let journal_extents = extent::from_runs(&jruns);
    let jleaves_n = extent::leaves_needed(journal_extents.len(), bs, "the journal")?;
    let jleaves: Vec<u64> = alloc_runs(&mut map, jleaves_n as u64, "the journal")?
        .iter()
        .flat_map(|&(s, l)| s..s + u64::from(l))
        .collect();
    // mke2fs counts the journal's data blocks as overhead, not its extent leaf blocks.
    let overhead = static_used + (after_fixed - map.free()) - jleaves.len() as u64;

    // Everything else must fit in what is left: count before placing.
    let bsz_plan = bs as usize;
    let mut need = 0u64;
    for &n in &order {
        need += match &tree.nodes[n].kind {
            Kind::File { size, .. } => size.div_ceil(bs64),
            Kind::Symlink(t) if t.len() >= bsz_plan => {
                return Err(err(format!(
                    "a symlink target of {} bytes does not fit a {bs}-byte block (ext4 keeps a symlink in one block)",
                    t.len()
                )));
            }
            Kind::Symlink(t) if t.len() >= 60 => 1,
            Kind::Dir(e) => u64::from(dir::blocks_needed(
                [1usize, 2].into_iter().chain(e.iter().map(|x| x.0.len())),
                bs,
            )),
            _ => 0,
        };
    }
    if need > map.free() {
        return Err(err(format!(
            "the tree does not fit: it needs {} KiB, {} KiB are free in a file system of this size",
            need * bs64 / 1024,
            map.free() * bs64 / 1024
        )));
    }
    map.set_cursor(0);

    let mut set = |ino: u32, p: Placed| inodes[ino as usize - 1] = p;
    let special = |mode: u16| Inode {
        mode,
        links: 1,
        atime: time,
        ctime: time,
        mtime: time,
        crtime: time,
        extra: true,
        ..Inode::default()
    };
    for ino in 1..FIRST_INO {
        set(ino, Placed::default());
    }
    // 2: root.
    let (ruid, rgid) = o.root_owner.unwrap_or((0, 0));
    let root_ext = extent::from_runs(&root_runs);
    let root_leaves_n = extent::leaves_needed(root_ext.len(), bs, "/")?;
    let root_leaves = leaf_blocks(&mut map, root_leaves_n)?;
    set(
        2,
        Placed {
            inode: Inode {
                // Like mke2fs -d: the root is 0755 and made now, whatever the source
                // directory's mode and times (a build directory is often 0700).
                mode: inode::S_IFDIR | 0o755,
                uid: ruid,
                gid: rgid,
                size: u64::from(root_n) * bs64,
                atime: time,
                ctime: time,
                mtime: time,
                crtime: time,
                links: dir_links(&root_e),
                sectors: sectors(u64::from(root_n) + root_leaves_n as u64),
                flags: EXTENTS_FL,
                block: extent::root(&root_ext, &root_leaves, bs),
                extra: true,
            },
            extents: root_ext,
            leaves: root_leaves,
            node: Some(0),
        },
    );
    dirs.push((2, root_e));
    // 7: the resize inode (indirect-mapped: DIND → primary reserved GDT blocks → backups).
    let backups = (1..g.groups).filter(|&x| g.has_super(x)).count() as u64;
    let apb = u64::from(bs / 4);
    // mke2fs gives it its DIND block even with no reserved GDT blocks (small file systems,
    // where growing 1024 times needs no more descriptor blocks): e2fsck calls a resize inode
    // without one "not valid" while the feature is set.
    let mut ri = special(inode::S_IFREG | 0o600);
    ri.size = (apb * apb + apb + 12) * bs64;
    ri.sectors = sectors(1 + u64::from(g.reserved_gdt) * (1 + backups));
    ri.block[13 * 4..14 * 4].copy_from_slice(&(dind as u32).to_le_bytes());
    set(
        7,
        Placed {
            inode: ri,
            ..Placed::default()
        },
    );
    // 8: the journal.
    let mut ji = special(inode::S_IFREG | 0o600);
    ji.size = u64::from(g.journal_blocks) * bs64;
    ji.sectors = sectors(u64::from(g.journal_blocks) + jleaves.len() as u64);
    ji.flags = EXTENTS_FL;
    ji.block = extent::root(&journal_extents, &jleaves, bs);
    set(
        8,
        Placed {
            inode: ji,
            extents: journal_extents.clone(),
            leaves: jleaves,
            node: None,
        },
    );
    // 11: lost+found.
    let lpf_ext = extent::from_runs(&lpf_runs);
    let lpf_leaves_n = extent::leaves_needed(lpf_ext.len(), bs, "/lost+found")?;
    let lpf_leaves = leaf_blocks(&mut map, lpf_leaves_n)?;
    let (lperm, luid, lgid, lat, lmt, lct) = match lpf_node {
        Some(l) => {
            let n = &tree.nodes[l];
            let (u, gg) = owner(n);
            (
                n.perm,
                u,
                gg,
                clamp(n.atime),
                clamp(n.mtime),
                clamp(n.ctime),
            )
        }
        None => (0o700, 0, 0, time, time, time),
    };
    set(
        11,
        Placed {
            inode: Inode {
                mode: inode::S_IFDIR | lperm,
                uid: luid,
                gid: lgid,
                size: u64::from(lpf_n) * bs64,
                atime: lat,
                ctime: lct,
                mtime: lmt,
                crtime: time,
                links: dir_links(&lpf_e),
                sectors: sectors(u64::from(lpf_n) + lpf_leaves_n as u64),
                flags: EXTENTS_FL,
                block: extent::root(&lpf_ext, &lpf_leaves, bs),
                extra: true,
            },
            extents: lpf_ext,
            leaves: lpf_leaves,
            node: lpf_node,
        },
    );
    dirs.push((11, lpf_e));
    dirs_per_group[0] += 2;

    // The tree, in inode order.
    for &n in &order {
        let nd = &tree.nodes[n];
        let ino = ino_of[n];
        let (ftype, _) = file_type(&nd.kind);
        let (uid, gid) = owner(nd);
        let mut i = Inode {
            mode: ftype | nd.perm,
            uid,
            gid,
            atime: clamp(nd.atime),
            ctime: clamp(nd.ctime),
            mtime: clamp(nd.mtime),
            crtime: time,
            links: nd.names.min(65000) as u16,
            extra: true,
            ..Inode::default()
        };
        let mut data_blocks = 0u64;
        match &nd.kind {
            Kind::Dir(_) => {
                if ino == 11 {
                    continue;
                }
                let e = dir_entries(n, parent_of[n], false);
                data_blocks = u64::from(dir::blocks_needed(e.iter().map(|x| x.0.len()), bs));
                i.links = dir_links(&e);
                i.size = data_blocks * bs64;
                dirs.push((ino, e));
                dirs_per_group[((ino - 1) / g.inodes_per_group) as usize] += 1;
            }
            Kind::File { size, .. } => {
                data_blocks = size.div_ceil(bs64);
                i.size = *size;
            }
            Kind::Symlink(t) if t.len() < 60 => {
                i.size = t.len() as u64;
                i.block[..t.len()].copy_from_slice(t);
            }
            Kind::Symlink(t) => {
                data_blocks = 1;
                i.size = t.len() as u64;
            }
            Kind::Char { major, minor } | Kind::Block { major, minor } => {
                i.block = dev_block(*major, *minor);
            }
            Kind::Fifo | Kind::Socket => {}
        }
        let uses_extents = !matches!(
            &nd.kind,
            Kind::Char { .. } | Kind::Block { .. } | Kind::Fifo | Kind::Socket
        ) && !matches!(&nd.kind, Kind::Symlink(t) if t.len() < 60);
        let mut p = Placed {
            node: Some(n),
            ..Placed::default()
        };
        if uses_extents {
            let runs = alloc_runs(&mut map, data_blocks, "the tree")?;
            p.extents = extent::from_runs(&runs);
            let nl = extent::leaves_needed(p.extents.len(), bs, "a file")?;
            p.leaves = leaf_blocks(&mut map, nl)?;
            i.flags = EXTENTS_FL;
            i.block = extent::root(&p.extents, &p.leaves, bs);
            i.sectors = sectors(data_blocks + nl as u64);
        }
        p.inode = i;
        set(ino, p);
    }
    Ok(Plan {
        g,
        map,
        locs,
        inodes,
        dirs_per_group,
        dirs,
        dind,
        journal_extents,
        overhead,
        seed,
        time,
    })
}

fn leaf_blocks(map: &mut BlockMap, n: usize) -> Result<Vec<u64>> {
    let runs = map
        .alloc(n as u64)
        .ok_or_else(|| err("does not fit: no free block left for an extent tree".into()))?;
    Ok(runs
        .iter()
        .flat_map(|&(s, l)| s..s + u64::from(l))
        .collect())
}

impl Plan {
    /// The geometry planned.
    pub fn geometry(&self) -> &Geometry {
        &self.g
    }

    /// Free blocks once written.
    pub fn free_blocks(&self) -> u64 {
        self.map.free()
    }

    /// Inodes in use (including the reserved ones).
    pub fn used_inodes(&self) -> u32 {
        self.inodes.len() as u32
    }
}

/// Gathers block writes that follow each other into one device write.
struct Out<'a, D: BlockDevice + ?Sized> {
    dev: &'a mut D,
    bs: u64,
    buf: Vec<u8>,
    start: u64,
    written: u64,
}

const OUT_MAX: usize = 4 << 20;

impl<D: BlockDevice + ?Sized> Out<'_, D> {
    fn put(&mut self, block: u64, data: &[u8]) -> Result<()> {
        let end = self.start + (self.buf.len() as u64) / self.bs;
        if self.buf.is_empty() || end != block || self.buf.len() + data.len() > OUT_MAX {
            self.flush()?;
            self.start = block;
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.dev.write_at(self.start * self.bs, &self.buf)?;
            self.written += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }
}

/// Writes a planned file system; file data is read from the tree's paths as it goes.
pub fn write<D: BlockDevice + ?Sized>(
    dev: &mut D,
    plan: &Plan,
    tree: &Tree,
    o: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Summary> {
    let g = &plan.g;
    let bs = g.block_size;
    let bs64 = u64::from(bs);
    let bsz = bs as usize;
    if o.discard {
        dev.discard(0, g.blocks * bs64)?;
    }
    let mut out = Out {
        dev,
        bs: bs64,
        buf: Vec::with_capacity(OUT_MAX),
        start: 0,
        written: 0,
    };
    let seed = plan.seed;

    // File data, slow symlinks and extent leaves, in inode order.
    let mut chunk = vec![0u8; 1 << 20];
    let mut done = 0u64;
    for (idx, p) in plan.inodes.iter().enumerate() {
        let ino = idx as u32 + 1;
        let iseed = inode_seed(seed, ino, 0);
        for (k, &leaf) in p.leaves.iter().enumerate() {
            out.put(leaf, &extent::leaf(&p.extents, k, bs, iseed))?;
        }
        let Some(n) = p.node else { continue };
        match &tree.nodes[n].kind {
            Kind::File { path, size } => {
                let name = || path.display().to_string();
                let mut f = std::fs::File::open(path).map_err(|e| DiskError::io(name(), e))?;
                let mut left = *size;
                for e in &p.extents {
                    let mut blk = e.start;
                    let mut n_blocks = u64::from(e.len);
                    while n_blocks > 0 {
                        let take = n_blocks.min(chunk.len() as u64 / bs64);
                        let bytes = (take * bs64).min(left) as usize;
                        let buf = &mut chunk[..(take * bs64) as usize];
                        f.read_exact(&mut buf[..bytes]).map_err(|e| {
                            DiskError::io(format!("{}: shrank while being copied", name()), e)
                        })?;
                        buf[bytes..].fill(0);
                        out.put(blk, buf)?;
                        left -= bytes as u64;
                        done += bytes as u64;
                        blk += take;
                        n_blocks -= take;
                    }
                    progress(done);
                }
            }
            Kind::Symlink(t) if t.len() >= 60 => {
                let mut b = vec![0u8; bsz];
                b[..t.len()].copy_from_slice(t);
                out.put(p.extents[0].start, &b)?;
            }
            _ => {}
        }
    }
    // Directories.
    for (ino, entries) in &plan.dirs {
        let p = &plan.inodes[*ino as usize - 1];
        let nblocks: u64 = p.extents.iter().map(|e| u64::from(e.len)).sum();
        let mut data = vec![0u8; (nblocks * bs64) as usize];
        let e: Vec<Entry> = entries
            .iter()
            .map(|(name, i, t)| Entry {
                ino: *i,
                ftype: *t,
                name,
            })
            .collect();
        dir::build(&e, bs, inode_seed(seed, *ino, 0), &mut data);
        let mut off = 0usize;
        for x in &p.extents {
            let len = usize::from(x.len) * bsz;
            out.put(x.start, &data[off..off + len])?;
            off += len;
        }
    }
    // The resize inode: DIND block (written even when empty, see inode 7 in `plan`), and each
    // primary reserved GDT block listing its backups.
    {
        let apb = bs / 4;
        let mut dind = vec![0u8; bsz];
        let backups: Vec<u32> = (1..g.groups).filter(|&x| g.has_super(x)).collect();
        for i in 0..g.reserved_gdt {
            let slot = ((g.desc_blocks + i) % apb) as usize;
            let primary = u64::from(g.first_data_block) + 1 + u64::from(g.desc_blocks + i);
            dind[slot * 4..slot * 4 + 4].copy_from_slice(&(primary as u32).to_le_bytes());
            let mut ind = vec![0u8; bsz];
            for (j, &grp) in backups.iter().enumerate().take(apb as usize) {
                let b = g.group_first(grp) + 1 + u64::from(g.desc_blocks + i);
                ind[j * 4..j * 4 + 4].copy_from_slice(&(b as u32).to_le_bytes());
            }
            out.put(primary, &ind)?;
        }
        out.put(plan.dind, &dind)?;
    }
    // The journal: its superblock; the rest reads as zeros (holes or discarded) or is zeroed.
    let j0 = plan.journal_extents[0].start;
    out.put(j0, &meta::journal_super(bs, g.journal_blocks, &o.uuid))?;
    out.flush()?;
    // Stale journal blocks could be replayed after a crash: unless the device is known to
    // read as zeros, zero the journal (a hole punch on image files, BLKZEROOUT on devices).
    if !o.zeroed && !o.lazy_journal {
        for e in &plan.journal_extents {
            let (s, l) = if e.start == j0 {
                (e.start + 1, u64::from(e.len) - 1)
            } else {
                (e.start, u64::from(e.len))
            };
            out.dev.zero_range(s * bs64, l * bs64)?;
        }
    }

    // Inode tables (only the blocks holding used inodes), bitmaps, descriptors.
    let ipg = g.inodes_per_group;
    let used = plan.inodes.len() as u32;
    let per_block = bs / u32::from(INODE_SIZE);
    let mut descs = Vec::with_capacity(g.groups as usize);
    let mut free_blocks = 0u64;
    for grp in 0..g.groups {
        let loc = plan.locs[grp as usize];
        let first_ino = grp * ipg + 1;
        let in_group = used.saturating_sub(grp * ipg).min(ipg);
        if in_group > 0 {
            let nblk = in_group.div_ceil(per_block);
            let mut t = vec![0u8; (nblk * bs) as usize];
            for k in 0..in_group {
                let ino = first_ino + k;
                let b = plan.inodes[ino as usize - 1].inode.encode(ino, seed);
                let o = k as usize * usize::from(INODE_SIZE);
                t[o..o + usize::from(INODE_SIZE)].copy_from_slice(&b);
            }
            out.put(loc.it, &t)?;
        }
        let gfirst = g.group_first(grp);
        let glen = u64::from(g.group_len(grp));
        let gused = plan.map.used_in(gfirst, glen);
        free_blocks += glen - gused;
        let own = |b: u64| b >= gfirst && b < gfirst + glen;
        let uninit_used = u64::from(g.super_overhead(grp))
            + u64::from(own(loc.bb))
            + u64::from(own(loc.ib))
            + if own(loc.it) {
                u64::from(g.itable_blocks)
            } else {
                0
            };
        let mut d = GroupDesc {
            block_bitmap: loc.bb,
            inode_bitmap: loc.ib,
            inode_table: loc.it,
            free_blocks: (glen - gused) as u32,
            free_inodes: ipg - in_group,
            used_dirs: plan.dirs_per_group[grp as usize],
            itable_unused: ipg - in_group,
            ..GroupDesc::default()
        };
        if o.zeroed {
            d.flags |= BG_INODE_ZEROED;
        }
        if grp != 0 && grp != g.groups - 1 && gused == uninit_used {
            d.flags |= BG_BLOCK_UNINIT;
        } else {
            let mut bm = vec![0u8; bsz];
            plan.map.copy_bits(gfirst, glen, &mut bm);
            for bit in glen..u64::from(bs) * 8 {
                bm[(bit / 8) as usize] |= 1 << (bit % 8);
            }
            d.block_bitmap_csum = crc32c(seed, &bm[..(g.blocks_per_group / 8) as usize]);
            out.put(loc.bb, &bm)?;
        }
        if in_group == 0 {
            d.flags |= BG_INODE_UNINIT;
        } else {
            let mut bm = vec![0u8; bsz];
            for k in 0..in_group {
                bm[(k / 8) as usize] |= 1 << (k % 8);
            }
            for bit in ipg..bs * 8 {
                bm[(bit / 8) as usize] |= 1 << (bit % 8);
            }
            d.inode_bitmap_csum = crc32c(seed, &bm[..(ipg / 8) as usize]);
            out.put(loc.ib, &bm)?;
        }
        descs.push(d);
    }
    let mut gdt = vec![0u8; (g.desc_blocks * bs) as usize];
    for (grp, d) in descs.iter().enumerate() {
        gdt[grp * 64..grp * 64 + 64].copy_from_slice(&meta::group_desc(d, grp as u32, seed));
    }
    let free_inodes = g.inodes() - used;
    let mut label = [0u8; 16];
    label[..o.label.len()].copy_from_slice(&o.label);
    let j = &plan.inodes[7].inode.block;
    let mut jnl_blocks = [0u32; 17];
    for (k, w) in jnl_blocks.iter_mut().take(15).enumerate() {
        *w = u32::from_le_bytes([j[4 * k], j[4 * k + 1], j[4 * k + 2], j[4 * k + 3]]);
    }
    let jsize = u64::from(g.journal_blocks) * bs64;
    jnl_blocks[15] = (jsize >> 32) as u32;
    jnl_blocks[16] = jsize as u32;
    let mut f = SuperFields {
        uuid: o.uuid,
        hash_seed: o.hash_seed,
        label,
        time: plan.time.sec,
        free_blocks,
        free_inodes,
        overhead: plan.overhead as u32,
        jnl_blocks,
        kbytes_written: 0,
    };
    // Backups first, the primary superblock last: an interrupted run leaves no valid ext4.
    for grp in (1..g.groups).filter(|&x| g.has_super(x)) {
        let b = g.group_first(grp);
        out.put(b + 1, &gdt)?;
        let mut blk = vec![0u8; bsz];
        blk[..1024].copy_from_slice(&meta::superblock(g, &f, grp));
        out.put(b, &blk)?;
    }
    out.put(u64::from(g.first_data_block) + 1, &gdt)?;
    out.flush()?;
    f.kbytes_written = (out.written + bs64).div_ceil(1024);
    // With blocks over 1 KiB, block 0's first 1024 bytes (a boot sector) stay untouched.
    let mut first = vec![0u8; if bs == 1024 { 1024 } else { bsz - 1024 }];
    first[..1024].copy_from_slice(&meta::superblock(g, &f, 0));
    out.dev.write_at(1024, &first)?;
    out.dev.flush()?;
    Ok(Summary {
        geometry: g.clone(),
        free_blocks,
        free_inodes,
        used_inodes: used,
        uuid: o.uuid,
        file_bytes: tree.file_bytes,
    })
}
