//! `norrec env`: U-Boot environments. `build` replaces mkenvimage; `print` and `set` replace
//! fw_printenv and fw_setenv (libubootenv 0.3.5 rules: fw_env.config, redundant copies, sorted
//! variables, `-s` scripts), refusing what libubootenv silently skips; `extract` finds the default
//! environment compiled into a U-Boot binary.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use norrec_uboot::env::{self, DeviceSpec, EnvCopy, EnvSet, Layout, ScriptOp, Selection, Vars};
use serde::Serialize;

use crate::cmd::script::write_atomic;
use crate::num::parse_size;
use crate::ui::Ui;

/// U-Boot environments.
#[derive(Debug, clap::Subcommand)]
pub enum EnvCmd {
    /// Build an environment image from name=value text, byte-identical to mkenvimage.
    ///
    /// Input rules are mkenvimage's: empty lines and lines with '#' in column 1 are skipped, a
    /// line ending in '\' continues with an embedded newline. A line without '=' is an error
    /// (mkenvimage would store it).
    #[command(
        after_help = "Examples:\n  norrec env build env.txt -o uboot.env   (size from the board manifest)\n  norrec env build env.txt -s 0x10000 -o uboot.env\n  norrec env build env.txt -s 0x20000 -r -o uboot-redund.env\n  norrec env build env.txt -s 0x4000 -b -p 0 -o env-be.bin"
    )]
    Build(BuildArgs),
    /// Print variables of an environment file or device (like fw_printenv).
    #[command(
        after_help = "Examples:\n  norrec env print -i uboot.env\n  norrec env print -c fw_env.config bootcmd rootpart\n  norrec env print -c fw_env.config -n rootpart\n  norrec env print -i uboot.env --json"
    )]
    Print(PrintArgs),
    /// Set or delete variables in an environment file or device (like fw_setenv).
    ///
    /// Loads the current copy (by CRC and, for two copies, the flag rule), applies the change,
    /// and writes the other copy with the flag plus one. A store whose CRC is bad is refused
    /// unless --defenv names a default environment to start from (fw_setenv's -f).
    #[command(
        after_help = "Examples:\n  norrec env set -i uboot.env rootpart 3\n  norrec env set -i uboot.env rootpart          (deletes rootpart)\n  norrec env set -c fw_env.config -s changes.txt\n  norrec env set -c fw_env.config --defenv u-boot-initial-env ustate 1"
    )]
    Set(SetArgs),
    /// Find the default environment compiled into a U-Boot binary and write it as text.
    ///
    /// The result is the `u-boot-initial-env` a recovery needs when the vendor build did not
    /// ship one (sorted by name like U-Boot's `make u-boot-initial-env`, unless --keep-order).
    #[command(
        after_help = "Examples:\n  norrec env extract u-boot-sunxi-with-spl.bin -o u-boot-initial-env\n  norrec env extract u-boot.bin --keep-order"
    )]
    Extract(ExtractArgs),
}

fn parse_pad(s: &str) -> Result<u8, String> {
    let v = parse_size(s)?;
    u8::try_from(v).map_err(|_| format!("'{s}': a pad byte is 0..=255"))
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The text (name=value lines); '-' reads stdin.
    input: PathBuf,
    /// Size of the environment (CONFIG_ENV_SIZE), e.g. 0x10000 or 64K (default: the board's
    /// uboot.env_size).
    #[arg(short, long, value_parser = parse_size)]
    size: Option<u64>,
    /// The image to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Redundant layout: a flag byte after the CRC (mkenvimage -r; default: the board's
    /// uboot.env_redundant when --size is not given).
    #[arg(short, long)]
    redundant: bool,
    /// Big-endian CRC (mkenvimage -b).
    #[arg(short, long)]
    big_endian: bool,
    /// Padding byte (mkenvimage -p), default 0xff.
    #[arg(short, long, default_value = "0xff", value_parser = parse_pad)]
    pad: u8,
}

/// Where the environment is: a fw_env.config, or one image file.
#[derive(Debug, clap::Args)]
pub struct Access {
    /// fw_env.config describing the device(s): one line per copy.
    #[arg(
        short,
        long,
        conflicts_with = "image",
        required_unless_present = "image"
    )]
    config: Option<PathBuf>,
    /// An environment image file (one copy).
    #[arg(short, long)]
    image: Option<PathBuf>,
    /// With --image: the environment size (default: the file's size).
    #[arg(long, value_parser = parse_size, requires = "image")]
    size: Option<u64>,
    /// With --image: where the environment starts in the file.
    #[arg(long, default_value = "0", value_parser = parse_size, requires = "image")]
    offset: u64,
    /// With --image: the copy has a flag byte (built with mkenvimage -r).
    #[arg(short, long, requires = "image")]
    redundant: bool,
    /// The CRC is big-endian.
    #[arg(short, long)]
    big_endian: bool,
}

