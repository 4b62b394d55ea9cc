//! Text forms of an environment: mkenvimage's input, libubootenv's script (`fw_setenv -s`, also
//! its default-environment file) and `fw_printenv`'s output.

use super::{Vars, check_name};
use crate::{Error, Result};

/// Parses mkenvimage's input: one `name=value` per line; empty lines and lines with `#` in the
/// first column are skipped; a line ending in `\` continues the value on the next line with an
/// embedded newline. Unlike mkenvimage, a line without `=` (or with an empty name) is an error.
/// The order and duplicates are kept, as mkenvimage keeps them.
pub fn parse_mkenvimage_text(text: &[u8]) -> Result<Vars> {
    // The same byte walk as mkenvimage: entries separated by NUL, with the line each began on.
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let mut lines: Vec<usize> = Vec::new();
    let mut entry_line: Option<usize> = None;
    let mut line = 1;
    let mut fp = 0;
    while fp < text.len() {
        let c = text[fp];
        let line_start = fp == 0 || text[fp - 1] == b'\n';
        if c == b'\n' {
            if line_start {
                // an empty line
            } else if text[fp - 1] == b'\\' {
                out.pop();
                out.push(b'\n');
            } else {
                out.push(0);
                lines.push(entry_line.take().unwrap_or(line));
            }
            line += 1;
        } else if line_start && c == b'#' {
            // a comment: skip it with its newline
            while fp + 1 < text.len() && text[fp + 1] != b'\n' {
                fp += 1;
            }
            fp += 1;
            line += 1;
        } else {
            entry_line.get_or_insert(line);
            out.push(c);
        }
        fp += 1;
    }
    if let Some(l) = entry_line {
        lines.push(l);
    }
    let mut vars = Vars::new();
    let entries = out.split(|&b| b == 0).filter(|e| !e.is_empty());
    for (entry, &line) in entries.zip(lines.iter()) {
        let s = std::str::from_utf8(entry).map_err(|e| Error::Source {
            line,
            col: e.valid_up_to() + 1,
            msg: "not UTF-8".into(),
        })?;
        match s.split_once('=') {
            Some((k, v)) if !k.is_empty() => vars.push((k.to_owned(), v.to_owned())),
            Some(_) => {
                return Err(Error::Source {
                    line,
                    col: 1,
                    msg: format!("empty variable name in {s:?}"),
                });
            }
            None => {
                return Err(Error::Source {
                    line,
                    col: 1,
                    msg: format!("no '=' in {s:?} (a variable is name=value)"),
                });
            }
        }
    }
    Ok(vars)
}

/// One line of a libubootenv script: set a variable, or delete it (`name=` with nothing after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptOp {
    Set(String, String),
    Delete(String),
}

/// Parses libubootenv's script form (`fw_setenv -s FILE`, also its default environment file):
/// trailing `\r`/`\n` stripped, empty lines and lines starting with `#` skipped, `name=value`
/// sets, `name=` deletes. Unlike libubootenv 0.3.5, which silently ignores them, a line without
/// `=` and a bad name are errors.
pub fn parse_script(text: &str) -> Result<Vec<ScriptOp>> {
    let mut ops = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_end_matches(['\r', '\n']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(Error::Source {
                line: i + 1,
                col: 1,
                msg: format!("no '=' in {line:?} (a script line is name=value)"),
            });
        };
        check_name(name).map_err(|e| Error::Source {
            line: i + 1,
            col: 1,
            msg: e.to_string(),
        })?;
        ops.push(if value.is_empty() {
            ScriptOp::Delete(name.to_owned())
        } else {
            ScriptOp::Set(name.to_owned(), value.to_owned())
        });
    }
    Ok(ops)
}

/// `fw_printenv`'s form: `name=value\n` for each variable.
pub fn to_text(vars: &Vars) -> String {
    let mut s = String::new();
    for (k, v) in vars {
        s.push_str(k);
        s.push('=');
        s.push_str(v);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(v: &[(&str, &str)]) -> Vars {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn mkenvimage_rules() {
        let t = b"# comment\n\na=1\nb=x\\\ny\nc=no newline";
        assert_eq!(
            parse_mkenvimage_text(t).unwrap(),
            kv(&[("a", "1"), ("b", "x\ny"), ("c", "no newline")])
        );
        // a '#' not in column 1 is data
        assert_eq!(
            parse_mkenvimage_text(b"a=#1\n").unwrap(),
            kv(&[("a", "#1")])
        );
    }

    #[test]
    fn mkenvimage_line_without_equals_names_line() {
        let e = parse_mkenvimage_text(b"a=1\n\n# c\nbogus\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 4, column 1: no '='"), "{e}");
    }

    #[test]
    fn script_rules() {
        let ops = parse_script("# c\r\n\r\nx=1\r\ny=\nz=a=b\n").unwrap();
        assert_eq!(
            ops,
            vec![
                ScriptOp::Set("x".into(), "1".into()),
                ScriptOp::Delete("y".into()),
                ScriptOp::Set("z".into(), "a=b".into())
            ]
        );
        let e = parse_script("x=1\nbar\n").unwrap_err().to_string();
        assert!(e.starts_with("line 2, column 1: no '='"), "{e}");
        assert!(parse_script("=v\n").is_err());
        assert!(parse_script("a b=v\n").is_err());
    }
}
