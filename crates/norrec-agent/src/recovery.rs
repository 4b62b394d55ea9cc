//! The recovery itself: a state machine over the board's eMMC and USB stick, each step
//! idempotent and recorded in the [`journal`](mod@crate::journal), so that a run cut anywhere ends,
//! after a re-run, in the same bytes as a run never cut.
//!
//! Steps, in order ([`Step`]):
//! 1. **check** the stick: exactly one `*.swu` in the root of its FAT, its `sw-description`
//!    signature and hardware compatibility verified. Nothing is written before this passes
//!    (nor when the board layout does not fit the card).
//! 2. **partition** the eMMC from the board layout, skipped when its table already has the
//!    layout's partitions.
//! 3. **format** the boot partition vfat (always: it is rewritten) and the data partition ext4
//!    only when it holds no valid ext4 (user data is kept). The decision is journaled before
//!    the first write, so a format cut half way is done again even if it looks valid.
//! 4. **env**: `uboot.env` (the board's size and layout) on the boot partition, from the
//!    given default environment.
//! 5. **install** the bundle (norrec-install), streamed from the stick's FAT.
//! 6. **done**: the journal says so; the caller reboots (board) or exits 0 (host).
//!
//! A run reads the journal first: when the last run was cut with the same bundle it goes on
//! from the step after the last one completed (the cut step is redone whole) — except that
//! env and install restart at format: they write into the boot partition's FAT, and a FAT
//! update cut half way (a file allocated but not written) cannot be redone in place to the
//! same bytes, while reformatting the boot partition can. Otherwise (no journal, a finished
//! run, another bundle) it starts at step 2. The file-system identity (volume id, UUID, …) comes from the journal when
//! there is one, so formatting again gives the same bytes.
//!
//! Everything here goes through paths and [`BlockDevice`]s: `/dev/mmcblk0` on the board, image
//! files on the host (`norrec recover`). The test-only [`Fault`] cuts a run after a step's
//! writes or after a number of device writes inside a step.

use std::io::Read;
use std::path::{Path, PathBuf};

use norrec_board::Board;
use norrec_disk::ext4::read::fs::Ext4;
use norrec_disk::ext4::write as ext4w;
use norrec_disk::fat::{self, Choice, DosDateTime};
use norrec_disk::{BlockDevice, DiskError, DosTable, ImageFile, Window, mbr, script};
use norrec_install::{DeviceMap, EnvTarget};
use norrec_swu::sign::Trust;
use norrec_swu::{Selection, SwuReader};
use norrec_uboot::env::{Layout, Vars};

use crate::error::{Error, Result};
use crate::journal::{self, DONE, Identity, Record, SKIPPED};

/// The recovery's steps, numbered as the journal records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Check = 1,
    Partition = 2,
    Format = 3,
    Env = 4,
    Install = 5,
    Done = 6,
}

impl Step {
    /// Every step in order.
    pub const ALL: [Step; 6] = [
        Step::Check,
        Step::Partition,
        Step::Format,
        Step::Env,
        Step::Install,
        Step::Done,
    ];

    /// The step's name (as `--stop-after` takes it).
    pub fn name(self) -> &'static str {
        match self {
            Step::Check => "check",
            Step::Partition => "partition",
            Step::Format => "format",
            Step::Env => "env",
            Step::Install => "install",
            Step::Done => "done",
        }
    }

    /// The step of a name.
    pub fn from_name(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|x| x.name() == s)
    }

    fn from_u8(n: u8) -> Option<Step> {
        Step::ALL.into_iter().find(|x| *x as u8 == n)
    }
}

/// A simulated power cut (tests): during `step`, after `writes` device writes (for `install`:
/// after `writes` KiB of the bundle were read), or — `writes: None` — right after the step's
/// writes, before the journal records it done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub step: Step,
    pub writes: Option<u64>,
}

