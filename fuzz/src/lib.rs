//! The bodies of norrec's fuzz targets: each feeds arbitrary bytes to one parser and walks what
//! it returns. A parser may refuse its input with an error; it must never panic, hang or read out
//! of bounds.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Flash image inspection (FDT, legacy headers, erased runs).
pub fn flash_scan(data: &[u8]) {
    let _ = norrec_nor::image::scan(data);
}

/// The FDT reader and, on top of it, the FIT reader with hashing and listing.
pub fn fdt_fit(data: &[u8]) {
    if let Ok(fdt) = norrec_uboot::fdt::Fdt::new(data) {
        let _ = fdt.walk();
    }
    if let Ok(fit) = norrec_uboot::fit::Fit::new(data) {
        let _ = fit.verify();
        let _ = fit.list();
        let _ = fit.load_size();
        let _ = fit.lints(&Default::default());
    }
}

/// A loader that refuses every `/incbin/` and `/include/`.
struct NoFiles;

impl norrec_uboot::dts::Loader for NoFiles {
    fn load(&mut self, name: &str, _from: &Path) -> std::io::Result<(PathBuf, Vec<u8>)> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            name.to_owned(),
        ))
    }
}

/// The device-tree source parser.
pub fn dts(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = norrec_uboot::dts::parse(text, Path::new("fuzz.dts"), &mut NoFiles);
    }
}

/// Legacy (script) images and the sunxi SPL header.
pub fn legacy_spl(data: &[u8]) {
    if let Ok(img) = norrec_uboot::legacy::LegacyImage::parse(data) {
        let _ = img.parts();
        let _ = img.script();
    }
    let _ = norrec_uboot::spl::check(data);
}

/// Environment text, libubootenv scripts, fw_env.config and environment images.
pub fn env(data: &[u8]) {
    let _ = norrec_uboot::env::parse_mkenvimage_text(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = norrec_uboot::env::parse_script(text);
        let _ = norrec_uboot::env::parse_config(text);
    }
    let _ = norrec_uboot::env::find_default_env(data, 2);
}

/// The cpio reader and the streaming .swu reader.
pub fn cpio_swu(data: &[u8]) {
    let mut r = norrec_swu::cpio::CpioReader::new(data);
    while let Ok(Some(_)) = r.next_header() {
        if r.read_to_vec(1 << 20).is_err() {
            break;
        }
    }
    if let Ok(mut swu) = norrec_swu::SwuReader::new(data) {
        let _ = swu.tree();
        while let Ok(Some(mut entry)) = swu.next_entry() {
            let mut sink = Vec::new();
            if entry.read_to_end(&mut sink).is_err() {
                break;
            }
        }
    }
}

/// sw-description in libconfig and JSON, and the typed model with selection.
pub fn sw_description(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = norrec_swu::libconfig::parse(text);
        let _ = norrec_swu::Value::parse_json(text);
        let _ = norrec_swu::Description::parse(text, &norrec_swu::Selection::default());
    }
}

/// sfdisk scripts and MBR sectors.
pub fn partitions(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = norrec_disk::script::parse(text);
    }
    let _ = norrec_disk::mbr::read::Mbr::parse(data);
}

#[cfg(test)]
mod tests {
    /// Every target over seeded pseudo-random inputs and every truncation of a few valid ones:
    /// a stand-in for the fuzzer that runs on stable.
    #[test]
    fn targets_survive_random_and_truncated_input() {
        let targets: [(&str, fn(&[u8])); 8] = [
            ("flash_scan", super::flash_scan),
            ("fdt_fit", super::fdt_fit),
            ("dts", super::dts),
            ("legacy_spl", super::legacy_spl),
            ("env", super::env),
            ("cpio_swu", super::cpio_swu),
            ("sw_description", super::sw_description),
            ("partitions", super::partitions),
        ];
        let seeds: [&[u8]; 4] = [
            b"/dts-v1/;\n/ { a = <1 2>; b = \"x\"; c { d = [01 02]; }; };\n",
            b"software = { version = \"1\"; images: ( { filename = \"a\"; device = \"/dev/x\"; } ); };",
            b"label: dos\nunit: sectors\nstart= 2048, size= 100, type=c, bootable\n,,L\n",
            b"070701000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000f00000000sw-description\0",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for (name, target) in targets {
            for seed in seeds {
                for end in 0..=seed.len() {
                    target(&seed[..end]);
                }
            }
            for len in [0usize, 1, 4, 40, 64, 512, 4096] {
                let data: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                target(&data);
            }
            eprintln!("{name}: ok");
        }
    }
}
