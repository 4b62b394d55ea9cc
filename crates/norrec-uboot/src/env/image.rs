//! The binary environment image: reading one copy, choosing between two, writing one.

use super::Vars;
use crate::{Error, Result};

/// Where the data area starts and how the CRC is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Size of one copy, CRC and flag included (`CONFIG_ENV_SIZE`, mkenvimage's `-s`).
    pub size: usize,
    /// Whether a flag byte follows the CRC (mkenvimage `-r`, or two copies in `fw_env.config`).
    pub redundant: bool,
    /// Whether the CRC is stored big-endian (mkenvimage `-b`).
    pub big_endian: bool,
}

impl Layout {
    /// Offset of the data area in a copy.
    pub fn data_offset(&self) -> usize {
        4 + usize::from(self.redundant)
    }

    /// Length of the data area.
    pub fn data_len(&self) -> usize {
        self.size.saturating_sub(self.data_offset())
    }

    fn check(&self) -> Result<()> {
        if self.size < self.data_offset() + 2 {
            return Err(Error::Field {
                field: "size".into(),
                msg: format!("environment size {:#x} is too small", self.size),
            });
        }
        Ok(())
    }

    fn crc_bytes(&self, crc: u32) -> [u8; 4] {
        if self.big_endian {
            crc.to_be_bytes()
        } else {
            crc.to_le_bytes()
        }
    }
}

/// One copy of an environment, borrowed from the bytes it was read from.
#[derive(Debug, Clone)]
pub struct EnvCopy<'a> {
    /// Where this copy starts in its file or device (for error messages).
    pub base: u64,
    pub stored_crc: u32,
    pub computed_crc: u32,
    /// The flag byte of the redundant layout.
    pub flags: Option<u8>,
    /// The data area.
    pub data: &'a [u8],
    layout: Layout,
}

impl<'a> EnvCopy<'a> {
    /// Reads one copy from the first `layout.size` bytes of `buf` (found at `base`).
    pub fn read(buf: &'a [u8], layout: Layout, base: u64) -> Result<Self> {
        layout.check()?;
        if buf.len() < layout.size {
            return Err(Error::At {
                offset: base as usize + buf.len(),
                msg: format!(
                    "environment truncated: {:#x} bytes, the environment size is {:#x}",
                    buf.len(),
                    layout.size
                ),
            });
        }
        let c = [buf[0], buf[1], buf[2], buf[3]];
        let stored_crc = if layout.big_endian {
            u32::from_be_bytes(c)
        } else {
            u32::from_le_bytes(c)
        };
        let data = &buf[layout.data_offset()..layout.size];
        Ok(EnvCopy {
            base,
            stored_crc,
            computed_crc: crc32fast::hash(data),
            flags: layout.redundant.then_some(buf[4]),
            data,
            layout,
        })
    }

    /// Whether the stored CRC matches the data.
    pub fn crc_ok(&self) -> bool {
        self.stored_crc == self.computed_crc
    }

    /// The CRC error for this copy, if any.
    pub fn check_crc(&self) -> Result<()> {
        if self.crc_ok() {
            return Ok(());
        }
        let blank = self.data.iter().all(|&b| b == 0xff) || self.data.iter().all(|&b| b == 0);
        Err(Error::At {
            offset: self.base as usize,
            msg: format!(
                "environment CRC is {:#010x}, the data's CRC-32 is {:#010x}{}",
                self.stored_crc,
                self.computed_crc,
                if blank {
                    " (blank: no environment was ever written here)"
                } else {
                    " (corrupt or a different size/endianness)"
                }
            ),
        })
    }

    /// The variables in storage order. Strict: every entry must be `name=value` in UTF-8 and the
    /// list must end (an empty entry) inside the data area. Does not check the CRC.
    pub fn vars(&self) -> Result<Vars> {
        let d = self.data;
        let at = |i: usize| self.base as usize + self.layout.data_offset() + i;
        let mut out = Vars::new();
        let mut i = 0;
        loop {
            if i >= d.len() {
                return Err(Error::At {
                    offset: at(i),
                    msg: "variable list does not end inside the environment".into(),
                });
            }
            if d[i] == 0 {
                return Ok(out);
            }
            let Some(len) = d[i..].iter().position(|&b| b == 0) else {
                return Err(Error::At {
                    offset: at(i),
                    msg: "last variable is not NUL-terminated inside the environment".into(),
                });
            };
            let entry = std::str::from_utf8(&d[i..i + len]).map_err(|e| Error::At {
                offset: at(i + e.valid_up_to()),
                msg: "variable is not UTF-8".into(),
            })?;
            match entry.split_once('=') {
                Some((k, v)) if !k.is_empty() => out.push((k.to_owned(), v.to_owned())),
                Some(_) => {
                    return Err(Error::At {
                        offset: at(i),
                        msg: format!("variable with an empty name: {entry:?}"),
                    });
                }
                None => {
                    return Err(Error::At {
                        offset: at(i),
                        msg: format!("entry without '=': {entry:?}"),
                    });
                }
            }
            i += len + 1;
        }
    }
}

/// Which copy is current, by libubootenv's rule for files and block devices (incremental
/// flags): a copy with a good CRC beats one without; with two good copies the higher flag wins,
/// except that 0 beats 255 (the counter wrapped). With no good copy, copy 0 is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub current: usize,
    /// Whether the current copy has a good CRC.
    pub valid: bool,
    /// Flag of the current copy (0 for the single layout).
    pub flags: u8,
    /// Number of copies (1 or 2).
    pub copies: usize,
}

