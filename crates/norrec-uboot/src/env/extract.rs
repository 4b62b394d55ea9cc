//! The default environment compiled into a U-Boot binary (`default_environment[]`): a run of
//! NUL-terminated `name=value` strings ended by an empty string, somewhere in `.rodata`.
//!
//! Without symbols, it is found as the longest such run: a run starts after a NUL (or at the
//! start), every string in it is a variable (a name of printable non-space ASCII without `=`,
//! then `=`, then printable text, tab or newline), and it ends with a double NUL. Other strings
//! in a binary rarely form even two such entries in a row; the default environment has dozens.

use super::Vars;
use crate::{Error, Result};

/// The environment found, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultEnv {
    /// Offset of the first variable in the binary.
    pub offset: usize,
    /// Length in bytes, the final double NUL included.
    pub len: usize,
    pub vars: Vars,
}

fn var_of(s: &[u8]) -> Option<(String, String)> {
    let eq = s.iter().position(|&b| b == b'=')?;
    let (name, value) = (&s[..eq], &s[eq + 1..]);
    let name_ok = !name.is_empty() && name.iter().all(|&b| b.is_ascii_graphic());
    let value_ok = value
        .iter()
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\t' || b == b'\n');
    if !(name_ok && value_ok) {
        return None;
    }
    Some((
        String::from_utf8_lossy(name).into_owned(),
        String::from_utf8_lossy(value).into_owned(),
    ))
}

/// Finds the longest run of at least `min_vars` variables ended by a double NUL.
pub fn find_default_env(bin: &[u8], min_vars: usize) -> Result<DefaultEnv> {
    let mut best: Option<(usize, usize, usize)> = None; // (start, end, count)
    let mut run_start = 0usize;
    let mut count = 0usize;
    let mut pos = 0usize;
    for s in bin.split(|&b| b == 0) {
        let here = pos;
        pos += s.len() + 1;
        if s.is_empty() {
            if count > 0 && best.is_none_or(|b| count > b.2) {
                best = Some((run_start, here + 1, count));
            }
            count = 0;
            continue;
        }
        if var_of(s).is_some() {
            if count == 0 {
                run_start = here;
            }
            count += 1;
        } else {
            count = 0;
        }
    }
    let Some((start, end, n)) = best.filter(|b| b.2 >= min_vars.max(1)) else {
        return Err(Error::Field {
            field: "default environment".into(),
            msg: format!(
                "no run of {} or more NUL-separated name=value strings ending in a double NUL{}",
                min_vars.max(1),
                best.map_or(String::new(), |b| format!(
                    " (longest: {} at {:#x})",
                    b.2, b.0
                ))
            ),
        });
    };
    let vars = bin[start..end]
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .filter_map(var_of)
        .collect::<Vars>();
    debug_assert_eq!(vars.len(), n);
    Ok(DefaultEnv {
        offset: start,
        len: end - start,
        vars,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_longest_run() {
        let mut bin = b"\x01\x02junk\0%s=%d took\0x=1\0\0".to_vec();
        let at = bin.len();
        bin.extend_from_slice(b"bootcmd=run distro_bootcmd\0bootdelay=2\0arch=arm\0\0\xea\x00");
        let env = find_default_env(&bin, 2).unwrap();
        assert_eq!(env.offset, at);
        assert_eq!(env.vars.len(), 3);
        assert_eq!(env.vars[0], ("bootcmd".into(), "run distro_bootcmd".into()));
        assert!(find_default_env(&bin, 4).is_err());
    }
}
