//! The U-Boot command sequence that loads a FIT from SPI NOR and boots it — right.
//!
//! The seed reads the FIT size with four `setexpr.b` and glues the results together:
//!
//! ```text
//! setexpr.b fit_size_msb *40000004 … setexpr.b fit_size_lsb *40000007
//! setenv fit_size ${fit_size_msb}${fit_size_3}${fit_size_2}${fit_size_lsb}
//! ```
//!
//! U-Boot stores a `setexpr` result with `%lx` (`env_set_hex`), without zero padding, so a byte
//! below 0x10 gives one digit: totalsize 0x00a20fa4 (bytes 00 a2 0f a4) becomes "0" "a2" "f" "a4"
//! = 0xa2fa4, and `sf read` loads 10 % of the image. The sequence here takes the size with
//! `fdt addr -q` + `fdt header get … totalsize` (the field read whole, big-endian), checks the
//! magic first (erased flash reads ffffffff) and checks the size against the flash and the RAM
//! window before `sf read` and `bootm`.
//!
//! The sequence is built as a small tree ([`Node`]) that renders as script text or as a one-line
//! `bootcmd` value, and that [`Machine`] runs with the semantics of the U-Boot commands it uses
//! (`%lx` results, hex operands read like `hextoul`, libfdt's header check), so tests can run
//! the seed's sequence and this one on the same flash bytes. The full console simulator lives in
//! `norrec-sim`; this is just enough to show the difference.

use crate::{Error, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The FDT magic (big-endian at offset 0 of a FIT).
pub const FDT_MAGIC: u32 = 0xd00d_feed;
/// The FDT magic as `setexpr.l` reads it on a little-endian CPU (`%lx`).
pub const FDT_MAGIC_LE_HEX: &str = "edfe0dd0";
/// The header fields `fdt header get` knows, in header order (4 bytes each, big-endian).
pub const FDT_HEADER_FIELDS: [&str; 10] = [
    "magic",
    "totalsize",
    "off_dt_struct",
    "off_dt_strings",
    "off_mem_rsvmap",
    "version",
    "last_comp_version",
    "boot_cpuid_phys",
    "size_dt_strings",
    "size_dt_struct",
];
/// Bytes read for the header (the v17 header is 40).
pub const HEADER_READ: u64 = 0x40;

/// A command argument: a number (written as hex) or a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Lit(u64),
    Var(String),
}

impl Arg {
    fn var(name: &str) -> Arg {
        Arg::Var(name.to_owned())
    }

    fn render(&self) -> String {
        match self {
            Arg::Lit(v) => format!("{v:#x}"),
            Arg::Var(n) => format!("${{{n}}}"),
        }
    }
}

/// The U-Boot commands the sequences use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    /// `sf probe [bus:cs]`
    SfProbe(Option<String>),
    /// `sf read addr offset len`
    SfRead { addr: Arg, off: Arg, len: Arg },
    /// `setexpr.b var *addr` (the seed's)
    SetexprB { var: String, addr: Arg },
    /// `setexpr.l var *addr`
    SetexprL { var: String, addr: Arg },
    /// `setenv var ${a}${b}…` (the seed's concatenation)
    SetenvConcat { var: String, parts: Vec<String> },
    /// `fdt addr -q addr`
    FdtAddrQ(Arg),
    /// `fdt header get var field`
    FdtHeaderGet { var: String, field: String },
    /// `test "${var}" = "value"`
    TestEq { var: String, value: String },
    /// `itest a -le b`
    ItestLe(Arg, Arg),
    /// `echo "text"` (`${var}` expanded)
    Echo(String),
    /// `bootm addr`
    Bootm(Arg),
}

