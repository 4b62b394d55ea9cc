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
    // the skeleton reader over the same bytes: values over 16 bytes skipped
    if let Ok(skel) =
        norrec_uboot::fdt::skeleton::read_skeleton(std::io::Cursor::new(data), data.len(), 16)
    {
        if let Ok(fit) = norrec_uboot::fit::Fit::new(&skel.bytes) {
            let _ = fit.verify_with(|algo, (s, e)| {
                let mut h = algo.hasher();
                h.update(&data[s..e]);
                Ok(h.finish())
            });
        }
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

/// Everything the ext4 reader can be asked for, from an image that is the input itself and
/// from one whose superblock and group descriptor are fixed (1 KiB blocks, 16 inodes, inode
/// table at block 5) and whose other bytes come from the input, so inodes, extent trees, block
/// maps and directories are reached at once. Reads are bounded; errors are expected.
pub fn ext4_read(data: &[u8]) {
    ext4_read_count(data);
}

/// [`ext4_read`], returning how many directory entries the walks reached.
fn ext4_read_count(data: &[u8]) -> usize {
    use norrec_disk::ext4::read::{dir, extent, inode::Inode, superblock::Superblock};
    let _ = Superblock::parse(data, data.len() as u64);
    let _ = Inode::parse(1, data);
    let _ = extent::parse_node(data);
    let mut v = Vec::new();
    let _ = dir::parse_block(data, true, &mut v);
    let _ = dir::parse_block(data, false, &mut v);

    let mut reached = ext4_walk(norrec_disk::MemDevice {
        data: data.to_vec(),
    });
    let mut img = vec![0u8; 64 << 10];
    let sb = &mut img[1024..2048];
    let mut put = |off: usize, v: u32| sb[off..off + 4].copy_from_slice(&v.to_le_bytes());
    put(0x00, 16); // s_inodes_count
    put(0x04, 64); // s_blocks_count_lo
    put(0x14, 1); // s_first_data_block
    put(0x20, 8192); // s_blocks_per_group
    put(0x28, 16); // s_inodes_per_group
    put(0x4C, 1); // s_rev_level
    put(0x60, 0x2 | 0x40 | 0x8000); // filetype, extent, inline_data
    sb[0x38..0x3A].copy_from_slice(&0xEF53u16.to_le_bytes());
    sb[0x58..0x5A].copy_from_slice(&256u16.to_le_bytes()); // s_inode_size
    img[2048 + 8..2048 + 12].copy_from_slice(&5u32.to_le_bytes()); // bg_inode_table_lo
    let room = img.len() - 2048 - 32;
    let n = data.len().min(room);
    // Inode table first (so short inputs shape the root inode), then the blocks after it.
    img[5 * 1024..5 * 1024 + n.min(59 << 10)].copy_from_slice(&data[..n.min(59 << 10)]);
    if n > 59 << 10 {
        img[2048 + 32..2048 + 32 + n - (59 << 10)].copy_from_slice(&data[59 << 10..n]);
    }
    reached += ext4_walk(norrec_disk::MemDevice { data: img });
    reached
}

fn ext4_walk(dev: norrec_disk::MemDevice) -> usize {
    use norrec_disk::ext4::read::{Ext4, FileKind};
    let Ok(mut fs) = Ext4::open(dev) else {
        return 0;
    };
    let mut reached = 0;
    let _ = fs.info();
    let _ = fs.lookup("/a/../b/c");
    let mut todo = vec![2u32];
    let mut seen = std::collections::HashSet::new();
    let mut buf = vec![0u8; 1 << 16];
    while let Some(ino) = todo.pop() {
        if !seen.insert(ino) || seen.len() > 64 {
            continue;
        }
        let Ok(entries) = fs.read_dir(ino) else {
            continue;
        };
        for e in entries.into_iter().take(256) {
            reached += 1;
            let Ok(i) = fs.inode(e.ino) else { continue };
            match i.kind() {
                FileKind::Dir => todo.push(e.ino),
                FileKind::Symlink => {
                    let _ = fs.read_link(e.ino);
                }
                _ => {
                    if let Ok(mut f) = fs.open_file(e.ino) {
                        for _ in 0..8 {
                            if let Ok(z) = f.zeros_ahead() {
                                f.skip(z.min(1 << 20));
                            }
                            match f.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(_) => {}
                            }
                        }
                    }
                }
            }
        }
    }
    reached
}

/// norrec-install's table of contents (its own cpio header reader, which reads a file by
/// offset): the input is written to a scratch file and read as a bundle; every entry's announced
/// output is asked for under each compression; a `sw-description` found in it is parsed and
/// planned against a map of one blank 1 MiB disk (`/dev/mmcblk0`), nothing written.
pub fn install_toc(data: &[u8]) {
    install_toc_steps(data);
}

