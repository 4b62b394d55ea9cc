//! The console driver: runs QEMU with its serial console on pipes, keeps a full log with a
//! timestamp (seconds since start) on every line, and lets a caller wait for text with a timeout
//! (`expect`), type (`send`) and end the run (`wait_exit`, or kill on drop). Every error names
//! the log file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cmdline::Machine;
use crate::error::{Error, Result};

/// The log file: every console line with `[  sss.mmm] ` in front.
#[derive(Debug)]
struct Log {
    file: File,
    start: Instant,
    at_line_start: bool,
}

impl Log {
    fn stamp(&self) -> String {
        format!("[{:8.3}] ", self.start.elapsed().as_secs_f64())
    }

    /// Console bytes (partial lines allowed).
    fn console(&mut self, data: &[u8]) {
        let mut out = Vec::with_capacity(data.len() + 16);
        for &b in data {
            if self.at_line_start {
                out.extend_from_slice(self.stamp().as_bytes());
                self.at_line_start = false;
            }
            if b == b'\r' {
                continue;
            }
            out.push(b);
            if b == b'\n' {
                self.at_line_start = true;
            }
        }
        let _ = self.file.write_all(&out);
        let _ = self.file.flush();
    }

    /// A whole line of our own or of QEMU's stderr.
    fn note(&mut self, line: &str) {
        let lead = if self.at_line_start { "" } else { "\n" };
        let stamp = self.stamp();
        let _ = writeln!(self.file, "{lead}{stamp}{line}");
        let _ = self.file.flush();
        self.at_line_start = true;
    }
}

enum Event {
    Data(Vec<u8>),
    Eof,
}

/// A running QEMU and its serial console.
#[derive(Debug)]
pub struct Console {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<EventBox>,
    pending: Vec<u8>,
    transcript: Vec<u8>,
    log: Arc<Mutex<Log>>,
    log_path: PathBuf,
    start: Instant,
    eof: bool,
    status: Option<ExitStatus>,
}

/// `Event` with a Debug impl (the receiver sits in a Debug struct).
struct EventBox(Event);

impl std::fmt::Debug for EventBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Event::Data(d) => write!(f, "Data({} bytes)", d.len()),
            Event::Eof => f.write_str("Eof"),
        }
    }
}