impl Cmd {
    fn render(&self) -> String {
        match self {
            Cmd::SfProbe(None) => "sf probe".into(),
            Cmd::SfProbe(Some(a)) => format!("sf probe {a}"),
            Cmd::SfRead { addr, off, len } => {
                format!(
                    "sf read {} {} {}",
                    addr.render(),
                    off.render(),
                    len.render()
                )
            }
            Cmd::SetexprB { var, addr } => format!("setexpr.b {var} *{}", addr.render()),
            Cmd::SetexprL { var, addr } => format!("setexpr.l {var} *{}", addr.render()),
            Cmd::SetenvConcat { var, parts } => {
                let v: String = parts.iter().map(|p| format!("${{{p}}}")).collect();
                format!("setenv {var} {v}")
            }
            Cmd::FdtAddrQ(a) => format!("fdt addr -q {}", a.render()),
            Cmd::FdtHeaderGet { var, field } => format!("fdt header get {var} {field}"),
            Cmd::TestEq { var, value } => format!("test \"${{{var}}}\" = \"{value}\""),
            Cmd::ItestLe(a, b) => format!("itest {} -le {}", a.render(), b.render()),
            Cmd::Echo(t) => format!("echo \"{t}\""),
            Cmd::Bootm(a) => format!("bootm {}", a.render()),
        }
    }
}

/// A command or an `if`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Cmd(Cmd),
    If {
        cond: Cmd,
        then: Vec<Node>,
        els: Vec<Node>,
    },
}

/// A command sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script(pub Vec<Node>);

impl Script {
    /// Script text: one command per line, `if` blocks indented (for `boot.cmd` or the prompt).
    pub fn to_text(&self) -> String {
        fn walk(nodes: &[Node], depth: usize, out: &mut String) {
            let pad = "  ".repeat(depth);
            for n in nodes {
                match n {
                    Node::Cmd(c) => {
                        let _ = writeln!(out, "{pad}{}", c.render());
                    }
                    Node::If { cond, then, els } => {
                        let _ = writeln!(out, "{pad}if {}; then", cond.render());
                        walk(then, depth + 1, out);
                        if !els.is_empty() {
                            let _ = writeln!(out, "{pad}else");
                            walk(els, depth + 1, out);
                        }
                        let _ = writeln!(out, "{pad}fi");
                    }
                }
            }
        }
        let mut out = String::new();
        walk(&self.0, 0, &mut out);
        out
    }

    /// One line, commands separated by `; ` (a `bootcmd` value).
    pub fn to_line(&self) -> String {
        fn walk(nodes: &[Node]) -> String {
            let parts: Vec<String> = nodes
                .iter()
                .map(|n| match n {
                    Node::Cmd(c) => c.render(),
                    Node::If { cond, then, els } => {
                        let mut s = format!("if {}; then {}", cond.render(), walk(then));
                        if !els.is_empty() {
                            let _ = write!(s, "; else {}", walk(els));
                        }
                        s.push_str("; fi");
                        s
                    }
                })
                .collect();
            parts.join("; ")
        }
        walk(&self.0)
    }
}

/// The seed's sequence (header at `0x40000000`, FIT at `${loadaddr}`), for comparison.
pub fn seed_sequence() -> Script {
    let hdr = 0x4000_0000;
    let bytes = ["fit_size_msb", "fit_size_3", "fit_size_2", "fit_size_lsb"];
    let mut v = vec![
        Node::Cmd(Cmd::SfProbe(None)),
        Node::Cmd(Cmd::SfRead {
            addr: Arg::Lit(hdr),
            off: Arg::Lit(0),
            len: Arg::Lit(8),
        }),
    ];
    for (i, b) in bytes.iter().enumerate() {
        v.push(Node::Cmd(Cmd::SetexprB {
            var: (*b).into(),
            addr: Arg::Lit(hdr + 4 + i as u64),
        }));
    }
    v.push(Node::Cmd(Cmd::SetenvConcat {
        var: "fit_size".into(),
        parts: bytes.iter().map(|s| (*s).to_owned()).collect(),
    }));
    v.push(Node::Cmd(Cmd::SfRead {
        addr: Arg::var("loadaddr"),
        off: Arg::Lit(0),
        len: Arg::var("fit_size"),
    }));
    v.push(Node::Cmd(Cmd::Bootm(Arg::var("loadaddr"))));
    Script(v)
}

/// Settings of the NOR boot sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NorBoot {
    /// Where the FIT starts in the flash.
    pub flash_offset: u64,
    /// Size of the flash chip.
    pub flash_size: u64,
    /// Where the FIT is loaded (and `bootm` runs it).
    pub loadaddr: u64,
    /// Where the header is read first (default: `loadaddr`).
    pub header_addr: Option<u64>,
    /// Bytes of RAM free from `loadaddr` on (default: no limit beyond the flash).
    pub ram_window: Option<u64>,
    /// `sf probe` arguments (`bus:cs`, speed, mode), if any.
    pub probe: Option<String>,
}