/// What a recovery is given.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub board: Board,
    /// The eMMC: `/dev/mmcblk0` on the board, an image file on the host.
    pub emmc: PathBuf,
    /// The whole USB stick (its partition `storage.usb_partition` holds the FAT).
    pub usb: PathBuf,
    /// Checked against the bundle's signature; `None` accepts unsigned bundles.
    pub trust: Option<Trust>,
    pub selection: Selection,
    /// The environment written to `uboot.env` (the board's default; U-Boot replaces its whole
    /// built-in environment with a loaded one).
    pub env_default: Vars,
    /// The identity for a card whose journal has none; `None`: from SOURCE_DATE_EPOCH when
    /// set (reproducible), else random.
    pub identity: Option<Identity>,
    pub fault: Option<Fault>,
}

/// One line of the recovery's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLine {
    pub step: Step,
    /// `done`, `skipped` (already as wanted), `earlier` (done by an earlier, cut run).
    pub outcome: &'static str,
    pub detail: String,
}

impl std::fmt::Display for StepLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {}/{} {}: {}",
            self.step as u8,
            Step::ALL.len(),
            self.step.name(),
            self.outcome
        )?;
        if !self.detail.is_empty() {
            write!(f, " — {}", self.detail)?;
        }
        Ok(())
    }
}

/// What a whole recovery did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub lines: Vec<StepLine>,
    /// The step this run went on from, when an earlier run was cut.
    pub resumed_at: Option<Step>,
    /// Byte offset of the journal on the eMMC.
    pub journal_offset: u64,
    /// The journal's last sequence number.
    pub seq: u64,
    /// The bundle's name on the stick.
    pub bundle: String,
}

fn rec_err(msg: impl Into<String>) -> Error {
    Error::Recovery(msg.into())
}

fn disk_err(what: &Path) -> impl Fn(DiskError) -> Error + '_ {
    move |e| rec_err(format!("{}: {e}", what.display()))
}

/// The stick, opened read-only (it is never written).
type Stick = Box<dyn BlockDevice>;

/// Opens a device or image file read-only.
fn open_read_only(path: &Path) -> Result<Stick> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::FileTypeExt;
        let meta = std::fs::metadata(path).map_err(crate::error::io(path))?;
        if meta.file_type().is_block_device() {
            return Ok(Box::new(
                norrec_disk::LinuxBlockDevice::open_read_only(path).map_err(disk_err(path))?,
            ));
        }
    }
    Ok(Box::new(
        ImageFile::open_read_only(path).map_err(disk_err(path))?,
    ))
}

/// The partition window `n` of `table` over `dev`.
fn part<D: BlockDevice>(dev: D, table: &DosTable, n: u32, what: &str) -> Result<Window<D>> {
    let p = table
        .slots
        .get((n as usize).wrapping_sub(1))
        .copied()
        .flatten()
        .ok_or_else(|| rec_err(format!("{what}: no partition {n} in the table")))?;
    Window::partition(dev, &p).map_err(|e| rec_err(format!("{what} partition {n}: {e}")))
}

/// The stick's partition, as a window over the read-only device.
fn stick(inp: &Inputs) -> Result<Window<Stick>> {
    let mut dev = open_read_only(&inp.usb)?;
    let table = mbr::read_table(&mut dev).map_err(disk_err(&inp.usb))?;
    part(
        dev,
        &table,
        inp.board.storage.usb_partition,
        &inp.usb.display().to_string(),
    )
}

fn usb_name(inp: &Inputs) -> String {
    format!(
        "{} ({})",
        Board::partition_device(&inp.board.storage.usb, inp.board.storage.usb_partition),
        inp.usb.display()
    )
}

/// Runs `f` on a reader of the stick's `name`, streaming from its FAT.
fn with_bundle<R>(
    inp: &Inputs,
    name: &str,
    f: impl FnOnce(&mut dyn Read) -> Result<R>,
) -> Result<R> {
    let win = stick(inp)?;
    let mut out = None;
    fat::with_fs_read_only(win, |fs| {
        let mut file = fs.root_dir().open_file(name).map_err(|e| {
            DiskError::io(
                format!("open /{name}"),
                std::io::Error::other(format!("{e:?}")),
            )
        })?;
        out = Some(f(&mut file));
        Ok(())
    })
    .map_err(|e| rec_err(format!("{}: {e}", usb_name(inp))))?;
    out.expect("the closure ran")
}

