//! A hand-written parser for the libconfig grammar SWUpdate's `sw-description` uses.
//!
//! Why not a crate: `libconfig-rs` 4.0.1 rejects names with `-` (`hardware-compatibility`), the
//! `0x10L` integers and the `"\."` escape; `serde-libconfigasaurus` 0.4.0 rejects `"\."` too, which
//! SWUpdate's libconfig keeps as a backslash and a dot (needed by `#RE:` hardware entries). This
//! parser follows libconfig's scanner rules: names `[A-Za-z*][-A-Za-z0-9_*]*`, `=` or `:`, settings
//! ended by `;`, `,` or nothing, groups `{}`, lists `()`, arrays `[]`, strings with `\n \r \t \f
//! \\ \" \xNN` escapes (any other backslash is kept literally) and adjacent-literal concatenation,
//! integers (decimal, `0x` hex, optional `L`/`LL`), floats, case-insensitive booleans, and `#`,
//! `//`, `/* */` comments. `@include` is refused (SWUpdate bundles are one file).

use crate::error::{Error, Result};
use crate::value::Value;

/// Parses a whole libconfig file into its root group.
pub fn parse(text: &str) -> Result<Value> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        fills: Vec::new(),
        depth: 0,
    };
    let members = p.settings(None)?;
    Ok(Value::Group(members))
}

/// For every group with a string `filename` and no `sha256`: the byte position just after the
/// `filename` setting (where a `sha256` setting can be inserted) and the file name.
pub fn missing_sha256(text: &str) -> Result<Vec<(usize, String)>> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        fills: Vec::new(),
        depth: 0,
    };
    p.settings(None)?;
    Ok(p.fills)
}

/// How deep groups, lists and arrays may nest (SWUpdate's trees are a handful of levels).
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    fills: Vec<(usize, String)>,
    depth: usize,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'*'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*')
}