impl NorBoot {
    /// The largest FIT the sequence accepts: what the flash holds after the offset, capped by
    /// the RAM window.
    pub fn max_size(&self) -> u64 {
        let flash = self.flash_size.saturating_sub(self.flash_offset);
        self.ram_window.map_or(flash, |r| r.min(flash))
    }

    /// Builds the sequence.
    pub fn script(&self) -> Result<Script> {
        if self.flash_offset.saturating_add(HEADER_READ) > self.flash_size {
            return Err(Error::Field {
                field: "flash offset".into(),
                msg: format!(
                    "{:#x} leaves no room for a FIT header in a flash of {:#x} bytes",
                    self.flash_offset, self.flash_size
                ),
            });
        }
        if self.ram_window.is_some_and(|r| r < HEADER_READ) {
            return Err(Error::Field {
                field: "RAM window".into(),
                msg: "smaller than the header".into(),
            });
        }
        let hdr = Arg::Lit(self.header_addr.unwrap_or(self.loadaddr));
        let off = Arg::Lit(self.flash_offset);
        let max = self.max_size();
        let at = format!("NOR {:#x}", self.flash_offset);
        let load = Node::If {
            cond: Cmd::SfRead {
                addr: Arg::Lit(self.loadaddr),
                off: off.clone(),
                len: Arg::var("nor_size"),
            },
            then: vec![Node::Cmd(Cmd::Bootm(Arg::Lit(self.loadaddr)))],
            els: vec![Node::Cmd(Cmd::Echo(format!(
                "norrec: reading the FIT from {at} failed"
            )))],
        };
        let sized = Node::If {
            cond: Cmd::ItestLe(Arg::var("nor_size"), Arg::Lit(max)),
            then: vec![load],
            els: vec![Node::Cmd(Cmd::Echo(format!(
                "norrec: FIT at {at} claims ${{nor_size}} (hex) bytes, more than the {max:#x} that fit the flash and the RAM window"
            )))],
        };
        let fdt = Node::If {
            cond: Cmd::FdtAddrQ(hdr.clone()),
            then: vec![
                Node::Cmd(Cmd::FdtHeaderGet {
                    var: "nor_size".into(),
                    field: "totalsize".into(),
                }),
                sized,
            ],
            els: vec![Node::Cmd(Cmd::Echo(format!(
                "norrec: bad FDT header at {at} (version or sizes)"
            )))],
        };
        let magic = Node::If {
            cond: Cmd::TestEq {
                var: "nor_magic".into(),
                value: FDT_MAGIC_LE_HEX.into(),
            },
            then: vec![fdt],
            els: vec![Node::Cmd(Cmd::Echo(format!(
                "norrec: no FIT at {at}: first word reads ${{nor_magic}} (little-endian), a FIT gives {FDT_MAGIC_LE_HEX} (d0 0d fe ed), erased flash ffffffff"
            )))],
        };
        let header = Node::If {
            cond: Cmd::SfRead {
                addr: hdr.clone(),
                off,
                len: Arg::Lit(HEADER_READ),
            },
            then: vec![
                Node::Cmd(Cmd::SetexprL {
                    var: "nor_magic".into(),
                    addr: hdr,
                }),
                magic,
            ],
            els: vec![Node::Cmd(Cmd::Echo(format!(
                "norrec: reading the header at {at} failed"
            )))],
        };
        Ok(Script(vec![Node::If {
            cond: Cmd::SfProbe(self.probe.clone()),
            then: vec![header],
            els: vec![Node::Cmd(Cmd::Echo(
                "norrec: sf probe found no flash".into(),
            ))],
        }]))
    }
}

/// U-Boot's `hextoul`: an optional `0x`, then hex digits up to the first other character.
pub fn hextoul(s: &str) -> u64 {
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let mut v: u64 = 0;
    for c in s.chars() {
        match c.to_digit(16) {
            Some(d) => v = v.wrapping_mul(16).wrapping_add(u64::from(d)),
            None => break,
        }
    }
    v
}

/// `setexpr.b` / `setexpr.l` / `fdt header get`: U-Boot stores the value with `%lx`.
pub fn env_hex(v: u64) -> String {
    format!("{v:x}")
}

