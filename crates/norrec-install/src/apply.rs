//! The streaming install: the bundle is read once, front to back.
//!
//! 1. `sw-description` and its signature are read and checked, then the selection and the
//!    hardware revision ([`norrec_swu::SwuReader::open`]); then [`crate::plan::plan`] checks
//!    every handler, device, size and FAT. Nothing has been written yet.
//! 2. Each artifact, as the cpio brings it:
//!    - stored in at most [`Options::verify_first`] bytes (an SPL, a boot script): read into
//!      memory, its sha256 checked, and only then written — a bad one never touches the target;
//!    - larger (a rootfs): decompressed and written as it streams, its sha256 known only at its
//!      end. On a mismatch (or a broken stream) the bytes already written are discarded — the
//!      range reads as zeros (holes in an image file) — and the install fails with
//!      [`Error::WrittenInvalid`]: the target partition, being recovered anyway, is left
//!      plainly invalid rather than holding an image that looks right.
//!
//!    `files` held in memory are written after the last image, as SWUpdate installs files after
//!    images. Zero runs in raw images become holes in image files ([`norrec_disk::ImageFile`]).
//! 3. The `bootenv` variables, computed in step 1, are written last, only when everything
//!    before succeeded.

use std::io::Read;

use norrec_disk::{BlockDevice, Window, fat};
use norrec_swu::hash::decoder;
use norrec_swu::{Compression, SwuReader};
use serde::Serialize;

use crate::devmap::{Device, DeviceMap};
use crate::error::{Error, Result};
use crate::plan::{Action, EnvTarget, Options, Plan, Step, plan};
use crate::toc::Toc;

/// Bytes per write.
const CHUNK: usize = 1 << 20;

/// What one artifact did.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub file: String,
    pub origin: String,
    pub handler: &'static str,
    pub device: String,
    /// Byte offset for raw, the FAT path for rawfile.
    pub place: String,
    /// Bytes in the bundle.
    pub stored: u64,
    /// Bytes written to the target.
    pub written: u64,
    pub sha256: String,
    /// Whether the sha256 was checked before the first byte was written.
    pub verified_before_write: bool,
}

/// What an install did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: Option<String>,
    pub signature_checked: bool,
    pub steps: Vec<StepReport>,
    pub env: Option<crate::plan::EnvPlan>,
}

/// Installs the bundle read from `input`. `toc` (the bundle's table of contents and its file)
/// lets sizes and presence be checked before the first write; without it (a pipe) they are
/// checked as the stream goes.
pub fn install<R: Read>(
    input: R,
    toc: Option<(&Toc, &std::fs::File)>,
    map: &DeviceMap,
    opts: &Options,
) -> Result<Report> {
    let (mut bundle, d) = SwuReader::open(input, opts.trust.as_ref(), &opts.selection)?;
    let plan = plan(&d, map, toc, opts)?;
    let mut report = Report {
        version: d.version.clone(),
        signature_checked: opts.trust.is_some(),
        steps: Vec::new(),
        env: None,
    };
    let mut deferred: Vec<(Vec<usize>, Vec<u8>, String)> = Vec::new();
    while let Some(mut entry) = bundle.next_entry()? {
        let uses: Vec<usize> = plan
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.file == entry.name)
            .map(|(i, _)| i)
            .collect();
        if uses.is_empty() {
            entry.finish()?; // another selection's file: its hash and cpio sum still checked
            continue;
        }
        let stored = entry.size;
        if stored <= opts.verify_first || uses.len() > 1 {
            if stored > opts.verify_first.max(64 << 20) {
                let s = &plan.steps[uses[0]];
                return Err(Error::Unsupported {
                    field: format!("{}.filename", s.origin),
                    file: s.file.clone(),
                    msg: format!(
                        "listed {} times and {stored} bytes: too large to hold for more than one target",
                        uses.len()
                    ),
                });
            }
            let mut data = Vec::with_capacity(stored as usize);
            entry
                .read_to_end(&mut data)
                .map_err(|e| Error::Swu(norrec_swu::Error::from_io(e)))?;
            let sha256 = entry.finish()?;
            let (files, images): (Vec<usize>, Vec<usize>) = uses
                .into_iter()
                .partition(|&i| plan.steps[i].section == "files");
            for i in images {
                report
                    .steps
                    .push(apply_buffered(&plan.steps[i], &data, &sha256)?);
            }
            if !files.is_empty() {
                deferred.push((files, data, sha256));
            }
        } else {
            report
                .steps
                .push(apply_streamed(&plan.steps[uses[0]], entry)?);
        }
    }
    bundle.finish()?;
    for (uses, data, sha256) in &deferred {
        for &i in uses {
            report
                .steps
                .push(apply_buffered(&plan.steps[i], data, sha256)?);
        }
    }
    if let Some(env) = &plan.env {
        write_env(&plan, map, env)?;
        report.env = Some(env.clone());
    }
    Ok(report)
}

