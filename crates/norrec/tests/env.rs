//! `norrec env` against mkenvimage, fw_printenv and fw_setenv (libubootenv), Debian's U-Boot
//! binary, and its bad inputs.

use std::path::{Path, PathBuf};
use std::process::Output;

use norrec_testutil::{run_ok, tool};

mod common;
use common::{fails, ok, s};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const TEXT: &str = "# defaults\nbootdelay=2\nbootcmd=run distro_bootcmd\n\nrootpart=2\nscriptaddr=0x43100000\nmulti=one\\\ntwo\n";

#[test]
fn build_equals_mkenvimage_in_every_form() {
    let Some(mk) = tool("mkenvimage") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let txt = t.path().join("env.txt");
    std::fs::write(&txt, TEXT).unwrap();
    for opts in [
        &["-s", "0x10000"][..],
        &["-s", "0x10000", "-r"],
        &["-s", "0x4000", "-b"],
        &["-s", "0x4000", "-p", "0"],
        &["-s", "0x2000", "-r", "-b", "-p", "0x55"],
    ] {
        let theirs = t.path().join("mk.env");
        let ours = t.path().join("norrec.env");
        let mut a: Vec<&str> = opts.to_vec();
        a.extend(["-o", s(&theirs), s(&txt)]);
        run_ok(&mk, &a);
        let mut b = vec!["env", "build", s(&txt)];
        b.extend(opts.iter().copied());
        b.extend(["-o", s(&ours)]);
        ok(&b);
        assert_eq!(
            std::fs::read(&ours).unwrap(),
            std::fs::read(&theirs).unwrap(),
            "{opts:?}"
        );
    }
}

/// A fw_env.config naming copies in `file`.
fn config(dir: &Path, name: &str, file: &Path, copies: &[(u64, u64)]) -> PathBuf {
    let cfg = dir.join(name);
    let body: String = copies
        .iter()
        .map(|(o, z)| format!("{} {o:#x} {z:#x}\n", file.display()))
        .collect();
    std::fs::write(&cfg, format!("# test device\n{body}")).unwrap();
    cfg
}

fn fw(tool_path: &Path, cfg: &Path, def: &Path, args: &[&str]) -> Output {
    let mut a: Vec<&str> = vec!["-c", s(cfg), "-f", s(def)];
    a.extend(args);
    run_ok(tool_path, a)
}

#[test]
fn fw_setenv_and_norrec_read_each_other_single_and_redundant() {
    let (Some(fw_setenv), Some(fw_printenv)) = (tool("fw_setenv"), tool("fw_printenv")) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let def = d.join("u-boot-initial-env");
    std::fs::write(
        &def,
        "bootdelay=2\nbaudrate=115200\nbootcmd=run distro_bootcmd\n",
    )
    .unwrap();
    for (label, copies) in [
        ("single", &[(0u64, 0x4000u64)][..]),
        ("redundant", &[(0, 0x4000), (0x4000, 0x4000)][..]),
    ] {
        // fw_setenv will not create an environment from nothing: a zero-filled device first
        let dev = d.join(format!("{label}.img"));
        std::fs::write(&dev, vec![0u8; 0x8000]).unwrap();
        let cfg = config(d, &format!("{label}.config"), &dev, copies);

        // fw_setenv writes, norrec reads
        fw(&fw_setenv, &cfg, &def, &["rootpart", "3"]);
        fw(&fw_setenv, &cfg, &def, &["ustate", "1"]);
        let ours = ok(&["env", "print", "-c", s(&cfg)]);
        let theirs = stdout(&fw(&fw_printenv, &cfg, &def, &[]));
        assert_eq!(ours, theirs, "{label}");
        assert!(
            ours.contains("rootpart=3\n") && ours.contains("ustate=1\n"),
            "{ours}"
        );
        assert_eq!(
            ok(&["env", "print", "-c", s(&cfg), "-n", "rootpart"]),
            "3\n"
        );

        // norrec writes (a value, a deletion, a script), fw_printenv reads
        ok(&["env", "set", "-c", s(&cfg), "rootpart", "2"]);
        ok(&["env", "set", "-c", s(&cfg), "ustate"]);
        let script = d.join("changes.txt");
        std::fs::write(
            &script,
            "# upgrade\nbootcount=0\nupgrade_available=1\nbaudrate=\n",
        )
        .unwrap();
        ok(&["env", "set", "-c", s(&cfg), "-s", s(&script)]);
        let theirs = stdout(&fw(&fw_printenv, &cfg, &def, &[]));
        assert_eq!(
            theirs,
            "bootcmd=run distro_bootcmd\nbootcount=0\nbootdelay=2\nrootpart=2\nupgrade_available=1\n",
            "{label}"
        );
        assert_eq!(ok(&["env", "print", "-c", s(&cfg)]), theirs);

        // and fw_setenv continues from what norrec wrote (flags keep counting)
        fw(&fw_setenv, &cfg, &def, &["rootpart", "3"]);
        assert_eq!(
            ok(&["env", "print", "-c", s(&cfg), "-n", "rootpart"]),
            "3\n"
        );
        if copies.len() == 2 {
            // 2 writes by fw_setenv, 3 by norrec, 1 by fw_setenv, alternating from copy 2:
            // the sixth (flag 6) lands on copy 1
            let json: serde_json::Value =
                serde_json::from_str(&ok(&["--json", "env", "print", "-c", s(&cfg)])).unwrap();
            assert_eq!(
                (json["copy"].as_u64(), json["flags"].as_u64()),
                (Some(1), Some(6))
            );
        }
    }
}

