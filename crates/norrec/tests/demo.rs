//! `norrec demo` runs its whole chain, and the reference tools read what it made.

use std::process::Command;

use norrec_testutil::{run_ok, tool};

#[test]
fn demo_runs_and_its_outputs_read_back_with_the_reference_tools() {
    let t = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args(["demo", "--keep"])
        .arg(t.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = t.path();
    let fit = std::fs::read(d.join("recovery.itb")).unwrap();
    let flash = std::fs::read(d.join("flash.bin")).unwrap();
    assert_eq!(flash.len(), 16 << 20);
    assert!(
        flash[..fit.len()] == fit[..],
        "the FIT is at offset 0 of the flash"
    );
    assert!(
        flash[fit.len()..].iter().all(|&b| b == 0xff),
        "the rest is erased"
    );

    if let Some(mkimage) = tool("mkimage") {
        let l = run_ok(
            &mkimage,
            ["-l".as_ref(), d.join("recovery.itb").as_os_str()],
        );
        let text = String::from_utf8_lossy(&l.stdout);
        assert!(text.contains("Type:         Kernel Image"), "{text}");
        assert!(text.contains("Load Address: 0x41000000"), "{text}");
        let l = run_ok(&mkimage, ["-l".as_ref(), d.join("boot.scr").as_os_str()]);
        assert!(String::from_utf8_lossy(&l.stdout).contains("Script"));
    }
    if let Some(sfdisk) = tool("sfdisk") {
        let l = run_ok(&sfdisk, ["-d".as_ref(), d.join("sd.img").as_os_str()]);
        let text = String::from_utf8_lossy(&l.stdout);
        assert!(
            text.contains("start=        4096, size=       81920, type=c, bootable"),
            "{text}"
        );
        assert_eq!(text.matches("type=83").count(), 3, "{text}");
    }
    // the install wrote the rootfs image into p2 (start 86016 in the board's layout)
    let rootfs = std::fs::read(d.join("rootfs.ext4")).unwrap();
    let sd = std::fs::read(d.join("sd.img")).unwrap();
    let p2 = 86016 * 512;
    assert!(
        sd[p2..p2 + rootfs.len()] == rootfs[..],
        "p2 holds rootfs.ext4"
    );
    if let Some(e2fsck) = tool("e2fsck") {
        run_ok(&e2fsck, ["-fn".as_ref(), d.join("rootfs.ext4").as_os_str()]);
    }
    if let Some(mdir) = tool("mdir") {
        let img = format!("{}@@1M", d.join("usb.img").display());
        let l = run_ok(&mdir, ["-b", "-i", &img, "::/"]);
        let text = String::from_utf8_lossy(&l.stdout);
        assert!(text.contains("update.swu"), "{text}");
    }
    if let Some(cpio) = tool("cpio") {
        let swu = std::fs::File::open(d.join("update.swu")).unwrap();
        let l = Command::new(cpio).arg("-t").stdin(swu).output().unwrap();
        let names = String::from_utf8_lossy(&l.stdout);
        assert_eq!(names.lines().next(), Some("sw-description"), "{names}");
        assert!(names.contains("rootfs.ext4.gz") && names.contains("boot.scr"));
    }
}
