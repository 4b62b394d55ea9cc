//! Script images against `mkimage -T script` (u-boot-tools): byte for byte, both ways.

use norrec_testutil::{run_ok, tool};
use norrec_uboot::legacy::{Builder, LegacyImage, TYPE_SCRIPT};
use std::process::Command;

const EPOCH: u32 = 1_700_000_000;

fn mkimage_script(dir: &std::path::Path, name: &str, script: &[u8]) -> Option<Vec<u8>> {
    let mkimage = tool("mkimage")?;
    let src = dir.join("boot.cmd");
    let out = dir.join("boot.scr");
    std::fs::write(&src, script).unwrap();
    let o = Command::new(mkimage)
        .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
        .args([
            "-A", "arm", "-O", "linux", "-T", "script", "-C", "none", "-n", name, "-d",
        ])
        .arg(&src)
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(std::fs::read(out).unwrap())
}

#[test]
fn script_image_is_byte_identical_to_mkimage() {
    let dir = tempfile::tempdir().unwrap();
    // Lengths 1..=8 cover every padding remainder; the name covers 0, 1 and 32 bytes.
    let cases: &[(&str, &[u8])] = &[
        ("boot script", b"setenv bootargs console=ttyS0,115200\nload mmc 0:${rootpart} ${kernel_addr_r} /boot/zImage\nbootz ${kernel_addr_r}\n"),
        ("", b"e"),
        ("x", b"echo 12"),
        ("exactly-thirty-two-bytes-long-nm", b"echo hello world\n"),
    ];
    for (name, script) in cases {
        let Some(want) = mkimage_script(dir.path(), name, script) else {
            return;
        };
        let got = Builder::script(name, EPOCH).build_parts(&[script]).unwrap();
        assert_eq!(got, want, "name {name:?}");
        // and the reader takes mkimage's image apart
        let img = LegacyImage::parse(&want).unwrap();
        assert_eq!(img.header.image_type, TYPE_SCRIPT);
        assert_eq!(img.header.time, EPOCH);
        assert_eq!(img.header.name(), *name);
        assert_eq!(img.script().unwrap(), *script);
    }
}

#[test]
fn dumpimage_lists_what_norrec_wrote() {
    let Some(dumpimage) = tool("dumpimage") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("boot.scr");
    std::fs::write(
        &p,
        Builder::script("recovery", EPOCH)
            .build_parts(&[b"echo hi\n"])
            .unwrap(),
    )
    .unwrap();
    let out = run_ok(&dumpimage, [std::ffi::OsStr::new("-l"), p.as_os_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Image Name:   recovery"), "{text}");
    assert!(text.contains("ARM Linux Script (uncompressed)"), "{text}");
}
