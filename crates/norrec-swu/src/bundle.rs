//! `.swu` bundles: the streaming reader the installer uses, whole-bundle verification, and the
//! builder.
//!
//! Order in the cpio, as SWUpdate expects: `sw-description`, `sw-description.sig` when signed,
//! then the artifacts.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::cpio::{CpioReader, CpioWriter, Format, Header};
use crate::description::{self, Compression, Description, Selection};
use crate::error::{Error, Result};
use crate::hash::{check_sha256_field, hex};
use crate::sign::{self, Method, Trust};
use crate::value::Value;

/// Name of the description entry.
pub const DESCRIPTION: &str = "sw-description";
/// Name of its signature.
pub const SIGNATURE: &str = "sw-description.sig";
/// Largest sw-description accepted (it is read into memory).
pub const MAX_DESCRIPTION: u64 = 4 << 20;

/// What the bundle says about one artifact file name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Expectation {
    /// Where it is listed (first place), e.g. `software.images[0]`.
    pub origin: String,
    /// The expected sha256, if listed.
    pub sha256: Option<String>,
}

/// Reads a bundle from a stream: sw-description (and its signature) first, then each artifact as
/// a `Read` whose sha256 is checked against the description when it has been read to the end.
#[derive(Debug)]
pub struct SwuReader<R> {
    cpio: CpioReader<R>,
    format: Format,
    description: Vec<u8>,
    signature: Option<Vec<u8>>,
    pending: Option<Header>,
    expected: Option<BTreeMap<String, Expectation>>,
    seen: BTreeSet<String>,
    signed_ok: bool,
}

impl<R: Read> SwuReader<R> {
    /// Reads the bundle's head: `sw-description` (must come first) and `sw-description.sig`.
    pub fn new(inner: R) -> Result<Self> {
        let mut cpio = CpioReader::new(inner);
        let first = cpio.next_header()?.ok_or_else(|| Error::NotFirst {
            found: "(empty archive)".into(),
        })?;
        if first.name != DESCRIPTION {
            return Err(Error::NotFirst { found: first.name });
        }
        let description = cpio.read_to_vec(MAX_DESCRIPTION)?;
        let mut signature = None;
        let mut pending = None;
        match cpio.next_header()? {
            Some(h) if h.name == SIGNATURE => signature = Some(cpio.read_to_vec(64 << 10)?),
            other => pending = other,
        }
        Ok(Self {
            cpio,
            format: first.format,
            description,
            signature,
            pending,
            expected: None,
            seen: BTreeSet::new(),
            signed_ok: false,
        })
    }

    /// Reads the head and checks the signature (when `trust` is given), the selection and the
    /// hardware revision: what an installer does before touching a device.
    pub fn open(inner: R, trust: Option<&Trust>, sel: &Selection) -> Result<(Self, Description)> {
        let mut r = Self::new(inner)?;
        if let Some(t) = trust {
            r.verify_signature(t)?;
        }
        let d = r.select(sel)?;
        Ok((r, d))
    }

    /// newc or crc.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The raw sw-description bytes.
    pub fn description_bytes(&self) -> &[u8] {
        &self.description
    }

    /// The raw signature, if the bundle has one.
    pub fn signature(&self) -> Option<&[u8]> {
        self.signature.as_deref()
    }

    /// Checks the signature of sw-description. From then on every artifact must have a
    /// `sha256` in the description (the signature covers the artifacts only through it), as
    /// SWUpdate demands of signed bundles.
    pub fn verify_signature(&mut self, trust: &Trust) -> Result<()> {
        let sig = self.signature.as_deref().ok_or_else(|| {
            Error::Signature(format!("bundle has no {SIGNATURE} (unsigned bundle)"))
        })?;
        sign::verify(trust, &self.description, sig)?;
        self.signed_ok = true;
        Ok(())
    }

    fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.description).map_err(|e| Error::Field {
            field: DESCRIPTION.into(),
            msg: format!("not UTF-8 at byte {}", e.valid_up_to()),
        })
    }

    /// The parsed tree of sw-description.
    pub fn tree(&self) -> Result<Value> {
        description::parse_text(self.text()?)
    }

    /// Resolves sw-description for `sel`, checks the hardware revision if `sel` names one, and
    /// from then on checks each artifact against this selection.
    pub fn select(&mut self, sel: &Selection) -> Result<Description> {
        let d = description::resolve(&self.tree()?, sel)?;
        if let Some(rev) = &sel.revision {
            d.check_hardware(rev)?;
        }
        let mut map = BTreeMap::new();
        for a in d.artifacts() {
            if let Some(h) = &a.sha256 {
                check_sha256_field(h, &format!("{}.sha256", a.origin))?;
            }
            map.entry(a.filename.clone()).or_insert(Expectation {
                origin: a.origin.clone(),
                sha256: a.sha256.clone(),
            });
        }
        self.expected = Some(map);
        Ok(d)
    }

    /// Checks artifacts against every entry of the whole tree (all boards, sets and modes).
    pub fn expect_all(&mut self) -> Result<BTreeMap<String, Expectation>> {
        let map = all_artifacts(&self.tree()?)?;
        self.expected = Some(map.clone());
        Ok(map)
    }

    /// The next artifact, or `None` at the end of the archive. Read it to the end and call
    /// [`Entry::finish`] to have its sha256 checked; an entry dropped early is skipped.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_, R>>> {
        let header = match self.pending.take() {
            Some(h) => Some(h),
            None => self.cpio.next_header()?,
        };
        let Some(header) = header else {
            return Ok(None);
        };
        if header.name == DESCRIPTION || header.name == SIGNATURE {
            return Err(Error::BadEntry {
                name: header.name,
                offset: header.offset,
                what: "out of place (must be the first entries)".into(),
            });
        }
        self.seen.insert(header.name.clone());
        let expected = self
            .expected
            .as_ref()
            .and_then(|m| m.get(&header.name))
            .cloned();
        if self.signed_ok {
            if let Some(exp) = expected.as_ref().filter(|e| e.sha256.is_none()) {
                return Err(Error::Field {
                    field: format!("{}.sha256", exp.origin),
                    msg: format!(
                        "missing for {:?}: in a signed bundle every artifact needs one",
                        header.name
                    ),
                });
            }
        }
        let referenced = self
            .expected
            .as_ref()
            .is_none_or(|m| m.contains_key(&header.name));
        Ok(Some(Entry {
            cpio: &mut self.cpio,
            hasher: Sha256::new(),
            name: header.name,
            size: header.size,
            offset: header.offset,
            expected: expected.and_then(|e| e.sha256),
            referenced,
        }))
    }

    /// Names of expected artifacts not seen so far.
    pub fn missing(&self) -> Vec<(String, Expectation)> {
        self.expected
            .iter()
            .flatten()
            .filter(|(k, _)| !self.seen.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// After the last entry: fails on the first expected artifact the bundle lacked.
    pub fn finish(mut self) -> Result<()> {
        while let Some(e) = self.next_entry()? {
            drop(e);
        }
        if let Some((file, exp)) = self.missing().into_iter().next() {
            return Err(Error::Missing {
                file,
                field: format!("{}.filename", exp.origin),
            });
        }
        Ok(())
    }
}

/// One artifact being read. Implements `Read`; the data is hashed on the way.
#[derive(Debug)]
pub struct Entry<'a, R> {
    cpio: &'a mut CpioReader<R>,
    hasher: Sha256,
    /// Member name.
    pub name: String,
    /// Size in the bundle (as stored, compressed or not).
    pub size: u64,
    /// Offset of its header in the bundle.
    pub offset: u64,
    /// sha256 the description gives for it.
    pub expected: Option<String>,
    /// Whether the selected description (or the whole tree) lists it.
    pub referenced: bool,
}

impl<R: Read> Read for Entry<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.cpio.read_data(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl<R: Read> Entry<'_, R> {
    /// Reads what is left, then checks the sha256 against the description. Returns the digest.
    pub fn finish(mut self) -> Result<String> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = self.read(&mut buf).map_err(Error::from_io)?;
            if n == 0 {
                break;
            }
        }
        let actual = hex(&self.hasher.finalize());
        if let Some(expected) = self.expected {
            if expected != actual {
                return Err(Error::HashMismatch {
                    file: self.name,
                    expected,
                    actual,
                });
            }
        }
        Ok(actual)
    }
}

