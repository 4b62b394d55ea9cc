//! The seed's NOR path: the board's own QEMU (stock QEMU has no flash on the Cubieboard; see
//! `boards/cubieboard/qemu/`) with the SPI NOR backed by a host file (`-drive if=mtd`), the
//! board's U-Boot ELF with `sf` as `-kernel`, and U-Boot sessions driven at its prompt.
//!
//! Both binaries come from `scripts/board-firmware` ([`NorFirmware::locate`]). [`NorMachine`]
//! is a [`Machine`] with U-Boot as `-kernel` and the flash as its `mtd` drive; [`UbootSession`] stops autoboot and runs commands one
//! prompt at a time, returning what each printed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmdline::{ConsoleMode, Machine};
use crate::console::Console;
use crate::error::{Error, Result};

/// The `sf probe` line of the seed's chip.
pub const SF_PROBE_LINE: &str =
    "SF: Detected is25wp128 with page size 256 Bytes, erase size 4 KiB, total 16 MiB";

/// U-Boot's prompt (Debian's Cubieboard build).
pub const PROMPT: &str = "=> ";

/// The board's QEMU and U-Boot built by `scripts/board-firmware`.
#[derive(Debug, Clone)]
pub struct NorFirmware {
    /// `qemu-system-arm` with the flash on spi0.
    pub qemu: PathBuf,
    /// The U-Boot ELF with `sf` and the flash node (for `-kernel`).
    pub uboot: PathBuf,
}

impl NorFirmware {
    /// Where `scripts/board-firmware` leaves them: `NORREC_BOARD_QEMU` / `NORREC_BOARD_UBOOT`,
    /// else `$NORREC_CACHE/board-firmware/{qemu-system-arm,u-boot}` (cache default
    /// `$XDG_CACHE_HOME/norrec`, `~/.cache/norrec`). The error says what is missing.
    pub fn locate() -> std::result::Result<NorFirmware, String> {
        let dir = cache_dir().join("board-firmware");
        let pick = |var: &str, name: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .unwrap_or_else(|| dir.join(name))
        };
        let fw = NorFirmware {
            qemu: pick("NORREC_BOARD_QEMU", "qemu-system-arm"),
            uboot: pick("NORREC_BOARD_UBOOT", "u-boot"),
        };
        for p in [&fw.qemu, &fw.uboot] {
            if !p.is_file() {
                return Err(format!(
                    "{} missing (scripts/board-firmware builds the board's QEMU and U-Boot)",
                    p.display()
                ));
            }
        }
        Ok(fw)
    }
}

fn cache_dir() -> PathBuf {
    if let Some(c) = std::env::var_os("NORREC_CACHE") {
        return PathBuf::from(c);
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(x).join("norrec");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| OsString::from("/root"));
    PathBuf::from(home).join(".cache/norrec")
}

/// The board with its flash: a [`Machine`] whose `-kernel` is U-Boot and whose `mtd` drive is
/// the flash image.
#[derive(Debug, Clone)]
pub struct NorMachine {
    pub machine: Machine,
}

impl NorMachine {
    /// `machine` with U-Boot as `-kernel`, the board's QEMU, no kernel command line, and `flash`
    /// (raw, the chip's size) as the MTD drive; its SD/USB stay as given.
    pub fn new(mut machine: Machine, fw: &NorFirmware, flash: &Path) -> NorMachine {
        machine.binary = fw.qemu.clone();
        machine.kernel = Some(fw.uboot.clone());
        machine.dtb = None;
        machine.initrd = None;
        machine.append = None;
        machine.mtd = Some(flash.to_owned());
        NorMachine { machine }
    }

    /// Every argument after the binary.
    pub fn args(&self) -> Vec<OsString> {
        self.machine.args()
    }

    /// The whole command line for a shell (logs, `--print`).
    pub fn shell_line(&self) -> String {
        self.machine.shell_line()
    }

    /// Starts it with the console on pipes, logging to `log` (the command line first).
    pub fn start(&self, log: &Path, echo: bool) -> Result<Console> {
        let mut m = self.machine.clone();
        m.console = ConsoleMode::Pipe;
        Console::start(&m, log, echo)
    }
}

/// A U-Boot console: autoboot stopped, one command at a time.
#[derive(Debug)]
pub struct UbootSession {
    pub console: Console,
    /// Seconds from QEMU's start to the first prompt.
    pub prompt_seconds: f64,
}

impl UbootSession {
    /// Starts `nm`, waits (up to `timeout`) for "Hit any key", stops autoboot and waits for the
    /// prompt.
    pub fn start(nm: &NorMachine, log: &Path, timeout: Duration, echo: bool) -> Result<Self> {
        let mut console = nm.start(log, echo)?;
        console.expect("Hit any key to stop autoboot", timeout)?;
        console.send("\n")?;
        let at = console.expect(PROMPT, Duration::from_secs(20))?;
        Ok(UbootSession {
            console,
            prompt_seconds: at.as_secs_f64(),
        })
    }

    /// Types `command` (one line) and returns what it printed before the next prompt, without
    /// the echoed command line and with `\r` dropped.
    pub fn run(&mut self, command: &str, timeout: Duration) -> Result<String> {
        let before = self.console.transcript().len();
        self.console.send(&format!("{command}\n"))?;
        self.console.expect(PROMPT, timeout)?;
        let text = self.console.transcript();
        let out = text.get(before..).unwrap_or("");
        let out = out.strip_suffix(PROMPT).unwrap_or(out);
        // drop the echo (first line)
        Ok(out.split_once('\n').map(|x| x.1).unwrap_or("").to_owned())
    }

