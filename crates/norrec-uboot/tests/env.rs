//! Environment images against mkenvimage (byte for byte) and libubootenv's fw_setenv, and the
//! default environment of Debian's Cubieboard U-Boot.

use norrec_testutil::{run_ok, tool};
use norrec_uboot::env::{
    EnvCopy, EnvSet, Layout, encode, find_default_env, parse_mkenvimage_text, select,
};
use std::path::{Path, PathBuf};

/// Comments, an empty line, a `#` inside a value, an embedded newline (`\` at the end of a
/// line), a duplicate, and no newline at the end.
const TEXT: &[u8] = b"# board defaults\nbootdelay=2\n\nbootcmd=run distro_bootcmd\nrootpart=2\nmsg=a # not a comment\nmulti=line one\\\nline two\nrootpart=3\nlast=no newline";

fn mkenvimage(dir: &Path, args: &[&str], text: &[u8]) -> Option<Vec<u8>> {
    let mk = tool("mkenvimage")?;
    let src = dir.join("env.txt");
    let out = dir.join("env.bin");
    std::fs::write(&src, text).unwrap();
    let mut a: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
    a.push("-o".into());
    a.push(out.clone().into());
    a.push(src.into());
    run_ok(&mk, a);
    Some(std::fs::read(out).unwrap())
}

fn layout(size: usize, redundant: bool, big_endian: bool) -> Layout {
    Layout {
        size,
        redundant,
        big_endian,
    }
}

#[test]
fn build_is_byte_identical_to_mkenvimage() {
    let dir = tempfile::tempdir().unwrap();
    let vars = parse_mkenvimage_text(TEXT).unwrap();
    assert_eq!(vars.len(), 7);
    let cases: &[(&[&str], Layout, u8)] = &[
        (&["-s", "0x4000"], layout(0x4000, false, false), 0xff),
        (&["-s", "0x4000", "-r"], layout(0x4000, true, false), 0xff),
        (&["-s", "0x4000", "-b"], layout(0x4000, false, true), 0xff),
        (
            &["-s", "0x4000", "-p", "0"],
            layout(0x4000, false, false),
            0,
        ),
        (
            &["-s", "0x10000", "-r", "-b", "-p", "0x5a"],
            layout(0x10000, true, true),
            0x5a,
        ),
    ];
    for (args, l, pad) in cases {
        let Some(want) = mkenvimage(dir.path(), args, TEXT) else {
            return;
        };
        let got = encode(&vars, *l, *pad, 1).unwrap();
        assert_eq!(got.len(), want.len(), "{args:?}");
        assert!(
            got == want,
            "{args:?}: first difference at {:?}",
            got.iter().zip(&want).position(|(a, b)| a != b)
        );
        // and read back what mkenvimage wrote
        let c = EnvCopy::read(&want, *l, 0).unwrap();
        c.check_crc().unwrap();
        assert_eq!(c.vars().unwrap(), vars);
        assert_eq!(c.flags, l.redundant.then_some(1));
    }
}

#[test]
fn too_large_is_refused_like_mkenvimage() {
    // "abcd=1234", its NUL and the final NUL: 11 bytes, exactly the data area of 16 - 4 - 1.
    let fits = b"abcd=1234\n";
    let full = b"abcd=12345\n";
    let l = layout(16, true, false);
    assert!(encode(&parse_mkenvimage_text(fits).unwrap(), l, 0xff, 1).is_ok());
    assert!(encode(&parse_mkenvimage_text(full).unwrap(), l, 0xff, 1).is_err());
    if let Some(mk) = tool("mkenvimage") {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("t");
        for (text, ok) in [(&fits[..], true), (&full[..], false)] {
            std::fs::write(&src, text).unwrap();
            let st = std::process::Command::new(&mk)
                .args(["-r", "-s", "16", "-o"])
                .arg(dir.path().join("o"))
                .arg(&src)
                .output()
                .unwrap();
            assert_eq!(st.status.success(), ok, "{text:?}");
        }
    }
}

fn fw_config(dir: &Path, lines: &[(u64, usize)], file: &Path) -> PathBuf {
    let cfg = dir.join("fw_env.config");
    let body: String = lines
        .iter()
        .map(|(off, size)| format!("{} {off:#x} {size:#x}\n", file.display()))
        .collect();
    std::fs::write(&cfg, body).unwrap();
    cfg
}