/// Every artifact entry anywhere in the tree (any group with a `filename` under `software`),
/// by file name, first listing first.
pub fn all_artifacts(root: &Value) -> Result<BTreeMap<String, Expectation>> {
    fn walk(v: &Value, path: String, out: &mut BTreeMap<String, Expectation>) -> Result<()> {
        match v {
            Value::Group(members) => {
                if let Some(f) = v.get("filename") {
                    let f = f.as_str().ok_or_else(|| Error::Field {
                        field: format!("{path}.filename"),
                        msg: "must be a string".into(),
                    })?;
                    crate::cpio::check_name(f).map_err(|why| Error::Field {
                        field: format!("{path}.filename"),
                        msg: format!("{f:?}: {why}"),
                    })?;
                    if let Some(Value::Str(p)) = v.get("path") {
                        if p.split('/').any(|c| c == "..") {
                            return Err(Error::Field {
                                field: format!("{path}.path"),
                                msg: format!("{p:?}: '..' component (path traversal)"),
                            });
                        }
                    }
                    let sha = match v.get("sha256") {
                        Some(Value::Str(s)) => {
                            check_sha256_field(s, &format!("{path}.sha256"))?;
                            Some(s.to_ascii_lowercase())
                        }
                        Some(_) => {
                            return Err(Error::Field {
                                field: format!("{path}.sha256"),
                                msg: "must be a string".into(),
                            });
                        }
                        None => None,
                    };
                    if let Some(prev) = out.get(f) {
                        if prev.sha256.is_some() && sha.is_some() && prev.sha256 != sha {
                            return Err(Error::Field {
                                field: format!("{path}.sha256"),
                                msg: format!(
                                    "differs from {}.sha256 for the same file",
                                    prev.origin
                                ),
                            });
                        }
                    } else {
                        out.insert(
                            f.to_owned(),
                            Expectation {
                                origin: path.clone(),
                                sha256: sha,
                            },
                        );
                    }
                }
                for (k, m) in members {
                    walk(m, format!("{path}.{k}"), out)?;
                }
            }
            Value::List(items) | Value::Array(items) => {
                for (i, m) in items.iter().enumerate() {
                    walk(m, format!("{path}[{i}]"), out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    let sw = root.get(description::ROOT).ok_or_else(|| Error::Field {
        field: description::ROOT.into(),
        msg: "missing (the root group of sw-description)".into(),
    })?;
    walk(sw, description::ROOT.into(), &mut out)?;
    Ok(out)
}

/// Every artifact's file name and declared compression, in document order, without duplicates.
fn artifact_order(root: &Value) -> Vec<(String, Compression)> {
    fn walk(v: &Value, out: &mut Vec<(String, Compression)>) {
        match v {
            Value::Group(members) => {
                if let Some(Value::Str(f)) = v.get("filename") {
                    let c = match v.get("compressed") {
                        Some(Value::Str(s)) if s == "zlib" => Compression::Zlib,
                        Some(Value::Str(s)) if s == "zstd" => Compression::Zstd,
                        Some(Value::Bool(true)) => Compression::Zlib,
                        _ => Compression::None,
                    };
                    if !out.iter().any(|(n, _)| n == f) {
                        out.push((f.clone(), c));
                    }
                }
                for (_, m) in members {
                    walk(m, out);
                }
            }
            Value::List(items) | Value::Array(items) => items.iter().for_each(|m| walk(m, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(sw) = root.get(description::ROOT) {
        walk(sw, &mut out);
    }
    out
}

/// How to build a bundle.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// newc (default) or crc.
    pub format: Format,
    /// Sign with this method, PEM private key and (for CMS) PEM certificate.
    pub sign: Option<(Method, String, Option<String>)>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            format: Format::Newc,
            sign: None,
        }
    }
}

/// What a build wrote.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// The final sw-description text (placeholders replaced, hashes filled).
    pub description: String,
    /// Entries in order: name, size, sha256.
    pub entries: Vec<(String, u64, String)>,
    /// Total archive size.
    pub size: u64,
}

const PLACEHOLDER: &str = "$swupdate_get_sha256(";

/// Builds a bundle. `load(name, compression)` returns an artifact's bytes as they go into the
/// bundle (already compressed when the description says so). `$swupdate_get_sha256(file)` is
/// replaced, missing `sha256` settings are added, and existing ones must match.
pub fn build<W: Write>(
    text: &str,
    load: &mut dyn FnMut(&str, Compression) -> Result<Vec<u8>>,
    opts: &BuildOptions,
    out: W,
) -> Result<(W, BuildReport)> {
    let tree = description::parse_text(text)?;
    let order = artifact_order(&tree);
    let mut data: Vec<(String, Vec<u8>, String)> = Vec::with_capacity(order.len());
    for (name, c) in &order {
        let bytes = load(name, *c)?;
        let sha = hex(&Sha256::digest(&bytes));
        data.push((name.clone(), bytes, sha));
    }
    let sha_of = |name: &str| -> Result<String> {
        data.iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, s)| s.clone())
            .ok_or_else(|| Error::Field {
                field: format!("{PLACEHOLDER}{name})"),
                msg: "names a file no entry lists".into(),
            })
    };
    // 1. Placeholders.
    let mut final_text = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(PLACEHOLDER) {
        final_text.push_str(&rest[..i]);
        let after = &rest[i + PLACEHOLDER.len()..];
        let close = after.find(')').ok_or_else(|| Error::Field {
            field: PLACEHOLDER.into(),
            msg: "no closing ')'".into(),
        })?;
        final_text.push_str(&sha_of(after[..close].trim())?);
        rest = &after[close + 1..];
    }
    final_text.push_str(rest);
    // 2. Missing sha256 settings.
    if final_text.trim_start().starts_with('{') {
        let mut v: serde_json::Value = serde_json::from_str(&final_text)
            .map_err(|e| Error::Json(format!("line {}, column {}: {e}", e.line(), e.column())))?;
        let mut err = None;
        fill_json(&mut v, &sha_of, &mut err);
        if let Some(e) = err {
            return Err(e);
        }
        final_text = serde_json::to_string_pretty(&v).map_err(|e| Error::Json(e.to_string()))?;
        final_text.push('\n');
    } else {
        let fills = crate::libconfig::missing_sha256(&final_text)?;
        for (pos, name) in fills.into_iter().rev() {
            let ins = format!(" sha256 = \"{}\";", sha_of(&name)?);
            final_text.insert_str(pos, &ins);
        }
    }
    // 3. Every listed hash must be right.
    let final_tree = description::parse_text(&final_text)?;
    for (name, exp) in all_artifacts(&final_tree)? {
        let actual = sha_of(&name)?;
        match exp.sha256 {
            Some(h) if h != actual => {
                return Err(Error::HashMismatch {
                    file: name,
                    expected: h,
                    actual,
                });
            }
            _ => {}
        }
    }
    // 4. Sign and write.
    let sig = match &opts.sign {
        Some((m, key, cert)) => Some(sign::sign(*m, key, cert.as_deref(), final_text.as_bytes())?),
        None => None,
    };
    let mut w = CpioWriter::new(out, opts.format);
    let mut entries = Vec::new();
    w.add(DESCRIPTION, final_text.as_bytes())?;
    entries.push((
        DESCRIPTION.to_owned(),
        final_text.len() as u64,
        crate::hash::sha256_hex(final_text.as_bytes()),
    ));
    if let Some(sig) = &sig {
        w.add(SIGNATURE, sig)?;
        entries.push((
            SIGNATURE.to_owned(),
            sig.len() as u64,
            crate::hash::sha256_hex(sig),
        ));
    }
    for (name, bytes, sha) in &data {
        w.add(name, bytes)?;
        entries.push((name.clone(), bytes.len() as u64, sha.clone()));
    }
    let size_before_trailer = w.written();
    let out = w.finish()?;
    let report = BuildReport {
        description: final_text,
        entries,
        size: size_before_trailer + 124,
    };
    Ok((out, report))
}

fn fill_json(
    v: &mut serde_json::Value,
    sha_of: &dyn Fn(&str) -> Result<String>,
    err: &mut Option<Error>,
) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::String(f)) = m.get("filename") {
                if !m.contains_key("sha256") {
                    match sha_of(f) {
                        Ok(s) => {
                            m.insert("sha256".into(), serde_json::Value::String(s));
                        }
                        Err(e) => *err = Some(e),
                    }
                }
            }
            for (_, x) in m.iter_mut() {
                fill_json(x, sha_of, err);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| fill_json(x, sha_of, err)),
        _ => {}
    }
}

