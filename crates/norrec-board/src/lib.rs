//! The board manifest: one board, described once.
//!
//! `boards/<name>/board.toml` says what the board is (flash chip, RAM and load addresses, U-Boot's
//! environment, the SD/eMMC layout as an sfdisk script beside it, the modules the recovery loads,
//! the QEMU machine); every norrec command takes its defaults from it, so no code hard-codes
//! `/dev/mmcblk0`, an address or a size. The Cubieboard's manifest is compiled in
//! ([`Board::builtin`]) so the board binary and `norrec demo` need no files; `--board FILE` loads
//! another.
//!
//! ```
//! let board = norrec_board::Board::builtin("cubieboard").unwrap();
//! assert_eq!(board.flash.chip, "is25wp128");
//! assert_eq!(board.uboot.env_size.0, 0x10000);
//! assert!(board.layout_text().contains("start= 4096, size= 81920, type=c, bootable"));
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The one error type of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse or a field is wrong; the message names line, column and field.
    #[error("{path}: {msg}")]
    Parse { path: String, msg: String },
    #[error("no built-in board '{0}' (built in: cubieboard); give the manifest's path instead")]
    UnknownBoard(String),
}

/// A byte count or address written as an integer or as text like `"16M"`, `"0x1000"`, `"8K"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl Size {
    /// Parses `4096`, `0x1000`, `8K`, `16M`, `1G` (binary units; `KiB`/`MiB`/`GiB` too).
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (num, shift) = match t.find(|c: char| c.is_ascii_alphabetic() && c != 'x' && c != 'X') {
            Some(i) if !t.starts_with("0x") && !t.starts_with("0X") => {
                let shift = match t[i..].to_ascii_lowercase().as_str() {
                    "k" | "kib" | "kb" => 10,
                    "m" | "mib" | "mb" => 20,
                    "g" | "gib" | "gb" => 30,
                    s => return Err(format!("unknown size suffix '{s}' in '{text}'")),
                };
                (&t[..i], shift)
            }
            _ => (t, 0),
        };
        let value = match num.strip_prefix("0x").or_else(|| num.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => num.parse(),
        }
        .map_err(|_| format!("'{text}' is not a size (e.g. 4096, 0x1000, 8K, 16M)"))?;
        value
            .checked_mul(1 << shift)
            .map(Size)
            .ok_or_else(|| format!("'{text}' is too large"))
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size: an integer or a string like \"16M\" or \"0x1000\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Size, E> {
                Size::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// `[board]`: what the board is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardInfo {
    pub name: String,
    pub description: String,
    /// The hardware name SWUpdate matches (`-H hardware:revision`, /etc/hwrevision).
    pub hardware: String,
    pub revision: String,
    /// The kernel's device tree file name.
    pub dtb: String,
}

/// `[flash]`: the SPI NOR chip and where the recovery FIT lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flash {
    pub chip: String,
    pub recovery_offset: Size,
}

/// `[memory]`: RAM size and U-Boot's load addresses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    pub size: Size,
    pub kernel_addr_r: Size,
    pub fdt_addr_r: Size,
    pub ramdisk_addr_r: Size,
    pub scriptaddr: Size,
    /// Where the NOR boot script reads the FIT header.
    pub header_addr: Size,
    /// Where the NOR boot script loads the whole FIT.
    pub fit_addr: Size,
    /// The load/entry address of the kernel inside the recovery FIT.
    pub kernel_load: Size,
    /// U-Boot's CONFIG_SYS_BOOTM_LEN.
    pub bootm_len: Size,
}

/// `[uboot]`: the environment and the SPL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uboot {
    pub env_file: String,
    pub env_size: Size,
    pub env_redundant: bool,
    pub spl_offset: Size,
    pub spl: String,
}

/// `[storage]`: the devices the recovery works on and the eMMC layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    pub emmc: String,
    pub usb: String,
    pub usb_partition: u32,
    /// The sfdisk script file, relative to the manifest.
    pub layout: String,
    pub boot_partition: u32,
    pub rootfs_partitions: Vec<u32>,
    pub data_partition: u32,
}

/// `[console]`: the serial console.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Console {
    pub device: String,
    pub baud: u32,
}

/// `[qemu]`: how QEMU models the board.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Qemu {
    pub machine: String,
    pub usb_bus: String,
}

/// `[recovery]`: what the recovery initramfs needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    /// Module paths under `lib/modules/<version>/kernel/`, without `.ko*`.
    pub modules: Vec<String>,
    pub wait_devices: Vec<String>,
    pub wait_seconds: u64,
}

