//! Character-level reading of source text with `/include/` as a stack of sources, and the
//! pieces of the lexical grammar dtc uses (names, labels, literals, strings, escapes).

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Where `/include/` and `/incbin/` files come from.
pub trait Loader {
    /// Reads `name` as named in the source of `from` (a file path, or empty for text given
    /// directly). Returns the path it resolved to and the bytes.
    fn load(&mut self, name: &str, from: &Path) -> std::io::Result<(PathBuf, Vec<u8>)>;
}

/// Files relative to the including file's folder, as dtc resolves them, then to the current
/// folder.
#[derive(Debug, Default, Clone)]
pub struct FsLoader;

impl Loader for FsLoader {
    fn load(&mut self, name: &str, from: &Path) -> std::io::Result<(PathBuf, Vec<u8>)> {
        let p = Path::new(name);
        let candidates: Vec<PathBuf> = if p.is_absolute() {
            vec![p.to_path_buf()]
        } else {
            let dir = from.parent().unwrap_or(Path::new(""));
            vec![dir.join(p), p.to_path_buf()]
        };
        let mut last = None;
        for c in candidates {
            match std::fs::read(&c) {
                Ok(b) => return Ok((c, b)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound)))
    }
}

struct Src {
    text: Vec<u8>,
    pos: usize,
    line: usize,
    col: usize,
    path: PathBuf,
}

/// The reading position over a stack of sources.
pub(crate) struct Cursor<'l> {
    stack: Vec<Src>,
    pub(crate) loader: &'l mut dyn Loader,
}

pub(crate) fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b",._+*#?@-".contains(&c)
}

