//! The typed model of a sw-description and SWUpdate's selection rules.
//!
//! Every setting is looked up the way SWUpdate's parser does (parser/parser.c, read for the
//! rules): under `software`, first `board.set.mode.<field>`, then `set.mode.<field>`, then
//! `board.<field>`, then `<field>`, each field on its own. A group on that path holding `ref =
//! "#…"` is replaced by the group the link names, and a list element holding `ref` is replaced by
//! the elements of the list it names. Links are `#` then `/`-separated names; `.` stays, `..` goes
//! up one level, and a first component that is a name starts from the root.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::value::Value;

/// The root group of every sw-description.
pub const ROOT: &str = "software";
/// How deep `ref` links may chain before the lookup gives up (SWUpdate blocks loops the same way).
const MAX_LINK_DEPTH: usize = 10;

/// Which part of the tree applies: the board name and hardware revision (`-H board:rev`) and the
/// software set and mode (`-e set,mode`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Selection {
    pub board: Option<String>,
    pub revision: Option<String>,
    pub set: Option<String>,
    pub mode: Option<String>,
}

impl Selection {
    /// Parses `board:rev`.
    pub fn with_hardware(mut self, spec: &str) -> Result<Self> {
        let (b, r) = spec.split_once(':').ok_or_else(|| Error::Selection {
            what: format!("hardware {spec:?}"),
            msg: "expected board:revision".into(),
        })?;
        self.board = Some(b.into());
        self.revision = Some(r.into());
        Ok(self)
    }

    /// Parses `set,mode`.
    pub fn with_set_mode(mut self, spec: &str) -> Result<Self> {
        let (s, m) = spec.split_once(',').ok_or_else(|| Error::Selection {
            what: format!("{spec:?}"),
            msg: "expected set,mode".into(),
        })?;
        self.set = Some(s.into());
        self.mode = Some(m.into());
        Ok(self)
    }
}

/// How an artifact is compressed in the bundle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    /// `"zlib"` (a gzip stream, despite the name) or the deprecated `compressed = true`.
    Zlib,
    /// `"zstd"`.
    Zstd,
}

impl Compression {
    /// The sw-description spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Zlib => "zlib",
            Compression::Zstd => "zstd",
        }
    }
}

/// One entry of `images`, `files` or `scripts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Artifact {
    /// Where in the tree it came from, e.g. `software.cubieboard.stable.main.images[1]`.
    pub origin: String,
    pub filename: String,
    pub name: Option<String>,
    pub version: Option<String>,
    /// The handler (`type`); defaulted like SWUpdate: `raw` for an image with a device,
    /// `ubivol` with a volume, `rawfile` for files, `lua` for scripts.
    #[serde(rename = "type")]
    pub handler: Option<String>,
    pub device: Option<String>,
    pub volume: Option<String>,
    pub mtdname: Option<String>,
    /// Byte offset into the device (`offset`, with K/M/G suffixes).
    pub offset: u64,
    pub path: Option<String>,
    pub filesystem: Option<String>,
    pub compressed: Compression,
    /// Lower-case hex sha256 of the bytes as stored in the bundle.
    pub sha256: Option<String>,
    pub installed_directly: bool,
    pub install_if_different: bool,
    pub install_if_higher: bool,
    pub preserve_attributes: bool,
    pub create_destination: bool,
    /// `encrypted` (a cipher name or `true`): refused by the installer.
    pub encrypted: Option<String>,
    pub size: Option<i64>,
    pub properties: BTreeMap<String, Vec<String>>,
}

/// One `bootenv` (or legacy `uboot`) variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// One `partitions` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Partition {
    pub origin: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub handler: Option<String>,
    pub device: Option<String>,
    pub size: Option<i64>,
    pub properties: BTreeMap<String, Vec<String>>,
}

/// A resolved sw-description: what gets installed for one selection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Description {
    pub version: Option<String>,
    pub description: Option<String>,
    /// Accepted hardware revisions; `#RE:` entries are POSIX-like regular expressions.
    pub hardware_compatibility: Vec<String>,
    pub images: Vec<Artifact>,
    pub files: Vec<Artifact>,
    pub scripts: Vec<Artifact>,
    pub bootenv: Vec<EnvVar>,
    pub partitions: Vec<Partition>,
}