#[test]
fn norrec_set_starts_from_a_default_env_like_fw_setenv() {
    let (Some(fw_setenv), Some(fw_printenv)) = (tool("fw_setenv"), tool("fw_printenv")) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let def = d.join("u-boot-initial-env");
    std::fs::write(&def, "bootdelay=2\nbootcmd=run distro_bootcmd\n").unwrap();
    let (a, b) = (d.join("a.env"), d.join("b.env"));
    std::fs::write(&a, vec![0u8; 0x4000]).unwrap();
    std::fs::write(&b, vec![0u8; 0x4000]).unwrap();
    let (ca, cb) = (
        config(d, "a.cfg", &a, &[(0, 0x4000)]),
        config(d, "b.cfg", &b, &[(0, 0x4000)]),
    );
    // blank device without --defenv: refused, device untouched
    let e = fails(&["env", "set", "-c", s(&cb), "rootpart", "3"]);
    assert!(
        e.contains("b.env: offset 0x0: environment CRC") && e.contains("blank"),
        "{e}"
    );
    assert_eq!(std::fs::read(&b).unwrap(), vec![0u8; 0x4000]);
    fw(&fw_setenv, &ca, &def, &["rootpart", "3"]);
    ok(&[
        "env",
        "set",
        "-c",
        s(&cb),
        "--defenv",
        s(&def),
        "rootpart",
        "3",
    ]);
    assert_eq!(
        stdout(&fw(&fw_printenv, &ca, &def, &[])),
        stdout(&fw(&fw_printenv, &cb, &def, &[]))
    );
    // the bytes agree too up to the end of the variables (libubootenv leaves the rest unset)
    let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let used = 4 + "bootcmd=run distro_bootcmd\0bootdelay=2\0rootpart=3\0\0".len();
    assert_eq!(x[4..used], y[4..used]);
}

