//! `norrec flash`: SPI NOR flash images. `create` and `inspect` work on the image file directly;
//! `write` and `read` go through the SPI NOR model byte by byte, as U-Boot's `sf` would on the
//! board, so NOR rules (program only clears bits, erase by sector) hold for the file too.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use norrec_nor::chips::{self, Chip};
use norrec_nor::device::SpiNor;
use norrec_nor::host::SpiFlash;
use norrec_nor::image::{self, Placement};
use norrec_nor::storage::FileStorage;
use serde::Serialize;

use crate::num::{FileAt, parse_file_at, parse_size};
use crate::output::AtomicFile;
use crate::ui::Ui;

/// SPI NOR flash images.
#[derive(Debug, clap::Subcommand)]
pub enum FlashCmd {
    /// Create an erased (all 0xff) flash image, optionally with payloads placed at offsets.
    ///
    /// Replaces the seed's `dd if=/dev/zero ibs=1 count=$((16*1024*1024)) | tr '\000' '\377'`
    /// followed by `dd if=fitImage of=flash.bin conv=notrunc`. The layout is checked before
    /// anything is written; the output appears whole or not at all.
    #[command(
        after_help = "Examples:\n  norrec flash create -o flash.bin   (the board's chip)\n  norrec flash create --chip is25wp128 --place fitImage@0 --place boot.scr@0xf00000 -o flash.bin\n  norrec flash create --size 16M -o flash.bin"
    )]
    Create(CreateArgs),
    /// Program payloads into an existing flash image through the SPI NOR model.
    ///
    /// Programming can only clear bits: bytes that are not erased where a payload goes make the
    /// command refuse before anything is written, unless --erase, which erases the covering
    /// sectors first and keeps the bytes of those sectors outside the payloads (like `sf update`).
    #[command(
        after_help = "Examples:\n  norrec flash write flash.bin fitImage@0\n  norrec flash write flash.bin newFit@0 --erase"
    )]
    Write(WriteArgs),
    /// Read bytes out of a flash image through the SPI NOR model (like `sf read`).
    #[command(
        after_help = "Examples:\n  norrec flash read flash.bin --offset 0 --length 0x40 -o header.bin\n  norrec flash read flash.bin -o whole-copy.bin"
    )]
    Read(ReadArgs),
    /// List what a flash image holds: FIT/FDT and legacy images with their header sizes, erased
    /// runs and other data; warns when a header's size runs past the flash or a FIT keeps data
    /// outside its `totalsize`.
    #[command(
        after_help = "Examples:\n  norrec flash inspect flash.bin\n  norrec flash inspect flash.bin --json"
    )]
    Inspect(InspectArgs),
    /// List the SPI NOR chips norrec knows (JEDEC id, size, page and erase sizes).
    #[command(after_help = "Examples:\n  norrec flash chips\n  norrec flash chips --json")]
    Chips,
}

/// The flash's geometry, from a chip name or a size (default: the board's chip).
#[derive(Debug, clap::Args)]
pub struct ChipArgs {
    /// The flash chip (see `norrec flash chips`), e.g. is25wp128; default: the board manifest's.
    #[arg(long, conflicts_with = "size")]
    chip: Option<String>,
    /// The flash size when no chip is named, e.g. 16M or 0x1000000.
    #[arg(long, value_parser = parse_size)]
    size: Option<u64>,
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    chip: ChipArgs,
    /// Place FILE at OFFSET (repeatable), e.g. fitImage@0 or boot.scr@0xf00000.
    #[arg(long = "place", value_name = "FILE@OFFSET", value_parser = parse_file_at)]
    place: Vec<FileAt>,
    /// The image to write.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct WriteArgs {
    /// The flash image to program (its size must be the chip's).
    flash: PathBuf,
    /// What to program where, e.g. fitImage@0 (repeatable).
    #[arg(required = true, value_name = "FILE@OFFSET", value_parser = parse_file_at)]
    payloads: Vec<FileAt>,
    /// Erase the sectors the payloads cover first (keeping their other bytes).
    #[arg(long)]
    erase: bool,
    /// The flash chip; by default the one whose size matches the file.
    #[arg(long)]
    chip: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    /// The flash image to read.
    flash: PathBuf,
    /// Where to start reading.
    #[arg(long, default_value = "0", value_parser = parse_size)]
    offset: u64,
    /// How many bytes (default: to the end of the flash).
    #[arg(long, value_parser = parse_size)]
    length: Option<u64>,
    /// The file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// The flash chip; by default the one whose size matches the file.
    #[arg(long)]
    chip: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The flash image to inspect.
    flash: PathBuf,
    /// The flash chip; by default the one whose size matches the file.
    #[arg(long)]
    chip: Option<String>,
}

