//! The read side of FIT: images, configurations, data (embedded or external), hash checks,
//! extraction, the load size and `mkimage -l`'s listing.

use std::fmt::Write as _;

use super::hash::{Algo, hex};
use super::names;
use super::time::ctime_utc;
use crate::fdt::{Fdt, Node};
use crate::{Error, Result};

fn field(field: impl Into<String>, msg: impl Into<String>) -> Error {
    Error::Field {
        field: field.into(),
        msg: msg.into(),
    }
}

/// A checked FIT over the whole file (the blob and any external data after it).
#[derive(Debug, Clone, Copy)]
pub struct Fit<'a> {
    file: &'a [u8],
    fdt: Fdt<'a>,
}

/// Where an image's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// In the `data` property.
    Embedded,
    /// After the blob: `data-offset` (relative to `totalsize` rounded up to 4).
    Offset(u32),
    /// Anywhere in the file: `data-position` (absolute).
    Position(u32),
}

/// A hash or signature node under an image or configuration.
#[derive(Debug, Clone, Copy)]
pub struct HashNode<'a> {
    pub name: &'a str,
    pub algo: Option<&'a str>,
    pub value: Option<&'a [u8]>,
    /// A `signature*` node rather than `hash*`.
    pub signature: bool,
    pub key_name_hint: Option<&'a str>,
}

/// One image node under `/images`.
#[derive(Debug, Clone)]
pub struct Image<'a> {
    pub index: usize,
    pub name: &'a str,
    pub node: Node<'a>,
    pub description: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub compression: Option<&'a str>,
    pub arch: Option<&'a str>,
    pub os: Option<&'a str>,
    pub load: Option<u64>,
    pub entry: Option<u64>,
    pub location: Location,
    /// The data size as the node states it.
    pub size: Option<usize>,
    /// Absolute byte range of the data in the file, when it lies inside the file.
    pub range: Option<(usize, usize)>,
    pub hashes: Vec<HashNode<'a>>,
}

/// One configuration node under `/configurations`.
#[derive(Debug, Clone)]
pub struct Config<'a> {
    pub index: usize,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub kernel: Option<&'a str>,
    pub ramdisk: Option<&'a str>,
    pub firmware: Option<&'a str>,
    pub fdt: Vec<&'a str>,
    pub fpga: Option<&'a str>,
    pub loadables: Vec<&'a str>,
    pub hashes: Vec<HashNode<'a>>,
}

/// The result of checking one hash node.
#[derive(Debug, Clone)]
pub struct Check {
    /// `/images/kernel-1/hash-1`.
    pub path: String,
    pub algo: String,
    pub value: String,
}

fn hash_nodes<'a>(node: Node<'a>) -> Vec<HashNode<'a>> {
    node.children()
        .filter(|c| c.name().starts_with("hash") || c.name().starts_with("signature"))
        .map(|c| HashNode {
            name: c.name(),
            algo: c.prop_str("algo"),
            value: c.prop("value").map(|p| p.value),
            signature: c.name().starts_with("signature"),
            key_name_hint: c.prop_str("key-name-hint"),
        })
        .collect()
}

fn strings<'a>(node: Node<'a>, name: &str) -> Vec<&'a str> {
    node.prop(name)
        .and_then(|p| p.as_strs())
        .unwrap_or_default()
}

fn addr(node: Node<'_>, name: &str) -> Option<u64> {
    node.prop(name).and_then(|p| p.as_u64())
}

impl<'a> Fit<'a> {
    /// Checks the blob at the start of `file` and that it has an `/images` node.
    pub fn new(file: &'a [u8]) -> Result<Self> {
        let fdt = Fdt::new(file)?;
        if fdt.find("/images").is_none() {
            return Err(field("/images", "missing: this device tree is not a FIT"));
        }
        Ok(Self { file, fdt })
    }

