//! Everything decided before the first write: each artifact's handler, device and place, whether
//! it fits, the FAT it goes into, and the final bytes of the U-Boot environment.
//!
//! SWUpdate's order is kept: `images`, then `files`, then the `bootenv` variables (SWUpdate sets
//! them after every image is installed). `scripts` and `partitions` are refused up front:
//! norrec runs no scripts, and partitioning is `norrec disk partition`'s job (the agent does it
//! before installing).

use std::fs::File;
use std::path::PathBuf;

use norrec_disk::fat;
use norrec_swu::{Compression, Description};
use norrec_uboot::env::{self, EnvCopy, EnvSet, Layout, Vars};
use serde::Serialize;

use crate::devmap::{DeviceMap, Target};
use crate::error::{Error, Result};
use crate::toc::{self, Toc};

/// The handlers norrec implements, for messages.
pub const KNOWN: &str =
    "images/files: raw (device, offset), rawfile into vfat (device, filesystem = \"vfat\", path)";

/// Where the `bootenv` variables go.
#[derive(Debug, Clone)]
pub enum EnvTarget {
    /// A file (`uboot.env`) in the FAT on a device of the map (the board's boot partition).
    Fat {
        device: String,
        path: String,
        layout: Layout,
    },
    /// A standalone environment image file (created if missing; replaced atomically).
    File { path: PathBuf, layout: Layout },
}

impl EnvTarget {
    /// `/dev/mmcblk0p1:/uboot.env` or the file's path.
    pub fn describe(&self) -> String {
        match self {
            EnvTarget::Fat { device, path, .. } => format!("{device}:{path}"),
            EnvTarget::File { path, .. } => path.display().to_string(),
        }
    }
}

/// What an installation is given besides the bundle and the device map.
#[derive(Debug, Clone)]
pub struct Options {
    /// Checked against `sw-description.sig` before anything else; `None` installs unsigned.
    pub trust: Option<norrec_swu::sign::Trust>,
    /// Board, hardware revision (`-H`), set and mode (`-e`).
    pub selection: norrec_swu::Selection,
    /// Where `bootenv` variables go (needed only when the bundle sets some).
    pub env: Option<EnvTarget>,
    /// The environment to start from when the target holds no valid one (U-Boot replaces its
    /// whole default environment with a loaded one, so this should be the board's default).
    pub env_default: Option<Vars>,
    /// Artifacts stored in at most this many bytes are read into memory and their sha256 checked
    /// before a byte is written; larger ones stream (written, then checked).
    pub verify_first: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            trust: None,
            selection: Default::default(),
            env: None,
            env_default: None,
            verify_first: 8 << 20,
        }
    }
}

/// How one artifact is written.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "handler", rename_all = "lowercase")]
pub enum Action {
    /// Bytes at `offset` of the device.
    Raw { offset: u64 },
    /// A file in the FAT on the device.
    Rawfile {
        path: String,
        create_destination: bool,
    },
}

/// One artifact's installation.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `images` or `files`.
    pub section: &'static str,
    /// Where sw-description lists it.
    pub origin: String,
    pub file: String,
    pub compressed: Compression,
    pub target: Target,
    #[serde(flatten)]
    pub action: Action,
    /// Fewest bytes it writes, when the bundle tells before streaming.
    pub min_size: Option<u64>,
}

/// The environment to write at the end.
#[derive(Debug, Clone, Serialize)]
pub struct EnvPlan {
    #[serde(skip)]
    pub target: EnvTarget,
    /// `target` as text.
    pub written_to: String,
    /// `existing` (a valid environment was there), `default` (`env_default`) or `empty`.
    pub base: &'static str,
    /// Variables set (`value` empty: removed, as SWUpdate does).
    pub vars: Vec<(String, String)>,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// Everything the install will do, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub env: Option<EnvPlan>,
}

fn unsupported(field: String, file: &str, msg: impl Into<String>) -> Error {
    Error::Unsupported {
        field,
        file: file.into(),
        msg: msg.into(),
    }
}