/// libfdt's `fdt_check_header` on the first 40 bytes (magic, versions, sizes within totalsize).
pub fn fdt_check_header(h: &[u8]) -> std::result::Result<(), &'static str> {
    if h.len() < 40 {
        return Err("truncated header");
    }
    let f = |i: usize| u32::from_be_bytes([h[i * 4], h[i * 4 + 1], h[i * 4 + 2], h[i * 4 + 3]]);
    if f(0) != FDT_MAGIC {
        return Err("bad magic");
    }
    let (version, last_comp) = (f(5), f(6));
    if version < 2 || last_comp > 17 || version < last_comp {
        return Err("bad version");
    }
    let hdrsize: u32 = match version {
        0..=1 => 28,
        2 => 32,
        3..=16 => 36,
        _ => 40,
    };
    let total = f(1);
    if total < hdrsize || total > i32::MAX as u32 {
        return Err("bad totalsize");
    }
    let off_ok = |off: u32| off >= hdrsize && off <= total;
    let block_ok =
        |base: u32, size: u32| off_ok(base) && base.checked_add(size).is_some_and(off_ok);
    if !off_ok(f(4)) {
        return Err("memory reserve map out of bounds");
    }
    if version < 17 {
        if !off_ok(f(2)) {
            return Err("structure block out of bounds");
        }
    } else if !block_ok(f(2), f(9)) {
        return Err("structure block out of bounds");
    }
    if !block_ok(f(3), f(8)) {
        return Err("strings block out of bounds");
    }
    Ok(())
}

/// Just enough of U-Boot to run a [`Script`]: RAM, the environment, a flash, `echo` output.
#[derive(Debug)]
pub struct Machine<'f> {
    pub flash: &'f [u8],
    pub ram_base: u64,
    pub ram: Vec<u8>,
    pub env: BTreeMap<String, String>,
    /// What `echo` and failing commands printed.
    pub console: Vec<String>,
    /// `(address, bytes read there by the last sf read)` of the last `bootm`.
    pub booted: Option<u64>,
    /// Length of each `sf read`, in order.
    pub reads: Vec<u64>,
    probed: bool,
    working_fdt: Option<u64>,
}

impl<'f> Machine<'f> {
    /// A machine with `ram_len` bytes of RAM at `ram_base`.
    pub fn new(flash: &'f [u8], ram_base: u64, ram_len: usize) -> Self {
        Machine {
            flash,
            ram_base,
            ram: vec![0; ram_len],
            env: BTreeMap::new(),
            console: Vec::new(),
            booted: None,
            reads: Vec::new(),
            probed: false,
            working_fdt: None,
        }
    }

    fn val(&self, a: &Arg) -> u64 {
        match a {
            Arg::Lit(v) => *v,
            Arg::Var(n) => hextoul(self.env.get(n).map_or("", String::as_str)),
        }
    }

    fn ram_range(&self, addr: u64, len: u64) -> Option<std::ops::Range<usize>> {
        let start = addr.checked_sub(self.ram_base)?;
        let end = start.checked_add(len)?;
        (end <= self.ram.len() as u64).then_some(start as usize..end as usize)
    }

