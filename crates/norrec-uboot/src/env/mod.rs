//! U-Boot environments: the binary image (single and redundant), its text forms, the
//! `fw_env.config` that says where it lives, and the default environment compiled into a U-Boot
//! binary.
//!
//! Hand-written from U-Boot's `tools/mkenvimage.c` and libubootenv 0.3.5 (`src/uboot_env.c`,
//! `src/fw_printenv.c`), whose behaviour the tests check byte for byte where the reference tools
//! are deterministic. Reading and writing are pure functions over bytes; the caller does the file
//! or device access.
//!
//! ```text
//! single:     crc32 (4, LE unless big-endian) | "k=v\0k=v\0…\0" | padding
//! redundant:  crc32 (4)  | flags (1)          | "k=v\0…\0"     | padding
//! ```
//!
//! The CRC covers the whole data area (everything after the CRC and flag), padding included.
//! With two valid copies the one with the higher flag wins, 255 → 0 counting as a wrap; a write
//! goes to the other copy with the current flag plus one.
//!
//! Where libubootenv silently skips something malformed (a script line without `=`, an entry
//! without `=`, a short `fw_env.config` line), this module refuses it and names the line or the
//! offset.

mod config;
mod extract;
mod image;
mod text;

pub use config::{DeviceSpec, parse_config};
pub use extract::{DefaultEnv, find_default_env};
pub use image::{EnvCopy, Layout, Selection, encode, select};
pub use text::{ScriptOp, parse_mkenvimage_text, parse_script, to_text};

use crate::{Error, Result};
use std::collections::BTreeMap;

/// Variables in order: `(name, value)`. Builds keep the input order (as mkenvimage does).
pub type Vars = Vec<(String, String)>;

/// A variable set as libubootenv keeps it: sorted by name (byte order), one value per name, with
/// `.flags` (variable attributes) kept apart and written last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvSet {
    vars: BTreeMap<String, String>,
    flags: Option<String>,
}

impl EnvSet {
    /// From variables as stored (a later duplicate replaces an earlier one, as on load).
    pub fn from_vars(vars: Vars) -> EnvSet {
        let mut set = EnvSet::default();
        for (k, v) in vars {
            if k == ".flags" {
                set.flags = Some(v);
            } else {
                set.vars.insert(k, v);
            }
        }
        set
    }

    /// Sets (`Some`) or deletes (`None`) a variable. The name must be one U-Boot can read back.
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<()> {
        check_name(name)?;
        match value {
            Some(v) => {
                self.vars.insert(name.to_owned(), v.to_owned());
            }
            None => {
                self.vars.remove(name);
            }
        }
        Ok(())
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The variables in storage order (sorted, `.flags` last).
    pub fn to_vars(&self) -> Vars {
        let mut out: Vars = self
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(f) = &self.flags {
            out.push((".flags".into(), f.clone()));
        }
        out
    }

    /// Number of variables (without `.flags`).
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// Whether there are no variables.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

/// Checks a variable name: not empty, no `=`, no whitespace or control characters.
pub fn check_name(name: &str) -> Result<()> {
    let bad = name
        .chars()
        .find(|c| *c == '=' || c.is_whitespace() || c.is_control());
    if name.is_empty() || bad.is_some() {
        return Err(Error::Field {
            field: format!("variable name {name:?}"),
            msg: match bad {
                Some(c) => format!("contains {c:?}"),
                None => "is empty".into(),
            },
        });
    }
    Ok(())
}
