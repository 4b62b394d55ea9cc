//! Device-tree source back out of a blob, in the layout `dtc -I dtb -O dts` (1.6.1) uses: the
//! same value-type guess (string, cells, bytes), the same escapes and blank lines, so the two
//! outputs can be compared as text.

use std::fmt::Write as _;

use super::read::{Fdt, Node};

fn is_string_char(c: u8) -> bool {
    (0x20..0x7f).contains(&c) || c == 0 || matches!(c, 7..=13)
}

/// How a value is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Empty,
    String,
    Cells,
    Bytes,
}

/// dtc's guess of a value's type from its bytes.
pub fn guess(value: &[u8]) -> ValueKind {
    if value.is_empty() {
        return ValueKind::Empty;
    }
    let nnul = value.iter().filter(|&&b| b == 0).count();
    let all_string = value.iter().all(|&b| is_string_char(b));
    if value[value.len() - 1] == 0 && all_string && nnul <= value.len() - nnul {
        ValueKind::String
    } else if value.len() % 4 == 0 {
        ValueKind::Cells
    } else {
        ValueKind::Bytes
    }
}

/// A value as dtc writes it after `=` (or the empty string for an empty value).
pub fn format_value(value: &[u8]) -> String {
    let mut s = String::new();
    match guess(value) {
        ValueKind::Empty => {}
        ValueKind::String => {
            s.push('"');
            for &c in &value[..value.len() - 1] {
                match c {
                    7 => s.push_str("\\a"),
                    8 => s.push_str("\\b"),
                    9 => s.push_str("\\t"),
                    10 => s.push_str("\\n"),
                    11 => s.push_str("\\v"),
                    12 => s.push_str("\\f"),
                    13 => s.push_str("\\r"),
                    b'\\' => s.push_str("\\\\"),
                    b'"' => s.push_str("\\\""),
                    0 => s.push_str("\\0"),
                    c if (0x20..0x7f).contains(&c) => s.push(c as char),
                    c => {
                        let _ = write!(s, "\\x{c:02x}");
                    }
                }
            }
            s.push('"');
        }
        ValueKind::Cells => {
            s.push('<');
            for (i, c) in value.chunks_exact(4).enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let v = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                let _ = write!(s, "0x{v:02x}");
            }
            s.push('>');
        }
        ValueKind::Bytes => {
            s.push('[');
            for (i, b) in value.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let _ = write!(s, "{b:02x}");
            }
            s.push(']');
        }
    }
    s
}

fn node(out: &mut String, n: Node<'_>, level: usize) {
    let tabs = "\t".repeat(level);
    if n.name().is_empty() {
        let _ = writeln!(out, "{tabs}/ {{");
    } else {
        let _ = writeln!(out, "{tabs}{} {{", n.name());
    }
    for p in n.props() {
        if p.value.is_empty() {
            let _ = writeln!(out, "{tabs}\t{};", p.name);
        } else {
            let _ = writeln!(out, "{tabs}\t{} = {};", p.name, format_value(p.value));
        }
    }
    for c in n.children() {
        out.push('\n');
        node(out, c, level + 1);
    }
    let _ = writeln!(out, "{tabs}}};");
}

/// The whole blob as source text.
pub fn to_dts(fdt: &Fdt<'_>) -> String {
    let mut out = String::from("/dts-v1/;\n\n");
    for (a, s) in fdt.reservations() {
        let _ = writeln!(out, "/memreserve/\t0x{a:016x} 0x{s:016x};");
    }
    node(&mut out, fdt.root(), 0);
    out
}