/// Checks `d` against the map and the bundle's table of contents (when the bundle is a file)
/// and decides every write. Nothing is written.
pub fn plan(
    d: &Description,
    map: &DeviceMap,
    toc: Option<(&Toc, &File)>,
    opts: &Options,
) -> Result<Plan> {
    let mut steps = Vec::new();
    for (section, list) in [("images", &d.images), ("files", &d.files)] {
        for a in list {
            let o = &a.origin;
            let handler = a.handler.as_deref().unwrap_or("");
            let action = match handler {
                "raw" => Action::Raw { offset: a.offset },
                "rawfile" => {
                    if a.device.is_none() {
                        return Err(unsupported(
                            format!("{o}.device"),
                            &a.filename,
                            "missing: rawfile into the running system's file system is not \
                             done on a device map; give device and filesystem = \"vfat\"",
                        ));
                    }
                    match a.filesystem.as_deref() {
                        Some("vfat") | Some("fat") => {}
                        Some(other) => {
                            return Err(unsupported(
                                format!("{o}.filesystem"),
                                &a.filename,
                                format!("{other:?}: norrec writes files into vfat only"),
                            ));
                        }
                        None => {
                            return Err(unsupported(
                                format!("{o}.filesystem"),
                                &a.filename,
                                "missing (norrec writes files into vfat)",
                            ));
                        }
                    }
                    let path = a
                        .path
                        .clone()
                        .ok_or_else(|| unsupported(format!("{o}.path"), &a.filename, "missing"))?;
                    Action::Rawfile {
                        path,
                        create_destination: a.create_destination,
                    }
                }
                "" => {
                    return Err(unsupported(
                        format!("{o}.type"),
                        &a.filename,
                        "missing, and no device to default it to raw",
                    ));
                }
                other => {
                    return Err(Error::UnknownHandler {
                        field: format!("{o}.type"),
                        handler: other.into(),
                        file: a.filename.clone(),
                        known: KNOWN,
                    });
                }
            };
            if let Some(enc) = &a.encrypted {
                return Err(unsupported(
                    format!("{o}.encrypted"),
                    &a.filename,
                    format!("{enc:?}: encrypted artifacts are not supported"),
                ));
            }
            let device = a
                .device
                .as_deref()
                .ok_or_else(|| unsupported(format!("{o}.device"), &a.filename, "missing"))?;
            let target = map.get(device).ok_or_else(|| Error::NotInMap {
                field: format!("{o}.device"),
                device: device.into(),
                file: a.filename.clone(),
                known: map.names(),
            })?;
            let mut min_size = None;
            if let Some((toc, f)) = toc {
                let e = toc.get(&a.filename).ok_or_else(|| Error::Missing {
                    field: format!("{o}.filename"),
                    file: a.filename.clone(),
                })?;
                min_size = toc::min_output(f, e, a.compressed);
            }
            if let Action::Raw { offset } = action {
                let need = min_size.unwrap_or(0);
                if offset.checked_add(need).is_none_or(|end| end > target.len) {
                    return Err(Error::DoesNotFit {
                        field: format!("{o}.offset"),
                        file: a.filename.clone(),
                        device: device.into(),
                        offset,
                        need,
                        len: target.len,
                        what: match (min_size, a.compressed) {
                            (_, Compression::None) => "its stored size",
                            (Some(_), _) => "at least, by the compressed stream's size field",
                            (None, _) => "the offset alone",
                        },
                    });
                }
            }
            steps.push(Step {
                section,
                origin: o.clone(),
                file: a.filename.clone(),
                compressed: a.compressed,
                target: target.clone(),
                action,
                min_size,
            });
        }
    }
    if let Some(s) = d.scripts.first() {
        return Err(unsupported(
            format!("{}.type", s.origin),
            &s.filename,
            format!(
                "{:?}: norrec runs no scripts",
                s.handler.as_deref().unwrap_or("lua")
            ),
        ));
    }
    if let Some(p) = d.partitions.first() {
        return Err(Error::Unsupported {
            field: format!("{}.type", p.origin),
            file: p.name.clone().unwrap_or_default(),
            msg: format!(
                "{:?}: partitions are made by `norrec disk partition` before the install",
                p.handler.as_deref().unwrap_or("")
            ),
        });
    }
    check_fat_files(&steps)?;
    let env = if d.bootenv.is_empty() {
        None
    } else {
        Some(plan_env(d, map, opts)?)
    };
    Ok(Plan { steps, env })
}