/// A whole board manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    pub board: BoardInfo,
    pub flash: Flash,
    pub memory: Memory,
    pub uboot: Uboot,
    pub storage: Storage,
    pub console: Console,
    pub qemu: Qemu,
    pub recovery: Recovery,
    /// The sfdisk layout's text (read from `storage.layout` beside the manifest).
    #[serde(skip)]
    layout: String,
    /// Where the manifest came from, for messages.
    #[serde(skip)]
    source: String,
}

const CUBIEBOARD_TOML: &str = include_str!("../../../boards/cubieboard/board.toml");
const CUBIEBOARD_LAYOUT: &str = include_str!("../../../boards/cubieboard/layout.sfdisk");

impl Board {
    /// A manifest compiled into norrec (`cubieboard`).
    pub fn builtin(name: &str) -> Result<Self, Error> {
        match name {
            "cubieboard" => Self::parse(CUBIEBOARD_TOML, "built-in cubieboard board.toml", |_| {
                Ok(CUBIEBOARD_LAYOUT.to_owned())
            }),
            _ => Err(Error::UnknownBoard(name.to_owned())),
        }
    }

    /// Loads `board.toml` from a file; its layout file is read from beside it.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, &path.display().to_string(), |layout| {
            let p = dir.join(layout);
            std::fs::read_to_string(&p).map_err(|source| Error::Io { path: p, source })
        })
    }

    /// A built-in board's name or a manifest's path.
    pub fn resolve(name_or_path: &str) -> Result<Self, Error> {
        if name_or_path.ends_with(".toml") || name_or_path.contains('/') {
            Self::load(Path::new(name_or_path))
        } else {
            Self::builtin(name_or_path)
        }
    }

    fn parse(
        text: &str,
        source: &str,
        read_layout: impl FnOnce(&str) -> Result<String, Error>,
    ) -> Result<Self, Error> {
        let mut board: Board = toml::from_str(text).map_err(|e| Error::Parse {
            path: source.to_owned(),
            msg: e.to_string().trim().replace('\n', " "),
        })?;
        board.layout = read_layout(&board.storage.layout)?;
        board.source = source.to_owned();
        Ok(board)
    }

    /// The sfdisk script of the eMMC layout.
    pub fn layout_text(&self) -> &str {
        &self.layout
    }

    /// Where the manifest came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The device node of partition `n` of the eMMC (`/dev/mmcblk0p1`, `/dev/sda1`).
    pub fn partition_device(disk: &str, n: u32) -> String {
        let sep = if disk.ends_with(|c: char| c.is_ascii_digit()) {
            "p"
        } else {
            ""
        };
        format!("{disk}{sep}{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_cubieboard_holds_the_facts() {
        let b = Board::builtin("cubieboard").unwrap();
        assert_eq!(b.memory.size.0, 1 << 30);
        assert_eq!(b.memory.bootm_len.0, 8 << 20);
        assert_eq!(b.uboot.spl_offset.0, 8192);
        assert_eq!(b.recovery.modules.len(), 30);
        assert_eq!(
            b.recovery.modules.last().unwrap(),
            "drivers/watchdog/sunxi_wdt"
        );
        assert_eq!(
            Board::partition_device(&b.storage.emmc, 1),
            "/dev/mmcblk0p1"
        );
        assert_eq!(Board::partition_device(&b.storage.usb, 1), "/dev/sda1");
    }

    #[test]
    fn sizes() {
        assert_eq!(Size::parse("8K"), Ok(Size(8192)));
        assert_eq!(Size::parse("0x10000"), Ok(Size(0x10000)));
        assert_eq!(Size::parse("1G"), Ok(Size(1 << 30)));
        assert!(Size::parse("12Q").is_err());
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("board.toml");
        let bad = CUBIEBOARD_TOML.replace("env_size = 0x10000", "env_size = \"lots\"");
        std::fs::write(&p, bad).unwrap();
        let e = Board::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("board.toml") && e.contains("env_size") && e.contains("'lots'"),
            "{e}"
        );

        let unknown = CUBIEBOARD_TOML.replace("[qemu]", "[qemu]\nmachin = \"x\"");
        std::fs::write(&p, unknown).unwrap();
        let e = Board::load(&p).unwrap_err().to_string();
        assert!(e.contains("unknown field `machin`"), "{e}");

        // the layout is read from beside the manifest
        std::fs::write(&p, CUBIEBOARD_TOML).unwrap();
        let e = Board::load(&p).unwrap_err().to_string();
        assert!(e.contains("layout.sfdisk"), "{e}");
        std::fs::write(t.path().join("layout.sfdisk"), CUBIEBOARD_LAYOUT).unwrap();
        assert_eq!(Board::load(&p).unwrap().layout_text(), CUBIEBOARD_LAYOUT);
    }
}
