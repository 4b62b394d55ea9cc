//! `fw_env.config`: where the environment lives (libubootenv's legacy, line-based form).
//!
//! ```text
//! # device          offset    env size  [sector size  [sectors]]
//! /dev/mmcblk0      0x88000   0x20000
//! /dev/mmcblk0      0xa8000   0x20000      <- a second line: redundant copy
//! ```
//!
//! As in libubootenv: the offset is a C integer (`0x…` hex, `0…` octal, decimal; negative counts
//! back from the end of the device), the sizes are hexadecimal with or without `0x`, two lines
//! make a redundant environment and both must have the same size. Unlike libubootenv, a line
//! with fewer than three fields, a bad number or a third device is an error, not skipped.

use crate::{Error, Result};
use std::path::PathBuf;

/// One line of `fw_env.config`: one copy of the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    pub path: PathBuf,
    /// Offset in the device; negative: from the end.
    pub offset: i64,
    /// Size of the copy (CRC and flag included).
    pub size: usize,
    pub sector_size: Option<u64>,
    pub sectors: Option<u64>,
    /// The line it came from.
    pub line: usize,
}

fn c_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn hex(s: &str) -> Option<u64> {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u64::from_str_radix(h, 16).ok()
}

/// Parses `fw_env.config`; returns one or two copies.
pub fn parse_config(text: &str) -> Result<Vec<DeviceSpec>> {
    let mut devs: Vec<DeviceSpec> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = t.split_whitespace().collect();
        let err = |col: usize, msg: String| Error::Source { line, col, msg };
        let col_of = |n: usize| raw.find(f[n]).map_or(1, |c| c + 1);
        if f.len() < 3 {
            return Err(err(
                1,
                format!(
                    "{} field(s); need device, offset and size (e.g. 'uboot.env 0x0 0x10000')",
                    f.len()
                ),
            ));
        }
        if devs.len() == 2 {
            return Err(err(1, "a third environment copy; at most two".into()));
        }
        let offset = c_int(f[1])
            .ok_or_else(|| err(col_of(1), format!("offset {:?} is not a number", f[1])))?;
        let size = hex(f[2]).filter(|&s| s > 0).ok_or_else(|| {
            err(
                col_of(2),
                format!("size {:?} is not a non-zero hex number", f[2]),
            )
        })?;
        let size = usize::try_from(size).map_err(|_| err(col_of(2), "size too large".into()))?;
        let opt = |n: usize| -> Result<Option<u64>> {
            match f.get(n) {
                None => Ok(None),
                Some(s) => hex(s)
                    .map(Some)
                    .ok_or_else(|| err(col_of(n), format!("{s:?} is not a hex number"))),
            }
        };
        let sector_size = opt(3)?;
        let sectors = opt(4)?;
        if let Some(first) = devs.first() {
            if first.size != size {
                return Err(err(
                    col_of(2),
                    format!(
                        "size {size:#x} differs from the first copy's {:#x} (line {})",
                        first.size, first.line
                    ),
                ));
            }
        }
        devs.push(DeviceSpec {
            path: PathBuf::from(f[0]),
            offset,
            size,
            sector_size,
            sectors,
            line,
        });
    }
    if devs.is_empty() {
        return Err(Error::Source {
            line: 1,
            col: 1,
            msg: "no environment device in the configuration".into(),
        });
    }
    Ok(devs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let d =
            parse_config("# c\n\n/dev/mmcblk0 0x88000 20000\nenv.bin -0x4000 0x20000 0x1000 2\n")
                .unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].offset, d[0].size, d[0].line), (0x88000, 0x20000, 3));
        assert_eq!(
            (d[1].offset, d[1].sector_size, d[1].sectors),
            (-0x4000, Some(0x1000), Some(2))
        );
        assert_eq!(c_int("010"), Some(8));
        assert_eq!(c_int("0"), Some(0));
    }

    #[test]
    fn strict() {
        let e = parse_config("a 0\n").unwrap_err().to_string();
        assert!(e.starts_with("line 1, column 1: 2 field(s)"), "{e}");
        assert!(parse_config("a 0 0\n").is_err());
        assert!(parse_config("a 0 zz\n").is_err());
        assert!(parse_config("a 0 10000\nb 0 20000\n").is_err());
        assert!(parse_config("a 0 1\na 2 1\na 4 1\n").is_err());
        assert!(parse_config("# nothing\n").is_err());
    }
}