    /// The blob.
    pub fn fdt(&self) -> Fdt<'a> {
        self.fdt
    }

    /// The root `description`.
    pub fn description(&self) -> Option<&'a str> {
        self.fdt.root().prop_str("description")
    }

    /// The root `timestamp` (seconds since the epoch).
    pub fn timestamp(&self) -> Option<u32> {
        self.fdt.root().prop_u32("timestamp")
    }

    /// Start of the external data area: `totalsize` rounded up to 4.
    pub fn external_base(&self) -> usize {
        (self.fdt.totalsize() + 3) & !3
    }

    /// The image nodes in order.
    pub fn images(&self) -> Vec<Image<'a>> {
        let Some(images) = self.fdt.find("/images") else {
            return Vec::new();
        };
        images
            .children()
            .enumerate()
            .map(|(index, n)| {
                let (location, size, range) = if let Some(p) = n.prop("data") {
                    (
                        Location::Embedded,
                        Some(p.value.len()),
                        Some((p.offset, p.offset + p.value.len())),
                    )
                } else {
                    let size = n.prop_u32("data-size").map(|s| s as usize);
                    let loc = if let Some(pos) = n.prop_u32("data-position") {
                        Some((Location::Position(pos), pos as usize))
                    } else {
                        n.prop_u32("data-offset")
                            .map(|o| (Location::Offset(o), self.external_base() + o as usize))
                    };
                    match (loc, size) {
                        (Some((l, start)), Some(s)) => {
                            let range = start
                                .checked_add(s)
                                .filter(|&e| e <= self.file.len())
                                .map(|e| (start, e));
                            (l, Some(s), range)
                        }
                        (Some((l, _)), None) => (l, None, None),
                        (None, s) => (Location::Embedded, s, None),
                    }
                };
                Image {
                    index,
                    name: n.name(),
                    node: n,
                    description: n.prop_str("description"),
                    kind: n.prop_str("type"),
                    compression: n.prop_str("compression"),
                    arch: n.prop_str("arch"),
                    os: n.prop_str("os"),
                    load: addr(n, "load"),
                    entry: addr(n, "entry"),
                    location,
                    size,
                    range,
                    hashes: hash_nodes(n),
                }
            })
            .collect()
    }

    /// The default configuration's name.
    pub fn default_config(&self) -> Option<&'a str> {
        self.fdt
            .find("/configurations")
            .and_then(|c| c.prop_str("default"))
    }

    /// The configuration nodes in order.
    pub fn configurations(&self) -> Vec<Config<'a>> {
        let Some(confs) = self.fdt.find("/configurations") else {
            return Vec::new();
        };
        confs
            .children()
            .enumerate()
            .map(|(index, n)| Config {
                index,
                name: n.name(),
                description: n.prop_str("description"),
                kernel: n.prop_str("kernel"),
                ramdisk: n.prop_str("ramdisk"),
                firmware: n.prop_str("firmware"),
                fdt: strings(n, "fdt"),
                fpga: n.prop_str("fpga"),
                loadables: strings(n, "loadables"),
                hashes: hash_nodes(n),
            })
            .collect()
    }

    /// The image named `name`, or the `index`th image when `name` is a number.
    pub fn image(&self, name: &str) -> Result<Image<'a>> {
        let images = self.images();
        if let Some(i) = images.iter().position(|i| i.name == name) {
            return Ok(images[i].clone());
        }
        if let Ok(n) = name.parse::<usize>() {
            if let Some(i) = images.get(n) {
                return Ok(i.clone());
            }
        }
        Err(field(
            format!("/images/{name}"),
            format!(
                "no such image (there are {}: {})",
                images.len(),
                images.iter().map(|i| i.name).collect::<Vec<_>>().join(", ")
            ),
        ))
    }

    /// An image's bytes.
    pub fn data(&self, image: &Image<'a>) -> Result<&'a [u8]> {
        let (s, e) = self.data_range(image)?;
        Ok(&self.file[s..e])
    }

    /// Where an image's bytes lie in the file, as a `start..end` byte range.
    pub fn data_range(&self, image: &Image<'a>) -> Result<(usize, usize)> {
        let path = format!("/images/{}", image.name);
        match (image.range, image.location, image.size) {
            (Some(r), _, _) => Ok(r),
            (None, Location::Embedded, _) => {
                Err(field(path, "no data, data-offset or data-position"))
            }
            (None, _, None) => Err(field(path, "external data without data-size")),
            (None, loc, Some(size)) => {
                let start = match loc {
                    Location::Offset(o) => self.external_base() + o as usize,
                    Location::Position(p) => p as usize,
                    Location::Embedded => 0,
                };
                let what = match loc {
                    Location::Position(_) => "data-position",
                    _ => "data-offset",
                };
                Err(field(
                    path,
                    format!(
                        "{what}: data at {start:#x}+{size:#x} runs past the end of the file ({:#x} bytes)",
                        self.file.len()
                    ),
                ))
            }
        }
    }

    /// The bytes of the image called `name` (or at that position).
    pub fn extract(&self, name: &str) -> Result<&'a [u8]> {
        let image = self.image(name)?;
        self.data(&image)
    }

    /// Bytes a loader must read from flash: `totalsize`, or the end of the furthest external
    /// data.
    pub fn load_size(&self) -> usize {
        let mut end = self.fdt.totalsize();
        for image in self.images() {
            if image.location == Location::Embedded {
                continue;
            }
            let start = match image.location {
                Location::Offset(o) => self.external_base() + o as usize,
                Location::Position(p) => p as usize,
                Location::Embedded => 0,
            };
            end = end.max(start + image.size.unwrap_or(0));
        }
        end
    }

    /// Checks every image hash. Returns what was checked; fails on the first image or hash node
    /// that does not match (named by path). Signature nodes are not checked (no key here) and
    /// configuration hashes are skipped, as U-Boot does.
    pub fn verify(&self) -> Result<Vec<Check>> {
        self.verify_with(|algo, (s, e)| Ok(algo.digest(&self.file[s..e])))
    }

    /// [`Fit::verify`] with the digests computed by `digest(algo, (start, end))` over the file's
    /// bytes `start..end`: for a FIT parsed from a [`crate::fdt::skeleton`], whose image data
    /// was never read into memory, the caller hashes those ranges from the file in chunks.
    pub fn verify_with(
        &self,
        mut digest: impl FnMut(Algo, (usize, usize)) -> Result<Vec<u8>>,
    ) -> Result<Vec<Check>> {
        let mut out = Vec::new();
        for image in self.images() {
            let range = self.data_range(&image)?;
            for h in image.hashes.iter().filter(|h| !h.signature) {
                let path = format!("/images/{}/{}", image.name, h.name);
                let algo_name = h
                    .algo
                    .ok_or_else(|| field(format!("{path}/algo"), "missing"))?;
                let algo = Algo::from_name(algo_name).ok_or_else(|| {
                    field(
                        format!("{path}/algo"),
                        format!("unsupported algorithm '{algo_name}'"),
                    )
                })?;
                let stored = h
                    .value
                    .ok_or_else(|| field(format!("{path}/value"), "missing"))?;
                let computed = digest(algo, range)?;
                if computed != stored {
                    return Err(field(
                        format!("{path}/value"),
                        format!(
                            "{algo_name} mismatch: stored {}, computed {}",
                            hex(stored),
                            hex(&computed)
                        ),
                    ));
                }
                out.push(Check {
                    path,
                    algo: algo_name.to_owned(),
                    value: hex(&computed),
                });
            }
        }
        Ok(out)
    }

    /// What `mkimage -l` (U-Boot 2023.01) prints, line for line. Times are printed in UTC.
    pub fn list(&self) -> String {
        let mut s = String::new();
        let created = self.timestamp().map(|t| ctime_utc(i64::from(t)));
        let created = created.as_deref().unwrap_or("unavailable");
        let _ = writeln!(
            s,
            "FIT description: {}",
            self.description().unwrap_or("unavailable")
        );
        let _ = writeln!(s, "Created:         {created}");
        for im in self.images() {
            let _ = writeln!(s, " Image {} ({})", im.index, im.name);
            let _ = writeln!(
                s,
                "  Description:  {}",
                im.description.unwrap_or("unavailable")
            );
            let _ = writeln!(s, "  Created:      {created}");
            let kind = im.kind.unwrap_or("");
            let _ = writeln!(s, "  Type:         {}", names::type_name(im.kind));
            let _ = writeln!(s, "  Compression:  {}", names::comp_name(im.compression));
            match im.size {
                Some(n) => {
                    let _ = writeln!(
                        s,
                        "  Data Size:    {n} Bytes = {:.2} KiB = {:.2} MiB",
                        n as f64 / 1.024e3,
                        n as f64 / 1.048_576e6
                    );
                }
                None => s.push_str("  Data Size:    unavailable\n"),
            }
            let k = |t: &[&str]| t.contains(&kind);
            if k(&["kernel", "standalone", "ramdisk", "firmware", "flat_dt"]) {
                let _ = writeln!(s, "  Architecture: {}", names::arch_name(im.arch));
            }
            if k(&["kernel", "ramdisk", "firmware"]) {
                let _ = writeln!(s, "  OS:           {}", names::os_name(im.os));
            }
            let hexaddr =
                |a: Option<u64>| a.map_or("unavailable".to_owned(), |a| format!("0x{a:08x}"));
            if k(&["kernel", "standalone", "firmware", "ramdisk", "fpga"]) {
                let _ = writeln!(s, "  Load Address: {}", hexaddr(im.load));
            }
            if kind == "flat_dt" {
                if let Some(a) = im.load {
                    let _ = writeln!(s, "  Load Address: 0x{a:08x}");
                }
            }
            if k(&["kernel", "standalone", "ramdisk"]) {
                let _ = writeln!(s, "  Entry Point:  {}", hexaddr(im.entry));
            }
            list_hashes(&mut s, &im.hashes);
        }
        if self.fdt.find("/configurations").is_some() {
            if let Some(d) = self.default_config() {
                let _ = writeln!(s, " Default Configuration: '{d}'");
            }
            for c in self.configurations() {
                let _ = writeln!(s, " Configuration {} ({})", c.index, c.name);
                let _ = writeln!(
                    s,
                    "  Description:  {}",
                    c.description.unwrap_or("unavailable")
                );
                let _ = writeln!(s, "  Kernel:       {}", c.kernel.unwrap_or("unavailable"));
                if let Some(r) = c.ramdisk {
                    let _ = writeln!(s, "  Init Ramdisk: {r}");
                }
                if let Some(f) = c.firmware {
                    let _ = writeln!(s, "  Firmware:     {f}");
                }
                for (i, f) in c.fdt.iter().enumerate() {
                    let label = if i == 0 {
                        "FDT:          "
                    } else {
                        "              "
                    };
                    let _ = writeln!(s, "  {label}{f}");
                }
                if let Some(f) = c.fpga {
                    let _ = writeln!(s, "  FPGA:         {f}");
                }
                for (i, l) in c.loadables.iter().enumerate() {
                    let label = if i == 0 {
                        "Loadables:    "
                    } else {
                        "              "
                    };
                    let _ = writeln!(s, "  {label}{l}");
                }
                list_hashes(&mut s, &c.hashes);
            }
        }
        s
    }

    /// Warnings about things that break booting this FIT with U-Boot (see [`Lints`]).
    pub fn lints(&self, opts: &Lints) -> Vec<String> {
        let mut out = Vec::new();
        if self.description().is_none() {
            out.push(
                "the root node has no 'description': U-Boot's FIT format check refuses the image at boot"
                    .to_owned(),
            );
        }
        for (depth, n) in self.fdt.walk() {
            if depth > 0 && n.name().contains('@') {
                out.push(format!(
                    "node '{}' has '@' in its name: U-Boot with FIT_FULL_CHECK (and signing) refuses it",
                    n.name()
                ));
            }
        }
        for im in self.images() {
            if im.kind == Some("kernel") {
                if let Some(n) = im.size {
                    if n as u64 > opts.bootm_len {
                        out.push(format!(
                            "image '{}' is {n} bytes, more than the bootm limit of {} bytes (CONFIG_SYS_BOOTM_LEN): bootm will refuse it",
                            im.name, opts.bootm_len
                        ));
                    }
                }
            }
        }
        if self.load_size() > self.fdt.totalsize() {
            out.push(format!(
                "image data lies outside the FDT (external data): a boot script that reads only the header's totalsize ({:#x}) from flash misses it; read {:#x} bytes (`norrec fit size`)",
                self.fdt.totalsize(),
                self.load_size()
            ));
        }
        out
    }
}

fn list_hashes(s: &mut String, hashes: &[HashNode<'_>]) {
    for h in hashes {
        let t = if h.signature { "Sign" } else { "Hash" };
        let _ = write!(s, "  {t} algo:    ");
        match h.algo {
            Some(a) => {
                s.push_str(a);
                if let Some(k) = h.key_name_hint {
                    let _ = write!(s, ":{k}");
                }
                s.push('\n');
            }
            None => {
                s.push_str("invalid/unsupported\n");
                continue;
            }
        }
        match h.value {
            Some(v) => {
                let _ = writeln!(s, "  {t} value:   {}", hex(v));
            }
            None => {
                let _ = writeln!(s, "  {t} value:   unavailable");
            }
        }
    }
}

/// Limits the lints check against.
#[derive(Debug, Clone)]
pub struct Lints {
    /// CONFIG_SYS_BOOTM_LEN: 8 MiB by default on 32-bit ARM.
    pub bootm_len: u64,
}

impl Default for Lints {
    fn default() -> Self {
        Self { bootm_len: 8 << 20 }
    }
}