/// Receives each artifact's name and data during [`verify`] (for extraction).
pub type Sink<'s> = &'s mut dyn FnMut(&str, &mut dyn Read) -> Result<()>;

/// Result of checking a whole bundle.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub format: Format,
    pub signed: bool,
    pub signature_checked: bool,
    /// name, size, sha256, the sha256 was compared with the description
    pub entries: Vec<VerifiedEntry>,
}

/// One checked artifact.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedEntry {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub hash_checked: bool,
}

/// Checks a whole bundle: the signature (if `trust`), every artifact's sha256 and the cpio
/// checksums, every listed file present and nothing unlisted. With `sel`, against that
/// selection (and its hardware revision); without, against every entry of the tree. With
/// `sink`, every artifact's data is also handed over (for extraction), named by the entry.
pub fn verify<R: Read>(
    input: R,
    trust: Option<&Trust>,
    sel: Option<&Selection>,
    mut sink: Option<Sink<'_>>,
) -> Result<VerifyReport> {
    let mut r = SwuReader::new(input)?;
    if let Some(t) = trust {
        r.verify_signature(t)?;
    }
    match sel {
        Some(s) => {
            r.select(s)?;
        }
        None => {
            r.expect_all()?;
        }
    }
    let mut report = VerifyReport {
        format: r.format(),
        signed: r.signature().is_some(),
        signature_checked: trust.is_some(),
        entries: Vec::new(),
    };
    while let Some(mut e) = r.next_entry()? {
        if !e.referenced {
            if sel.is_some() {
                // Other selections' files are fine when one selection is checked; still read
                // them so their cpio checksums are verified.
                e.finish()?;
                continue;
            }
            return Err(Error::Unreferenced { file: e.name });
        }
        let name = e.name.clone();
        let size = e.size;
        let hash_checked = e.expected.is_some();
        if let Some(s) = sink.as_mut() {
            s(&name, &mut e)?;
        }
        let sha256 = e.finish()?;
        report.entries.push(VerifiedEntry {
            name,
            size,
            sha256,
            hash_checked,
        });
    }
    r.finish()?;
    Ok(report)
}