fn is_label_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_label_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl<'l> Cursor<'l> {
    pub(crate) fn new(text: Vec<u8>, path: PathBuf, loader: &'l mut dyn Loader) -> Self {
        Self {
            stack: vec![Src {
                text,
                pos: 0,
                line: 1,
                col: 1,
                path,
            }],
            loader,
        }
    }

    fn top(&self) -> &Src {
        &self.stack[self.stack.len() - 1]
    }

    fn top_mut(&mut self) -> &mut Src {
        let n = self.stack.len() - 1;
        &mut self.stack[n]
    }

    /// The current source file.
    pub(crate) fn path(&self) -> PathBuf {
        self.top().path.clone()
    }

    /// An error at the current position; names the file when it is an included one.
    pub(crate) fn err(&self, msg: impl Into<String>) -> Error {
        let s = self.top();
        let mut msg = msg.into();
        if self.stack.len() > 1 {
            msg = format!("{}: {msg}", s.path.display());
        }
        Error::Source {
            line: s.line,
            col: s.col,
            msg,
        }
    }

    /// Current `(line, col)`.
    pub(crate) fn pos(&self) -> (usize, usize) {
        (self.top().line, self.top().col)
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        let s = self.top();
        s.text.get(s.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        let s = self.top();
        s.text.get(s.pos + n).copied()
    }

    pub(crate) fn starts_with(&self, lit: &str) -> bool {
        let s = self.top();
        s.text[s.pos.min(s.text.len())..].starts_with(lit.as_bytes())
    }

    pub(crate) fn bump(&mut self) -> Option<u8> {
        let s = self.top_mut();
        let c = *s.text.get(s.pos)?;
        s.pos += 1;
        if c == b'\n' {
            s.line += 1;
            s.col = 1;
        } else {
            s.col += 1;
        }
        Some(c)
    }

    /// Consumes `lit` if it comes next.
    pub(crate) fn eat(&mut self, lit: &str) -> bool {
        if self.starts_with(lit) {
            for _ in 0..lit.len() {
                self.bump();
            }
            true
        } else {
            false
        }
    }

    /// Skips whitespace and comments, enters `/include/` files and leaves finished ones.
    pub(crate) fn ws(&mut self) -> Result<()> {
        loop {
            match self.peek() {
                Some(c) if c.is_ascii_whitespace() => {
                    self.bump();
                }
                Some(b'/') if self.peek_at(1) == Some(b'/') => {
                    while let Some(c) = self.bump() {
                        if c == b'\n' {
                            break;
                        }
                    }
                }
                Some(b'/') if self.peek_at(1) == Some(b'*') => {
                    let (line, col) = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        if self.starts_with("*/") {
                            self.bump();
                            self.bump();
                            break;
                        }
                        if self.bump().is_none() {
                            return Err(Error::Source {
                                line,
                                col,
                                msg: "unterminated comment".into(),
                            });
                        }
                    }
                }
                Some(b'/') if self.starts_with("/include/") => {
                    self.eat("/include/");
                    self.ws()?;
                    let name = self.string()?;
                    let name = String::from_utf8(name)
                        .map_err(|_| self.err("/include/ file name is not UTF-8"))?;
                    let from = self.path();
                    let (path, text) = self
                        .loader
                        .load(&name, &from)
                        .map_err(|e| self.err(format!("/include/ \"{name}\": {e}")))?;
                    if self.stack.len() > 32 {
                        return Err(self.err("/include/ nested too deeply"));
                    }
                    self.stack.push(Src {
                        text,
                        pos: 0,
                        line: 1,
                        col: 1,
                        path,
                    });
                }
                None if self.stack.len() > 1 => {
                    self.stack.pop();
                }
                _ => return Ok(()),
            }
        }
    }

    /// Expects `lit` after whitespace.
    pub(crate) fn expect(&mut self, lit: &str) -> Result<()> {
        self.ws()?;
        if self.eat(lit) {
            Ok(())
        } else {
            Err(self.err(format!("expected '{lit}', found {}", self.found())))
        }
    }

    /// A short description of what comes next, for error messages.
    pub(crate) fn found(&self) -> String {
        match self.peek() {
            None => "end of input".into(),
            Some(_) => {
                let s = self.top();
                let end = (s.pos + 12).min(s.text.len());
                let t = String::from_utf8_lossy(&s.text[s.pos..end]);
                let t = t.split('\n').next().unwrap_or("");
                format!("'{t}'")
            }
        }
    }

    /// A node or property name (possibly empty).
    pub(crate) fn name(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if !is_name_char(c) {
                break;
            }
            s.push(c as char);
            self.bump();
        }
        s
    }

    /// If a label (`name:`) comes next, consumes it and returns the name.
    pub(crate) fn label(&mut self) -> Option<String> {
        let s = self.top();
        let text = &s.text[s.pos.min(s.text.len())..];
        if !text.first().is_some_and(|&c| is_label_start(c)) {
            return None;
        }
        let n = text.iter().take_while(|&&c| is_label_char(c)).count();
        if text.get(n) != Some(&b':') {
            return None;
        }
        let name = String::from_utf8_lossy(&text[..n]).into_owned();
        for _ in 0..=n {
            self.bump();
        }
        Some(name)
    }

    /// A label reference after '&': `name` or `{/path}`.
    pub(crate) fn reference(&mut self) -> Result<Target> {
        if self.eat("{") {
            let mut p = String::new();
            loop {
                match self.bump() {
                    Some(b'}') => break,
                    Some(c) => p.push(c as char),
                    None => return Err(self.err("unterminated &{/path}")),
                }
            }
            return Ok(Target::Path(p));
        }
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if !is_label_char(c) {
                break;
            }
            s.push(c as char);
            self.bump();
        }
        if s.is_empty() {
            return Err(self.err("expected a label after '&'"));
        }
        Ok(Target::Label(s))
    }

    fn escape(&mut self) -> Result<u8> {
        let c = self.bump().ok_or_else(|| self.err("unterminated escape"))?;
        Ok(match c {
            b'a' => 7,
            b'b' => 8,
            b't' => 9,
            b'n' => 10,
            b'v' => 11,
            b'f' => 12,
            b'r' => 13,
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            self.bump();
                        }
                        _ => break,
                    }
                }
                if v > 255 {
                    return Err(self.err("octal escape out of range"));
                }
                v as u8
            }
            b'x' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 {
                    match self.peek().and_then(|d| (d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            self.bump();
                            n += 1;
                        }
                        None => break,
                    }
                }
                if n == 0 {
                    return Err(self.err("\\x with no hex digits"));
                }
                v as u8
            }
            c => c,
        })
    }

    /// A double-quoted string (the opening quote comes next), escapes applied, no NUL added.
    pub(crate) fn string(&mut self) -> Result<Vec<u8>> {
        if !self.eat("\"") {
            return Err(self.err(format!("expected a string, found {}", self.found())));
        }
        let mut out = Vec::new();
        loop {
            match self.bump() {
                None | Some(b'\n') => return Err(self.err("unterminated string")),
                Some(b'"') => return Ok(out),
                Some(b'\\') => out.push(self.escape()?),
                Some(c) => out.push(c),
            }
        }
    }

    /// A character literal `'c'` (the quote comes next).
    pub(crate) fn char_literal(&mut self) -> Result<u64> {
        self.bump();
        let v = match self.bump() {
            Some(b'\\') => self.escape()?,
            Some(b'\'') | None => return Err(self.err("empty character literal")),
            Some(c) => c,
        };
        if !self.eat("'") {
            return Err(self.err("character literal holds more than one character"));
        }
        Ok(u64::from(v))
    }

    /// An integer literal: decimal, `0x` hex or leading-zero octal, with optional U/L suffixes.
    pub(crate) fn literal(&mut self) -> Result<u64> {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if !c.is_ascii_alphanumeric() {
                break;
            }
            s.push(c as char);
            self.bump();
        }
        let body = s.trim_end_matches(['u', 'U', 'l', 'L']);
        let parsed = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            u64::from_str_radix(h, 16)
        } else if body.len() > 1 && body.starts_with('0') {
            u64::from_str_radix(&body[1..], 8)
        } else {
            body.parse::<u64>()
        };
        parsed.map_err(|_| self.err(format!("bad integer literal '{s}'")))
    }

    /// Two hex digits of a `[bytes]` value.
    pub(crate) fn hex_byte(&mut self) -> Result<u8> {
        let hi = self.peek().and_then(|c| (c as char).to_digit(16));
        let lo = self.peek_at(1).and_then(|c| (c as char).to_digit(16));
        match (hi, lo) {
            (Some(h), Some(l)) => {
                self.bump();
                self.bump();
                Ok((h * 16 + l) as u8)
            }
            _ => Err(self.err(format!("expected two hex digits, found {}", self.found()))),
        }
    }
}

/// What a `&reference` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Label(String),
    Path(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Label(l) => write!(f, "&{l}"),
            Target::Path(p) => write!(f, "&{{{p}}}"),
        }
    }
}