fn step_report(s: &Step, stored: u64, written: u64, sha256: String, first: bool) -> StepReport {
    let (handler, place) = match &s.action {
        Action::Raw { offset } => ("raw", offset.to_string()),
        Action::Rawfile { path, .. } => ("rawfile", path.clone()),
    };
    StepReport {
        file: s.file.clone(),
        origin: s.origin.clone(),
        handler,
        device: s.target.name.clone(),
        place,
        stored,
        written,
        sha256,
        verified_before_write: first,
    }
}

/// Copies `r` into `dev` from `offset`; returns the bytes written and how it ended. A piece
/// that would pass the end of the device is refused before it is written.
fn stream_into(r: &mut dyn Read, dev: &mut dyn BlockDevice, offset: u64) -> (u64, Result<()>) {
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match r.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return (done, Err(Error::Swu(norrec_swu::Error::from_io(e)))),
            }
        }
        if filled == 0 {
            return (done, Ok(()));
        }
        let at = offset + done;
        if at
            .checked_add(filled as u64)
            .is_none_or(|end| end > dev.len())
        {
            return (
                done,
                Err(Error::io(
                    format!(
                        "the data goes on past the end of the {}-byte device (at byte {})",
                        dev.len(),
                        at
                    ),
                    std::io::Error::from(std::io::ErrorKind::WriteZero),
                )),
            );
        }
        if let Err(e) = dev.write_at(at, &buf[..filled]) {
            return (done, Err(e.into()));
        }
        done += filled as u64;
    }
}

/// After a failure with `written` bytes on the target: discard them and say so.
fn invalidate(s: &Step, dev: &mut dyn BlockDevice, offset: u64, written: u64, why: Error) -> Error {
    if written == 0 {
        return Error::Stream {
            file: s.file.clone(),
            field: s.origin.clone(),
            device: s.target.name.clone(),
            why: why.to_string(),
        };
    }
    let mut why = why.to_string();
    if let Err(e) = dev.zero_range(offset, written).and_then(|()| dev.flush()) {
        why = format!("{why} (and discarding failed: {e})");
    }
    Error::WrittenInvalid {
        file: s.file.clone(),
        field: s.origin.clone(),
        device: s.target.name.clone(),
        offset,
        written,
        why,
    }
}

fn open_decoder<'a>(s: &Step, c: Compression, r: impl Read + 'a) -> Result<Box<dyn Read + 'a>> {
    decoder(c, r).map_err(|e| Error::Stream {
        file: s.file.clone(),
        field: s.origin.clone(),
        device: s.target.name.clone(),
        why: e.to_string(),
    })
}

/// Writes an artifact already in memory and verified.
fn apply_buffered(s: &Step, data: &[u8], sha256: &str) -> Result<StepReport> {
    let mut win = s.target.open()?;
    let written = match &s.action {
        Action::Raw { offset } => {
            let mut r = open_decoder(s, s.compressed, data)?;
            let (n, res) = stream_into(&mut *r, &mut win, *offset);
            if let Err(e) = res {
                return Err(invalidate(s, &mut win, *offset, n, e));
            }
            win.flush()?;
            n
        }
        Action::Rawfile {
            path,
            create_destination,
        } => {
            let mut r = open_decoder(s, s.compressed, data)?;
            fat::with_fs(win, |fs| {
                if *create_destination {
                    make_parents(fs, path)?;
                }
                fat::fs::write_file(fs, path, &mut *r, fat::DosDateTime::now())
            })
            .map_err(|e| Error::Stream {
                file: s.file.clone(),
                field: s.origin.clone(),
                device: s.target.name.clone(),
                why: format!("vfat {path}: {e}"),
            })?
        }
    };
    Ok(step_report(
        s,
        data.len() as u64,
        written,
        sha256.to_owned(),
        true,
    ))
}

