//! Output policy shared by every command: text or `--json` on stdout, one-line errors and
//! verbosity on stderr, progress bars only on a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// Makes a closed stdout (`norrec disk show img | head -1`) end the process quietly, as SIGPIPE
/// ends `cat`: exit status 141 (128 + SIGPIPE, what a shell reports for a pipe-killed process)
/// and nothing on stderr.
///
/// Rust ignores SIGPIPE, so a write to a closed pipe returns `EPIPE` and `println!` panics with
/// "failed printing to stdout: Broken pipe". Restoring the signal's default disposition would be
/// an `unsafe` OS call outside the platform layers; instead this panic hook recognises exactly
/// that panic (std's message for a failed print to stdout with the broken-pipe error) and exits.
/// Every other panic goes to the previous hook unchanged.
pub fn exit_quietly_on_closed_stdout() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if is_closed_stdout_panic(msg) {
            std::process::exit(CLOSED_STDOUT_EXIT);
        }
        previous(info);
    }));
}

/// Exit status after a closed stdout: 128 + SIGPIPE (13).
pub const CLOSED_STDOUT_EXIT: i32 = 141;

/// std's panic message for `print!`/`println!` to a pipe whose reader has gone.
fn is_closed_stdout_panic(msg: &str) -> bool {
    let epipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe).to_string();
    msg.starts_with("failed printing to stdout: ")
        && (msg.contains("Broken pipe") || msg.contains(&epipe))
}

/// How a command reports: the global flags, resolved once.
#[derive(Debug, Clone)]
pub struct Ui {
    pub json: bool,
    pub verbose: u8,
    pub quiet: bool,
    /// The board manifest: a built-in name or a path (`--board`).
    pub board: String,
}

impl Ui {
    pub fn new(json: bool, verbose: u8, quiet: bool, board: String) -> Self {
        Self {
            json,
            verbose,
            quiet,
            board,
        }
    }

    /// The board manifest every command takes its defaults from.
    pub fn board(&self) -> anyhow::Result<norrec_board::Board> {
        Ok(norrec_board::Board::resolve(&self.board)?)
    }

    /// Prints `value` as pretty JSON when `--json` is on, else calls `text` to print it.
    pub fn report<T: Serialize>(&self, value: &T, text: impl FnOnce()) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            text();
        }
        Ok(())
    }

    /// A note on stderr, unless `-q`.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// A warning on stderr (shown even with `-q`: it is about the user's data).
    pub fn warn(&self, msg: impl std::fmt::Display) {
        eprintln!("norrec: warning: {msg}");
    }

    /// Detail shown with `-v`.
    pub fn debug(&self, msg: impl std::fmt::Display) {
        if self.verbose > 0 {
            eprintln!("{msg}");
        }
    }

    /// The error line: the whole context chain on one line.
    pub fn error(&self, err: &anyhow::Error) {
        let line = format!("{err:#}").replace('\n', " ");
        eprintln!("norrec: error: {line}");
    }

    /// A byte-counting progress bar, drawn only on a terminal and never with `-q` or `--json`.
    pub fn progress(&self, total: u64, what: &str) -> ProgressBar {
        if self.quiet || self.json || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
        bar
    }
}

#[cfg(test)]
mod tests {
    use super::is_closed_stdout_panic;

    #[test]
    fn recognises_only_the_closed_stdout_panic() {
        assert!(is_closed_stdout_panic(
            "failed printing to stdout: Broken pipe (os error 32)"
        ));
        assert!(!is_closed_stdout_panic(
            "failed printing to stdout: No space left on device (os error 28)"
        ));
        assert!(!is_closed_stdout_panic(
            "failed printing to stderr: Broken pipe (os error 32)"
        ));
        assert!(!is_closed_stdout_panic("index out of bounds"));
    }
}