/// [`install_toc`], returning how many steps the plan made (0 when it refused or never ran).
fn install_toc_steps(data: &[u8]) -> usize {
    use norrec_install::{plan, toc};
    use norrec_swu::Compression;
    use std::os::unix::fs::FileExt;
    thread_local! {
        // Unnamed files: nothing is left behind when the fuzzer is stopped.
        static BUNDLE: std::fs::File = tempfile::tempfile().expect("scratch file");
        static DISK: (std::fs::File, norrec_install::DeviceMap) = {
            let disk = tempfile::tempfile().expect("scratch disk");
            disk.set_len(1 << 20).expect("scratch disk size");
            let mut map = norrec_install::DeviceMap::new();
            let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&disk));
            map.add_disk("/dev/mmcblk0", Path::new(&path)).expect("map the scratch disk");
            (disk, map)
        };
    }
    BUNDLE.with(|f| {
        f.set_len(0).expect("truncate scratch file");
        f.write_all_at(data, 0).expect("write scratch file");
        let Ok(t) = toc::Toc::read(f) else {
            return 0;
        };
        for e in &t.entries {
            for c in [Compression::None, Compression::Zlib, Compression::Zstd] {
                let _ = toc::min_output(f, e, c);
            }
        }
        let Some(e) = t.get("sw-description") else {
            return 0;
        };
        let mut text = vec![0u8; e.size.min(1 << 20) as usize];
        if f.read_exact_at(&mut text, e.data_offset).is_err() {
            return 0;
        }
        let Ok(text) = std::str::from_utf8(&text) else {
            return 0;
        };
        let Ok(d) = norrec_swu::Description::parse(text, &norrec_swu::Selection::default()) else {
            return 0;
        };
        DISK.with(|(_, map)| {
            plan::plan(&d, map, Some((&t, f)), &plan::Options::default())
                .map_or(0, |p| p.steps.len())
        })
    })
}