/// Every FAT a file goes into opens, the parent directories exist (or may be created) and the
/// known sizes fit in the free space.
fn check_fat_files(steps: &[Step]) -> Result<()> {
    for s in steps {
        let Action::Rawfile {
            path,
            create_destination,
        } = &s.action
        else {
            continue;
        };
        let win = s.target.open()?;
        let field = format!("{}.device", s.origin);
        fat::with_fs_read_only(win, |fs| {
            let parts = fat::fs::components(path)?;
            if parts.is_empty() {
                return Err(norrec_disk::DiskError::FatPath {
                    path: path.clone(),
                    msg: "is the root directory".into(),
                });
            }
            if !create_destination && parts.len() > 1 {
                let parent = parts[..parts.len() - 1].join("/");
                match fat::fs::stat(fs, &parent)? {
                    Some(e) if e.is_dir => {}
                    _ => {
                        return Err(norrec_disk::DiskError::FatPath {
                            path: path.clone(),
                            msg: "parent directory missing (set create-destination = true)".into(),
                        });
                    }
                }
            }
            if let Some(need) = s.min_size {
                let i = fat::fs::info(fs)?;
                let free = u64::from(i.free_clusters) * u64::from(i.cluster_bytes);
                if need > free {
                    return Err(norrec_disk::DiskError::NoSpace { needed: need, free });
                }
            }
            Ok(())
        })
        .map_err(|e| Error::Unsupported {
            field: field.clone(),
            file: s.file.clone(),
            msg: format!(
                "{} (vfat on {}): {e}",
                s.target.name,
                s.target.path.display()
            ),
        })?;
    }
    Ok(())
}

/// Reads the target's environment (if valid), applies the bundle's variables and encodes it.
fn plan_env(d: &Description, map: &DeviceMap, opts: &Options) -> Result<EnvPlan> {
    let field = "bootenv".to_owned();
    let target = opts.env.clone().ok_or_else(|| Error::Unsupported {
        field: field.clone(),
        file: String::new(),
        msg: "the bundle sets U-Boot variables but no environment target was given".into(),
    })?;
    let layout = match &target {
        EnvTarget::Fat { layout, .. } | EnvTarget::File { layout, .. } => *layout,
    };
    let existing: Option<Vec<u8>> = match &target {
        EnvTarget::File { path, .. } => match std::fs::read(path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        },
        EnvTarget::Fat { device, path, .. } => {
            let t = map.get(device).ok_or_else(|| Error::NotInMap {
                field: "bootenv (the environment's partition)".into(),
                device: device.clone(),
                file: path.clone(),
                known: map.names(),
            })?;
            let win = t.open()?;
            fat::with_fs_read_only(win, |fs| {
                match fat::fs::stat(fs, path) {
                    Ok(Some(e)) if !e.is_dir => {}
                    Ok(_) => return Ok(None),
                    Err(norrec_disk::DiskError::FatPath { msg, .. })
                        if msg == "no such file or directory" =>
                    {
                        return Ok(None);
                    }
                    Err(e) => return Err(e),
                }
                let mut buf = Vec::new();
                fat::fs::read_file(fs, path, &mut buf)?;
                Ok(Some(buf))
            })
            .map_err(|e| Error::Unsupported {
                field: field.clone(),
                file: path.clone(),
                msg: format!("environment partition {device}: {e}"),
            })?
        }
    };
    let mut flags = 0u8;
    let valid = existing.as_ref().and_then(|b| {
        let c = EnvCopy::read(b, layout, 0).ok()?;
        if !c.crc_ok() {
            return None;
        }
        flags = c.flags.unwrap_or(0);
        c.vars().ok()
    });
    let (base, vars) = match (valid, &opts.env_default) {
        (Some(v), _) => ("existing", v),
        (None, Some(v)) => ("default", v.clone()),
        (None, None) => ("empty", Vars::new()),
    };
    let mut set = EnvSet::from_vars(vars);
    let mut applied = Vec::new();
    for (i, v) in d.bootenv.iter().enumerate() {
        let value = (!v.value.is_empty()).then_some(v.value.as_str());
        set.set(&v.name, value).map_err(|e| Error::Unsupported {
            field: format!("bootenv[{i}].name"),
            file: String::new(),
            msg: e.to_string(),
        })?;
        applied.push((v.name.clone(), v.value.clone()));
    }
    let next = if layout.redundant {
        flags.wrapping_add(1)
    } else {
        0
    };
    let bytes = env::encode(&set.to_vars(), layout, 0xff, next)?;
    Ok(EnvPlan {
        written_to: target.describe(),
        target,
        base,
        vars: applied,
        bytes,
    })
}