impl Parser<'_> {
    fn err<T>(&self, msg: impl Into<String>) -> Result<T> {
        self.err_at(self.pos, msg)
    }

    fn err_at<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T> {
        let before = &self.s[..pos.min(self.s.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = pos
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        Err(Error::Syntax {
            line,
            col,
            msg: msg.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// Skips white space and comments.
    fn ws(&mut self) -> Result<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') => self.pos += 1,
                Some(b'#') => self.skip_line(),
                Some(b'/') if self.s.get(self.pos + 1) == Some(&b'/') => self.skip_line(),
                Some(b'/') if self.s.get(self.pos + 1) == Some(&b'*') => {
                    let start = self.pos;
                    self.pos += 2;
                    loop {
                        if self.pos + 1 >= self.s.len() {
                            return self.err_at(start, "unterminated /* comment");
                        }
                        if &self.s[self.pos..self.pos + 2] == b"*/" {
                            self.pos += 2;
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'\n' {
                break;
            }
            self.pos += 1;
        }
    }

    /// Settings until `close` (or the end of input when `None`).
    fn settings(&mut self, close: Option<u8>) -> Result<Vec<(String, Value)>> {
        let mut out: Vec<(String, Value)> = Vec::new();
        let mut filename_end = None;
        loop {
            self.ws()?;
            let at_end = match (self.peek(), close) {
                (None, None) => true,
                (Some(b), Some(c)) => b == c,
                _ => false,
            };
            if at_end {
                if let Some(end) = filename_end {
                    let name = out.iter().find(|(k, _)| k == "filename");
                    if let (Some((_, Value::Str(f))), false) =
                        (name, out.iter().any(|(k, _)| k == "sha256"))
                    {
                        self.fills.push((end, f.clone()));
                    }
                }
            }
            match (self.peek(), close) {
                (None, None) => return Ok(out),
                (None, Some(c)) => {
                    return self.err(format!("end of input, '{}' expected", c as char));
                }
                (Some(b), Some(c)) if b == c => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => {}
            }
            if self.peek() == Some(b'@') {
                return self.err("@include is not supported in sw-description");
            }
            let name_pos = self.pos;
            let name = self.name()?;
            self.ws()?;
            match self.peek() {
                Some(b'=' | b':') => self.pos += 1,
                _ => return self.err(format!("'=' or ':' expected after setting name {name:?}")),
            }
            let value = self.value()?;
            if out.iter().any(|(k, _)| *k == name) {
                return self.err_at(name_pos, format!("duplicate setting {name:?}"));
            }
            let is_filename = name == "filename";
            out.push((name, value));
            let before_ws = self.pos;
            self.ws()?;
            if matches!(self.peek(), Some(b';' | b',')) {
                self.pos += 1;
                if is_filename {
                    filename_end = Some(self.pos);
                }
            } else if is_filename {
                filename_end = Some(before_ws);
            }
        }
    }

    fn name(&mut self) -> Result<String> {
        let start = self.pos;
        match self.peek() {
            Some(b) if is_name_start(b) => self.pos += 1,
            Some(b) => return self.err(format!("setting name expected, found '{}'", b as char)),
            None => return self.err("setting name expected, found end of input"),
        }
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    fn value(&mut self) -> Result<Value> {
        self.ws()?;
        if matches!(self.peek(), Some(b'{' | b'(' | b'[')) {
            if self.depth >= MAX_DEPTH {
                return self.err(format!("nested deeper than {MAX_DEPTH} levels"));
            }
            self.depth += 1;
            let v = self.compound();
            self.depth -= 1;
            return v;
        }
        match self.peek() {
            Some(b'"') => self.string(),
            Some(_) => self.scalar(),
            None => self.err("value expected, found end of input"),
        }
    }

    fn compound(&mut self) -> Result<Value> {
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                Ok(Value::Group(self.settings(Some(b'}'))?))
            }
            Some(b'(') => {
                self.pos += 1;
                Ok(Value::List(self.elements(b')', false)?))
            }
            _ => {
                self.pos += 1;
                let start = self.pos;
                let items = self.elements(b']', true)?;
                if let Some(first) = items.first() {
                    let k = std::mem::discriminant(first);
                    let mixed = items.iter().any(|v| {
                        std::mem::discriminant(v) != k
                            && !matches!((first, v), (Value::Int(_), Value::Float(_)))
                    });
                    if mixed {
                        return self.err_at(start, "array elements must all have the same type");
                    }
                }
                Ok(Value::Array(items))
            }
        }
    }

    fn elements(&mut self, close: u8, scalars_only: bool) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            self.ws()?;
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(out);
            }
            let pos = self.pos;
            let v = self.value()?;
            if scalars_only && matches!(v, Value::Group(_) | Value::List(_) | Value::Array(_)) {
                return self.err_at(
                    pos,
                    format!("an array holds scalars only, found a {}", v.kind()),
                );
            }
            out.push(v);
            self.ws()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => {}
                Some(b) => {
                    return self.err(format!(
                        "',' or '{}' expected, found '{}'",
                        close as char, b as char
                    ));
                }
                None => return self.err(format!("end of input, '{}' expected", close as char)),
            }
        }
    }

    /// One or more adjacent string literals.
    fn string(&mut self) -> Result<Value> {
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let start = self.pos;
            self.pos += 1; // opening quote
            loop {
                let Some(b) = self.peek() else {
                    return self.err_at(start, "unterminated string");
                };
                self.pos += 1;
                match b {
                    b'"' => break,
                    b'\\' => match self.peek() {
                        Some(b'n') => {
                            buf.push(b'\n');
                            self.pos += 1;
                        }
                        Some(b'r') => {
                            buf.push(b'\r');
                            self.pos += 1;
                        }
                        Some(b't') => {
                            buf.push(b'\t');
                            self.pos += 1;
                        }
                        Some(b'f') => {
                            buf.push(b'\x0c');
                            self.pos += 1;
                        }
                        Some(b'\\') => {
                            buf.push(b'\\');
                            self.pos += 1;
                        }
                        Some(b'"') => {
                            buf.push(b'"');
                            self.pos += 1;
                        }
                        Some(b'x' | b'X')
                            if self.s.len() >= self.pos + 3
                                && self.s[self.pos + 1].is_ascii_hexdigit()
                                && self.s[self.pos + 2].is_ascii_hexdigit() =>
                        {
                            let hex = std::str::from_utf8(&self.s[self.pos + 1..self.pos + 3])
                                .unwrap_or("00");
                            buf.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                            self.pos += 3;
                        }
                        // libconfig keeps any other backslash as it is ("\." stays "\.").
                        _ => buf.push(b'\\'),
                    },
                    other => buf.push(other),
                }
            }
            self.ws()?;
            if self.peek() != Some(b'"') {
                break;
            }
        }
        match String::from_utf8(buf) {
            Ok(s) => Ok(Value::Str(s)),
            Err(_) => self.err("string is not UTF-8"),
        }
    }

    fn scalar(&mut self) -> Result<Value> {
        let start = self.pos;
        while self.peek().is_some_and(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-' | b'_' | b'*')
        }) {
            self.pos += 1;
        }
        let tok = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        if tok.is_empty() {
            let found = self
                .peek()
                .map_or("end of input".to_owned(), |b| format!("'{}'", b as char));
            return self.err(format!("value expected, found {found}"));
        }
        if tok.eq_ignore_ascii_case("true") {
            return Ok(Value::Bool(true));
        }
        if tok.eq_ignore_ascii_case("false") {
            return Ok(Value::Bool(false));
        }
        let bad = || self.err_at(start, format!("not a number, string or boolean: {tok:?}"));
        let digits = tok
            .strip_suffix("LL")
            .or_else(|| tok.strip_suffix('L'))
            .unwrap_or(tok);
        let (neg, unsigned) = match digits.as_bytes().first() {
            Some(b'-') => (true, &digits[1..]),
            Some(b'+') => (false, &digits[1..]),
            _ => (false, digits),
        };
        if let Some(hex) = unsigned
            .strip_prefix("0x")
            .or_else(|| unsigned.strip_prefix("0X"))
        {
            if neg || digits.starts_with('+') {
                return bad();
            }
            return match u64::from_str_radix(hex, 16) {
                Ok(v) if !hex.is_empty() => Ok(Value::Int(v as i64)),
                _ => bad(),
            };
        }
        if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return match digits.parse::<i64>() {
                Ok(v) => Ok(Value::Int(v)),
                Err(_) => self.err_at(start, format!("integer out of range: {tok:?}")),
            };
        }
        if digits.len() == tok.len() && tok.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
            if let Ok(f) = tok.parse::<f64>() {
                return Ok(Value::Float(f));
            }
        }
        bad()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    #[test]
    fn grammar_corners() {
        let text = r#"
            # hash comment
            // line comment
            /* block
               comment */
            a-b = "x" "y"   "z";
            n1 : 0x10L, n2 = -42; n3 = 12LL
            f = 1.5e3; g = .5; t = TRUE; u = false;
            esc = "q\"\\\n\t\x41\.";
            arr = [1, 2, 3,];
            lst = ( { k = "v"; }, "s", 7 );
            grp : { inner = { deep = "d"; }; };
        "#;
        let v = parse(text).unwrap();
        assert_eq!(v.get("a-b"), Some(&s("xyz")));
        assert_eq!(v.get("n1"), Some(&Value::Int(16)));
        assert_eq!(v.get("n2"), Some(&Value::Int(-42)));
        assert_eq!(v.get("n3"), Some(&Value::Int(12)));
        assert_eq!(v.get("f"), Some(&Value::Float(1500.0)));
        assert_eq!(v.get("g"), Some(&Value::Float(0.5)));
        assert_eq!(v.get("t"), Some(&Value::Bool(true)));
        assert_eq!(v.get("u"), Some(&Value::Bool(false)));
        assert_eq!(v.get("esc"), Some(&s("q\"\\\n\tA\\.")));
        assert_eq!(
            v.get("arr"),
            Some(&Value::Array(vec![
                Value::Int(1),
                Value::Int(2),
                Value::Int(3)
            ]))
        );
        let lst = v.get("lst").and_then(Value::elements).unwrap();
        assert_eq!(lst[0].get("k"), Some(&s("v")));
        assert_eq!(lst[2], Value::Int(7));
        assert_eq!(v.lookup(&["grp", "inner", "deep"]), Some(&s("d")));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("a = 1;\nb = [1, \"x\"];\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        let e = parse("a = 1;\n  = 2;").unwrap_err().to_string();
        assert_eq!(
            e,
            "libconfig line 2, column 3: setting name expected, found '='"
        );
        let e = parse("a = \"open").unwrap_err().to_string();
        assert!(e.contains("unterminated string"), "{e}");
        let e = parse("a = { b = 1; ").unwrap_err().to_string();
        assert!(e.contains("'}' expected"), "{e}");
        assert!(parse("a = 1; a = 2;").is_err());
        assert!(parse("a = 0xZZ;").is_err());
        assert!(parse("@include \"x\"").is_err());
        let deep = format!("a = {}1{};", "(".repeat(100), ")".repeat(100));
        let e = parse(&deep).unwrap_err().to_string();
        assert!(e.contains("nested deeper than 64"), "{e}");
    }
}
