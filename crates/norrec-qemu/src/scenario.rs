//! Boot scenarios the tests (and `norrec qemu boot`) call: start the machine, wait for each
//! milestone in order and then the marker, and require QEMU to end by itself with status 0.

use std::path::Path;
use std::time::Duration;

use crate::cmdline::{ConsoleMode, Machine};
use crate::console::Console;
use crate::error::{Error, Result};

/// What a boot showed.
#[derive(Debug, Clone)]
pub struct BootReport {
    /// Each milestone and the marker, with seconds since QEMU started.
    pub milestones: Vec<(String, f64)>,
    /// Seconds from start to the marker.
    pub marker_seconds: f64,
    /// Seconds from start to QEMU's exit.
    pub exit_seconds: f64,
    /// The whole console.
    pub transcript: String,
    /// The console log file.
    pub log: std::path::PathBuf,
}

/// Boots `machine`, waits for `milestones` in order and then `marker` (all within `timeout`
/// from the start), then for QEMU to exit 0 (a reboot under `-no-reboot`) within `exit_timeout`.
pub fn boot_to_marker(
    machine: &Machine,
    log: &Path,
    milestones: &[&str],
    marker: &str,
    timeout: Duration,
    exit_timeout: Duration,
    echo: bool,
) -> Result<BootReport> {
    if machine.console != ConsoleMode::Pipe {
        return Err(Error::Config(
            "a scenario needs the console on a pipe".into(),
        ));
    }
    let mut console = Console::start(machine, log, echo)?;
    let mut seen = Vec::new();
    for m in milestones.iter().chain(std::iter::once(&marker)) {
        let left = timeout.saturating_sub(console.elapsed());
        let at = console
            .expect(m, left.max(Duration::from_millis(1)))
            .map_err(|e| match e {
                // say how long the whole boot waited, not what was left for this step
                Error::Timeout {
                    pattern, log, last, ..
                } => Error::Timeout {
                    pattern,
                    seconds: console.elapsed().as_secs_f64(),
                    log,
                    last,
                },
                e => e,
            })?;
        seen.push(((*m).to_owned(), at.as_secs_f64()));
    }
    let marker_seconds = seen.last().map(|s| s.1).unwrap_or_default();
    let status = console.wait_exit(exit_timeout, &format!("{marker:?}"))?;
    let exit_seconds = console.elapsed().as_secs_f64();
    if !status.success() {
        return Err(Error::ExitStatus {
            status: status.to_string(),
            log: log.to_owned(),
        });
    }
    Ok(BootReport {
        milestones: seen,
        marker_seconds,
        exit_seconds,
        transcript: console.transcript(),
        log: log.to_owned(),
    })
}

/// Stops U-Boot's autoboot at "Hit any key" and waits for its prompt.
pub fn uboot_prompt(console: &mut Console, timeout: Duration) -> Result<Duration> {
    console.expect("Hit any key to stop autoboot", timeout)?;
    console.send("\n")?;
    console.expect("=> ", Duration::from_secs(10))
}
