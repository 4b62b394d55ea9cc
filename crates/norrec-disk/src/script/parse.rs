//! Reading sfdisk's script dialect (`sfdisk(8)`, "INPUT FORMATS"; libfdisk 2.38 `script.c`).
//!
//! - Blank lines and lines starting with `#` are skipped; `\r\n` is accepted.
//! - Header lines `name: value` (no `=`) before the first partition: `label` (only `dos`),
//!   `label-id` (hex, `0x` optional), `unit` (only `sectors`), `sector-size` (only 512),
//!   `device`, `first-lba`, `last-lba`, `table-length` (accepted and, for MBR, ignored as
//!   sfdisk does), `grain` (alignment in bytes). Unknown headers give a warning, as in sfdisk.
//! - Partition lines with `=` are named fields, comma/space separated, optionally after a
//!   `device :` prefix whose trailing number picks the slot: `start=`, `size=`, `type=` (or
//!   `Id=`), `bootable`.
//! - Other lines are positional: `start, size, type, bootable` (`*` or `+` = bootable, `-` =
//!   not); a field left empty or `-` takes the default, so `,,c` is "default start, rest of the
//!   disk, type c".
//! - Numbers: see [`super::size`]. Without a suffix they are sectors; with one they are bytes,
//!   and a size given with a suffix has its end aligned (libfdisk's "not explicit" size).

use super::{size, types};
use crate::error::{DiskError, Result};

/// The sector size scripts are read with (only 512 is supported).
pub const SECTOR_SIZE: u64 = 512;

/// The size field of a partition line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Empty, `-` or `+`: up to the end of the free space.
    Default,
    /// A size in sectors; `explicit` when given in sectors (no suffix), which libfdisk does not
    /// align.
    Sectors { sectors: u64, explicit: bool },
}

/// One partition line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptPartition {
    /// 1-based line number in the script.
    pub line: usize,
    /// The 0-based slot from a `device3 :` prefix.
    pub partno: Option<usize>,
    /// The first sector, when given.
    pub start: Option<u64>,
    /// The size.
    pub size: Size,
    /// The type byte, when given (else 0x83).
    pub ptype: Option<u8>,
    /// The boot flag.
    pub bootable: bool,
}

/// A parsed script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// Whether a `label:` header was given (it can only be `dos`). Without one, sfdisk keeps
    /// the disk's current kind of table.
    pub label_given: bool,
    /// `label-id:`.
    pub label_id: Option<u32>,
    /// `grain:` in bytes.
    pub grain: Option<u64>,
    /// The partition lines in order.
    pub partitions: Vec<ScriptPartition>,
    /// Things sfdisk would warn about and ignore (unknown headers), with their line.
    pub warnings: Vec<String>,
}

fn err(line: usize, msg: impl Into<String>) -> DiskError {
    DiskError::Script {
        line,
        msg: msg.into(),
    }
}

fn skip_blank(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// libfdisk's `next_token`: a word ended by a blank, `,`, `;` or the end (double quotes group),
/// then the separator and following blanks are consumed. `None` when unterminated.
fn next_token<'a>(s: &mut &'a str) -> Option<&'a str> {
    let t = skip_blank(s);
    if t.is_empty() {
        return None;
    }
    let (tok, after) = if let Some(q) = t.strip_prefix('"') {
        let end = q.find('"')?;
        (&q[..end], &q[end + 1..])
    } else {
        let end = t.find([' ', '\t', ',', ';', '"']).unwrap_or(t.len());
        (&t[..end], &t[end..])
    };
    let rest = skip_blank(after);
    let blank = rest.len() < after.len();
    let (rest, terminated) = match rest.strip_prefix([',', ';']) {
        Some(r) => (r, true),
        None => (rest, blank || rest.is_empty()),
    };
    if !terminated {
        return None;
    }
    *s = skip_blank(rest);
    Some(tok)
}

/// libfdisk's `is_default_value`: `[-]` followed by `,`/`;`, the end, or `- ` then anything.
fn is_default_value(s: &mut &str) -> bool {
    let mut p = skip_blank(s);
    let mut blank = false;
    if let Some(x) = p.strip_prefix('-') {
        p = skip_blank(x);
        blank = p.len() < x.len();
    }
    if let Some(r) = p.strip_prefix([',', ';']) {
        *s = r;
        return true;
    }
    if p.is_empty() || blank {
        *s = p;
        return true;
    }
    false
}