/// Parses sw-description text: JSON when it starts with `{`, libconfig otherwise.
pub fn parse_text(text: &str) -> Result<Value> {
    if text.trim_start().starts_with('{') {
        Value::parse_json(text)
    } else {
        crate::libconfig::parse(text)
    }
}

/// Resolves `#…` against `base` (the path of the node holding the link).
fn link_path(base: &[String], link: &str) -> Option<Vec<String>> {
    let rest = link.strip_prefix('#')?;
    if link.len() < 3 {
        return None;
    }
    let mut nodes: Vec<String> = base.to_vec();
    let mut count = nodes.len().checked_sub(1)?;
    let mut first = true;
    for tok in rest.split('/').filter(|t| !t.is_empty()) {
        if tok == ".." {
            count = count.checked_sub(1)?;
        } else if tok != "." {
            if first {
                count = 0;
            }
            nodes.truncate(count);
            nodes.push(tok.to_owned());
            count += 1;
        }
        first = false;
    }
    nodes.truncate(count);
    if nodes.is_empty() { None } else { Some(nodes) }
}

/// The node at `path`, following a `ref` held by a group there. Returns the final path too.
fn find_root(
    root: &Value,
    path: Vec<String>,
    depth: usize,
) -> Result<Option<(&Value, Vec<String>)>> {
    if depth == 0 {
        return Err(Error::Field {
            field: path.join("."),
            msg: "ref links nest too deep (a loop?)".into(),
        });
    }
    let Some(node) = root.lookup(&path) else {
        return Ok(None);
    };
    if let Some(r) = node.get("ref") {
        let link = r.as_str().ok_or_else(|| Error::Field {
            field: format!("{}.ref", path.join(".")),
            msg: "must be a string".into(),
        })?;
        let target = link_path(&path, link).ok_or_else(|| Error::Field {
            field: format!("{}.ref", path.join(".")),
            msg: format!("bad link {link:?}"),
        })?;
        return find_root(root, target, depth - 1);
    }
    Ok(Some((node, path)))
}

/// The selection's candidate roots in SWUpdate's order.
fn candidates(sel: &Selection) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let r = ROOT.to_owned();
    if let (Some(b), Some(s), Some(m)) = (&sel.board, &sel.set, &sel.mode) {
        out.push(vec![r.clone(), b.clone(), s.clone(), m.clone()]);
    }
    if let (Some(s), Some(m)) = (&sel.set, &sel.mode) {
        out.push(vec![r.clone(), s.clone(), m.clone()]);
    }
    if let Some(b) = &sel.board {
        out.push(vec![r.clone(), b.clone()]);
    }
    out.push(vec![r]);
    out
}

