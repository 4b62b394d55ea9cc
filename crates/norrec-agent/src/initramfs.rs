//! The recovery initramfs: a gzip'd cpio newc whose `/init` is the static `norrec` binary.
//!
//! Layout (everything the kernel needs, since it creates nothing itself, not even parent
//! directories):
//!
//! ```text
//! dev/ dev/console (char 5,1: the kernel opens it as init's stdin/stdout/stderr)
//! proc/ sys/ mnt/ etc/ etc/norrec/board (the board's name; board.toml + layout when not built in)
//! init (0755)       the norrec binary; it runs the agent when it is PID 1
//! lib/modules/<name>.ko … and lib/modules/norrec.order, one file name a line, in load order
//! extra files       as given (`--add SRC:DEST`)
//! ```
//!
//! Deterministic: entries in a fixed order, mtime 0, uid/gid 0, and a gzip header without a time
//! or a name, so the same inputs give the same bytes.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use norrec_swu::cpio::{CpioWriter, Format, HEADER_LEN, TRAILER};

use crate::error::{Error, Result, io};
use crate::modinfo;

/// Where the agent finds its files in the initramfs (paths without the leading `/`).
pub const MODULES_DIR: &str = "lib/modules";
/// The load order file.
pub const ORDER_FILE: &str = "lib/modules/norrec.order";
/// The board's name (a built-in manifest).
pub const BOARD_NAME_FILE: &str = "etc/norrec/board";
/// A board manifest carried along (boards that are not built in).
pub const BOARD_TOML_FILE: &str = "etc/norrec/board.toml";

/// What goes into the initramfs.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The static ARM `norrec` binary (becomes `/init`).
    pub norrec_bin: PathBuf,
    /// `lib/modules/<version>` of the kernel the initramfs is for.
    pub modules_dir: PathBuf,
    /// The board's module list (`[recovery] modules`).
    pub modules: Vec<String>,
    /// The board's name, for `etc/norrec/board`.
    pub board_name: String,
    /// Further files: (path in the initramfs, bytes, mode).
    pub extra: Vec<(String, Vec<u8>, u32)>,
}

/// The result: the archive and what it holds.
#[derive(Debug, Clone)]
pub struct Built {
    /// The gzip'd cpio.
    pub gz: Vec<u8>,
    /// The uncompressed cpio's size.
    pub cpio_len: u64,
    /// Module names in load order.
    pub module_order: Vec<String>,
    /// Every entry (name, mode, size), in archive order.
    pub entries: Vec<EntryInfo>,
    /// What looks wrong but does not stop the build (an /init the board cannot run).
    pub warnings: Vec<String>,
}

/// Why the board could not run `elf` as /init: not 32-bit ARM, or dynamically linked (the
/// initramfs holds no libc).
pub fn init_warnings(elf: &[u8], path: &Path) -> Vec<String> {
    use object::Object;
    let mut w = Vec::new();
    match object::File::parse(elf) {
        Ok(f) => {
            if f.architecture() != object::Architecture::Arm {
                w.push(format!(
                    "{} is built for {:?}, not 32-bit ARM: the board cannot run it as /init",
                    path.display(),
                    f.architecture()
                ));
            }
            if f.section_by_name(".interp").is_some() {
                w.push(format!(
                    "{} is dynamically linked: the initramfs has no libc (build it with +crt-static)",
                    path.display()
                ));
            }
        }
        Err(e) => w.push(format!("{}: {e}", path.display())),
    }
    w
}

/// One entry of an initramfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    pub name: String,
    /// `st_mode`: type and permission bits.
    pub mode: u32,
    pub size: u64,
}

/// An entry before it is written: name, mode, (rdev major, minor), data.
type Raw = (String, u32, (u32, u32), Vec<u8>);

const DIR: u32 = 0o040755;
const EXEC: u32 = 0o100755;
const FILE: u32 = 0o100644;
const CONSOLE: u32 = 0o020600;

