//! The write side of FIT: what `mkimage -f image.its` and `mkimage -f auto` do, step by step,
//! so the output matches theirs byte for byte (U-Boot 2023.01):
//!
//! 1. the source is compiled as dtc compiles it ([`crate::dts`] + [`crate::fdt::write`](mod@crate::fdt::write));
//! 2. mkimage opens it with 1024 more bytes of free space (2048, 3072… while that is not enough)
//!    and, with libfdt, sets the root `timestamp` and each image hash node's `value`
//!    ([`crate::fdt::rw`] reproduces libfdt's edits, including where new properties and names go);
//! 3. with external data (`-E`), moves each image's `data` after the blob (`data-offset`
//!    relative to the blob's end, or `data-position` absolute with `-p`), each piece aligned
//!    (`-B`, 4 by default), and packs the blob.
//!
//! Configuration hash nodes are left without a value, as mkimage 2023.01 leaves them.

use super::hash::Algo;
use crate::fdt::rw::{FdtRw, NoSpace};
use crate::fdt::{OwnedNode, Property, StringTable, Tree, WriteOptions, write_with};
use crate::{Error, Result};

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The root `timestamp` (mkimage: SOURCE_DATE_EPOCH, else the time of the build).
    pub timestamp: u32,
    /// Put image data after the blob (`mkimage -E`).
    pub external: Option<External>,
}

/// External-data layout (`mkimage -E [-B align] [-p position]`).
#[derive(Debug, Clone)]
pub struct External {
    /// Alignment of the blob's end and of each piece of data (`-B`; 4 by default).
    pub align: usize,
    /// Absolute position of the data area (`-p`); then nodes get `data-position`.
    pub position: Option<usize>,
}

impl Default for External {
    fn default() -> Self {
        Self {
            align: 4,
            position: None,
        }
    }
}

fn field(field: impl Into<String>, msg: impl Into<String>) -> Error {
    Error::Field {
        field: field.into(),
        msg: msg.into(),
    }
}

fn align(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

fn check_source(tree: &Tree) -> Result<()> {
    let images = tree
        .find("/images")
        .ok_or_else(|| field("/images", "missing: a FIT source needs an /images node"))?;
    for im in &images.children {
        if im.prop("data").is_none() {
            return Err(field(
                format!("/images/{}/data", im.name),
                "missing (give it with /incbin/(\"file\"))",
            ));
        }
        for h in im.children.iter().filter(|h| h.name.starts_with("hash")) {
            let path = format!("/images/{}/{}/algo", im.name, h.name);
            let algo = h
                .prop("algo")
                .and_then(Property::as_str)
                .ok_or_else(|| field(&path, "missing"))?;
            Algo::from_name(algo)
                .ok_or_else(|| field(&path, format!("unsupported algorithm '{algo}'")))?;
        }
    }
    Ok(())
}

/// Builds a FIT from a parsed `.its` tree, as `mkimage -f` does.
pub fn build(tree: &Tree, opts: &BuildOptions) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    build_to(tree.clone(), opts, &mut out)?;
    Ok(out)
}

/// Builds a FIT from a parsed `.its` tree into `w`, as `mkimage -f` does; returns the number of
/// bytes written. Without external data the blob is streamed from the tree (no copy of the
/// image data is made); with it, libfdt's edits are replayed on a buffer ([`crate::fdt::rw`]).
pub fn build_to(mut tree: Tree, opts: &BuildOptions, w: &mut dyn std::io::Write) -> Result<usize> {
    check_source(&tree)?;
    let io = |e: std::io::Error| Error::Io {
        what: "writing the FIT".into(),
        source: e,
    };
    if opts.external.is_none() {
        if let Some((strings, free)) = apply_edits(&mut tree, opts.timestamp)? {
            let mut strings = strings;
            let opts = WriteOptions {
                free_space: free,
                last_comp_version: 16,
            };
            return crate::fdt::write_to(&tree, &mut strings, &opts, w).map_err(io);
        }
    }
    let bytes = finish(
        |free| {
            write_with(
                &tree,
                &mut StringTable::new(),
                &WriteOptions {
                    free_space: free,
                    last_comp_version: 16,
                },
            )
        },
        fits_without_growth(&tree),
        opts,
    )?;
    w.write_all(&bytes).map_err(io)?;
    Ok(bytes.len())
}