fn make_parents<D: BlockDevice>(fs: &fat::fs::Fs<'_, D>, path: &str) -> norrec_disk::Result<()> {
    let parts = fat::fs::components(path)?;
    if parts.len() > 1 {
        fat::fs::mkdir_p(fs, &parts[..parts.len() - 1].join("/"))?;
    }
    Ok(())
}

/// Streams a large artifact straight to its target; its sha256 is checked at its end.
fn apply_streamed<R: Read>(s: &Step, mut entry: norrec_swu::Entry<'_, R>) -> Result<StepReport> {
    let stored = entry.size;
    let mut win: Window<Device> = s.target.open()?;
    match &s.action {
        Action::Raw { offset } => {
            let (n, res) = {
                let mut r = open_decoder(s, s.compressed, &mut entry)?;
                stream_into(&mut *r, &mut win, *offset)
            };
            let sha = res.and_then(|()| entry.finish().map_err(Error::from));
            match sha {
                Ok(sha) => {
                    win.flush()?;
                    Ok(step_report(s, stored, n, sha, false))
                }
                Err(e) => Err(invalidate(s, &mut win, *offset, n, e)),
            }
        }
        Action::Rawfile {
            path,
            create_destination,
        } => {
            let outcome = fat::with_fs(win, move |fs| {
                if *create_destination {
                    make_parents(fs, path)?;
                }
                let written = {
                    let mut r = match decoder(s.compressed, &mut entry) {
                        Ok(r) => r,
                        Err(e) => return Ok(Err((0, Error::Swu(e)))),
                    };
                    fat::fs::write_file(fs, path, &mut *r, fat::DosDateTime::now())
                };
                let written = match written {
                    Ok(n) => n,
                    Err(e) => return Ok(Err((0, e.into()))),
                };
                match entry.finish() {
                    Ok(sha) => Ok(Ok((written, sha))),
                    Err(e) => {
                        // written, then found bad: the file goes again
                        let parts = fat::fs::components(path)?;
                        let _ = fs.root_dir().remove(&parts.join("/"));
                        Ok(Err((written, e.into())))
                    }
                }
            })?;
            match outcome {
                Ok((n, sha)) => Ok(step_report(s, stored, n, sha, false)),
                Err((0, e)) => Err(Error::Stream {
                    file: s.file.clone(),
                    field: s.origin.clone(),
                    device: s.target.name.clone(),
                    why: format!("vfat {path}: {e}"),
                }),
                Err((n, e)) => Err(Error::WrittenInvalid {
                    file: s.file.clone(),
                    field: s.origin.clone(),
                    device: format!("{} (vfat {path})", s.target.name),
                    offset: 0,
                    written: n,
                    why: format!("{e}; the file was removed"),
                }),
            }
        }
    }
}

/// Writes the planned environment: into its FAT file, or beside the image file then renamed.
fn write_env(_plan: &Plan, map: &DeviceMap, env: &crate::plan::EnvPlan) -> Result<()> {
    match &env.target {
        EnvTarget::Fat { device, path, .. } => {
            let t = map.get(device).ok_or_else(|| Error::NotInMap {
                field: "bootenv".into(),
                device: device.clone(),
                file: path.clone(),
                known: map.names(),
            })?;
            let win = t.open()?;
            fat::with_fs(win, |fs| {
                fat::fs::write_file(fs, path, &mut &env.bytes[..], fat::DosDateTime::now())
            })?;
        }
        EnvTarget::File { path, .. } => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => std::path::Path::new("."),
            };
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .map_err(|e| Error::io(format!("cannot write beside {}", path.display()), e))?;
            std::io::Write::write_all(&mut tmp, &env.bytes)
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
            tmp.persist(path)
                .map_err(|e| Error::io(format!("cannot replace {}", path.display()), e.error))?;
        }
    }
    Ok(())
}