    /// Types a multi-line script (hush continues `if … fi` with "> " prompts) a line at a time
    /// and waits for the main prompt after its last line. Nothing is returned: the console log
    /// and [`Console::transcript`] hold its output.
    pub fn type_script(&mut self, script: &str) -> Result<()> {
        for line in script.lines() {
            self.console.send(&format!("{line}\n"))?;
            // let the line's echo arrive before the next one (the UART has a 16-byte FIFO;
            // QEMU holds input back when it is full, so this only keeps the log readable)
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// `reset` under `-no-reboot`: QEMU ends (status 0) when U-Boot resets the board through
    /// the watchdog; its block backend is flushed on the way out.
    pub fn reset_and_exit(&mut self, timeout: Duration) -> Result<()> {
        self.console.send("reset\n")?;
        let status = self.console.wait_exit(timeout, "U-Boot's reset")?;
        if !status.success() {
            return Err(Error::ExitStatus {
                status: status.to_string(),
                log: self.console.log_path().to_owned(),
            });
        }
        Ok(())
    }
}

/// What the seed's own check showed.
#[derive(Debug, Clone)]
pub struct SeedCheck {
    /// `sf probe`'s output.
    pub probe: String,
    /// `md 40001000 1`'s output.
    pub md: String,
    /// Seconds to the first prompt.
    pub prompt_seconds: f64,
    /// Seconds from start to QEMU's exit.
    pub total_seconds: f64,
}

/// The seed's check: `sf probe`, then `mw 40000000 12345678; sf write 40000000 0 4;
/// sf read 40001000 0 4; md 40001000 1`, then `reset` so QEMU exits and the flash file holds
/// the word. The caller checks the outputs and the file.
pub fn seed_check(nm: &NorMachine, log: &Path, echo: bool) -> Result<SeedCheck> {
    let mut s = UbootSession::start(nm, log, Duration::from_secs(60), echo)?;
    let t = Duration::from_secs(20);
    let probe = s.run("sf probe", t)?;
    s.run("mw 40000000 12345678", t)?;
    s.run("sf write 40000000 0 4", t)?;
    s.run("sf read 40001000 0 4", t)?;
    let md = s.run("md 40001000 1", t)?;
    s.reset_and_exit(Duration::from_secs(30))?;
    Ok(SeedCheck {
        probe,
        md,
        prompt_seconds: s.prompt_seconds,
        total_seconds: s.console.elapsed().as_secs_f64(),
    })
}

/// The seed's size-reading sequence (setexpr.b of the four totalsize bytes glued with setenv)
/// followed by `sf read ${loadaddr}` and `bootm`, with `loadaddr` set to `loadaddr` first.
pub fn seed_sequence(loadaddr: u64) -> String {
    format!(
        "setenv loadaddr {loadaddr:#x}\n\
         sf probe\n\
         sf read 40000000 0 8\n\
         setexpr.b fit_size_msb *40000004\n\
         setexpr.b fit_size_3 *40000005\n\
         setexpr.b fit_size_2 *40000006\n\
         setexpr.b fit_size_lsb *40000007\n\
         setenv fit_size ${{fit_size_msb}}${{fit_size_3}}${{fit_size_2}}${{fit_size_lsb}}\n\
         echo fit_size=${{fit_size}}\n\
         sf read ${{loadaddr}} 0 ${{fit_size}}\n\
         bootm\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_as_the_mtd_drive_and_uboot_as_the_kernel() {
        let board = norrec_board::Board::builtin("cubieboard").unwrap();
        let mut m = Machine::from_board(&board);
        m.sd = Some("sd.img".into());
        let fw = NorFirmware {
            qemu: "/c/qemu-system-arm".into(),
            uboot: "/c/u-boot".into(),
        };
        let nm = NorMachine::new(m, &fw, Path::new("/t/a,b/flash.bin"));
        let args: Vec<String> = nm
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let i = args
            .iter()
            .position(|a| a == "if=mtd,format=raw,file=/t/a,,b/flash.bin")
            .unwrap_or_else(|| panic!("no mtd drive: {args:?}"));
        assert_eq!(args[i - 1], "-drive");
        let k = args.iter().position(|a| a == "-kernel").unwrap();
        assert_eq!(args[k + 1], "/c/u-boot");
        assert!(!args.iter().any(|a| a == "-append"), "{args:?}");
        assert!(
            nm.shell_line()
                .starts_with("/c/qemu-system-arm -M cubieboard"),
            "{}",
            nm.shell_line()
        );
    }

    #[test]
    fn seed_sequence_glues_four_bytes() {
        let s = seed_sequence(0x4200_0000);
        assert!(s.starts_with("setenv loadaddr 0x42000000\n"), "{s}");
        assert!(s.contains(
            "setenv fit_size ${fit_size_msb}${fit_size_3}${fit_size_2}${fit_size_lsb}\n"
        ));
        assert!(
            s.ends_with("sf read ${loadaddr} 0 ${fit_size}\nbootm\n"),
            "{s}"
        );
    }
}