/// mkimage's edits done on the tree rather than on bytes: the root `timestamp` and each image
/// hash `value`, set with libfdt's placement (new properties first in their node, new names at
/// the end of dtc's strings block). Returns the strings block and the free space libfdt leaves
/// (mkimage grows the blob by 1024 bytes at a time until the edits fit), or `None` when an edit
/// shrinks a property, where only replaying libfdt's byte moves gives the same result.
fn apply_edits(tree: &mut Tree, timestamp: u32) -> Result<Option<(StringTable, usize)>> {
    let mut strings = StringTable::new();
    strings.add_tree(&tree.root);
    let struct_before = crate::fdt::write::struct_size(&tree.root);
    let strings_before = strings.as_bytes().len();
    let mut shrinks = false;
    let mut set = |node: &mut OwnedNode, p: Property, strings: &mut StringTable| {
        strings.offset_of(&p.name);
        if let Some(old) = node.prop(&p.name) {
            shrinks |= p.value.len().div_ceil(4) < old.value.len().div_ceil(4);
        }
        node.setprop_libfdt(p);
    };
    set(
        &mut tree.root,
        Property::u32("timestamp", timestamp),
        &mut strings,
    );
    if let Some(images) = tree.root.child_mut("images") {
        for image in &mut images.children {
            let OwnedNode {
                name,
                props,
                children,
            } = image;
            let data = props
                .iter()
                .find(|p| p.name == "data")
                .map(|p| &p.value[..])
                .unwrap_or_default();
            for h in children.iter_mut().filter(|h| h.name.starts_with("hash")) {
                let algo = h
                    .prop("algo")
                    .and_then(Property::as_str)
                    .and_then(Algo::from_name)
                    .ok_or_else(|| {
                        field(
                            format!("/images/{name}/{}/algo", h.name),
                            "missing or unsupported",
                        )
                    })?;
                let digest = algo.digest(data);
                set(h, Property::new("value", digest), &mut strings);
            }
        }
    }
    if shrinks {
        return Ok(None);
    }
    let growth = crate::fdt::write::struct_size(&tree.root) - struct_before
        + strings.as_bytes().len()
        - strings_before;
    let k = growth.div_ceil(1024);
    if k >= 64 {
        return Err(field("/", "hashes need more than 64 KiB of extra space"));
    }
    Ok(Some((strings, k * 1024 - growth)))
}

/// Steps 2 and 3. `compile(free)` lays the tree out as dtc does followed by `free` bytes of free
/// space: the same bytes as dtc's output after mkimage's `fdt_open_into` (which only moves
/// `totalsize`), without copying a large blob twice.
fn finish(
    compile: impl Fn(usize) -> Vec<u8>,
    first_fits: bool,
    opts: &BuildOptions,
) -> Result<Vec<u8>> {
    let mut rw = None;
    // mkimage tries without extra space first; that fails as soon as anything is added.
    for k in usize::from(!first_fits)..64 {
        let mut r = FdtRw::new(compile(1024 * k));
        match add_hashes(&mut r, opts.timestamp)? {
            Ok(()) => {
                rw = Some(r);
                break;
            }
            Err(NoSpace) => continue,
        }
    }
    let mut rw = rw.ok_or_else(|| field("/", "hashes need more than 64 KiB of extra space"))?;
    match &opts.external {
        None => Ok(rw.into_bytes()),
        Some(ext) => extract_data(&mut rw, ext),
    }
}

/// Whether mkimage's first try, without extra space, can succeed: only when the root already
/// has a 4-byte `timestamp` and every image hash node a `value` of its digest's size.
fn fits_without_growth(tree: &Tree) -> bool {
    let ts = tree
        .root
        .prop("timestamp")
        .is_some_and(|p| p.value.len() == 4);
    ts && tree.find("/images").is_some_and(|images| {
        images.children.iter().all(|im| {
            im.children
                .iter()
                .filter(|h| h.name.starts_with("hash"))
                .all(|h| {
                    let algo = h
                        .prop("algo")
                        .and_then(Property::as_str)
                        .and_then(Algo::from_name);
                    match (algo, h.prop("value")) {
                        (Some(a), Some(v)) => a.digest(&[]).len() == v.value.len(),
                        _ => false,
                    }
                })
        })
    })
}