/// Finds `field` for the selection: the node and its path.
fn find_field<'v>(
    root: &'v Value,
    sel: &Selection,
    field: &str,
) -> Result<Option<(&'v Value, Vec<String>)>> {
    for cand in candidates(sel) {
        if let Some((_, base)) = find_root(root, cand, MAX_LINK_DEPTH)? {
            let mut p = base;
            p.push(field.to_owned());
            if let Some(found) = find_root(root, p, MAX_LINK_DEPTH)? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

/// Checks that the selected set/mode exists (SWUpdate refuses a selection it cannot find).
fn check_selection(root: &Value, sel: &Selection) -> Result<()> {
    if let (Some(s), Some(m)) = (&sel.set, &sel.mode) {
        let mut found = false;
        for cand in candidates(sel).into_iter().take(2) {
            if cand.len() >= 3 && find_root(root, cand, MAX_LINK_DEPTH)?.is_some() {
                found = true;
            }
        }
        if !found {
            return Err(Error::Selection {
                what: format!("{s},{m}"),
                msg: "no such software set and mode in sw-description".into(),
            });
        }
    }
    Ok(())
}

/// Resolves the sw-description tree for one selection into the typed model.
pub fn resolve(root: &Value, sel: &Selection) -> Result<Description> {
    if !root.get(ROOT).is_some_and(Value::is_group) {
        return Err(Error::Field {
            field: ROOT.into(),
            msg: "missing (the root group of sw-description)".into(),
        });
    }
    check_selection(root, sel)?;
    let mut d = Description::default();
    if let Some((v, p)) = find_field(root, sel, "version")? {
        d.version = Some(string(v, &dotted(&p))?);
    }
    if let Some((v, p)) = find_field(root, sel, "description")? {
        d.description = Some(string(v, &dotted(&p))?);
    }
    if let Some((v, p)) = find_field(root, sel, "hardware-compatibility")? {
        let field = dotted(&p);
        for (i, e) in list(v, &field)?.iter().enumerate() {
            let s = string(e, &format!("{field}[{i}]"))?;
            if !s.is_empty() {
                d.hardware_compatibility.push(s);
            }
        }
    }
    for (section, out) in [
        ("images", &mut d.images),
        ("files", &mut d.files),
        ("scripts", &mut d.scripts),
    ] {
        if let Some((v, p)) = find_field(root, sel, section)? {
            collect(root, v, p, MAX_LINK_DEPTH, &mut |e, origin| {
                if e.get("filename").is_none() {
                    return Ok(()); // SWUpdate skips entries without a filename
                }
                out.push(artifact(e, origin, section)?);
                Ok(())
            })?;
        }
    }
    let env = match find_field(root, sel, "bootenv")? {
        Some(x) => Some(x),
        None => find_field(root, sel, "uboot")?,
    };
    if let Some((v, p)) = env {
        collect(root, v, p, MAX_LINK_DEPTH, &mut |e, origin| {
            let name = opt_string(e, "name", &origin)?.ok_or_else(|| Error::Field {
                field: format!("{origin}.name"),
                msg: "missing".into(),
            })?;
            let value = opt_string(e, "value", &origin)?.unwrap_or_default();
            d.bootenv.push(EnvVar { name, value });
            Ok(())
        })?;
    }
    if let Some((v, p)) = find_field(root, sel, "partitions")? {
        collect(root, v, p, MAX_LINK_DEPTH, &mut |e, origin| {
            d.partitions.push(Partition {
                name: opt_string(e, "name", &origin)?,
                handler: opt_string(e, "type", &origin)?,
                device: opt_string(e, "device", &origin)?,
                size: opt_int(e, "size", &origin)?,
                properties: properties(e, &origin)?,
                origin,
            });
            Ok(())
        })?;
    }
    Ok(d)
}

fn dotted(p: &[String]) -> String {
    p.join(".")
}

/// Walks a list, following element `ref` links into the lists they name.
fn collect(
    root: &Value,
    list_value: &Value,
    path: Vec<String>,
    depth: usize,
    f: &mut dyn FnMut(&Value, String) -> Result<()>,
) -> Result<()> {
    let field = dotted(&path);
    for (i, e) in list(list_value, &field)?.iter().enumerate() {
        let origin = format!("{field}[{i}]");
        if !e.is_group() {
            return Err(Error::Field {
                field: origin,
                msg: format!("must be a group, found a {}", e.kind()),
            });
        }
        if let Some(r) = e.get("ref") {
            if depth == 0 {
                return Err(Error::Field {
                    field: origin,
                    msg: "ref links nest too deep (a loop?)".into(),
                });
            }
            let link = string(r, &format!("{origin}.ref"))?;
            let target = link_path(&path, &link).ok_or_else(|| Error::Field {
                field: format!("{origin}.ref"),
                msg: format!("bad link {link:?}"),
            })?;
            let Some((v, p)) = find_root(root, target, MAX_LINK_DEPTH)? else {
                return Err(Error::Field {
                    field: format!("{origin}.ref"),
                    msg: format!("link {link:?} leads nowhere"),
                });
            };
            collect(root, v, p, depth - 1, f)?;
            continue;
        }
        f(e, origin)?;
    }
    Ok(())
}

fn list<'v>(v: &'v Value, field: &str) -> Result<&'v [Value]> {
    v.elements().ok_or_else(|| Error::Field {
        field: field.into(),
        msg: format!("must be a list, found a {}", v.kind()),
    })
}

fn string(v: &Value, field: &str) -> Result<String> {
    v.as_str().map(str::to_owned).ok_or_else(|| Error::Field {
        field: field.into(),
        msg: format!("must be a string, found a {}", v.kind()),
    })
}

fn opt_string(e: &Value, key: &str, origin: &str) -> Result<Option<String>> {
    e.get(key)
        .map(|v| string(v, &format!("{origin}.{key}")))
        .transpose()
}

fn opt_int(e: &Value, key: &str, origin: &str) -> Result<Option<i64>> {
    match e.get(key) {
        None => Ok(None),
        Some(Value::Int(i)) => Ok(Some(*i)),
        Some(other) => Err(Error::Field {
            field: format!("{origin}.{key}"),
            msg: format!("must be an integer, found a {}", other.kind()),
        }),
    }
}

fn opt_bool(e: &Value, key: &str, origin: &str) -> Result<bool> {
    match e.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(Error::Field {
            field: format!("{origin}.{key}"),
            msg: format!("must be a boolean, found a {}", other.kind()),
        }),
    }
}