pub fn run(cmd: FlashCmd, ui: &Ui) -> anyhow::Result<()> {
    match cmd {
        FlashCmd::Create(a) => create(a, ui),
        FlashCmd::Write(a) => write(a, ui),
        FlashCmd::Read(a) => read(a, ui),
        FlashCmd::Inspect(a) => inspect(a, ui),
        FlashCmd::Chips => list_chips(ui),
    }
}

fn find_chip(name: &str) -> anyhow::Result<&'static Chip> {
    chips::find(name).ok_or_else(|| norrec_nor::Error::UnknownChip(name.to_owned()).into())
}

/// The chip for an existing image: the named one (whose size must match), else the board's chip
/// when the size is its size, else the first chip of the image's size.
fn chip_for_file(
    path: &Path,
    len: u64,
    name: Option<&str>,
    ui: &Ui,
) -> anyhow::Result<&'static Chip> {
    let chip = match name {
        Some(n) => find_chip(n)?,
        None => {
            let board_chip = find_chip(&ui.board()?.flash.chip)?;
            if board_chip.size == len {
                board_chip
            } else {
                *chips::by_size(len)
                    .first()
                    .ok_or(norrec_nor::Error::NoChipOfSize(len))
                    .with_context(|| path.display().to_string())?
            }
        }
    };
    if chip.size != len {
        bail!(
            "{}: file is {len:#x} bytes but {} is {:#x} bytes",
            path.display(),
            chip.name,
            chip.size
        );
    }
    Ok(chip)
}

#[derive(Debug, Serialize)]
struct PlacedJson {
    file: PathBuf,
    offset: u64,
    length: u64,
}

#[derive(Debug, Serialize)]
struct CreateJson<'a> {
    output: &'a Path,
    size: u64,
    chip: Option<&'static str>,
    placed: Vec<PlacedJson>,
}

fn placements(files: &[FileAt]) -> anyhow::Result<Vec<Placement>> {
    files
        .iter()
        .map(|f| {
            let len = std::fs::metadata(&f.path)
                .with_context(|| format!("{}: cannot read payload", f.path.display()))?
                .len();
            Ok(Placement {
                name: f.path.display().to_string(),
                offset: f.offset,
                len,
            })
        })
        .collect()
}

fn create(a: CreateArgs, ui: &Ui) -> anyhow::Result<()> {
    let chip = match (&a.chip.chip, a.chip.size) {
        (Some(name), _) => Some(find_chip(name)?),
        (None, None) => Some(find_chip(&ui.board()?.flash.chip)?),
        (None, Some(_)) => None,
    };
    let size = match (chip, a.chip.size) {
        (Some(c), _) => c.size,
        (None, Some(s)) if s > 0 => s,
        _ => bail!("--size: a flash of 0 bytes"),
    };
    let layout = placements(&a.place)?;
    image::check_layout(size, &layout).with_context(|| a.output.display().to_string())?;
    let mut payloads: Vec<(Placement, Box<dyn Read>)> = Vec::new();
    for (p, f) in layout.iter().zip(&a.place) {
        let file = File::open(&f.path)
            .with_context(|| format!("{}: cannot open payload", f.path.display()))?;
        payloads.push((p.clone(), Box::new(file)));
    }
    let mut out = AtomicFile::create(&a.output)?;
    image::assemble(&mut out, size, payloads).with_context(|| a.output.display().to_string())?;
    out.commit()?;
    let report = CreateJson {
        output: &a.output,
        size,
        chip: chip.map(|c| c.name),
        placed: layout
            .iter()
            .zip(&a.place)
            .map(|(p, f)| PlacedJson {
                file: f.path.clone(),
                offset: p.offset,
                length: p.len,
            })
            .collect(),
    };
    ui.report(&report, || {
        let what = chip.map_or(String::new(), |c| format!(" ({})", c.name));
        println!("{}: {} erased{what}", a.output.display(), human(size));
        for p in &layout {
            println!(
                "  {:#010x}..{:#010x}  {}",
                p.offset,
                p.offset + p.len,
                p.name
            );
        }
    })
}

/// Opens `path` as a flash behind the SPI NOR model and probes it like `sf probe`.
fn probe(
    path: &Path,
    chip: Option<&str>,
    ui: &Ui,
) -> anyhow::Result<SpiFlash<SpiNor<FileStorage>>> {
    let storage = FileStorage::open(path)?;
    let len = norrec_nor::storage::Storage::len(&storage);
    let chip = chip_for_file(path, len, chip, ui)?;
    let dev = SpiNor::new(chip, storage).with_context(|| path.display().to_string())?;
    let flash = SpiFlash::probe(dev).with_context(|| format!("{}: sf probe", path.display()))?;
    ui.debug(flash.detected());
    Ok(flash)
}