fn add_hashes(rw: &mut FdtRw, timestamp: u32) -> Result<Result<(), NoSpace>> {
    let root = rw.path_offset("/").ok_or_else(|| field("/", "no root"))?;
    if let Err(e) = rw.setprop(root, "timestamp", &timestamp.to_be_bytes()) {
        return Ok(Err(e));
    }
    let images = rw
        .path_offset("/images")
        .ok_or_else(|| field("/images", "missing"))?;
    let count = rw.subnodes(images).len();
    for i in 0..count {
        let images = rw.path_offset("/images").unwrap_or(images);
        let image = rw.subnodes(images)[i];
        let nhash = rw.subnodes(image).len();
        for j in 0..nhash {
            let images = rw.path_offset("/images").unwrap_or(images);
            let image = rw.subnodes(images)[i];
            let node = rw.subnodes(image)[j];
            let name = node_name(rw, node);
            if !name.starts_with("hash") {
                continue;
            }
            let algo = rw
                .getprop(node, "algo")
                .and_then(|v| v.split_last())
                .and_then(|(_, s)| std::str::from_utf8(s).ok())
                .and_then(Algo::from_name)
                .ok_or_else(|| field(format!("{name}/algo"), "missing or unsupported"))?;
            let data = rw.getprop(image, "data").unwrap_or_default();
            let digest = algo.digest(data);
            if let Err(e) = rw.setprop(node, "value", &digest) {
                return Ok(Err(e));
            }
        }
    }
    Ok(Ok(()))
}

fn node_name(rw: &FdtRw, node: usize) -> String {
    let b = &rw.as_bytes()[node + 4..];
    let n = b.iter().position(|&c| c == 0).unwrap_or(0);
    String::from_utf8_lossy(&b[..n]).into_owned()
}

fn extract_data(rw: &mut FdtRw, ext: &External) -> Result<Vec<u8>> {
    let a = ext.align.max(1);
    let mut data = Vec::new();
    let count = rw
        .path_offset("/images")
        .map(|n| rw.subnodes(n).len())
        .unwrap_or(0);
    for i in 0..count {
        let Some(images) = rw.path_offset("/images") else {
            break;
        };
        let node = rw.subnodes(images)[i];
        let Some(value) = rw.getprop(node, "data").map(<[u8]>::to_vec) else {
            continue;
        };
        let ptr = data.len();
        data.extend_from_slice(&value);
        rw.delprop(node, "data");
        // mkimage ignores the result of these two; so do we.
        let _ = match ext.position {
            Some(p) => rw.setprop(node, "data-position", &((p + ptr) as u32).to_be_bytes()),
            None => rw.setprop(node, "data-offset", &(ptr as u32).to_be_bytes()),
        };
        let _ = rw.setprop(node, "data-size", &(value.len() as u32).to_be_bytes());
        data.resize(ptr + align(value.len(), a), 0);
    }
    rw.pack();
    let new_size = align(rw.totalsize(), a);
    rw.set_totalsize(new_size);
    rw.truncate_buffer(new_size);
    let start = match ext.position {
        Some(p) if p < new_size => {
            return Err(field(
                "data-position",
                format!("external position {p:#x} overlaps the FIT ({new_size:#x} bytes)"),
            ));
        }
        Some(p) => p,
        None => new_size,
    };
    let mut out = std::mem::replace(rw, FdtRw::new(Vec::new())).into_bytes();
    out.resize(start, 0);
    out.extend_from_slice(&data);
    Ok(out)
}

/// The parts of a FIT built without a source, as `mkimage -f auto` builds it.
#[derive(Debug, Clone, Default)]
pub struct AutoFit {
    /// Image description (`-n`).
    pub name: String,
    /// Image type short name (`-T`; "kernel").
    pub kind: String,
    pub arch: String,
    pub os: String,
    pub compression: String,
    pub load: u32,
    pub entry: u32,
    /// The main image's bytes (`-d`).
    pub data: Vec<u8>,
    /// Device trees (`-b`): base name (file name without folder and extension) and bytes.
    pub fdts: Vec<(String, Vec<u8>)>,
    /// Ramdisk bytes (`-i`).
    pub ramdisk: Option<Vec<u8>>,
    /// Algorithm of each image's `hash-1` (mkimage: crc32).
    pub hash: String,
}

