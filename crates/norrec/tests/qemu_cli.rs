//! `norrec qemu run --print` (the command line from the manifest) and `norrec qemu boot`'s
//! failure: one line naming the console log, which holds the command line and the console.

use std::process::Command;

use norrec_testutil::{board_assets, tool};

#[test]
fn run_print_builds_the_line_from_the_manifest() {
    let t = tempfile::tempdir().unwrap();
    let (sd, usb) = (t.path().join("sd.img"), t.path().join("usb.img"));
    std::fs::write(&sd, b"").unwrap();
    std::fs::write(&usb, b"").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args(["qemu", "run", "--print", "--sd"])
        .arg(&sd)
        .arg("--usb")
        .arg(&usb)
        .env("NORREC_QEMU", "qemu-system-arm")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        line.trim(),
        format!(
            "qemu-system-arm -M cubieboard -m 1024M -nographic -no-reboot \
             -drive if=sd,format=raw,file={} -usb -device usb-storage,bus=usb-bus.1,drive=stick \
             -drive if=none,id=stick,format=raw,file={}",
            sd.display(),
            usb.display()
        )
    );

    // a missing image is refused before QEMU starts
    let out = Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args(["qemu", "run", "--print", "--sd"])
        .arg(t.path().join("nope.img"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("nope.img: no such file") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn boot_timeout_is_one_line_naming_the_log() {
    if tool("qemu-system-arm").is_none() {
        return;
    }
    let Some(assets) = board_assets() else { return };
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("console.log");
    let out = Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args(["qemu", "boot", "--timeout", "3", "--kernel"])
        .arg(&assets.vmlinuz)
        .arg("--dtb")
        .arg(&assets.dtb)
        .arg("--log")
        .arg(&log)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no \"NORREC-AGENT-PROBE-OK\" on the console within 3.")
            && err.contains(&format!("console log: {}", log.display())),
        "{err}"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    let first = logged.lines().next().unwrap();
    // "[   0.000] …": the stamp is the time since start, which may read 0.001 on a busy machine
    let (stamp, line) = first.split_once("] ").unwrap_or(("", first));
    assert!(
        stamp.starts_with("[   0.0")
            && line.starts_with("norrec-qemu: qemu-system-arm -M cubieboard")
            && first.contains(&format!("-kernel {}", assets.vmlinuz.display()))
            && first.ends_with("-append console=ttyS0,115200"),
        "{first}"
    );
    assert!(logged.contains("timed out waiting for"), "{logged}");
}