/// Parses a size with an optional K/M/G (KiB/MiB/GiB) suffix, in decimal, hex or octal, as
/// SWUpdate's `ustrtoull` does.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let b = s.as_bytes();
    let (radix, start) = if b.len() > 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') {
        (16, 2)
    } else if b.len() > 1 && b[0] == b'0' && b[1].is_ascii_digit() {
        (8, 1)
    } else {
        (10, 0)
    };
    let end = start
        + b[start..]
            .iter()
            .take_while(|c| char::from(**c).is_digit(radix))
            .count();
    if end == start {
        return None;
    }
    let base = u64::from_str_radix(&s[start..end], radix).ok()?;
    let mult: u64 = match &s[end..] {
        "" => 1,
        "K" | "k" | "Ki" | "KiB" | "ki" | "kiB" => 1 << 10,
        "M" | "m" | "Mi" | "MiB" | "mi" | "miB" => 1 << 20,
        "G" | "g" | "Gi" | "GiB" | "gi" | "giB" => 1 << 30,
        _ => return None,
    };
    base.checked_mul(mult)
}

fn properties(e: &Value, origin: &str) -> Result<BTreeMap<String, Vec<String>>> {
    let mut out = BTreeMap::new();
    let Some(p) = e.get("properties") else {
        return Ok(out);
    };
    let Value::Group(members) = p else {
        return Err(Error::Field {
            field: format!("{origin}.properties"),
            msg: format!("must be a group, found a {}", p.kind()),
        });
    };
    for (k, v) in members {
        let field = format!("{origin}.properties.{k}");
        let vals = match v {
            Value::Array(items) | Value::List(items) => items
                .iter()
                .map(|x| scalar_text(x, &field))
                .collect::<Result<Vec<_>>>()?,
            other => vec![scalar_text(other, &field)?],
        };
        out.insert(k.clone(), vals);
    }
    Ok(out)
}

fn scalar_text(v: &Value, field: &str) -> Result<String> {
    Ok(match v {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        other => {
            return Err(Error::Field {
                field: field.into(),
                msg: format!("must be a scalar, found a {}", other.kind()),
            });
        }
    })
}