impl Console {
    /// Starts `machine` (its console must be [`crate::ConsoleMode::Pipe`]) and logs to `log_path`
    /// (created; the command line is its first line). With `echo`, console bytes are copied to
    /// this process's stderr as they come.
    pub fn start(machine: &Machine, log_path: &Path, echo: bool) -> Result<Console> {
        let file = File::create(log_path).map_err(|source| Error::Io {
            path: log_path.to_owned(),
            source,
        })?;
        let start = Instant::now();
        let log = Arc::new(Mutex::new(Log {
            file,
            start,
            at_line_start: true,
        }));
        if let Ok(mut l) = log.lock() {
            l.note(&format!("norrec-qemu: {}", machine.shell_line()));
        }
        let mut child = Command::new(&machine.binary)
            .args(machine.args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Spawn {
                binary: machine.binary.display().to_string(),
                source,
            })?;
        let stdin = child.stdin.take();
        let (tx, rx) = channel();
        if let Some(mut out) = child.stdout.take() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match out.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if let Ok(mut l) = log.lock() {
                                l.console(&buf[..n]);
                            }
                            if echo {
                                let _ = std::io::stderr().write_all(&buf[..n]);
                            }
                            if tx.send(EventBox(Event::Data(buf[..n].to_vec()))).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = tx.send(EventBox(Event::Eof));
            });
        }
        if let Some(err) = child.stderr.take() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(|l| l.ok()) {
                    if let Ok(mut l) = log.lock() {
                        l.note(&format!("qemu stderr: {line}"));
                    }
                    if echo {
                        eprintln!("qemu: {line}");
                    }
                }
            });
        }
        Ok(Console {
            child,
            stdin,
            rx,
            pending: Vec::new(),
            transcript: Vec::new(),
            log,
            log_path: log_path.to_owned(),
            start,
            eof: false,
            status: None,
        })
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Time since QEMU started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Everything the console printed so far (lossy UTF-8, `\r` dropped).
    pub fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.transcript).replace('\r', "")
    }

    /// Writes a line of our own into the log (what the driver is doing).
    pub fn note(&self, line: &str) {
        if let Ok(mut l) = self.log.lock() {
            l.note(&format!("norrec-qemu: {line}"));
        }
    }

    fn last_line(&self) -> String {
        self.transcript()
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_owned()
    }

    fn take(&mut self, ev: EventBox) {
        match ev.0 {
            Event::Data(d) => {
                self.pending.extend_from_slice(&d);
                self.transcript.extend_from_slice(&d);
            }
            Event::Eof => self.eof = true,
        }
    }

    /// Waits until one of `patterns` appears (after what earlier matches consumed); returns its
    /// index and the time since start.
    pub fn expect_any(
        &mut self,
        patterns: &[&str],
        timeout: Duration,
    ) -> Result<(usize, Duration)> {
        let deadline = Instant::now() + timeout;
        self.note(&format!(
            "expect {patterns:?} within {:.0} s",
            timeout.as_secs_f64()
        ));
        loop {
            let hit = patterns
                .iter()
                .enumerate()
                .filter_map(|(i, p)| find(&self.pending, p.as_bytes()).map(|at| (at + p.len(), i)))
                .min();
            if let Some((end, i)) = hit {
                self.pending.drain(..end);
                let at = self.elapsed();
                self.note(&format!(
                    "matched {:?} at {:.3} s",
                    patterns[i],
                    at.as_secs_f64()
                ));
                return Ok((i, at));
            }
            let what = patterns.join("\" or \"");
            if self.eof {
                let status = self.reap(Duration::from_secs(5));
                return Err(Error::Exited {
                    pattern: what,
                    status,
                    log: self.log_path.clone(),
                    last: self.last_line(),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                self.note(&format!("timed out waiting for {patterns:?}"));
                return Err(Error::Timeout {
                    pattern: what,
                    seconds: timeout.as_secs_f64(),
                    log: self.log_path.clone(),
                    last: self.last_line(),
                });
            }
            match self.rx.recv_timeout(deadline - now) {
                Ok(ev) => self.take(ev),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.eof = true,
            }
        }
    }

    /// Waits for `pattern`; returns the time since start.
    pub fn expect(&mut self, pattern: &str, timeout: Duration) -> Result<Duration> {
        self.expect_any(&[pattern], timeout).map(|(_, at)| at)
    }

    /// Types `text` on the console.
    pub fn send(&mut self, text: &str) -> Result<()> {
        self.note(&format!("send {text:?}"));
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| Error::Send(std::io::ErrorKind::BrokenPipe.into()))?;
        stdin.write_all(text.as_bytes()).map_err(Error::Send)?;
        stdin.flush().map_err(Error::Send)
    }

    fn reap(&mut self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                self.status = Some(s);
                return s.to_string();
            }
            if Instant::now() >= deadline {
                return "still running".into();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for QEMU to end by itself (a reboot under `-no-reboot`); kills it after `timeout`.
    /// `after` says what should have ended it, for the message.
    pub fn wait_exit(&mut self, timeout: Duration, after: &str) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while !self.eof {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match self.rx.recv_timeout(deadline - now) {
                Ok(ev) => self.take(ev),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.eof = true,
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        self.reap(left);
        match self.status {
            Some(s) => {
                self.note(&format!(
                    "QEMU exited: {s} at {:.3} s",
                    self.elapsed().as_secs_f64()
                ));
                Ok(s)
            }
            None => {
                self.kill();
                Err(Error::NoExit {
                    after: after.to_owned(),
                    seconds: timeout.as_secs_f64(),
                    log: self.log_path.clone(),
                })
            }
        }
    }

    /// Ends QEMU now (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            if let Ok(s) = self.child.wait() {
                self.status = Some(s);
                self.note(&format!("killed QEMU ({s})"));
            }
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.kill();
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
