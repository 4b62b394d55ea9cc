//! `norrec script` against mkimage -T script, and its bad inputs.

use std::path::Path;
use std::process::{Command, Output};

use norrec_testutil::tool;

fn norrec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_norrec"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(args)
        .output()
        .expect("run norrec")
}

fn ok(args: &[&str]) -> String {
    let out = norrec(args);
    assert!(
        out.status.success(),
        "norrec {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let out = norrec(args);
    assert_eq!(out.status.code(), Some(1), "norrec {args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line expected, got:\n{err}");
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const BOOT_CMD: &str = "setenv bootargs console=ttyS0,115200 root=/dev/mmcblk0p${rootpart} rootwait\nload mmc 0:${rootpart} ${kernel_addr_r} /boot/zImage\nload mmc 0:${rootpart} ${fdt_addr_r} /boot/sun4i-a10-cubieboard.dtb\nbootz ${kernel_addr_r} - ${fdt_addr_r}\n";

#[test]
fn build_equals_mkimage_and_show_reads_it() {
    let Some(mkimage) = tool("mkimage") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let cmd = t.path().join("boot.cmd");
    std::fs::write(&cmd, BOOT_CMD).unwrap();
    let theirs = t.path().join("mkimage.scr");
    let out = Command::new(mkimage)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args([
            "-A",
            "arm",
            "-O",
            "linux",
            "-T",
            "script",
            "-C",
            "none",
            "-n",
            "boot script",
            "-d",
        ])
        .args([s(&cmd), s(&theirs)])
        .output()
        .unwrap();
    assert!(out.status.success());
    let ours = t.path().join("boot.scr");
    ok(&[
        "script",
        "build",
        s(&cmd),
        "-n",
        "boot script",
        "-o",
        s(&ours),
    ]);
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(&theirs).unwrap()
    );

    let shown = ok(&["script", "show", s(&theirs)]);
    assert!(shown.contains("Image name:   boot script"), "{shown}");
    assert!(
        shown.contains("Created:      2023-11-14 22:13:20 UTC"),
        "{shown}"
    );
    assert!(shown.contains("arm linux script (none)"), "{shown}");
    assert!(shown.ends_with(BOOT_CMD), "{shown}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "script", "show", s(&ours)])).unwrap();
    assert_eq!(json["script"], BOOT_CMD);
    assert_eq!(json["time"], 1_700_000_000);
}

#[test]
fn bad_crcs_are_one_line_errors_naming_file_and_field() {
    let t = tempfile::tempdir().unwrap();
    let cmd = t.path().join("boot.cmd");
    std::fs::write(&cmd, BOOT_CMD).unwrap();
    let scr = t.path().join("boot.scr");
    ok(&["script", "build", s(&cmd), "-o", s(&scr)]);
    let good = std::fs::read(&scr).unwrap();

    let mut bad = good.clone();
    bad[0x60] ^= 0x20; // a byte of the script
    std::fs::write(&scr, &bad).unwrap();
    let e = fails(&["script", "show", s(&scr)]);
    assert!(e.contains("boot.scr: offset 0x18: ih_dcrc"), "{e}");

    let mut bad = good.clone();
    bad[0x08] ^= 1; // ih_time
    std::fs::write(&scr, &bad).unwrap();
    let e = fails(&["script", "show", s(&scr)]);
    assert!(e.contains("boot.scr: offset 0x4: ih_hcrc"), "{e}");

    std::fs::write(&scr, &good[..100]).unwrap();
    let e = fails(&["script", "show", s(&scr)]);
    assert!(e.contains("offset 0xc: ih_size"), "{e}");
}

#[test]
fn failed_build_leaves_no_output() {
    let t = tempfile::tempdir().unwrap();
    let cmd = t.path().join("boot.cmd");
    std::fs::write(&cmd, "echo hi\n").unwrap();
    let out = t.path().join("boot.scr");
    let e = fails(&[
        "script",
        "build",
        s(&cmd),
        "-n",
        &"x".repeat(33),
        "-o",
        s(&out),
    ]);
    assert!(e.contains("ih_name"), "{e}");
    let e = fails(&[
        "script",
        "build",
        s(&t.path().join("missing.cmd")),
        "-o",
        s(&out),
    ]);
    assert!(e.contains("missing.cmd"), "{e}");
    assert_eq!(
        std::fs::read_dir(t.path()).unwrap().count(),
        1,
        "only boot.cmd remains"
    );
}