/// A number token with an optional `+` sign; `-` (shrink/move down) means nothing for a new
/// table and is refused.
fn number(line: usize, field: &str, tok: &str) -> Result<size::Number> {
    let t = tok.strip_prefix('+').unwrap_or(tok);
    if t.starts_with('-') {
        return Err(err(
            line,
            format!("{field}: '{tok}': a negative value means nothing in a new table"),
        ));
    }
    size::parse(t).ok_or_else(|| {
        err(
            line,
            format!("{field}: '{tok}' is not a number (e.g. 2048, 0x800, 40M, 1GiB)"),
        )
    })
}

fn parse_start(line: usize, s: &mut &str) -> Result<Option<u64>> {
    if is_default_value(s) {
        return Ok(None);
    }
    let tok = next_token(s).ok_or_else(|| err(line, "start: missing or unterminated value"))?;
    if tok == "+" {
        return Ok(None);
    }
    let n = number(line, "start", tok)?;
    Ok(Some(if n.suffixed {
        n.value / SECTOR_SIZE
    } else {
        n.value
    }))
}

fn parse_size(line: usize, s: &mut &str) -> Result<Size> {
    if is_default_value(s) {
        return Ok(Size::Default);
    }
    let tok = next_token(s).ok_or_else(|| err(line, "size: missing or unterminated value"))?;
    if tok == "+" {
        return Ok(Size::Default);
    }
    let n = number(line, "size", tok)?;
    let (sectors, explicit) = if n.suffixed {
        (n.value / SECTOR_SIZE, false)
    } else {
        (n.value, true)
    };
    Ok(Size::Sectors { sectors, explicit })
}