/// Chooses between one or two copies.
pub fn select(copies: &[EnvCopy<'_>]) -> Selection {
    let flag = |i: usize| copies[i].flags.unwrap_or(0);
    let (current, valid) = match copies {
        [a] => (0, a.crc_ok()),
        [a, b, ..] => match (a.crc_ok(), b.crc_ok()) {
            (true, false) => (0, true),
            (false, true) => (1, true),
            (false, false) => (0, false),
            (true, true) => {
                let (f0, f1) = (flag(0), flag(1));
                let cur = if f0 == 0xff && f1 == 0 {
                    1
                } else if f1 == 0xff && f0 == 0 {
                    0
                } else if f1 > f0 {
                    1
                } else {
                    0
                };
                (cur, true)
            }
        },
        [] => (0, false),
    };
    Selection {
        current,
        valid,
        flags: if copies.is_empty() { 0 } else { flag(current) },
        copies: copies.len().clamp(1, 2),
    }
}

impl Selection {
    /// The copy a store writes to and the flag it writes: the other copy, flag + 1 (wrapping).
    pub fn next(&self) -> (usize, u8) {
        let target = if self.copies == 2 {
            1 - self.current
        } else {
            0
        };
        (target, self.flags.wrapping_add(1))
    }
}

/// Encodes one copy: CRC, the flag byte when redundant, `name=value\0` entries, a final NUL, then
/// `pad` up to `layout.size`. Refuses variables that do not fit with their terminators.
pub fn encode(vars: &Vars, layout: Layout, pad: u8, flags: u8) -> Result<Vec<u8>> {
    layout.check()?;
    let mut out = vec![pad; layout.size];
    out[..layout.data_offset()].fill(0);
    let mut at = layout.data_offset();
    let need: usize = vars
        .iter()
        .map(|(k, v)| k.len() + v.len() + 2)
        .sum::<usize>()
        + 1;
    if need > layout.data_len() {
        return Err(Error::Field {
            field: "size".into(),
            msg: format!(
                "the variables need {need:#x} bytes, an environment of {:#x} holds {:#x}",
                layout.size,
                layout.data_len()
            ),
        });
    }
    for (k, v) in vars {
        for part in [k.as_bytes(), b"=", v.as_bytes(), b"\0"] {
            out[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
    }
    out[at] = 0;
    if layout.redundant {
        out[4] = flags;
    }
    let crc = crc32fast::hash(&out[layout.data_offset()..]);
    out[..4].copy_from_slice(&layout.crc_bytes(crc));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(size: usize, redundant: bool) -> Layout {
        Layout {
            size,
            redundant,
            big_endian: false,
        }
    }

    #[test]
    fn encode_layout_offsets() {
        let vars = vec![("a".to_string(), "1".to_string())];
        let img = encode(&vars, l(16, true), 0xff, 7).unwrap();
        // 0..4 crc, 4 flag, 5.. "a=1\0" then the final NUL, then 0xff
        assert_eq!(img[4], 7);
        assert_eq!(&img[5..11], b"a=1\0\0\xff");
        assert_eq!(
            u32::from_le_bytes(img[0..4].try_into().unwrap()),
            crc32fast::hash(&img[5..])
        );
        let c = EnvCopy::read(&img, l(16, true), 0).unwrap();
        assert!(c.crc_ok());
        assert_eq!(c.vars().unwrap(), vars);
        // exactly full: 11 data bytes hold "a=1234567\0" + final NUL
        let full = vec![("a".to_string(), "1234567".to_string())];
        assert!(encode(&full, l(15, false), 0xff, 0).is_ok());
        assert!(encode(&full, l(14, false), 0xff, 0).is_err());
    }

    #[test]
    fn selection_wraps() {
        let mk = |f: u8| encode(&vec![], l(16, true), 0, f).unwrap();
        let (i0, i1) = (mk(255), mk(0));
        let c = |b: &'static [u8]| EnvCopy::read(b, l(16, true), 0).unwrap();
        let (i0, i1): (&'static [u8], &'static [u8]) = (i0.leak(), i1.leak());
        assert_eq!(select(&[c(i0), c(i1)]).current, 1);
        assert_eq!(select(&[c(i1), c(i0)]).current, 0);
        let (a, b): (&'static [u8], &'static [u8]) = (mk(3).leak(), mk(4).leak());
        assert_eq!(select(&[c(a), c(b)]).current, 1);
        assert_eq!(select(&[c(b), c(a)]).current, 0);
        let mut bad = mk(9);
        bad[7] ^= 1;
        let bad: &'static [u8] = bad.leak();
        let s = select(&[c(a), c(bad)]);
        assert_eq!((s.current, s.valid, s.next()), (0, true, (1, 4)));
    }

    #[test]
    fn strict_entries() {
        let mut img = encode(&vec![("ab".into(), "c".into())], l(16, false), 0, 0).unwrap();
        img[6] = b'x'; // "abxc": no '='
        let c = EnvCopy::read(&img, l(16, false), 0x100).unwrap();
        let e = c.vars().unwrap_err().to_string();
        assert!(e.starts_with("offset 0x104: entry without '='"), "{e}");
    }
}