#[derive(Debug, clap::Args)]
pub struct PrintArgs {
    #[command(flatten)]
    access: Access,
    /// Print only the values (with one variable name).
    #[arg(short = 'n', long)]
    no_header: bool,
    /// If no copy has a good CRC, print this default environment instead (fw_printenv's -f).
    #[arg(short = 'f', long)]
    defenv: Option<PathBuf>,
    /// Variables to print (default: all).
    names: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    #[command(flatten)]
    access: Access,
    /// name=value lines to apply (libubootenv's script form; `name=` deletes; '-' is stdin).
    #[arg(short, long, conflicts_with_all = ["name", "value"])]
    script: Option<PathBuf>,
    /// If no copy has a good CRC, start from this default environment (fw_setenv's -f).
    #[arg(short = 'f', long)]
    defenv: Option<PathBuf>,
    /// The variable to set (or delete, without a value).
    #[arg(required_unless_present = "script")]
    name: Option<String>,
    /// Its new value.
    value: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// The U-Boot binary (u-boot.bin, u-boot-sunxi-with-spl.bin, …).
    binary: PathBuf,
    /// Write the text here (default: stdout).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Keep the order of the binary instead of sorting by name.
    #[arg(long)]
    keep_order: bool,
    /// The fewest variables that count as a default environment.
    #[arg(long, default_value_t = 8)]
    min_vars: usize,
}

pub fn run(cmd: EnvCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        EnvCmd::Build(a) => build(a, ui),
        EnvCmd::Print(a) => print(a, ui),
        EnvCmd::Set(a) => set(a, ui),
        EnvCmd::Extract(a) => extract(a, ui),
    }
}

fn build(a: BuildArgs, ui: &Ui) -> anyhow::Result<()> {
    let ctx = || a.input.display().to_string();
    let text = if a.input == Path::new("-") {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b).context("stdin")?;
        b
    } else {
        std::fs::read(&a.input).with_context(ctx)?
    };
    let vars = env::parse_mkenvimage_text(&text).with_context(ctx)?;
    let (size, redundant) = match a.size {
        Some(s) => (s, a.redundant),
        None => {
            let b = ui.board()?;
            (b.uboot.env_size.0, a.redundant || b.uboot.env_redundant)
        }
    };
    let layout = Layout {
        size: usize::try_from(size).context("--size too large")?,
        redundant,
        big_endian: a.big_endian,
    };
    let image = env::encode(&vars, layout, a.pad, 1).with_context(ctx)?;
    write_atomic(&a.output, &image)?;
    #[derive(Serialize)]
    struct Out<'a> {
        output: &'a Path,
        size: usize,
        variables: usize,
        redundant: bool,
    }
    let out = Out {
        output: &a.output,
        size: image.len(),
        variables: vars.len(),
        redundant,
    };
    ui.report(&out, || {
        ui.note(format!(
            "{}: environment of {:#x} bytes, {} variables",
            a.output.display(),
            image.len(),
            vars.len()
        ))
    })
}

/// One copy's place: a file or device, an absolute offset, a size.
#[derive(Debug, Clone)]
struct Place {
    path: PathBuf,
    offset: u64,
    size: usize,
    /// What described it, for messages ("fw_env.config line 2").
    origin: String,
}