#[cfg(test)]
mod tests {
    /// Every target over seeded pseudo-random inputs and every truncation of a few valid ones:
    /// a stand-in for the fuzzer that runs on stable.
    #[test]
    fn targets_survive_random_and_truncated_input() {
        type Body = fn(&[u8]);
        let targets: &[(&str, Body)] = &[
            ("flash_scan", super::flash_scan),
            ("fdt_fit", super::fdt_fit),
            ("dts", super::dts),
            ("legacy_spl", super::legacy_spl),
            ("env", super::env),
            ("cpio_swu", super::cpio_swu),
            ("sw_description", super::sw_description),
            ("partitions", super::partitions),
            ("ext4_read", super::ext4_read),
            ("install_toc", super::install_toc),
        ];
        let seeds: [&[u8]; 4] = [
            b"/dts-v1/;\n/ { a = <1 2>; b = \"x\"; c { d = [01 02]; }; };\n",
            b"software = { version = \"1\"; images: ( { filename = \"a\"; device = \"/dev/x\"; } ); };",
            b"label: dos\nunit: sectors\nstart= 2048, size= 100, type=c, bootable\n,,L\n",
            b"070701000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000f00000000sw-description\0",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for &(name, target) in targets {
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

    /// A seed shaped for the ext4 target's fixed superblock: the root (inode 2, at input byte
    /// 256) an inline directory holding `f` (inode 3), a file with one extent. The walk must
    /// reach both entries, and every truncation of the seed must be survived.
    #[test]
    fn ext4_seed_reaches_its_entries() {
        let mut d = vec![0u8; 768];
        let root = &mut d[256..512];
        root[0..2].copy_from_slice(&0o40755u16.to_le_bytes());
        root[4..8].copy_from_slice(&60u32.to_le_bytes()); // i_size
        root[0x1A] = 2; // links
        root[0x20..0x24].copy_from_slice(&0x1000_0000u32.to_le_bytes()); // inline data
        root[0x28..0x2C].copy_from_slice(&2u32.to_le_bytes()); // parent
        root[0x2C..0x30].copy_from_slice(&3u32.to_le_bytes()); // dirent: inode 3
        root[0x30..0x32].copy_from_slice(&56u16.to_le_bytes()); // rec_len
        root[0x32] = 1; // name_len
        root[0x33] = 1; // regular file
        root[0x34] = b'f';
        let f = &mut d[512..768];
        f[0..2].copy_from_slice(&0o100644u16.to_le_bytes());
        f[4..8].copy_from_slice(&5000u32.to_le_bytes());
        f[0x20..0x24].copy_from_slice(&0x80000u32.to_le_bytes()); // extents
        f[0x28..0x2A].copy_from_slice(&0xF30Au16.to_le_bytes());
        f[0x2A] = 1; // entries
        f[0x2C] = 4; // max
        f[0x34..0x36].copy_from_slice(&5u16.to_le_bytes()); // 5 blocks
        f[0x38..0x3C].copy_from_slice(&20u32.to_le_bytes()); // from block 20
        assert_eq!(super::ext4_read_count(&d), 3, ". , .. and f");
        for end in 0..d.len() {
            super::ext4_read(&d[..end]);
        }
    }

    /// A real bundle (built by `norrec_swu::build`: a gzip image, a zstd image with a frame
    /// content size, a plain one, and a file for the FAT) is the seed of `install_toc`: the
    /// plan over it must make the three raw steps (the rawfile step alone then fails, the blank
    /// disk holding no FAT, so the plan is run once without it), and every truncation of it and
    /// every single-byte change in its headers must be survived. Both bundles are written to
    /// `corpus/install_toc/` as the fuzzer's seeds.
    #[test]
    fn install_toc_seed_from_a_built_bundle() {
        use std::io::Write;
        use std::path::Path;
        let raw = |files: &str| {
            format!(
                "software = {{ version = \"1\"; images: ( \
                 {{ filename = \"a.gz\"; type = \"raw\"; device = \"/dev/mmcblk0\"; \
                    offset = \"8K\"; compressed = \"zlib\"; }}, \
                 {{ filename = \"b.zst\"; type = \"raw\"; device = \"/dev/mmcblk0\"; \
                    offset = \"64K\"; compressed = \"zstd\"; }}, \
                 {{ filename = \"c.bin\"; type = \"raw\"; device = \"/dev/mmcblk0\"; \
                    offset = \"512K\"; }} ); {files} }};"
            )
        };
        let plain = vec![0x5au8; 3000];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        // zstd frame (RFC 8878): magic; FHD 0x60 = single segment, 2-byte content size
        // (value + 256); one last raw block, header (size << 3) | 1, little-endian 24 bits.
        let mut zst = vec![0x28, 0xb5, 0x2f, 0xfd, 0x60];
        zst.extend_from_slice(&((plain.len() - 256) as u16).to_le_bytes());
        zst.extend_from_slice(&(((plain.len() as u32) << 3) | 1).to_le_bytes()[..3]);
        zst.extend_from_slice(&plain);
        let mut load = |name: &str, _| {
            Ok(match name {
                "a.gz" => gz.clone(),
                "b.zst" => zst.clone(),
                _ => plain.clone(),
            })
        };
        let build = |text: &str, load: &mut dyn FnMut(&str, _) -> _| {
            norrec_swu::build(text, load, &Default::default(), Vec::new())
                .unwrap()
                .0
        };
        let bundle = build(&raw(""), &mut load);
        assert_eq!(super::install_toc_steps(&bundle), 3, "three raw steps");
        let with_file = build(
            &raw("files: ( { filename = \"d.txt\"; type = \"rawfile\"; \
                  device = \"/dev/mmcblk0\"; filesystem = \"vfat\"; path = \"/d.txt\"; } );"),
            &mut load,
        );
        assert_eq!(
            super::install_toc_steps(&with_file),
            0,
            "no FAT on the blank disk"
        );
        // The seeds of `cargo fuzz run install_toc` (corpus/ is not committed).
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/install_toc");
        std::fs::create_dir_all(&corpus).unwrap();
        std::fs::write(corpus.join("seed-raw.swu"), &bundle).unwrap();
        std::fs::write(corpus.join("seed-rawfile.swu"), &with_file).unwrap();
        for end in 0..with_file.len() {
            super::install_toc(&with_file[..end]);
        }
        // Each header byte (and the name after it) of every entry changed, one at a time.
        let mut at = 0;
        let mut d = with_file.clone();
        while at + 110 <= d.len() && d[at..at + 5] == *b"07070" {
            let hex = |f: usize| {
                usize::from_str_radix(std::str::from_utf8(&d[at + 6 + f * 8..][..8]).unwrap(), 16)
                    .unwrap()
            };
            let (size, namesize) = (hex(6), hex(11));
            for i in at..(at + 110 + namesize).min(d.len()) {
                for v in [b'0', b'f', b'+', b'g', 0xff] {
                    let old = d[i];
                    d[i] = v;
                    super::install_toc(&d);
                    d[i] = old;
                }
            }
            let data = (at + 110 + namesize + 3) & !3;
            at = (data + size + 3) & !3;
        }
        assert!(at > with_file.len() / 2, "the walk went over the entries");
    }
}