/// Chunk size for streaming payloads through the model.
const CHUNK: usize = 64 * 1024;

fn write(a: WriteArgs, ui: &Ui) -> anyhow::Result<()> {
    let mut flash = probe(&a.flash, a.chip.as_deref(), ui)?;
    let size = flash.chip().size;
    let layout = placements(&a.payloads)?;
    image::check_layout(size, &layout).with_context(|| a.flash.display().to_string())?;
    let total: u64 = layout.iter().map(|p| p.len).sum();

    // Verify first: without --erase, every target byte must already allow the program.
    if !a.erase {
        for (p, f) in layout.iter().zip(&a.payloads) {
            for_each_chunk(&f.path, p.offset, |off, data| {
                let mut have = vec![0u8; data.len()];
                flash.read(off, &mut have)?;
                if let Some(i) = (0..data.len()).find(|&i| have[i] & data[i] != data[i]) {
                    return Err(norrec_nor::Error::NotErased {
                        offset: off + i as u64,
                        have: have[i],
                        want: data[i],
                    })
                    .with_context(|| format!("{}: {}", a.flash.display(), f.path.display()));
                }
                Ok(())
            })?;
        }
    }

    // Keep the file as it was until every program and erase is done, then write it once.
    flash.bus_mut().storage_mut().set_write_through(false);
    let bar = ui.progress(total, "writing");
    for f in &a.payloads {
        if a.erase {
            for_each_chunk(&f.path, f.offset, |off, data| {
                flash.update(off, data)?;
                bar.inc(data.len() as u64);
                Ok(())
            })?;
        } else {
            for_each_chunk(&f.path, f.offset, |off, data| {
                flash.write(off, data)?;
                bar.inc(data.len() as u64);
                Ok(())
            })?;
        }
    }
    // A regular file is replaced whole (temp file + rename): a crash leaves the old image or the
    // new one, never a half-written mix. A device gets the changed range written in place.
    let is_file = std::fs::metadata(&a.flash).is_ok_and(|m| m.is_file());
    if is_file {
        let mut out = AtomicFile::create(&a.flash)?;
        out.write_all(norrec_nor::storage::Storage::as_slice(
            flash.bus_mut().storage_mut(),
        ))
        .with_context(|| format!("{}: write failed", a.flash.display()))?;
        out.commit()?;
        flash.bus_mut().storage_mut().mark_clean();
    } else {
        flash
            .bus_mut()
            .storage_mut()
            .sync()
            .with_context(|| a.flash.display().to_string())?;
    }
    bar.finish_and_clear();
    let report = CreateJson {
        output: &a.flash,
        size,
        chip: Some(flash.chip().name),
        placed: layout
            .iter()
            .zip(&a.payloads)
            .map(|(p, f)| PlacedJson {
                file: f.path.clone(),
                offset: p.offset,
                length: p.len,
            })
            .collect(),
    };
    ui.report(&report, || {
        for p in &layout {
            println!(
                "{}: wrote {} at {:#x} ({})",
                a.flash.display(),
                p.name,
                p.offset,
                human(p.len)
            );
        }
    })
}