/// The copies and their layout, from the arguments.
fn places(a: &Access) -> anyhow::Result<(Vec<Place>, Layout)> {
    if let Some(cfg) = &a.config {
        let text = std::fs::read_to_string(cfg).with_context(|| cfg.display().to_string())?;
        let devs = env::parse_config(&text).with_context(|| cfg.display().to_string())?;
        let places = devs
            .iter()
            .map(|d| place_of(d, cfg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let layout = Layout {
            size: devs[0].size,
            redundant: devs.len() == 2,
            big_endian: a.big_endian,
        };
        return Ok((places, layout));
    }
    let Some(path) = &a.image else {
        bail!("give --config fw_env.config or --image FILE");
    };
    let len = device_len(path)?;
    let size = match a.size {
        Some(s) => usize::try_from(s).context("--size too large")?,
        None => usize::try_from(len.saturating_sub(a.offset)).context("file too large")?,
    };
    let layout = Layout {
        size,
        redundant: a.redundant,
        big_endian: a.big_endian,
    };
    let place = Place {
        path: path.clone(),
        offset: a.offset,
        size,
        origin: "--image".into(),
    };
    Ok((vec![place], layout))
}

/// Size of a file or block device (by seeking to its end).
fn device_len(path: &Path) -> anyhow::Result<u64> {
    let mut f = File::open(path).with_context(|| path.display().to_string())?;
    f.seek(SeekFrom::End(0))
        .with_context(|| format!("{}: cannot find its size", path.display()))
}

fn place_of(d: &DeviceSpec, cfg: &Path) -> anyhow::Result<Place> {
    let origin = format!("{} line {}", cfg.display(), d.line);
    let s = d.path.to_string_lossy();
    if s.starts_with("/dev/mtd") || s.starts_with("/dev/ubi") {
        bail!(
            "{}: MTD/UBI devices need erase handling norrec does not do ({origin}); use a block device or file",
            d.path.display()
        );
    }
    let offset = if d.offset < 0 {
        let len = device_len(&d.path)?;
        len.checked_sub(d.offset.unsigned_abs()).with_context(|| {
            format!(
                "{}: offset {} reaches before the start of a {len:#x}-byte device ({origin})",
                d.path.display(),
                d.offset
            )
        })?
    } else {
        d.offset as u64
    };
    Ok(Place {
        path: d.path.clone(),
        offset,
        size: d.size,
        origin,
    })
}

/// Reads each copy's bytes, checking the device is large enough.
fn read_places(places: &[Place]) -> anyhow::Result<Vec<Vec<u8>>> {
    places
        .iter()
        .map(|p| {
            let len = device_len(&p.path)?;
            let end = p.offset + p.size as u64;
            if end > len {
                bail!(
                    "{}: device is {len:#x} bytes, too small for an environment of size {:#x} at offset {:#x} ({})",
                    p.path.display(),
                    p.size,
                    p.offset,
                    p.origin
                );
            }
            let mut f = File::open(&p.path).with_context(|| p.path.display().to_string())?;
            f.seek(SeekFrom::Start(p.offset))?;
            let mut buf = vec![0u8; p.size];
            f.read_exact(&mut buf)
                .with_context(|| format!("{}: read failed", p.path.display()))?;
            Ok(buf)
        })
        .collect()
}

/// The loaded environment: the selection and the variables (sorted, as libubootenv keeps them).
struct Loaded {
    sel: Selection,
    set: EnvSet,
    from_default: bool,
}

fn read_defenv(path: &Path) -> anyhow::Result<EnvSet> {
    let text = if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| path.display().to_string())?
    };
    let ops = env::parse_script(&text).with_context(|| path.display().to_string())?;
    let mut set = EnvSet::default();
    for op in ops {
        if let ScriptOp::Set(k, v) = op {
            set.set(&k, Some(&v))?;
        }
    }
    Ok(set)
}