#[test]
fn reads_what_fw_setenv_wrote_single_and_redundant() {
    let Some(fw_setenv) = tool("fw_setenv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let def = d.join("u-boot-initial-env");
    std::fs::write(&def, "bootdelay=2\nbaudrate=115200\n").unwrap();
    let file = d.join("uboot.env");

    // single copy: fw_setenv needs an existing (zero-filled) file and falls back to -f
    std::fs::write(&file, vec![0u8; 0x4000]).unwrap();
    let cfg = fw_config(d, &[(0, 0x4000)], &file);
    let args = |extra: &[&str]| -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec![
            "-c".into(),
            cfg.clone().into(),
            "-f".into(),
            def.clone().into(),
        ];
        v.extend(extra.iter().map(Into::into));
        v
    };
    run_ok(&fw_setenv, args(&["rootpart", "3"]));
    let img = std::fs::read(&file).unwrap();
    let c = EnvCopy::read(&img, layout(0x4000, false, false), 0).unwrap();
    c.check_crc().unwrap();
    let vars = c.vars().unwrap();
    let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["baudrate", "bootdelay", "rootpart"]); // libubootenv keeps them sorted
    // what norrec writes for the same change is the same up to the end of the variables
    let mut set = EnvSet::from_vars(vec![
        ("bootdelay".into(), "2".into()),
        ("baudrate".into(), "115200".into()),
    ]);
    set.set("rootpart", Some("3")).unwrap();
    let ours = encode(&set.to_vars(), layout(0x4000, false, false), 0, 0).unwrap();
    let used = 4 + "baudrate=115200\0bootdelay=2\0rootpart=3\0\0".len();
    assert_eq!(&ours[4..used], &img[4..used]);

    // two copies in one file: the first write goes to copy 1 with flag 1, the next to copy 0
    std::fs::write(&file, vec![0u8; 0x8000]).unwrap();
    let cfg2 = fw_config(d, &[(0, 0x4000), (0x4000, 0x4000)], &file);
    let l = layout(0x4000, true, false);
    for (round, (want_current, want_flag)) in
        [(1usize, 1u8), (0, 2), (1, 3)].into_iter().enumerate()
    {
        let v = round.to_string();
        run_ok(
            &fw_setenv,
            [
                "-c".into(),
                cfg2.clone().into_os_string(),
                "-f".into(),
                def.clone().into_os_string(),
                "round".into(),
                v.clone().into(),
            ],
        );
        let img = std::fs::read(&file).unwrap();
        let copies = [
            EnvCopy::read(&img[..0x4000], l, 0).unwrap(),
            EnvCopy::read(&img[0x4000..], l, 0x4000).unwrap(),
        ];
        let s = select(&copies);
        assert_eq!(
            (s.current, s.flags, s.valid),
            (want_current, want_flag, true),
            "round {round}"
        );
        let vars = copies[s.current].vars().unwrap();
        assert!(vars.contains(&("round".to_string(), v)));
    }
}

/// Debian's Cubieboard `u-boot-sunxi-with-spl.bin`, from the board assets `scripts/setup` fetches.
fn debian_uboot() -> Option<Vec<u8>> {
    norrec_testutil::board_assets()
        .map(|a| std::fs::read(&a.uboot_spl_bin).expect("read u-boot-sunxi-with-spl.bin"))
}

#[test]
fn finds_the_default_env_of_debians_cubieboard_uboot() {
    let Some(bin) = debian_uboot() else {
        return;
    };
    let env = find_default_env(&bin, 8).unwrap();
    assert_eq!(env.vars.len(), 54);
    assert_eq!(env.vars[0], ("bootcmd".into(), "run distro_bootcmd".into()));
    let get = |k: &str| {
        env.vars
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("kernel_addr_r"), Some("0x42000000"));
    assert_eq!(get("scriptaddr"), Some("0x43100000"));
    assert_eq!(get("bootdelay"), Some("2"));
    // it sits in the binary exactly as found: the strings, then a double NUL
    let raw = &bin[env.offset..env.offset + env.len];
    assert!(raw.starts_with(b"bootcmd=run distro_bootcmd\0"));
    assert!(raw.ends_with(b"\0\0"));
    // and the whole default environment fits Debian's CONFIG_ENV_SIZE (0x10000)
    let img = encode(&env.vars, layout(0x10000, false, false), 0, 0).unwrap();
    assert_eq!(
        EnvCopy::read(&img, layout(0x10000, false, false), 0)
            .unwrap()
            .vars()
            .unwrap(),
        env.vars
    );
}
