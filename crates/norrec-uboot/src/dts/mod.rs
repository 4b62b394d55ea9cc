//! A device-tree source (`.dts`, `.its`) parser for what FIT sources and small board files use:
//! `/dts-v1/;`, `/memreserve/`, nodes with unit addresses, labels and `&label` / `&{/path}`
//! references (phandles in cells, paths in values), amending `&label { … }` nodes, strings and
//! string lists, `<cells>` with literals, character literals and C expressions in parentheses,
//! `/bits/ 8|16|32|64`, `[bytes]`, `/incbin/("file"[, offset, length])`, `//` and `/* */`
//! comments, `/delete-node/`, `/delete-property/` and `/include/`. The C preprocessor is not run
//! (dtc does not run it either).
//!
//! The result is a [`Tree`] that flattens to the same bytes as `dtc -I dts -O dtb` (1.6.1):
//! nodes merge as in dtc, phandles are numbered in dtc's order (first reference in document
//! order, skipping explicit ones) and a `phandle` property is appended to each referenced node.
//! Hand-written: no Rust crate parses this grammar.

mod cursor;
mod expr;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cursor::Cursor;
pub use cursor::{FsLoader, Loader, Target};

use crate::fdt::{Property, Tree, tree::Node};
use crate::{Error, Result};

/// A parsed source: the tree and where each label points.
#[derive(Debug, Clone)]
pub struct Dts {
    pub tree: Tree,
    /// Label → absolute node path.
    pub labels: Vec<(String, String)>,
}

/// Parses source text. `path` names it (for `/include/` and `/incbin/` resolution and
/// messages); `loader` reads the files it names.
pub fn parse(text: &str, path: &Path, loader: &mut dyn Loader) -> Result<Dts> {
    Parser::new(Cursor::new(
        text.as_bytes().to_vec(),
        path.to_path_buf(),
        loader,
    ))
    .run()
}

/// Parses a file, resolving files it names relative to its folder.
pub fn parse_file(path: &Path) -> Result<Dts> {
    let text = std::fs::read(path).map_err(|e| Error::Io {
        what: format!("reading {}", path.display()),
        source: e,
    })?;
    let text = String::from_utf8(text).map_err(|e| Error::At {
        offset: e.utf8_error().valid_up_to(),
        msg: "source is not UTF-8".into(),
    })?;
    parse(&text, path, &mut FsLoader)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefKind {
    Phandle,
    Path,
}

#[derive(Debug, Clone)]
struct Ref {
    offset: usize,
    kind: RefKind,
    target: Target,
    line: usize,
    col: usize,
}

#[derive(Debug, Default)]
struct PProp {
    deleted: bool,
    name: String,
    value: Vec<u8>,
    refs: Vec<Ref>,
}

#[derive(Debug, Default)]
struct PNode {
    name: String,
    parent: Option<usize>,
    props: Vec<PProp>,
    children: Vec<usize>,
    deleted: bool,
    phandle: u32,
}

struct Parser<'l> {
    c: Cursor<'l>,
    nodes: Vec<PNode>,
    labels: HashMap<String, usize>,
    label_order: Vec<String>,
    reservations: Vec<(u64, u64)>,
}