#[test]
fn bad_inputs_are_one_line_errors_and_write_nothing() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // a line without '=' in the text: file and line named, no output
    let txt = d.join("env.txt");
    std::fs::write(&txt, "bootdelay=2\n# fine\nrootpart 3\n").unwrap();
    let out = d.join("uboot.env");
    let e = fails(&["env", "build", s(&txt), "-s", "0x4000", "-o", s(&out)]);
    assert!(e.contains("env.txt: line 3, column 1: no '='"), "{e}");
    assert!(!out.exists());
    // too large for the size
    std::fs::write(&txt, format!("big={}\n", "x".repeat(100))).unwrap();
    let e = fails(&["env", "build", s(&txt), "-s", "64", "-o", s(&out)]);
    assert!(e.contains("env.txt: size:"), "{e}");
    assert!(!out.exists());

    // a bad CRC: file and offset named
    std::fs::write(&txt, TEXT).unwrap();
    ok(&["env", "build", s(&txt), "-s", "0x4000", "-o", s(&out)]);
    let mut img = std::fs::read(&out).unwrap();
    img[0x10] ^= 1;
    std::fs::write(&out, &img).unwrap();
    let e = fails(&["env", "print", "-i", s(&out)]);
    assert!(
        e.contains("uboot.env: offset 0x0: environment CRC is"),
        "{e}"
    );
    // the same at an offset inside a device, through fw_env.config
    let dev = d.join("disk.img");
    let mut disk = vec![0u8; 0x10000];
    disk[0x8000..0xc000].copy_from_slice(&img);
    std::fs::write(&dev, &disk).unwrap();
    let cfg = config(d, "fw_env.config", &dev, &[(0x8000, 0x4000)]);
    let e = fails(&["env", "print", "-c", s(&cfg)]);
    assert!(
        e.contains("disk.img: offset 0x8000: environment CRC"),
        "{e}"
    );

    // a script line without '=': refused before the device is touched
    img[0x10] ^= 1;
    std::fs::write(&out, &img).unwrap();
    let script = d.join("changes.txt");
    std::fs::write(&script, "rootpart=3\nbar\n").unwrap();
    let e = fails(&["env", "set", "-i", s(&out), "-s", s(&script)]);
    assert!(e.contains("changes.txt: line 2, column 1: no '='"), "{e}");
    assert_eq!(std::fs::read(&out).unwrap(), img);

    // a device smaller than the configured environment
    let cfg = config(d, "big.config", &out, &[(0, 0x10000)]);
    let e = fails(&["env", "print", "-c", s(&cfg)]);
    assert!(e.contains("uboot.env: device is 0x4000 bytes, too small for an environment of size 0x10000 at offset 0x0"), "{e}");
    assert!(e.contains("big.config line 2"), "{e}");
    // a malformed config line
    std::fs::write(&cfg, format!("{} 0x0\n", out.display())).unwrap();
    let e = fails(&["env", "print", "-c", s(&cfg)]);
    assert!(
        e.contains("big.config: line 1, column 1: 2 field(s)"),
        "{e}"
    );
    // a variable that is not set
    let e = fails(&["env", "print", "-i", s(&out), "nosuchvar"]);
    assert!(e.contains("not set: nosuchvar"), "{e}");
}

#[test]
fn the_flag_wrap_rule_matches_fw_printenv() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // two copies built with -r, then flags 255 (copy 1) and 0 (copy 2): 0 is newer (wrapped)
    let (ta, tb) = (d.join("a.txt"), d.join("b.txt"));
    std::fs::write(&ta, "which=a\n").unwrap();
    std::fs::write(&tb, "which=b\n").unwrap();
    let (ea, eb) = (d.join("a.env"), d.join("b.env"));
    ok(&["env", "build", s(&ta), "-s", "0x2000", "-r", "-o", s(&ea)]);
    ok(&["env", "build", s(&tb), "-s", "0x2000", "-r", "-o", s(&eb)]);
    let mut dev = vec![0u8; 0x6000];
    dev[0x1000..0x3000].copy_from_slice(&std::fs::read(&ea).unwrap());
    dev[0x4000..0x6000].copy_from_slice(&std::fs::read(&eb).unwrap());
    dev[0x1004] = 255; // the flag is outside the CRC
    dev[0x4004] = 0;
    let img = d.join("dev.img");
    std::fs::write(&img, &dev).unwrap();
    let cfg = config(
        d,
        "fw_env.config",
        &img,
        &[(0x1000, 0x2000), (0x4000, 0x2000)],
    );
    assert_eq!(ok(&["env", "print", "-c", s(&cfg)]), "which=b\n");
    if let Some(fw_printenv) = tool("fw_printenv") {
        let o = run_ok(&fw_printenv, ["-c", s(&cfg), "-f", "/nonexistent"]);
        assert_eq!(stdout(&o), "which=b\n");
    }
    // a write goes to copy 1 with flag 0 + 1, and copy 1 is then current
    ok(&["env", "set", "-c", s(&cfg), "which", "c"]);
    let dev = std::fs::read(&img).unwrap();
    assert_eq!((dev[0x1004], dev[0x4004]), (1, 0));
    assert_eq!(ok(&["env", "print", "-c", s(&cfg)]), "which=c\n");
    if let Some(fw_printenv) = tool("fw_printenv") {
        let o = run_ok(&fw_printenv, ["-c", s(&cfg), "-f", "/nonexistent"]);
        assert_eq!(stdout(&o), "which=c\n");
    }
}

