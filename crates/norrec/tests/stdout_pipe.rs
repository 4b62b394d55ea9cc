//! norrec writing into a pipe whose reader has gone (`norrec disk show img | head -1`): it ends
//! like `cat` killed by SIGPIPE would, as the shell sees it — status 141, nothing on stderr — and
//! never with a "failed printing to stdout" panic.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{ok, s};

/// 128 + SIGPIPE, what a shell reports for `cat` in `cat big | head -1`.
const CLOSED_STDOUT: i32 = 141;

/// Runs norrec with stdout on a pipe whose read end is already closed: `true` held it and has
/// exited before norrec starts, so norrec's first write to stdout fails with EPIPE.
fn into_closed_pipe(args: &[&str], dir: &Path) -> Output {
    let mut reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("run true");
    let write_end = reader.stdin.take().unwrap();
    assert!(reader.wait().unwrap().success());
    Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args(args)
        .current_dir(dir)
        .stdout(write_end)
        .stderr(Stdio::piped())
        .output()
        .expect("run norrec")
}

fn assert_quiet_pipe_end(args: &[&str], out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "norrec {args:?} into a closed pipe: stderr {stderr:?}"
    );
    assert_eq!(stderr, "", "norrec {args:?}: nothing on stderr");
    assert_eq!(
        out.status.code(),
        Some(CLOSED_STDOUT),
        "norrec {args:?} into a closed pipe: {:?}",
        out.status
    );
}

#[test]
fn text_and_json_into_a_closed_pipe_end_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let img = dir.join("sd.img");
    ok(&["disk", "create", s(&img), "--size", "1G", "--board-layout"]);
    let kernel = dir.join("zImage");
    std::fs::write(&kernel, vec![0x5a; 4096]).unwrap();
    let itb = dir.join("x.itb");
    ok(&["fit", "build", "--kernel", s(&kernel), "-o", s(&itb)]);

    for args in [
        &["disk", "show", "sd.img"][..],
        &["fit", "list", "x.itb"],
        &["flash", "chips"],
        &["--json", "flash", "chips"],
    ] {
        // The same command into an open pipe prints something (so a write is attempted).
        assert!(
            !common::ok_in(dir, args).is_empty(),
            "{args:?} prints nothing"
        );
        assert_quiet_pipe_end(args, &into_closed_pipe(args, dir));
    }
}

/// `norrec env print -i big.env | head -1`: the listing (one write, far larger than a pipe's
/// buffer) is cut off after its first line is read.
#[test]
fn reader_that_stops_after_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let txt = dir.join("env.txt");
    let text: String = (0..4000)
        .map(|i| format!("var{i:05}={}\n", "x".repeat(60)))
        .collect();
    std::fs::write(&txt, text).unwrap();
    let env = dir.join("big.env");
    ok(&["env", "build", s(&txt), "-s", "0x80000", "-o", s(&env)]);

    let args = ["env", "print", "-i", "big.env"];
    let mut child = Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run norrec");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader (and with it the pipe's only read end) is gone here.
    assert!(first.starts_with("var"), "first line {first:?}");
    let out = child.wait_with_output().unwrap();
    assert_quiet_pipe_end(&args, &out);
}