impl<'l> Parser<'l> {
    fn new(c: Cursor<'l>) -> Self {
        Self {
            c,
            nodes: vec![PNode::default()],
            labels: HashMap::new(),
            label_order: Vec::new(),
            reservations: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Dts> {
        self.c.ws()?;
        if !self.c.eat("/dts-v1/") {
            return Err(self.c.err("expected '/dts-v1/;' at the start"));
        }
        self.c.expect(";")?;
        loop {
            self.c.ws()?;
            if self.c.peek().is_none() {
                break;
            }
            if self.c.eat("/memreserve/") {
                let a = expr::primary(&mut self.c)?;
                let s = expr::primary(&mut self.c)?;
                self.c.expect(";")?;
                self.reservations.push((a, s));
            } else if self.c.eat("/delete-node/") {
                self.c.ws()?;
                if !self.c.eat("&") {
                    return Err(self
                        .c
                        .err("expected '&label' after top-level /delete-node/"));
                }
                let t = self.c.reference()?;
                let n = self.resolve_now(&t)?;
                self.delete(n);
                self.c.expect(";")?;
            } else if self.c.starts_with("/plugin/") || self.c.starts_with("/omit-if-no-ref/") {
                return Err(self
                    .c
                    .err(format!("unsupported directive {}", self.c.found())));
            } else {
                let mut labels = Vec::new();
                while let Some(l) = self.c.label() {
                    labels.push(l);
                    self.c.ws()?;
                }
                let node = if self.c.eat("&") {
                    let t = self.c.reference()?;
                    self.resolve_now(&t)?
                } else if self.c.eat("/") {
                    0
                } else {
                    return Err(self.c.err(format!(
                        "expected '/ {{', '&label {{' or a directive, found {}",
                        self.c.found()
                    )));
                };
                for l in labels {
                    self.add_label(l, node)?;
                }
                self.body(node)?;
            }
        }
        self.fix_phandles()?;
        self.fix_paths()?;
        let root = self.emit(0);
        let mut labels: Vec<(String, String)> = Vec::new();
        for l in &self.label_order {
            if let Some(&n) = self.labels.get(l) {
                if self.live(n) {
                    labels.push((l.clone(), self.path_of(n)));
                }
            }
        }
        Ok(Dts {
            tree: Tree {
                reservations: self.reservations,
                boot_cpuid_phys: 0,
                root,
            },
            labels,
        })
    }

    fn add_label(&mut self, l: String, node: usize) -> Result<()> {
        match self.labels.get(&l) {
            Some(&n) if n != node && self.live(n) => {
                Err(self.c.err(format!("duplicate label '{l}'")))
            }
            _ => {
                if !self.label_order.contains(&l) {
                    self.label_order.push(l.clone());
                }
                self.labels.insert(l, node);
                Ok(())
            }
        }
    }

    fn live(&self, mut n: usize) -> bool {
        loop {
            if self.nodes[n].deleted {
                return false;
            }
            match self.nodes[n].parent {
                Some(p) => n = p,
                None => return true,
            }
        }
    }

    /// Marks a node deleted where it is, as dtc does: a node of the same name defined later
    /// takes its place (empty), and its labels are gone.
    fn delete(&mut self, n: usize) {
        self.nodes[n].deleted = true;
        let dead: Vec<String> = self
            .labels
            .iter()
            .filter(|&(_, &m)| !self.live(m))
            .map(|(l, _)| l.clone())
            .collect();
        for l in dead {
            self.labels.remove(&l);
        }
    }

    fn child_named(&self, parent: usize, name: &str) -> Option<usize> {
        self.nodes[parent]
            .children
            .iter()
            .copied()
            .find(|&c| self.nodes[c].name == name)
    }

    fn live_child_named(&self, parent: usize, name: &str) -> Option<usize> {
        self.child_named(parent, name)
            .filter(|&c| !self.nodes[c].deleted)
    }

    fn find_path(&self, path: &str) -> Option<usize> {
        let mut n = 0;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            n = self.live_child_named(n, part).or_else(|| {
                if part.contains('@') {
                    return None;
                }
                let mut it = self.nodes[n].children.iter().copied().filter(|&c| {
                    !self.nodes[c].deleted && self.nodes[c].name.split('@').next() == Some(part)
                });
                let first = it.next()?;
                it.next().is_none().then_some(first)
            })?;
        }
        Some(n)
    }

    fn lookup(&self, t: &Target) -> Option<usize> {
        match t {
            Target::Label(l) => self.labels.get(l).copied().filter(|&n| self.live(n)),
            Target::Path(p) => self.find_path(p),
        }
    }

    fn resolve_now(&self, t: &Target) -> Result<usize> {
        self.lookup(t).ok_or_else(|| {
            self.c
                .err(format!("reference to non-existent node or label {t}"))
        })
    }

    fn path_of(&self, mut n: usize) -> String {
        let mut parts = Vec::new();
        while let Some(p) = self.nodes[n].parent {
            parts.push(self.nodes[n].name.clone());
            n = p;
        }
        if parts.is_empty() {
            return "/".into();
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }

    /// `{ … };` into node `n`, merging into what is already there.
    fn body(&mut self, n: usize) -> Result<()> {
        self.c.expect("{")?;
        let mut seen_child = false;
        loop {
            self.c.ws()?;
            if self.c.eat("}") {
                self.c.expect(";")?;
                return Ok(());
            }
            if self.c.peek().is_none() {
                return Err(self.c.err("unexpected end of input inside a node"));
            }
            if self.c.eat("/delete-node/") {
                self.c.ws()?;
                let name = self.c.name();
                if let Some(ch) = self.live_child_named(n, &name) {
                    self.delete(ch);
                }
                self.c.expect(";")?;
                continue;
            }
            if self.c.eat("/delete-property/") {
                self.c.ws()?;
                let name = self.c.name();
                for p in self.nodes[n].props.iter_mut().filter(|p| p.name == name) {
                    p.deleted = true;
                }
                self.c.expect(";")?;
                continue;
            }
            let mut labels = Vec::new();
            while let Some(l) = self.c.label() {
                labels.push(l);
                self.c.ws()?;
            }
            let name = self.c.name();
            if name.is_empty() {
                return Err(self.c.err(format!(
                    "expected a property or node name, found {}",
                    self.c.found()
                )));
            }
            self.c.ws()?;
            if self.c.starts_with("{") {
                let ch = match self.child_named(n, &name) {
                    Some(ch) if self.nodes[ch].deleted => {
                        let node = &mut self.nodes[ch];
                        node.deleted = false;
                        node.props.clear();
                        node.children.clear();
                        node.phandle = 0;
                        ch
                    }
                    Some(ch) => ch,
                    None => {
                        self.nodes.push(PNode {
                            name: name.clone(),
                            parent: Some(n),
                            ..PNode::default()
                        });
                        let ch = self.nodes.len() - 1;
                        self.nodes[n].children.push(ch);
                        ch
                    }
                };
                for l in labels {
                    self.add_label(l, ch)?;
                }
                self.body(ch)?;
                seen_child = true;
                continue;
            }
            if seen_child {
                return Err(self.c.err(format!(
                    "property '{name}': properties must precede subnodes"
                )));
            }
            let prop = if self.c.eat("=") {
                let p = self.value_list(name)?;
                self.c.expect(";")?;
                p
            } else if self.c.eat(";") {
                PProp {
                    name,
                    ..PProp::default()
                }
            } else {
                return Err(self.c.err(format!(
                    "expected '=', ';' or '{{' after '{name}', found {}",
                    self.c.found()
                )));
            };
            let props = &mut self.nodes[n].props;
            match props.iter_mut().find(|p| p.name == prop.name) {
                Some(p) => *p = prop,
                None => props.push(prop),
            }
        }
    }

    fn skip_labels(&mut self) -> Result<()> {
        loop {
            self.c.ws()?;
            if self.c.label().is_none() {
                return Ok(());
            }
        }
    }

    fn value_list(&mut self, name: String) -> Result<PProp> {
        let mut p = PProp {
            name,
            ..PProp::default()
        };
        loop {
            self.skip_labels()?;
            self.value(&mut p)?;
            self.skip_labels()?;
            if !self.c.eat(",") {
                return Ok(p);
            }
        }
    }

    fn value(&mut self, p: &mut PProp) -> Result<()> {
        let (line, col) = self.c.pos();
        if self.c.starts_with("\"") {
            let s = self.c.string()?;
            p.value.extend_from_slice(&s);
            p.value.push(0);
        } else if self.c.eat("<") {
            self.cells(p, 32)?;
        } else if self.c.eat("/bits/") {
            let bits = expr::primary(&mut self.c)?;
            if ![8, 16, 32, 64].contains(&bits) {
                return Err(self.c.err(format!("/bits/ {bits}: only 8, 16, 32 or 64")));
            }
            self.c.expect("<")?;
            self.cells(p, bits as u32)?;
        } else if self.c.eat("[") {
            loop {
                self.skip_labels()?;
                if self.c.eat("]") {
                    break;
                }
                let b = self.c.hex_byte()?;
                p.value.push(b);
            }
        } else if self.c.eat("/incbin/") {
            self.c.expect("(")?;
            self.c.ws()?;
            let fname = self.c.string()?;
            let fname = String::from_utf8_lossy(&fname).into_owned();
            self.c.ws()?;
            let range = if self.c.eat(",") {
                let off = expr::expr(&mut self.c)?;
                self.c.expect(",")?;
                let len = expr::expr(&mut self.c)?;
                Some((off, len))
            } else {
                None
            };
            self.c.expect(")")?;
            let from = self.c.path();
            let (_, mut data) = self
                .c
                .loader
                .load(&fname, &from)
                .map_err(|e| Error::Source {
                    line,
                    col,
                    msg: format!("/incbin/(\"{fname}\") in property '{}': {e}", p.name),
                })?;
            if let Some((off, len)) = range {
                let (o, l) = (off as usize, len as usize);
                if o.checked_add(l).is_none_or(|e| e > data.len()) {
                    return Err(Error::Source {
                        line,
                        col,
                        msg: format!(
                            "/incbin/(\"{fname}\", {off:#x}, {len:#x}): past the end of the file ({:#x} bytes)",
                            data.len()
                        ),
                    });
                }
                data = data[o..o + l].to_vec();
            }
            if p.value.is_empty() {
                p.value = data;
            } else {
                p.value.extend_from_slice(&data);
            }
        } else if self.c.eat("&") {
            let target = self.c.reference()?;
            p.refs.push(Ref {
                offset: p.value.len(),
                kind: RefKind::Path,
                target,
                line,
                col,
            });
        } else {
            return Err(self.c.err(format!(
                "expected a property value, found {}",
                self.c.found()
            )));
        }
        Ok(())
    }

    fn cells(&mut self, p: &mut PProp, bits: u32) -> Result<()> {
        loop {
            self.skip_labels()?;
            if self.c.eat(">") {
                return Ok(());
            }
            let (line, col) = self.c.pos();
            if self.c.eat("&") {
                if bits != 32 {
                    return Err(self.c.err("references are only allowed in 32-bit cells"));
                }
                let target = self.c.reference()?;
                p.refs.push(Ref {
                    offset: p.value.len(),
                    kind: RefKind::Phandle,
                    target,
                    line,
                    col,
                });
                p.value.extend_from_slice(&[0xff; 4]);
                continue;
            }
            let v = expr::primary(&mut self.c)?;
            if bits < 64 {
                let mask = (1u64 << bits) - 1;
                if v > mask && (v | mask) != u64::MAX {
                    return Err(Error::Source {
                        line,
                        col,
                        msg: format!("integer {v:#x} out of range for {bits}-bit cells"),
                    });
                }
            }
            match bits {
                8 => p.value.push(v as u8),
                16 => p.value.extend_from_slice(&(v as u16).to_be_bytes()),
                32 => p.value.extend_from_slice(&(v as u32).to_be_bytes()),
                _ => p.value.extend_from_slice(&v.to_be_bytes()),
            }
        }
    }

    /// Live nodes in document order (pre-order).
    fn order(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![0usize];
        while let Some(n) = stack.pop() {
            out.push(n);
            for &c in self.nodes[n].children.iter().rev() {
                if !self.nodes[c].deleted {
                    stack.push(c);
                }
            }
        }
        out
    }

    fn fix_phandles(&mut self) -> Result<()> {
        let order = self.order();
        for &n in &order {
            for name in ["linux,phandle", "phandle"] {
                let v = self.nodes[n]
                    .props
                    .iter()
                    .find(|p| {
                        !p.deleted && p.name == name && p.refs.is_empty() && p.value.len() == 4
                    })
                    .map(|p| u32::from_be_bytes([p.value[0], p.value[1], p.value[2], p.value[3]]));
                if let Some(v) = v {
                    if v != 0 && v != u32::MAX {
                        self.nodes[n].phandle = v;
                    }
                }
            }
        }
        let mut next = 1u32;
        for &n in &order {
            for pi in 0..self.nodes[n].props.len() {
                if self.nodes[n].props[pi].deleted {
                    continue;
                }
                for ri in 0..self.nodes[n].props[pi].refs.len() {
                    let r = self.nodes[n].props[pi].refs[ri].clone();
                    if r.kind != RefKind::Phandle {
                        continue;
                    }
                    let t = self.lookup(&r.target).ok_or_else(|| Error::Source {
                        line: r.line,
                        col: r.col,
                        msg: format!(
                            "property '{}': reference to non-existent node or label {}",
                            self.nodes[n].props[pi].name, r.target
                        ),
                    })?;
                    if self.nodes[t].phandle == 0 {
                        while order.iter().any(|&m| self.nodes[m].phandle == next) {
                            next += 1;
                        }
                        self.nodes[t].phandle = next;
                        if !self.nodes[t]
                            .props
                            .iter()
                            .any(|p| !p.deleted && p.name == "phandle")
                        {
                            self.nodes[t].props.push(PProp {
                                deleted: false,
                                name: "phandle".into(),
                                value: next.to_be_bytes().to_vec(),
                                refs: Vec::new(),
                            });
                        }
                    }
                    let ph = self.nodes[t].phandle.to_be_bytes();
                    self.nodes[n].props[pi].value[r.offset..r.offset + 4].copy_from_slice(&ph);
                }
            }
        }
        Ok(())
    }

    fn fix_paths(&mut self) -> Result<()> {
        for n in self.order() {
            for pi in 0..self.nodes[n].props.len() {
                if self.nodes[n].props[pi].deleted {
                    continue;
                }
                let refs = self.nodes[n].props[pi].refs.clone();
                let mut shift = 0usize;
                for r in refs {
                    if r.kind != RefKind::Path {
                        continue;
                    }
                    let t = self.lookup(&r.target).ok_or_else(|| Error::Source {
                        line: r.line,
                        col: r.col,
                        msg: format!(
                            "property '{}': reference to non-existent node or label {}",
                            self.nodes[n].props[pi].name, r.target
                        ),
                    })?;
                    let mut path = self.path_of(t).into_bytes();
                    path.push(0);
                    let at = r.offset + shift;
                    shift += path.len();
                    let v = &mut self.nodes[n].props[pi].value;
                    v.splice(at..at, path);
                }
            }
        }
        Ok(())
    }

    fn emit(&mut self, n: usize) -> Node {
        let props = std::mem::take(&mut self.nodes[n].props)
            .into_iter()
            .filter(|p| !p.deleted)
            .map(|p| Property {
                name: p.name,
                value: p.value,
            })
            .collect();
        let children: Vec<usize> = self.nodes[n]
            .children
            .iter()
            .copied()
            .filter(|&c| !self.nodes[c].deleted)
            .collect();
        Node {
            name: self.nodes[n].name.clone(),
            props,
            children: children.into_iter().map(|c| self.emit(c)).collect(),
        }
    }
}

/// Convenience: the path a source file's relative names resolve against.
pub fn base_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}