impl AutoFit {
    /// The tree `mkimage -f auto` writes with libfdt's sequential writer.
    pub fn tree(&self) -> Tree {
        let s = Property::string;
        let hash = || OwnedNode {
            name: "hash-1".into(),
            props: vec![s("algo", &self.hash)],
            children: Vec::new(),
        };
        let kernel_name = format!("{}-1", self.kind);
        let mut images = OwnedNode::new("images");
        images.children.push(OwnedNode {
            name: kernel_name.clone(),
            props: vec![
                s("description", &self.name),
                s("type", &self.kind),
                s("arch", &self.arch),
                s("os", &self.os),
                s("compression", &self.compression),
                Property::u32("load", self.load),
                Property::u32("entry", self.entry),
                Property::new("data", self.data.clone()),
            ],
            children: vec![hash()],
        });
        for (i, (base, bytes)) in self.fdts.iter().enumerate() {
            images.children.push(OwnedNode {
                name: format!("fdt-{}", i + 1),
                props: vec![
                    s("description", base),
                    Property::new("data", bytes.clone()),
                    s("type", "flat_dt"),
                    s("arch", &self.arch),
                    s("compression", "none"),
                ],
                children: vec![hash()],
            });
        }
        if let Some(rd) = &self.ramdisk {
            images.children.push(OwnedNode {
                name: "ramdisk-1".into(),
                props: vec![
                    s("type", "ramdisk"),
                    s("os", &self.os),
                    s("arch", &self.arch),
                    Property::new("data", rd.clone()),
                ],
                children: vec![hash()],
            });
        }
        let mut confs = OwnedNode::new("configurations");
        confs.props.push(s("default", "conf-1"));
        for (i, (base, _)) in self.fdts.iter().enumerate() {
            let mut c = OwnedNode::new(format!("conf-{}", i + 1));
            c.props.push(s("description", base));
            c.props.push(s(&self.kind, &kernel_name));
            c.props.push(s("loadables", &kernel_name));
            if self.ramdisk.is_some() {
                c.props.push(s("ramdisk", "ramdisk-1"));
            }
            c.props.push(s("fdt", &format!("fdt-{}", i + 1)));
            confs.children.push(c);
        }
        if self.fdts.is_empty() {
            let mut c = OwnedNode::new("conf-1");
            c.props.push(s(&self.kind, &kernel_name));
            if self.ramdisk.is_some() {
                c.props.push(s("ramdisk", "ramdisk-1"));
            }
            confs.children.push(c);
        }
        let type_long = super::names::type_name(Some(&self.kind));
        Tree {
            reservations: Vec::new(),
            boot_cpuid_phys: 0,
            root: OwnedNode {
                name: String::new(),
                props: vec![
                    s(
                        "description",
                        &format!("{type_long} image with one or more FDT blobs"),
                    ),
                    s("creator", "U-Boot mkimage 2023.01"),
                    Property::u32("#address-cells", 1),
                ],
                children: vec![images, confs],
            },
        }
    }

    /// Builds the FIT, as `mkimage -f auto` does.
    pub fn build(&self, opts: &BuildOptions) -> Result<Vec<u8>> {
        let tree = self.tree();
        // The sequential writer stores names newest first: collect them in first-use order
        // (with dtc's reuse of earlier names and suffixes), then lay them out reversed.
        let mut forward = StringTable::new();
        forward.add_tree(&tree.root);
        let names: Vec<&[u8]> = forward
            .as_bytes()
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .collect();
        let mut reversed = StringTable::new();
        for n in names.iter().rev() {
            reversed.offset_of(&String::from_utf8_lossy(n));
        }
        finish(
            |free| {
                write_with(
                    &tree,
                    &mut reversed.clone(),
                    &WriteOptions {
                        free_space: free,
                        last_comp_version: 2,
                    },
                )
            },
            false,
            opts,
        )
    }
}