/// Step 1: the one `.swu` in the root of the stick's FAT, its signature checked. Returns its
/// name and size.
pub fn check_stick(inp: &Inputs) -> Result<(String, u64)> {
    let where_ = usb_name(inp);
    let entries = fat::with_fs_read_only(stick(inp)?, |fs| fat::fs::list(fs, "/"))
        .map_err(|e| rec_err(format!("{where_}: {e}")))?;
    let swus: Vec<_> = entries
        .iter()
        .filter(|e| !e.is_dir && e.name.to_ascii_lowercase().ends_with(".swu"))
        .collect();
    let one = match swus.as_slice() {
        [one] => *one,
        [] => {
            return Err(rec_err(format!(
                "no .swu file in the root of {where_}: put exactly one update bundle there"
            )));
        }
        many => {
            let names: Vec<&str> = many.iter().map(|e| e.name.as_str()).collect();
            return Err(rec_err(format!(
                "{} .swu files in the root of {where_} ({}): leave exactly one",
                many.len(),
                names.join(", ")
            )));
        }
    };
    with_bundle(inp, &one.name, |r| {
        SwuReader::open(r, inp.trust.as_ref(), &inp.selection)
            .map(|_| ())
            .map_err(|e| rec_err(format!("{where_}: /{}: {e}", one.name)))
    })?;
    Ok((one.name.clone(), one.size))
}

/// A device that fails after a number of writes (a simulated power cut).
struct Cut<'a> {
    dev: &'a mut dyn BlockDevice,
    left: Option<u64>,
}