    fn expand(&self, t: &str) -> String {
        let mut out = String::new();
        let mut rest = t;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            match after.find('}') {
                Some(j) => {
                    out.push_str(self.env.get(&after[..j]).map_or("", String::as_str));
                    rest = &after[j + 1..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Runs one command; `true` is success.
    pub fn exec(&mut self, c: &Cmd) -> bool {
        match c {
            Cmd::SfProbe(_) => {
                self.probed = !self.flash.is_empty();
                self.probed
            }
            Cmd::SfRead { addr, off, len } => {
                let (addr, off, len) = (self.val(addr), self.val(off), self.val(len));
                if !self.probed {
                    self.console
                        .push("No SPI flash selected. Please run `sf probe'".into());
                    return false;
                }
                if off.saturating_add(len) > self.flash.len() as u64 {
                    self.console
                        .push("ERROR: attempting read past flash size".into());
                    return false;
                }
                let Some(r) = self.ram_range(addr, len) else {
                    self.console.push(format!("read to {addr:#x} outside RAM"));
                    return false;
                };
                self.ram[r].copy_from_slice(&self.flash[off as usize..(off + len) as usize]);
                self.reads.push(len);
                true
            }
            Cmd::SetexprB { var, addr } | Cmd::SetexprL { var, addr } => {
                let w = if matches!(c, Cmd::SetexprB { .. }) {
                    1
                } else {
                    4
                };
                let Some(r) = self.ram_range(self.val(addr), w) else {
                    return false;
                };
                let mut v = 0u64;
                for (i, b) in self.ram[r].iter().enumerate() {
                    v |= u64::from(*b) << (8 * i); // little-endian CPU
                }
                self.env.insert(var.clone(), env_hex(v));
                true
            }
            Cmd::SetenvConcat { var, parts } => {
                let v: String = parts
                    .iter()
                    .map(|p| self.env.get(p).cloned().unwrap_or_default())
                    .collect();
                self.env.insert(var.clone(), v);
                true
            }
            Cmd::FdtAddrQ(a) => {
                let addr = self.val(a);
                let Some(r) = self.ram_range(addr, 40) else {
                    return false;
                };
                if fdt_check_header(&self.ram[r]).is_err() {
                    return false;
                }
                self.working_fdt = Some(addr);
                self.env.insert("fdtaddr".into(), env_hex(addr));
                true
            }
            Cmd::FdtHeaderGet { var, field } => {
                let Some(base) = self.working_fdt else {
                    self.console
                        .push("No FDT memory address configured.".into());
                    return false;
                };
                let Some(i) = FDT_HEADER_FIELDS.iter().position(|f| f == field) else {
                    return false;
                };
                let Some(r) = self.ram_range(base + 4 * i as u64, 4) else {
                    return false;
                };
                let b = &self.ram[r];
                let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                self.env.insert(var.clone(), env_hex(u64::from(v)));
                true
            }
            Cmd::TestEq { var, value } => {
                self.env.get(var).map_or("", String::as_str) == value.as_str()
            }
            Cmd::ItestLe(a, b) => (self.val(a) & 0xffff_ffff) <= (self.val(b) & 0xffff_ffff),
            Cmd::Echo(t) => {
                let line = self.expand(t);
                self.console.push(line);
                true
            }
            Cmd::Bootm(a) => {
                self.booted = Some(self.val(a));
                true
            }
        }
    }

    /// Runs a script; stops after `bootm`.
    pub fn run(&mut self, s: &Script) {
        fn walk(m: &mut Machine<'_>, nodes: &[Node]) {
            for n in nodes {
                if m.booted.is_some() {
                    return;
                }
                match n {
                    Node::Cmd(c) => {
                        m.exec(c);
                    }
                    Node::If { cond, then, els } => {
                        if m.exec(cond) {
                            walk(m, then);
                        } else {
                            walk(m, els);
                        }
                    }
                }
            }
        }
        walk(self, &s.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setexpr_has_no_zero_padding() {
        assert_eq!(env_hex(0x0f), "f");
        assert_eq!(env_hex(0xa20fa4), "a20fa4");
        assert_eq!(hextoul("0x1f"), 0x1f);
        assert_eq!(hextoul("a2fa4"), 0xa2fa4);
        assert_eq!(hextoul(""), 0);
    }

    #[test]
    fn renders_both_forms() {
        let s = NorBoot {
            flash_offset: 0,
            flash_size: 16 << 20,
            loadaddr: 0x4100_0000,
            header_addr: None,
            ram_window: Some(0x200_0000),
            probe: None,
        }
        .script()
        .unwrap();
        let text = s.to_text();
        assert!(text.starts_with("if sf probe; then\n  if sf read 0x41000000 0x0 0x40; then\n"));
        assert!(text.contains("fdt header get nor_size totalsize"));
        assert!(text.contains("itest ${nor_size} -le 0x1000000"));
        let line = s.to_line();
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with("if sf probe; then if sf read 0x41000000 0x0 0x40; then setexpr.l")
        );
        assert!(line.ends_with("; fi"));
        assert_eq!(line.matches("if ").count(), line.matches("; fi").count());
    }

    #[test]
    fn offset_past_flash_refused() {
        let nb = NorBoot {
            flash_offset: 16 << 20,
            flash_size: 16 << 20,
            loadaddr: 0,
            header_addr: None,
            ram_window: None,
            probe: None,
        };
        assert!(nb.script().is_err());
    }
}