/// Debian's Cubieboard `u-boot-sunxi-with-spl.bin`, from the board assets `scripts/setup` fetches.
fn debian_uboot() -> Option<PathBuf> {
    norrec_testutil::board_assets().map(|a| a.uboot_spl_bin)
}

#[test]
fn extract_finds_debians_default_env_and_it_builds_into_a_loadable_env() {
    let Some(bin) = debian_uboot() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let initial = d.join("u-boot-initial-env");
    ok(&["env", "extract", s(&bin), "-o", s(&initial)]);
    let text = std::fs::read_to_string(&initial).unwrap();
    assert_eq!(text.lines().count(), 54);
    let names: Vec<&str> = text.lines().map(|l| l.split('=').next().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(text.contains("\nbootcmd=run distro_bootcmd\n"));
    assert!(text.contains("\nkernel_addr_r=0x42000000\n"));
    let in_order = ok(&["env", "extract", s(&bin), "--keep-order"]);
    assert!(
        in_order.starts_with("bootcmd=run distro_bootcmd\nbootdelay=2\n"),
        "{in_order}"
    );

    // the recovery's uboot.env: Debian's CONFIG_ENV_SIZE, the defaults plus rootpart
    let env = d.join("uboot.env");
    ok(&["env", "build", s(&initial), "-s", "0x10000", "-o", s(&env)]);
    ok(&["env", "set", "-i", s(&env), "rootpart", "3"]);
    let all = ok(&["env", "print", "-i", s(&env)]);
    assert_eq!(all.lines().count(), 55);
    if let Some(fw_printenv) = tool("fw_printenv") {
        let cfg = config(d, "fw_env.config", &env, &[(0, 0x10000)]);
        let theirs = run_ok(
            &fw_printenv,
            ["-c", s(&cfg), "-f", "/nonexistent", "bootcmd", "rootpart"],
        );
        assert_eq!(stdout(&theirs), "bootcmd=run distro_bootcmd\nrootpart=3\n");
    }
}

#[test]
fn build_size_defaults_to_the_board_env_size() {
    let t = tempfile::tempdir().unwrap();
    let txt = t.path().join("env.txt");
    std::fs::write(&txt, "rootpart=2\n").unwrap();
    let out = t.path().join("uboot.env");
    ok(&["env", "build", s(&txt), "-o", s(&out)]);
    // Debian's Cubieboard U-Boot: CONFIG_ENV_SIZE 0x10000, not redundant (board.toml)
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 0x10000);
    assert_eq!(&std::fs::read(&out).unwrap()[4..16], b"rootpart=2\0\0");
}

#[test]
fn a_script_line_fw_setenv_skips_silently_is_an_error_here() {
    let Some(fw_setenv) = tool("fw_setenv") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let txt = d.join("env.txt");
    std::fs::write(&txt, "bootdelay=2\n").unwrap();
    let (a, b) = (d.join("a.env"), d.join("b.env"));
    ok(&["env", "build", s(&txt), "-s", "0x2000", "-o", s(&a)]);
    std::fs::copy(&a, &b).unwrap();
    let script = d.join("changes.txt");
    // a typo: "rootpart 3" instead of "rootpart=3"
    std::fs::write(&script, "upgrade_available=1\nrootpart 3\n").unwrap();
    // libubootenv 0.3.5 applies the good line, drops the typo, and exits 0
    let cfg = config(d, "a.cfg", &a, &[(0, 0x2000)]);
    run_ok(&fw_setenv, ["-c", s(&cfg), "-s", s(&script)]);
    let after = ok(&["env", "print", "-i", s(&a)]);
    assert_eq!(after, "bootdelay=2\nupgrade_available=1\n");
    // norrec names the line and leaves the environment as it was
    let before = std::fs::read(&b).unwrap();
    let e = fails(&["env", "set", "-i", s(&b), "-s", s(&script)]);
    assert!(
        e.contains("changes.txt: line 2, column 1: no '=' in \"rootpart 3\""),
        "{e}"
    );
    assert_eq!(std::fs::read(&b).unwrap(), before);
}
