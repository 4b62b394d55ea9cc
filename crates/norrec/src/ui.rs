//! Output policy shared by every command: text or `--json` on stdout, one-line errors and
//! verbosity on stderr, progress bars only on a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

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
