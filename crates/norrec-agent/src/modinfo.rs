//! A kernel module's `.modinfo` section (NUL-separated `key=value` strings the kernel's modpost
//! writes: `name=`, `depends=`, `license=`, `vermagic=`…), read straight from the `.ko` ELF with
//! the `object` crate, and the load order of a set of modules from their `depends=`. Debian's
//! kernel package ships no `modules.dep`; `depends=` is what `depmod` itself reads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};

use crate::error::{Error, Result};

/// What a module says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModInfo {
    /// The module's name as the kernel knows it (`sunxi_mmc`: `-` becomes `_`).
    pub name: String,
    /// Names of the modules it needs loaded first (may be empty).
    pub depends: Vec<String>,
    /// The kernel it was built for (`vermagic=`).
    pub vermagic: Option<String>,
}

/// Reads `.modinfo` from a module's ELF bytes; `path` is only for messages.
pub fn read(elf: &[u8], path: &Path) -> Result<ModInfo> {
    let bad = |msg: String| Error::Module {
        path: path.to_owned(),
        msg,
    };
    if elf.starts_with(&[0xfd, b'7', b'z', b'X', b'Z'])
        || elf.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
    {
        return Err(bad(
            "compressed module: decompress it first (xz -d / zstd -d)".into(),
        ));
    }
    let file = object::File::parse(elf).map_err(|e| bad(format!("not an ELF object: {e}")))?;
    let section = file
        .section_by_name(".modinfo")
        .ok_or_else(|| bad("no .modinfo section".into()))?;
    let data = section
        .data()
        .map_err(|e| bad(format!(".modinfo at offset {:#x}: {e}", section.address())))?;
    parse(data).map_err(bad)
}

/// Parses the section's bytes: `key=value\0key=value\0…` (padding NULs between entries).
pub fn parse(data: &[u8]) -> std::result::Result<ModInfo, String> {
    let mut name = None;
    let mut depends = None;
    let mut vermagic = None;
    let mut offset = 0usize;
    for raw in data.split(|&b| b == 0) {
        let at = offset;
        offset += raw.len() + 1;
        if raw.is_empty() {
            continue;
        }
        let text = std::str::from_utf8(raw)
            .map_err(|_| format!(".modinfo entry at offset {at:#x} is not UTF-8"))?;
        let Some((k, v)) = text.split_once('=') else {
            return Err(format!(
                ".modinfo entry at offset {at:#x} has no '=': {text:?}"
            ));
        };
        match k {
            "name" => name = Some(v.to_owned()),
            "depends" => {
                depends = Some(
                    v.split(',')
                        .filter(|d| !d.is_empty())
                        .map(|d| d.replace('-', "_"))
                        .collect(),
                )
            }
            "vermagic" => vermagic = Some(v.to_owned()),
            _ => {}
        }
    }
    Ok(ModInfo {
        name: name.ok_or(".modinfo has no name= field")?.replace('-', "_"),
        depends: depends.unwrap_or_default(),
        vermagic,
    })
}

/// One module of a board's list, found and read.
#[derive(Debug, Clone)]
pub struct Module {
    /// The manifest's entry (`drivers/mmc/host/sunxi-mmc`).
    pub entry: String,
    /// The `.ko` file.
    pub path: PathBuf,
    pub info: ModInfo,
}

/// Finds each entry of `list` under `modules_dir/kernel/` (as `<entry>.ko`) and reads it.
pub fn find_all(modules_dir: &Path, list: &[String]) -> Result<Vec<Module>> {
    list.iter()
        .map(|entry| {
            let path = modules_dir.join("kernel").join(format!("{entry}.ko"));
            if !path.is_file() {
                for ext in ["ko.xz", "ko.zst", "ko.gz"] {
                    let c = modules_dir.join("kernel").join(format!("{entry}.{ext}"));
                    if c.is_file() {
                        return Err(Error::Module {
                            path: c,
                            msg: "compressed module: norrec loads plain .ko files (decompress the package's modules first)".into(),
                        });
                    }
                }
                return Err(Error::ModuleNotFound(entry.clone(), path));
            }
            let bytes = std::fs::read(&path).map_err(crate::error::io(&path))?;
            let info = read(&bytes, &path)?;
            Ok(Module {
                entry: entry.clone(),
                path,
                info,
            })
        })
        .collect()
}