/// Streams `path` in chunks, calling `f(flash_offset, bytes)`; the chunks follow sector-sized
/// steps from `offset` so an erase-and-program never needs more than one sector in memory.
fn for_each_chunk(
    path: &Path,
    offset: u64,
    mut f: impl FnMut(u64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut file =
        File::open(path).with_context(|| format!("{}: cannot open payload", path.display()))?;
    let mut buf = vec![0u8; CHUNK];
    let mut off = offset;
    loop {
        // align chunk ends to CHUNK boundaries of the flash
        let want = CHUNK - (off % CHUNK as u64) as usize;
        let n = read_full(&mut file, &mut buf[..want])
            .with_context(|| format!("{}: read failed", path.display()))?;
        if n == 0 {
            return Ok(());
        }
        f(off, &buf[..n])?;
        off += n as u64;
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[derive(Debug, Serialize)]
struct ReadJson<'a> {
    flash: &'a Path,
    output: &'a Path,
    offset: u64,
    length: u64,
}

fn read(a: ReadArgs, ui: &Ui) -> anyhow::Result<()> {
    let mut flash = probe(&a.flash, a.chip.as_deref(), ui)?;
    let size = flash.chip().size;
    let length = a.length.unwrap_or(size.saturating_sub(a.offset));
    if a.offset.checked_add(length).is_none_or(|e| e > size) {
        return Err(norrec_nor::Error::OutOfRange {
            offset: a.offset,
            len: length,
            size,
        })
        .with_context(|| a.flash.display().to_string());
    }
    let mut out = AtomicFile::create(&a.output)?;
    let bar = ui.progress(length, "reading");
    let mut buf = vec![0u8; CHUNK];
    let mut pos = a.offset;
    while pos < a.offset + length {
        let n = (a.offset + length - pos).min(CHUNK as u64) as usize;
        flash.read(pos, &mut buf[..n])?;
        std::io::Write::write_all(&mut out, &buf[..n])
            .with_context(|| format!("{}: write failed", a.output.display()))?;
        pos += n as u64;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    out.commit()?;
    let report = ReadJson {
        flash: &a.flash,
        output: &a.output,
        offset: a.offset,
        length,
    };
    ui.report(&report, || {
        println!(
            "SF: {length} bytes @ {:#x} Read: OK → {}",
            a.offset,
            a.output.display()
        );
    })
}

#[derive(Debug, Serialize)]
struct RegionJson {
    offset: u64,
    length: u64,
    kind: &'static str,
    header_size: Option<u64>,
    load_size: Option<u64>,
    name: Option<String>,
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
struct InspectJson<'a> {
    flash: &'a Path,
    size: u64,
    chip: &'static str,
    regions: Vec<RegionJson>,
}

fn inspect(a: InspectArgs, ui: &Ui) -> anyhow::Result<()> {
    let data =
        std::fs::read(&a.flash).with_context(|| format!("{}: cannot read", a.flash.display()))?;
    let size = data.len() as u64;
    let chip = chip_for_file(&a.flash, size, a.chip.as_deref(), ui)?;
    let regions = image::scan_with(&data, crate::cmd::classify_fdt);
    for r in &regions {
        for w in &r.warnings {
            ui.warn(format_args!("{}: {:#x}: {w}", a.flash.display(), r.offset));
        }
    }
    let report = InspectJson {
        flash: &a.flash,
        size,
        chip: chip.name,
        regions: regions
            .iter()
            .map(|r| RegionJson {
                offset: r.offset,
                length: r.length,
                kind: r.kind.as_str(),
                header_size: r.header_size,
                load_size: r.load_size,
                name: r.name.clone(),
                warnings: r.warnings.clone(),
            })
            .collect(),
    };
    ui.report(&report, || {
        println!("{}: {} ({})", a.flash.display(), human(size), chip.name);
        println!(
            "{:<12} {:<12} {:<7} {:<12} name",
            "offset", "length", "kind", "load size"
        );
        for r in &regions {
            println!(
                "{:#010x}   {:#010x}   {:<7} {:<12} {}",
                r.offset,
                r.length,
                r.kind.as_str(),
                r.load_size.map_or(String::new(), |s| format!("{s:#x}")),
                r.name.as_deref().unwrap_or("")
            );
        }
    })
}

#[derive(Debug, Serialize)]
struct ChipJson {
    name: &'static str,
    vendor: &'static str,
    jedec_id: String,
    size: u64,
    page_size: u32,
    erase_sizes: Vec<u32>,
    four_byte_addressing: bool,
}

fn list_chips(ui: &Ui) -> anyhow::Result<()> {
    let rows: Vec<ChipJson> = chips::CHIPS
        .iter()
        .map(|c| ChipJson {
            name: c.name,
            vendor: c.vendor,
            jedec_id: hex_id(&c.jedec),
            size: c.size,
            page_size: c.page_size,
            erase_sizes: c.erase_sizes.to_vec(),
            four_byte_addressing: c.addr4,
        })
        .collect();
    ui.report(&rows, || {
        println!(
            "{:<16} {:<12} {:<10} {:>8} {:>5}  {:<14} 4-byte",
            "chip", "vendor", "jedec id", "size", "page", "erase"
        );
        for c in &rows {
            let erase: Vec<String> = c.erase_sizes.iter().map(|&e| human(u64::from(e))).collect();
            println!(
                "{:<16} {:<12} {:<10} {:>8} {:>5}  {:<14} {}",
                c.name,
                c.vendor,
                c.jedec_id,
                human(c.size),
                c.page_size,
                erase.join(","),
                if c.four_byte_addressing { "yes" } else { "no" }
            );
        }
    })
}

fn hex_id(id: &[u8]) -> String {
    id.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `16 MiB`, `4 KiB`, `523 B`: exact binary units where they divide, else bytes.
pub fn human(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if n >= unit && n % unit == 0 {
            return format!("{} {name}", n / unit);
        }
    }
    format!("{n} B")
}