fn parse_type(line: usize, tok: &str) -> Result<u8> {
    types::parse(tok).map_err(|m| err(line, format!("type: {m}")))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn new_partition(line: usize) -> ScriptPartition {
    ScriptPartition {
        line,
        partno: None,
        start: None,
        size: Size::Default,
        ptype: None,
        bootable: false,
    }
}

/// `[device :] start=…, size=…, type=…, bootable`.
fn parse_named(line: usize, text: &str) -> Result<ScriptPartition> {
    let mut pa = new_partition(line);
    let colon = text.find(':');
    let mut rest = match (colon, text.find('=')) {
        (Some(c), x) if x.is_none_or(|x| c < x) => {
            let dev = text[..c].trim_end();
            let digits = dev.len() - dev.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            if digits > 0 {
                let n: usize = dev[dev.len() - digits..]
                    .parse()
                    .map_err(|_| err(line, format!("'{dev}': partition number too large")))?;
                if n == 0 {
                    return Err(err(line, format!("'{dev}': there is no partition 0")));
                }
                pa.partno = Some(n - 1);
            }
            &text[c + 1..]
        }
        _ => text,
    };
    loop {
        rest = skip_blank(rest);
        if rest.is_empty() {
            break;
        }
        if let Some(r) = strip_prefix_ci(rest, "start=") {
            rest = r;
            pa.start = parse_start(line, &mut rest)?;
        } else if let Some(r) = strip_prefix_ci(rest, "size=") {
            rest = r;
            pa.size = parse_size(line, &mut rest)?;
        } else if strip_prefix_ci(rest, "bootable").is_some() {
            match next_token(&mut rest) {
                Some(t) if t.eq_ignore_ascii_case("bootable") => pa.bootable = true,
                _ => return Err(err(line, format!("unknown field '{}'", field_name(rest)))),
            }
        } else if let Some(r) = strip_prefix_ci(rest, "type=").or(strip_prefix_ci(rest, "Id=")) {
            rest = r;
            let tok = next_token(&mut rest)
                .ok_or_else(|| err(line, "type: missing or unterminated value"))?;
            pa.ptype = Some(parse_type(line, tok)?);
        } else if ["attrs=", "uuid=", "name="]
            .iter()
            .any(|f| strip_prefix_ci(rest, f).is_some())
        {
            return Err(err(
                line,
                format!(
                    "field '{}' belongs to GPT; an MBR (label: dos) has no such field",
                    field_name(rest)
                ),
            ));
        } else {
            return Err(err(line, format!("unknown field '{}'", field_name(rest))));
        }
    }
    Ok(pa)
}

/// The field at the start of `s`, for messages.
fn field_name(s: &str) -> &str {
    let end = s.find([',', ';', ' ', '\t']).unwrap_or(s.len());
    &s[..end]
}

/// `start, size, type, bootable` (commas, semicolons or blanks).
fn parse_positional(line: usize, text: &str) -> Result<ScriptPartition> {
    let mut pa = new_partition(line);
    let mut rest = text;
    let mut item = 0;
    while !rest.is_empty() && item < 4 {
        rest = skip_blank(rest);
        let before = rest.len();
        match item {
            0 => pa.start = parse_start(line, &mut rest)?,
            1 => pa.size = parse_size(line, &mut rest)?,
            2 => {
                if !(rest.starts_with([',', ';']) || is_default_value(&mut rest)) {
                    let tok = next_token(&mut rest)
                        .ok_or_else(|| err(line, "type: unterminated value"))?;
                    pa.ptype = Some(parse_type(line, tok)?);
                }
            }
            _ => {
                if !rest.starts_with([',', ';']) && !rest.is_empty() {
                    pa.bootable = match next_token(&mut rest) {
                        Some("*") | Some("+") => true,
                        Some("-") => false,
                        other => {
                            return Err(err(
                                line,
                                format!("bootable: '{}' is not *, + or -", other.unwrap_or(rest)),
                            ));
                        }
                    }
                }
            }
        }
        if rest.len() == before {
            let mut c = rest.chars();
            c.next();
            rest = c.as_str();
        }
        item += 1;
    }
    Ok(pa)
}

/// libfdisk's `is_header_line`: a `:` that is not first, something after it, and no `=`.
fn is_header_line(s: &str) -> bool {
    match s.find(':') {
        Some(p) => p > 0 && p + 1 < s.len() && !s.contains('='),
        None => false,
    }
}

fn parse_header(script: &mut Script, line: usize, s: &str) -> Result<()> {
    let (name, value) = s.split_once(':').unwrap_or((s, ""));
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() || value.is_empty() {
        return Err(err(line, format!("header '{s}' has no value")));
    }
    match name {
        "label" => match value {
            "dos" => script.label_given = true,
            "gpt" | "sun" | "sgi" | "bsd" => {
                return Err(err(
                    line,
                    format!("label: '{value}' is not supported (norrec writes MBR: label: dos)"),
                ));
            }
            _ => return Err(err(line, format!("label: unknown label '{value}'"))),
        },
        "unit" => {
            if value != "sectors" {
                return Err(err(
                    line,
                    format!("unit: '{value}' (sfdisk knows only 'sectors')"),
                ));
            }
        }
        "label-id" => {
            let hex = value
                .strip_prefix("0x")
                .or_else(|| value.strip_prefix("0X"))
                .unwrap_or(value);
            let id = u32::from_str_radix(hex, 16).map_err(|_| {
                err(
                    line,
                    format!("label-id: '{value}' is not a 32-bit hex number (e.g. 0x348aa4b8)"),
                )
            })?;
            script.label_id = Some(id);
        }
        "sector-size" => {
            if value != "512" {
                return Err(err(
                    line,
                    format!("sector-size: {value} is not supported (only 512)"),
                ));
            }
        }
        "grain" => {
            let g = size::parse(value)
                .filter(|n| {
                    n.value >= SECTOR_SIZE && n.value % SECTOR_SIZE == 0 && n.value <= 1 << 32
                })
                .ok_or_else(|| {
                    err(
                        line,
                        format!("grain: '{value}' is not a multiple of 512 bytes up to 4 GiB"),
                    )
                })?;
            script.grain = Some(g.value);
        }
        // Stored but not applied to MBR tables by sfdisk either.
        "device" | "first-lba" | "last-lba" | "table-length" => {}
        _ => script.warnings.push(format!(
            "line {line}: unknown script header '{name}' -- ignored"
        )),
    }
    Ok(())
}

/// Parses a whole script.
pub fn parse(text: &str) -> Result<Script> {
    let mut script = Script::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let s = skip_blank(raw.strip_suffix('\r').unwrap_or(raw));
        if s.is_empty() || s.starts_with('#') {
            continue;
        }
        if script.partitions.is_empty() && is_header_line(s) {
            parse_header(&mut script, line, s)?;
        } else {
            let pa = if s.contains('=') {
                parse_named(line, s)?
            } else {
                parse_positional(line, s)?
            };
            match (pa.start, pa.size) {
                // An empty slot in old sfdisk dumps: sfdisk skips it too.
                (Some(0), Size::Sectors { sectors: 0, .. }) => script
                    .warnings
                    .push(format!("line {line}: start=0 size=0: empty entry, ignored")),
                (_, Size::Sectors { sectors: 0, .. }) => {
                    return Err(err(line, "size: less than one sector"));
                }
                _ => script.partitions.push(pa),
            }
        }
    }
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> ScriptPartition {
        let sc = parse(s).unwrap();
        assert_eq!(sc.partitions.len(), 1, "{s:?}");
        sc.partitions[0].clone()
    }

    fn sectors(n: u64, explicit: bool) -> Size {
        Size::Sectors {
            sectors: n,
            explicit,
        }
    }

    #[test]
    fn seed_layout() {
        let s = parse(
            "unit: sectors\nsector-size: 512\nstart= 4096, size= 81920, type=c, bootable\n\
             start= 86016, size= 681574, type=L\nstart= 770048, size= 681574, type=L\n\
             start= 1454080, size= , type=L\n",
        )
        .unwrap();
        assert_eq!(s.partitions.len(), 4);
        let p = &s.partitions[0];
        assert_eq!(
            (p.line, p.start, p.size, p.ptype, p.bootable),
            (3, Some(4096), sectors(81920, true), Some(0x0c), true)
        );
        let p = &s.partitions[3];
        assert_eq!(
            (p.line, p.start, p.size, p.ptype, p.bootable),
            (6, Some(1454080), Size::Default, Some(0x83), false)
        );
    }

    #[test]
    fn usb_shorthand_and_positional() {
        let p = one(",,c\n");
        assert_eq!(
            (p.start, p.size, p.ptype),
            (None, Size::Default, Some(0x0c))
        );
        let p = one("2048 10 c *\n");
        assert_eq!(
            (p.start, p.size, p.ptype, p.bootable),
            (Some(2048), sectors(10, true), Some(0x0c), true)
        );
        let p = one("2048;40M;83;-\n");
        assert_eq!(
            (p.start, p.size, p.ptype, p.bootable),
            (Some(2048), sectors(81920, false), Some(0x83), false)
        );
        let p = one("- 1M\n");
        assert_eq!((p.start, p.size), (None, sectors(2048, false)));
        assert!(
            parse(",10,c,x\n")
                .unwrap_err()
                .to_string()
                .contains("line 1: bootable")
        );
    }

    #[test]
    fn named_fields() {
        let p = one("x3 : start=1M,size=+10, bootable,type=0x83\n");
        assert_eq!(
            (p.partno, p.start, p.size, p.ptype, p.bootable),
            (Some(2), Some(2048), sectors(10, true), Some(0x83), true)
        );
        let p = one("start=2048 size=10 Id=b\n");
        assert_eq!((p.start, p.ptype), (Some(2048), Some(0x0b)));
        let p = one("size=\"40M\", type=\"W95 FAT32 (LBA)\"\n");
        assert_eq!((p.size, p.ptype), (sectors(81920, false), Some(0x0c)));
    }

    #[test]
    fn headers() {
        let s = parse(
            "# comment\r\nlabel: dos\r\nlabel-id: 0x12345678\nfoo: bar\ndevice: /dev/x\n\n,\n",
        )
        .unwrap();
        assert_eq!(s.label_id, Some(0x1234_5678));
        assert_eq!(
            s.warnings,
            vec!["line 4: unknown script header 'foo' -- ignored"]
        );
        assert_eq!(
            parse("label-id: 12345678\n").unwrap().label_id,
            Some(0x1234_5678)
        );
        for (bad, needle) in [
            ("label: gpt\n", "line 1: label: 'gpt'"),
            ("\nunit: bytes\n", "line 2: unit"),
            ("sector-size: 4096\n", "sector-size"),
            ("label-id: foo\n", "label-id"),
            ("foo=3\n", "line 1: unknown field 'foo=3'"),
            ("start=10, uuid=x\n", "GPT"),
            ("size=0\n", "line 1: size: less than one sector"),
            ("start=12Q\n", "start: '12Q'"),
            ("size=-5\n", "negative"),
            ("type=zz\n", "unknown partition type 'zz'"),
            ("type=\"c\n", "type: missing or unterminated"),
            ("start=10\"x\"\n", "start: missing or unterminated"),
            ("grain: 8G\n", "grain"),
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad:?}: {e}");
        }
    }
}