/// Orders `modules` so that each comes after everything in its `depends=`; otherwise the list's
/// own order is kept. A dependency outside the list or a cycle is an error.
pub fn load_order(modules: &[Module]) -> Result<Vec<&Module>> {
    let by_name: HashMap<&str, usize> = modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.info.name.as_str(), i))
        .collect();
    // 0 = not visited, 1 = in progress, 2 = done
    let mut state = vec![0u8; modules.len()];
    let mut out = Vec::with_capacity(modules.len());
    fn visit<'m>(
        i: usize,
        modules: &'m [Module],
        by_name: &HashMap<&str, usize>,
        state: &mut [u8],
        out: &mut Vec<&'m Module>,
        path: &mut Vec<String>,
    ) -> Result<()> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                path.push(modules[i].info.name.clone());
                return Err(Error::DependencyCycle(path.join(" -> ")));
            }
            _ => {}
        }
        state[i] = 1;
        path.push(modules[i].info.name.clone());
        for dep in &modules[i].info.depends {
            let Some(&j) = by_name.get(dep.as_str()) else {
                return Err(Error::MissingDependency {
                    module: modules[i].info.name.clone(),
                    needs: dep.clone(),
                });
            };
            visit(j, modules, by_name, state, out, path)?;
        }
        path.pop();
        state[i] = 2;
        out.push(&modules[i]);
        Ok(())
    }
    for i in 0..modules.len() {
        visit(i, modules, &by_name, &mut state, &mut out, &mut Vec::new())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, deps: &[&str]) -> Module {
        Module {
            entry: name.into(),
            path: PathBuf::from(format!("{name}.ko")),
            info: ModInfo {
                name: name.into(),
                depends: deps.iter().map(|d| d.to_string()).collect(),
                vermagic: None,
            },
        }
    }

    #[test]
    fn parses_modinfo_entries_with_padding() {
        // off 0 "license=GPL", off 12 "depends=usbcore,scsi_mod", then NUL padding, "name=usb_storage"
        let data =
            b"license=GPL\0depends=usbcore,scsi_mod\0\0\0name=usb-storage\0vermagic=6.1.0 SMP\0";
        let i = parse(data).unwrap();
        assert_eq!(i.name, "usb_storage");
        assert_eq!(i.depends, ["usbcore", "scsi_mod"]);
        assert_eq!(i.vermagic.as_deref(), Some("6.1.0 SMP"));
        assert!(parse(b"depends=\0name=x\0").unwrap().depends.is_empty());
        let e = parse(b"name=x\0garbage\0").unwrap_err();
        assert!(e.contains("offset 0x7"), "{e}");
        assert!(parse(b"depends=a\0").unwrap_err().contains("name="));
    }

    #[test]
    fn orders_by_depends_keeping_list_order() {
        let list = [
            m("vfat", &["fat"]),
            m("usb_storage", &["usbcore", "scsi_mod"]),
            m("fat", &[]),
            m("scsi_mod", &["scsi_common"]),
            m("usbcore", &[]),
            m("scsi_common", &[]),
        ];
        let order: Vec<_> = load_order(&list)
            .unwrap()
            .iter()
            .map(|m| m.info.name.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "fat",
                "vfat",
                "usbcore",
                "scsi_common",
                "scsi_mod",
                "usb_storage"
            ]
        );
    }

    #[test]
    fn missing_dependency_and_cycle_are_named() {
        let e = load_order(&[m("vfat", &["fat"])]).unwrap_err().to_string();
        assert!(e.contains("vfat depends on fat"), "{e}");
        let e = load_order(&[m("a", &["b"]), m("b", &["a"])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("a -> b -> a"), "{e}");
    }
}