fn load(
    places: &[Place],
    layout: Layout,
    bufs: &[Vec<u8>],
    defenv: Option<&Path>,
    ui: &Ui,
) -> anyhow::Result<Loaded> {
    let copies = bufs
        .iter()
        .zip(places)
        .map(|(b, p)| {
            EnvCopy::read(b, layout, p.offset).with_context(|| p.path.display().to_string())
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let sel = env::select(&copies);
    if !sel.valid {
        let Some(def) = defenv else {
            let err = copies[0].check_crc().unwrap_err();
            let more = if copies.len() == 2 {
                format!(
                    "; copy 2 ({} at {:#x}) is bad too",
                    places[1].path.display(),
                    places[1].offset
                )
            } else {
                String::new()
            };
            bail!(
                "{}: {err}{more} (give --defenv FILE to start from a default environment)",
                places[0].path.display()
            );
        };
        ui.warn(format!(
            "no environment copy has a good CRC; using the default environment {}",
            def.display()
        ));
        return Ok(Loaded {
            sel,
            set: read_defenv(def)?,
            from_default: true,
        });
    }
    let cur = sel.current;
    let vars = copies[cur]
        .vars()
        .with_context(|| places[cur].path.display().to_string())?;
    Ok(Loaded {
        sel,
        set: EnvSet::from_vars(vars),
        from_default: false,
    })
}

#[derive(Debug, Serialize)]
struct PrintJson {
    copy: usize,
    flags: Option<u8>,
    default_used: bool,
    variables: serde_json::Map<String, serde_json::Value>,
}

fn print(a: PrintArgs, ui: &Ui) -> anyhow::Result<()> {
    let (places, layout) = places(&a.access)?;
    let bufs = read_places(&places)?;
    let loaded = load(&places, layout, &bufs, a.defenv.as_deref(), ui)?;
    if a.no_header && a.names.len() != 1 {
        bail!("-n prints the value of exactly one variable");
    }
    let all = loaded.set.to_vars();
    let chosen: Vars = if a.names.is_empty() {
        all
    } else {
        a.names
            .iter()
            .filter_map(|n| loaded.set.get(n).map(|v| (n.clone(), v.to_owned())))
            .collect()
    };
    let missing: Vec<&str> = a
        .names
        .iter()
        .filter(|n| loaded.set.get(n).is_none())
        .map(String::as_str)
        .collect();
    let out = PrintJson {
        copy: loaded.sel.current + 1,
        flags: layout.redundant.then_some(loaded.sel.flags),
        default_used: loaded.from_default,
        variables: chosen
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    };
    ui.report(&out, || {
        // One write for the whole listing (stdout is line-buffered).
        let text = if a.no_header {
            chosen.iter().map(|(_, v)| format!("{v}\n")).collect()
        } else {
            env::to_text(&chosen)
        };
        print!("{text}");
    })?;
    if !missing.is_empty() {
        bail!("not set: {}", missing.join(", "));
    }
    Ok(())
}

fn set(a: SetArgs, ui: &Ui) -> anyhow::Result<()> {
    let (places, layout) = places(&a.access)?;
    // Everything that can fail on the input is checked before the device is touched.
    let ops: Vec<ScriptOp> = match (&a.script, &a.name) {
        (Some(path), _) => {
            let text = if path == Path::new("-") {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            } else {
                std::fs::read_to_string(path).with_context(|| path.display().to_string())?
            };
            env::parse_script(&text).with_context(|| path.display().to_string())?
        }
        (None, Some(name)) => vec![match &a.value {
            Some(v) => ScriptOp::Set(name.clone(), v.clone()),
            None => ScriptOp::Delete(name.clone()),
        }],
        (None, None) => bail!("name a variable or give --script"),
    };
    let bufs = read_places(&places)?;
    let mut loaded = load(&places, layout, &bufs, a.defenv.as_deref(), ui)?;
    let before = loaded.set.clone();
    for op in &ops {
        match op {
            ScriptOp::Set(k, v) => loaded.set.set(k, Some(v))?,
            ScriptOp::Delete(k) => loaded.set.set(k, None)?,
        }
    }
    #[derive(Serialize)]
    struct Out<'a> {
        written: bool,
        device: &'a Path,
        offset: u64,
        copy: usize,
        flags: Option<u8>,
        variables: usize,
    }
    if loaded.set == before && !loaded.from_default {
        let p = &places[loaded.sel.current];
        let out = Out {
            written: false,
            device: &p.path,
            offset: p.offset,
            copy: loaded.sel.current + 1,
            flags: layout.redundant.then_some(loaded.sel.flags),
            variables: loaded.set.len(),
        };
        return ui.report(&out, || {
            ui.note("nothing changed; environment not rewritten")
        });
    }
    let (target, flags) = loaded.sel.next();
    let target = target.min(places.len() - 1);
    let image = env::encode(&loaded.set.to_vars(), layout, 0, flags)
        .with_context(|| places[target].path.display().to_string())?;
    let p = &places[target];
    let mut f = OpenOptions::new()
        .write(true)
        .open(&p.path)
        .with_context(|| format!("{}: cannot open for writing", p.path.display()))?;
    f.seek(SeekFrom::Start(p.offset))?;
    f.write_all(&image)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("{}: write failed", p.path.display()))?;
    let out = Out {
        written: true,
        device: &p.path,
        offset: p.offset,
        copy: target + 1,
        flags: layout.redundant.then_some(flags),
        variables: loaded.set.len(),
    };
    ui.report(&out, || {
        ui.note(format!(
            "{}: wrote copy {} at {:#x}{} ({} variables)",
            p.path.display(),
            target + 1,
            p.offset,
            if layout.redundant {
                format!(", flag {flags}")
            } else {
                String::new()
            },
            loaded.set.len()
        ))
    })
}

fn extract(a: ExtractArgs, ui: &Ui) -> anyhow::Result<()> {
    let ctx = || a.binary.display().to_string();
    let bin = std::fs::read(&a.binary).with_context(ctx)?;
    let found = env::find_default_env(&bin, a.min_vars).with_context(ctx)?;
    let mut vars = found.vars.clone();
    if !a.keep_order {
        vars.sort_by(|x, y| x.0.cmp(&y.0)); // stable, like `sort -t = -k 1,1 -s`
    }
    let text = env::to_text(&vars);
    ui.note(format!(
        "{}: default environment at {:#x}, {} bytes, {} variables",
        a.binary.display(),
        found.offset,
        found.len,
        vars.len()
    ));
    if let Some(out) = &a.output {
        write_atomic(out, text.as_bytes())?;
    }
    #[derive(Serialize)]
    struct Out {
        offset: usize,
        len: usize,
        variables: Vec<(String, String)>,
    }
    let out = Out {
        offset: found.offset,
        len: found.len,
        variables: vars,
    };
    if a.output.is_some() && !ui.json {
        return Ok(());
    }
    ui.report(&out, || print!("{text}"))
}