fn artifact(e: &Value, origin: String, section: &str) -> Result<Artifact> {
    let o = origin.as_str();
    let mut a = Artifact {
        filename: opt_string(e, "filename", o)?.unwrap_or_default(),
        name: opt_string(e, "name", o)?,
        version: opt_string(e, "version", o)?,
        handler: opt_string(e, "type", o)?,
        device: opt_string(e, "device", o)?,
        volume: opt_string(e, "volume", o)?,
        mtdname: opt_string(e, "mtdname", o)?,
        path: opt_string(e, "path", o)?,
        filesystem: opt_string(e, "filesystem", o)?,
        installed_directly: opt_bool(e, "installed-directly", o)?,
        install_if_different: opt_bool(e, "install-if-different", o)?,
        install_if_higher: opt_bool(e, "install-if-higher", o)?,
        preserve_attributes: opt_bool(e, "preserve-attributes", o)?,
        create_destination: opt_bool(e, "create-destination", o)?,
        size: opt_int(e, "size", o)?,
        properties: properties(e, o)?,
        ..Artifact::default()
    };
    if let Err(why) = crate::cpio::check_name(&a.filename) {
        return Err(Error::Field {
            field: format!("{o}.filename"),
            msg: format!("{:?}: {why}", a.filename),
        });
    }
    if let Some(p) = &a.path {
        if p.split('/').any(|c| c == "..") {
            return Err(Error::Field {
                field: format!("{o}.path"),
                msg: format!("{p:?}: '..' component (path traversal)"),
            });
        }
    }
    a.offset = match e.get("offset") {
        None => 0,
        Some(Value::Int(i)) => u64::try_from(*i).map_err(|_| Error::Field {
            field: format!("{o}.offset"),
            msg: format!("negative: {i}"),
        })?,
        Some(Value::Str(s)) => parse_size(s).ok_or_else(|| Error::Field {
            field: format!("{o}.offset"),
            msg: format!("not a size: {s:?}"),
        })?,
        Some(other) => {
            return Err(Error::Field {
                field: format!("{o}.offset"),
                msg: format!("must be a string or integer, found a {}", other.kind()),
            });
        }
    };
    a.compressed = match e.get("compressed") {
        None | Some(Value::Bool(false)) => Compression::None,
        Some(Value::Bool(true)) => Compression::Zlib,
        Some(Value::Str(s)) if s == "zlib" => Compression::Zlib,
        Some(Value::Str(s)) if s == "zstd" => Compression::Zstd,
        Some(Value::Str(s)) if s == "false" || s == "none" => Compression::None,
        Some(other) => {
            return Err(Error::Field {
                field: format!("{o}.compressed"),
                msg: format!("unknown compression {other:?} (zlib or zstd)"),
            });
        }
    };
    a.encrypted = match e.get("encrypted") {
        None | Some(Value::Bool(false)) => None,
        Some(Value::Bool(true)) => Some("aes-cbc".into()),
        Some(Value::Str(s)) => Some(s.clone()),
        Some(other) => {
            return Err(Error::Field {
                field: format!("{o}.encrypted"),
                msg: format!("must be a string or boolean, found a {}", other.kind()),
            });
        }
    };
    if let Some(h) = opt_string(e, "sha256", o)? {
        a.sha256 = Some(h.to_ascii_lowercase());
    }
    if a.handler.is_none() {
        a.handler = match section {
            "images" if a.volume.is_some() => Some("ubivol".into()),
            "images" if a.device.is_some() => Some("raw".into()),
            "files" => Some("rawfile".into()),
            "scripts" => Some("lua".into()),
            _ => None,
        };
    }
    a.origin = origin;
    Ok(a)
}

impl Description {
    /// Parses and resolves sw-description text for one selection.
    pub fn parse(text: &str, sel: &Selection) -> Result<Description> {
        resolve(&parse_text(text)?, sel)
    }

    /// All artifacts (images, files, scripts) in installation order.
    pub fn artifacts(&self) -> impl Iterator<Item = &Artifact> {
        self.images
            .iter()
            .chain(self.files.iter())
            .chain(self.scripts.iter())
    }

    /// Checks a hardware revision against `hardware-compatibility` (exact string, or `#RE:`
    /// regular expression). A description without the list is refused, as SWUpdate built with
    /// hardware compatibility (Debian's) refuses it ("HW compatibility not found").
    pub fn check_hardware(&self, revision: &str) -> Result<()> {
        if self.hardware_compatibility.is_empty() {
            return Err(Error::Hardware(format!(
                "revision {revision:?} given but sw-description has no hardware-compatibility"
            )));
        }
        for entry in &self.hardware_compatibility {
            if let Some(re) = entry.strip_prefix("#RE:") {
                let re = regex::Regex::new(re).map_err(|e| Error::Field {
                    field: "hardware-compatibility".into(),
                    msg: format!("bad regular expression {re:?}: {e}"),
                })?;
                if re.is_match(revision) {
                    return Ok(());
                }
            } else if entry == revision {
                return Ok(());
            }
        }
        Err(Error::Hardware(format!(
            "revision {revision:?} is not in hardware-compatibility {:?}",
            self.hardware_compatibility
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_ustrtoull() {
        assert_eq!(parse_size("8K"), Some(8192));
        assert_eq!(parse_size("0x2000"), Some(8192));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("2MiB"), Some(2 << 20));
        assert_eq!(parse_size("010"), Some(8));
        assert_eq!(parse_size("12"), Some(12));
        assert_eq!(parse_size("8Q"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn links() {
        let b: Vec<String> = ["software", "board", "set"].map(String::from).to_vec();
        let p = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            link_path(&b, "#./other"),
            p(&["software", "board", "other"])
        );
        assert_eq!(link_path(&b, "#./../x/y"), p(&["software", "x", "y"]));
        assert_eq!(link_path(&b, "#software/z"), p(&["software", "z"]));
        assert_eq!(link_path(&b, "nohash"), None);
    }
}