/// Builds the initramfs. Modules are read from `spec.modules_dir/kernel/<entry>.ko` and ordered by
/// their `depends=`.
pub fn build(spec: &Spec) -> Result<Built> {
    let modules = modinfo::find_all(&spec.modules_dir, &spec.modules)?;
    let order = modinfo::load_order(&modules)?;
    let init = std::fs::read(&spec.norrec_bin).map_err(io(&spec.norrec_bin))?;
    let warnings = init_warnings(&init, &spec.norrec_bin);
    if !init.starts_with(b"\x7fELF") {
        return Err(Error::Initramfs(format!(
            "{} is not an ELF executable",
            spec.norrec_bin.display()
        )));
    }

    let mut entries: Vec<Raw> = Vec::new();
    let dir = |name: &str| (name.to_owned(), DIR, (0, 0), Vec::new());
    for d in [
        "dev",
        "proc",
        "sys",
        "mnt",
        "etc",
        "etc/norrec",
        "lib",
        MODULES_DIR,
    ] {
        entries.push(dir(d));
    }
    entries.push(("dev/console".into(), CONSOLE, (5, 1), Vec::new()));
    entries.push(("init".into(), EXEC, (0, 0), init));
    entries.push((
        BOARD_NAME_FILE.into(),
        FILE,
        (0, 0),
        format!("{}\n", spec.board_name).into_bytes(),
    ));
    let mut order_text = String::new();
    for m in &order {
        let file = format!("{}.ko", m.info.name);
        let bytes = std::fs::read(&m.path).map_err(io(&m.path))?;
        entries.push((format!("{MODULES_DIR}/{file}"), FILE, (0, 0), bytes));
        order_text.push_str(&file);
        order_text.push('\n');
    }
    entries.push((ORDER_FILE.into(), FILE, (0, 0), order_text.into_bytes()));
    for (name, bytes, mode) in &spec.extra {
        let name = name.trim_start_matches('/');
        // parent directories first, once
        let mut parent = String::new();
        for comp in name
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .map(|x| x.1)
            .unwrap_or(&[])
        {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(comp);
            if !entries.iter().any(|e| e.0 == parent) {
                entries.push((parent.clone(), DIR, (0, 0), Vec::new()));
            }
        }
        if entries.iter().any(|e| e.0 == name) {
            return Err(Error::Initramfs(format!(
                "{name} is in the initramfs twice"
            )));
        }
        entries.push((name.to_owned(), *mode, (0, 0), bytes.clone()));
    }

    let mut cpio = CpioWriter::new(Vec::new(), Format::Newc);
    for (name, mode, rdev, data) in &entries {
        cpio.add_entry(name, *mode, *rdev, data)?;
    }
    let cpio = cpio.finish()?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&cpio).map_err(io("initramfs (gzip)"))?;
    let gz = gz.finish().map_err(io("initramfs (gzip)"))?;
    Ok(Built {
        warnings,
        gz,
        cpio_len: cpio.len() as u64,
        module_order: order.iter().map(|m| m.info.name.clone()).collect(),
        entries: entries
            .into_iter()
            .map(|(name, mode, _, data)| EntryInfo {
                name,
                mode,
                size: data.len() as u64,
            })
            .collect(),
    })
}

/// Lists an initramfs (gzip'd or plain cpio newc/crc), every entry type included (the swu
/// reader takes regular files only). `path` is for messages.
pub fn list(bytes: &[u8], path: &Path) -> Result<Vec<EntryInfo>> {
    let mut raw = Vec::new();
    let data: &[u8] = if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut raw)
            .map_err(io(path))?;
        &raw
    } else {
        bytes
    };
    let bad = |off: usize, what: &str| Error::Initramfs(format!("offset {off:#x}: {what}"));
    let mut out = Vec::new();
    let mut off = 0usize;
    loop {
        let h = data
            .get(off..off + HEADER_LEN)
            .ok_or_else(|| bad(off, "truncated header (no TRAILER!!!)"))?;
        if &h[..6] != b"070701" && &h[..6] != b"070702" {
            return Err(bad(off, "not a cpio newc/crc header (magic 070701/070702)"));
        }
        // field i (8 hex digits) starts at 6 + 8 * i: 1 mode, 6 filesize, 11 namesize
        let field = |i: usize| -> Result<u32> {
            let at = 6 + 8 * i;
            std::str::from_utf8(&h[at..at + 8])
                .ok()
                .and_then(|t| u32::from_str_radix(t, 16).ok())
                .ok_or_else(|| bad(off + at, "header field is not 8 hex digits"))
        };
        let (mode, size, namesize) = (field(1)?, field(6)? as usize, field(11)? as usize);
        let name_at = off + HEADER_LEN;
        let name = data
            .get(name_at..name_at + namesize.saturating_sub(1))
            .ok_or_else(|| bad(name_at, "name past the end"))?;
        let name = String::from_utf8_lossy(name).into_owned();
        let data_at = (name_at + namesize).div_ceil(4) * 4;
        if name == TRAILER {
            return Ok(out);
        }
        if data_at + size > data.len() {
            return Err(bad(data_at, &format!("{name}: {size} bytes past the end")));
        }
        out.push(EntryInfo {
            name,
            mode,
            size: size as u64,
        });
        off = (data_at + size).div_ceil(4) * 4;
    }
}

/// `ls -l`-style type and permission letters of a mode (`drwxr-xr-x`, `crw-------`).
pub fn mode_string(mode: u32) -> String {
    let kind = match mode & 0o170000 {
        0o040000 => 'd',
        0o020000 => 'c',
        0o060000 => 'b',
        0o120000 => 'l',
        _ => '-',
    };
    let mut s = String::from(kind);
    for shift in [6, 3, 0] {
        let b = (mode >> shift) & 7;
        s.push(if b & 4 != 0 { 'r' } else { '-' });
        s.push(if b & 2 != 0 { 'w' } else { '-' });
        s.push(if b & 1 != 0 { 'x' } else { '-' });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(mode_string(DIR), "drwxr-xr-x");
        assert_eq!(mode_string(CONSOLE), "crw-------");
        assert_eq!(mode_string(EXEC), "-rwxr-xr-x");
    }
}