impl Cut<'_> {
    fn tick(&mut self) -> norrec_disk::Result<()> {
        match &mut self.left {
            Some(0) => Err(DiskError::io(
                "simulated power cut",
                std::io::Error::other("fault injected by the test"),
            )),
            Some(n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl BlockDevice for Cut<'_> {
    fn len(&self) -> u64 {
        self.dev.len()
    }
    fn sector_size(&self) -> u32 {
        self.dev.sector_size()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> norrec_disk::Result<()> {
        self.dev.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> norrec_disk::Result<()> {
        self.tick()?;
        self.dev.write_at(offset, buf)
    }
    fn flush(&mut self) -> norrec_disk::Result<()> {
        self.dev.flush()
    }
    fn zero_range(&mut self, offset: u64, len: u64) -> norrec_disk::Result<()> {
        self.tick()?;
        self.dev.zero_range(offset, len)
    }
    fn discard(&mut self, offset: u64, len: u64) -> norrec_disk::Result<()> {
        self.tick()?;
        self.dev.discard(offset, len)
    }
    fn copy_file_in(
        &mut self,
        offset: u64,
        src: &std::fs::File,
        src_offset: u64,
        len: u64,
    ) -> norrec_disk::Result<()> {
        self.tick()?;
        self.dev.copy_file_in(offset, src, src_offset, len)
    }
}

/// A reader that fails after `left` bytes (the install's simulated power cut).
struct CutReader<'a> {
    inner: &'a mut dyn Read,
    left: Option<u64>,
}

impl Read for CutReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(left) = self.left else {
            return self.inner.read(buf);
        };
        if left == 0 {
            return Err(std::io::Error::other(
                "simulated power cut (fault injected)",
            ));
        }
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.left = Some(left - got as u64);
        Ok(got)
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A fresh identity: derived from SOURCE_DATE_EPOCH when it is set (the same on every run and
/// every machine), else random and the current time.
pub fn fresh_identity() -> Identity {
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok());
    match epoch {
        Some(t) => {
            let mut s = t as u64 ^ 0x6e6f_7272_6563_0000;
            let mut uuid = [0u8; 16];
            uuid[..8].copy_from_slice(&splitmix(&mut s).to_le_bytes());
            uuid[8..].copy_from_slice(&splitmix(&mut s).to_le_bytes());
            uuid[6] = (uuid[6] & 0x0f) | 0x40; // version 4
            uuid[8] = (uuid[8] & 0x3f) | 0x80; // variant 1
            Identity {
                volume_id: splitmix(&mut s) as u32,
                disk_id: splitmix(&mut s) as u32,
                hash_seed: ext4w::hash_seed_from(&uuid),
                uuid,
                time: t,
            }
        }
        None => Identity {
            volume_id: fat::volume_id_now(),
            disk_id: script::layout::random_disk_id(),
            uuid: ext4w::random_uuid(),
            hash_seed: ext4w::random_uuid(),
            time: fat::time::now_unix(),
        },
    }
}

/// Whether `dev` holds an ext4 whose superblock checks out.
fn holds_ext4<D: BlockDevice>(dev: D) -> Option<String> {
    Ext4::open(dev).ok().map(|fs| fs.superblock().uuid_string())
}

/// Runs the recovery; `say` gets each step's line as it completes.
pub fn recover(inp: &Inputs, say: &mut dyn FnMut(&StepLine)) -> Result<Outcome> {
    let board = &inp.board;
    let emmc_what = inp.emmc.display().to_string();
    let mut dev = norrec_install::devmap::open_device(&inp.emmc)
        .map_err(|e| rec_err(format!("{emmc_what}: {e}")))?;
    let len = dev.len();
    let layout_name = format!("board {} layout {}", board.board.name, board.storage.layout);
    let parsed =
        script::parse(board.layout_text()).map_err(|e| rec_err(format!("{layout_name}: {e}")))?;
    let mut table = script::layout(&parsed, len).map_err(|e| {
        rec_err(format!(
            "{emmc_what}: {len} bytes: the {layout_name} does not fit: {e}"
        ))
    })?;
    let first = table
        .partitions()
        .map(|(_, p)| p.start)
        .min()
        .ok_or_else(|| rec_err(format!("{layout_name}: no partitions")))?;
    let jofs = journal::area_offset(first * mbr::SECTOR as u64)?;
    let mut lines = Vec::new();
    let mut emit = |l: StepLine, lines: &mut Vec<StepLine>| {
        say(&l);
        lines.push(l);
    };

    // 1. check: nothing is written before it passes.
    let (bundle, bundle_size) = check_stick(inp)?;
    emit(
        StepLine {
            step: Step::Check,
            outcome: "done",
            detail: format!(
                "{} ({bundle_size} bytes) on {}, {}",
                bundle,
                usb_name(inp),
                if inp.trust.is_some() {
                    "signature verified"
                } else {
                    "signature NOT checked"
                }
            ),
        },
        &mut lines,
    );

    let prev = journal::read(&mut dev, jofs)?;
    let (identity, resume) = match &prev {
        Some(r)
            if r.done < Step::Done as u8
                && r.bundle_name == bundle
                && r.bundle_size == bundle_size =>
        {
            (r.identity, Some(r))
        }
        Some(r) => (r.identity, None),
        None => (inp.identity.unwrap_or_else(fresh_identity), None),
    };
    let start = resume
        .map(|r| {
            Step::from_u8(r.done + 1)
                .unwrap_or(Step::Partition)
                .max(Step::Partition)
        })
        .unwrap_or(Step::Partition);
    // The boot partition's writers (format, env, install's files and bootenv) are one group: a
    // FAT update cut half way cannot be redone in place to the same bytes, so a run cut after
    // the format starts again with it (the data partition, formatted or kept by then, is kept).
    let start = if matches!(start, Step::Env | Step::Install) {
        Step::Format
    } else {
        start
    };
    let mut rec = Record {
        seq: prev.as_ref().map_or(0, |r| r.seq),
        done: Step::Check as u8,
        started: 0,
        format_data: resume.is_some_and(|r| r.started == Step::Format as u8 && r.format_data),
        outcomes: resume.map_or([0; 8], |r| r.outcomes),
        identity,
        bundle_size,
        bundle_name: bundle.clone(),
    };
    rec.outcomes[0] = DONE;
    let resumed_at = resume.map(|_| start);
    let put = |rec: &mut Record, dev: &mut dyn BlockDevice| -> Result<()> {
        rec.seq += 1;
        journal::write(dev, jofs, rec)
    };

    let emmc = &board.storage.emmc;
    let boot_n = board.storage.boot_partition;
    let data_n = board.storage.data_partition;
    let env_path = format!("/{}", board.uboot.env_file);
    let layout = Layout {
        size: board.uboot.env_size.0 as usize,
        redundant: board.uboot.env_redundant,
        big_endian: false,
    };
    let is_file = std::fs::metadata(&inp.emmc).is_ok_and(|m| m.is_file());

    for step in [
        Step::Partition,
        Step::Format,
        Step::Env,
        Step::Install,
        Step::Done,
    ] {
        if step < start {
            emit(
                StepLine {
                    step,
                    outcome: "earlier",
                    detail: "done by an earlier run (journal)".into(),
                },
                &mut lines,
            );
            continue;
        }
        let cut = inp.fault.filter(|f| f.step == step);
        // Decide before the first write, and journal the decision with the start.
        if step == Step::Format && !rec.format_data {
            let win = part(&mut dev, &table, data_n, &emmc_what)?;
            rec.format_data = holds_ext4(win).is_none();
        }
        if step != Step::Done {
            rec.started = step as u8;
            put(&mut rec, &mut dev)?;
        }
        let mut c = Cut {
            dev: &mut dev,
            left: cut.and_then(|f| f.writes),
        };
        let (outcome, detail) = match step {
            Step::Partition => {
                let now = mbr::read_table(&mut c).ok();
                if now.is_some_and(|t| t.slots == table.slots) {
                    table.disk_id = now.map_or(0, |t| t.disk_id);
                    (
                        "skipped",
                        "the table already has the board layout's partitions".to_owned(),
                    )
                } else {
                    table.disk_id = parsed.label_id.unwrap_or(identity.disk_id);
                    mbr::write_table(&mut c, &table).map_err(disk_err(&inp.emmc))?;
                    let n = table.partitions().count();
                    (
                        "done",
                        format!(
                            "{n} partitions from the {layout_name}, disk id {:#010x}",
                            table.disk_id
                        ),
                    )
                }
            }
            Step::Format => {
                let p1 = table.slots[(boot_n - 1) as usize].expect("layout has the boot partition");
                let id = fat::Identity {
                    volume_id: identity.volume_id,
                    label: None,
                    hidden_sectors: u32::try_from(p1.start)
                        .map_err(|_| rec_err("boot partition starts beyond 2 TiB"))?,
                    time: DosDateTime::from_unix(identity.time),
                };
                let mut win = part(&mut c, &table, boot_n, &emmc_what)?;
                let fp = fat::format(&mut win, Choice::default(), &id)
                    .map_err(|e| rec_err(format!("{emmc_what} partition {boot_n}: {e}")))?;
                let data = if rec.format_data {
                    let mut o = ext4w::Options::new(
                        identity.uuid,
                        identity.hash_seed,
                        ext4w::Time {
                            sec: identity.time,
                            nsec: 0,
                        },
                    );
                    o.discard = true;
                    o.zeroed = is_file;
                    let mut win = part(&mut c, &table, data_n, &emmc_what)?;
                    ext4w::format(&mut win, &o)
                        .map_err(|e| rec_err(format!("{emmc_what} partition {data_n}: {e}")))?;
                    format!(
                        "p{data_n} ext4 formatted (uuid {})",
                        ext4w::format_uuid(&identity.uuid)
                    )
                } else {
                    let win = part(&mut c, &table, data_n, &emmc_what)?;
                    let uuid = holds_ext4(win).unwrap_or_default();
                    format!("p{data_n} kept: it holds a valid ext4 (uuid {uuid})")
                };
                (
                    "done",
                    format!(
                        "p{boot_n} {} formatted (volume id {:08x}), {data}",
                        fp.fat_type, identity.volume_id
                    ),
                )
            }
            Step::Env => {
                let bytes = norrec_uboot::env::encode(&inp.env_default, layout, 0xff, 0)
                    .map_err(|e| rec_err(format!("uboot.env: {e}")))?;
                let win = part(&mut c, &table, boot_n, &emmc_what)?;
                let time = DosDateTime::from_unix(identity.time);
                fat::with_fs(win, |fs| {
                    fat::fs::write_file(fs, &env_path, &mut &bytes[..], time)
                })
                .map_err(|e| rec_err(format!("{emmc_what} partition {boot_n}: {e}")))?;
                (
                    "done",
                    format!(
                        "{}:{env_path}, {} variables, {} bytes",
                        Board::partition_device(emmc, boot_n),
                        inp.env_default.len(),
                        bytes.len()
                    ),
                )
            }
            Step::Install => {
                dev.flush().map_err(disk_err(&inp.emmc))?;
                let mut before = vec![0u8; journal::AREA as usize];
                dev.read_at(jofs, &mut before)
                    .map_err(disk_err(&inp.emmc))?;
                let mut map = DeviceMap::new();
                map.add_disk(emmc, &inp.emmc)
                    .map_err(|e| rec_err(format!("{emmc_what}: {e}")))?;
                let opts = norrec_install::Options {
                    trust: inp.trust.clone(),
                    selection: inp.selection.clone(),
                    env: Some(EnvTarget::Fat {
                        device: Board::partition_device(emmc, boot_n),
                        path: env_path.clone(),
                        layout,
                    }),
                    env_default: Some(inp.env_default.clone()),
                    ..Default::default()
                };
                let report = with_bundle(inp, &bundle, |r| {
                    let input = CutReader {
                        inner: r,
                        left: cut.and_then(|f| f.writes).map(|k| k << 10),
                    };
                    norrec_install::install(input, None, &map, &opts)
                        .map_err(|e| rec_err(format!("install /{bundle}: {e}")))
                })?;
                // A raw image of the bundle reaching into the journal area would break resuming.
                let mut after = vec![0u8; journal::AREA as usize];
                dev.read_at(jofs, &mut after).map_err(disk_err(&inp.emmc))?;
                if after != before {
                    return Err(rec_err(format!(
                        "/{bundle} wrote into the recovery journal at bytes {jofs:#x}..{:#x} of \
                         {emmc} (before the first partition): keep raw images out of that area",
                        jofs + journal::AREA
                    )));
                }
                let files: Vec<String> = report
                    .steps
                    .iter()
                    .map(|s| format!("{} → {}", s.file, s.device))
                    .collect();
                (
                    "done",
                    format!(
                        "{}{}{}",
                        files.join(", "),
                        report
                            .env
                            .as_ref()
                            .map(|e| format!(", bootenv → {}", e.written_to))
                            .unwrap_or_default(),
                        report
                            .version
                            .as_deref()
                            .map(|v| format!(", version {v}"))
                            .unwrap_or_default()
                    ),
                )
            }
            Step::Done | Step::Check => ("done", "recovery complete".to_owned()),
        };
        if cut.is_some_and(|f| f.writes.is_none()) {
            return Err(Error::Interrupted(format!(
                "simulated power cut after {}'s writes, before the journal recorded it",
                step.name()
            )));
        }
        if cut.is_some() {
            return Err(Error::Interrupted(format!(
                "simulated power cut during {}: the cut came after the step finished",
                step.name()
            )));
        }
        rec.done = step as u8;
        rec.started = 0;
        rec.outcomes[step as usize - 1] = if outcome == "skipped" { SKIPPED } else { DONE };
        if step == Step::Format {
            rec.format_data = false;
        }
        put(&mut rec, &mut dev)?;
        emit(
            StepLine {
                step,
                outcome,
                detail,
            },
            &mut lines,
        );
    }
    Ok(Outcome {
        lines,
        resumed_at,
        journal_offset: jofs,
        seq: rec.seq,
        bundle,
    })
}
