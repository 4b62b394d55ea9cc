//! `qemu-system-arm` command lines for the board, from its manifest (FACTS.md "QEMU Cubieboard"):
//! `-M <machine> -m <memory>`, the SD card as `-drive if=sd,format=raw` (not `-sd`: QEMU would
//! guess the format and refuse writes past block 0), the USB stick as a `usb-storage` device on
//! the manifest's bus, the SPI NOR flash image as `-drive if=mtd,format=raw` (only the board's
//! own QEMU has a flash there; see `nor`), `-no-reboot` so a reboot ends QEMU with status 0, and
//! the serial console on QEMU's stdio (a pipe for the console driver, the terminal for a person).

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use norrec_board::Board;

/// Where the serial console goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleMode {
    /// `-display none -monitor none -serial stdio`: plain bytes on QEMU's stdin/stdout, for the
    /// console driver.
    Pipe,
    /// `-nographic`: the terminal, with QEMU's Ctrl-A escapes (Ctrl-A X quits), for a person.
    Terminal,
}

/// One QEMU run of the board.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The emulator (`qemu-system-arm`, or `NORREC_QEMU`).
    pub binary: PathBuf,
    pub machine: String,
    /// RAM in MiB.
    pub memory_mib: u64,
    pub usb_bus: String,
    /// The SD card image (raw).
    pub sd: Option<PathBuf>,
    /// The USB stick image (raw).
    pub usb: Option<PathBuf>,
    /// The SPI NOR flash image (raw, the chip's size) behind `-drive if=mtd`.
    pub mtd: Option<PathBuf>,
    /// Direct boot: a kernel (`-kernel`); without it the boot ROM runs the SPL from the SD.
    pub kernel: Option<PathBuf>,
    pub dtb: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    /// The kernel command line (direct boot only).
    pub append: Option<String>,
    /// `-no-reboot`: a reboot ends QEMU (status 0).
    pub no_reboot: bool,
    pub console: ConsoleMode,
}

impl Machine {
    /// The board's machine with nothing attached; the kernel command line defaults to the
    /// manifest's console.
    pub fn from_board(board: &Board) -> Self {
        Machine {
            binary: std::env::var_os("NORREC_QEMU")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("qemu-system-arm")),
            machine: board.qemu.machine.clone(),
            memory_mib: board.memory.size.0 >> 20,
            usb_bus: board.qemu.usb_bus.clone(),
            sd: None,
            usb: None,
            mtd: None,
            kernel: None,
            dtb: None,
            initrd: None,
            append: None,
            no_reboot: true,
            console: ConsoleMode::Pipe,
        }
    }

    /// The kernel command line the manifest's console implies (`console=ttyS0,115200`).
    pub fn console_append(board: &Board) -> String {
        format!("console={},{}", board.console.device, board.console.baud)
    }

    /// The arguments after the binary's name.
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |s: &str| a.push(s.into());
        push("-M");
        push(&self.machine);
        push("-m");
        push(&format!("{}M", self.memory_mib));
        match self.console {
            ConsoleMode::Pipe => {
                push("-display");
                push("none");
                push("-monitor");
                push("none");
                push("-serial");
                push("stdio");
            }
            ConsoleMode::Terminal => push("-nographic"),
        }
        if self.no_reboot {
            push("-no-reboot");
        }
        if let Some(sd) = &self.sd {
            a.push("-drive".into());
            a.push(drive("if=sd,format=raw", sd));
        }
        if let Some(usb) = &self.usb {
            a.push("-usb".into());
            a.push("-device".into());
            a.push(format!("usb-storage,bus={},drive=stick", self.usb_bus).into());
            a.push("-drive".into());
            a.push(drive("if=none,id=stick,format=raw", usb));
        }
        if let Some(mtd) = &self.mtd {
            a.push("-drive".into());
            a.push(drive("if=mtd,format=raw", mtd));
        }
        for (flag, p) in [
            ("-kernel", &self.kernel),
            ("-dtb", &self.dtb),
            ("-initrd", &self.initrd),
        ] {
            if let Some(p) = p {
                a.push(flag.into());
                a.push(p.into());
            }
        }
        if let (Some(append), Some(_)) = (&self.append, &self.kernel) {
            a.push("-append".into());
            a.push(append.into());
        }
        a
    }

    /// The whole command line, quoted for a shell where needed (for logs and `--print`).
    pub fn shell_line(&self) -> String {
        std::iter::once(self.binary.clone().into_os_string())
            .chain(self.args())
            .map(|s| {
                let s = s.to_string_lossy().into_owned();
                if s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_=,./:+".contains(c))
                {
                    s
                } else {
                    format!("'{}'", s.replace('\'', r"'\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A `-drive` value: `spec,file=PATH`, commas in the path doubled (QEMU's option syntax).
fn drive(spec: &str, path: &Path) -> OsString {
    let mut v = format!("{spec},file=").into_bytes();
    for &b in path.as_os_str().as_bytes() {
        v.push(b);
        if b == b',' {
            v.push(b',');
        }
    }
    OsString::from_vec(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubieboard_line_from_the_manifest() {
        let board = Board::builtin("cubieboard").unwrap();
        let mut m = Machine::from_board(&board);
        m.binary = "qemu-system-arm".into();
        m.sd = Some("sd.img".into());
        m.usb = Some("usb.img".into());
        m.kernel = Some("vmlinuz".into());
        m.dtb = Some("sun4i-a10-cubieboard.dtb".into());
        m.initrd = Some("initrd.gz".into());
        m.append = Some(Machine::console_append(&board));
        assert_eq!(
            m.shell_line(),
            "qemu-system-arm -M cubieboard -m 1024M -display none -monitor none -serial stdio \
             -no-reboot -drive if=sd,format=raw,file=sd.img -usb -device \
             usb-storage,bus=usb-bus.1,drive=stick -drive if=none,id=stick,format=raw,file=usb.img \
             -kernel vmlinuz -dtb sun4i-a10-cubieboard.dtb -initrd initrd.gz -append \
             console=ttyS0,115200"
        );
        // the flash image, a path with a comma doubled
        m.mtd = Some("/t/a,b/flash.bin".into());
        let args = m.args();
        let i = args
            .iter()
            .position(|a| a == "if=mtd,format=raw,file=/t/a,,b/flash.bin");
        assert_eq!(args[i.expect("no mtd drive") - 1], "-drive");
        m.console = ConsoleMode::Terminal;
        m.kernel = None;
        let line = m.shell_line();
        assert!(
            line.contains("-nographic") && !line.contains("-append"),
            "{line}"
        );
    }
}
