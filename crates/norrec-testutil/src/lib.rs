//! Test helpers for norrec's interop tests.
//!
//! Every interop test runs a reference tool (mkimage, sfdisk, swupdate, …) on what norrec wrote,
//! or norrec on what the tool wrote. [`tool`] finds the tool; when it is missing the test is
//! skipped with a message, except under `NORREC_REQUIRE_TOOLS=1` (set by `scripts/test` and so in
//! CI), where a missing tool fails the test.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Extra places where reference tools live besides `PATH` (the swugenerator venv, sbin).
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/local/sbin"];

/// Whether a missing tool must fail the test (`NORREC_REQUIRE_TOOLS=1`).
pub fn tools_required() -> bool {
    std::env::var_os("NORREC_REQUIRE_TOOLS").is_some_and(|v| v == "1")
}

/// Finds `name` on `PATH`, in `NORREC_TOOL_DIRS` (colon-separated) or in sbin.
///
/// Returns `None` (after printing why) when it is missing and tools are not required; panics when
/// they are, so CI never passes a test that did not run.
pub fn tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(extra) = std::env::var_os("NORREC_TOOL_DIRS") {
        dirs.extend(std::env::split_paths(&extra));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.extend(EXTRA_DIRS.iter().map(PathBuf::from));
    if let Some(found) = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) {
        return Some(found);
    }
    if tools_required() {
        panic!("reference tool '{name}' not found and NORREC_REQUIRE_TOOLS=1: run scripts/setup");
    }
    eprintln!("skipping: reference tool '{name}' not found (run scripts/setup)");
    None
}

/// Runs a command to completion and panics, with its stderr, if it fails.
pub fn run_ok<I, S>(program: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = Command::new(program)
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {:?} failed ({}):\n{}{}",
        program.display(),
        args,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `sh -c script` (for pipelines such as the seed's `dd … | tr …`) and panics if it fails.
pub fn sh_ok(script: &str) -> Output {
    let out = Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("cannot run sh");
    assert!(
        out.status.success(),
        "sh -c {script:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
