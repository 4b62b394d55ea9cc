//! `norrec initramfs build/list` and `norrec agent modules` on Debian's armmp modules (the board
//! assets): deterministic bytes, GNU cpio reading what norrec wrote (device node, modes, files),
//! the load order honouring every `depends=`, and one-line errors that leave no output behind.

use std::path::Path;
use std::process::{Command, Output};

use norrec_testutil::{board_assets, tool};

fn norrec(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_norrec"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("run norrec")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Any small ELF stands in for the ARM binary here (the structure is under test, not the boot).
fn some_elf() -> &'static Path {
    Path::new("/bin/true")
}

#[test]
fn build_is_deterministic_and_gnu_cpio_reads_it() {
    let Some(assets) = board_assets() else { return };
    let Some(cpio) = tool("cpio") else { return };
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a.gz"), t.path().join("b.gz"));
    let extra = t.path().join("note.txt");
    std::fs::write(&extra, "extra file\n").unwrap();
    let add = format!("{}:/etc/norrec/note.txt", extra.display());
    for out in [&a, &b] {
        ok(norrec(&[
            &"initramfs",
            &"build",
            &"--norrec-bin",
            &some_elf(),
            &"--modules-from",
            &assets.modules_dir,
            &"--add",
            &add,
            &"-o",
            out,
        ]));
    }
    // /bin/true is no board binary: built anyway, with a warning saying why
    let r = norrec(&[
        &"initramfs",
        &"build",
        &"--norrec-bin",
        &some_elf(),
        &"--modules-from",
        &assets.modules_dir,
        &"-o",
        &t.path().join("c.gz"),
    ]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{err}");
    assert!(
        err.contains("norrec: warning: /bin/true is built for X86_64, not 32-bit ARM")
            && err.contains("/bin/true is dynamically linked"),
        "{err}"
    );
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap(), "same inputs, same bytes");
    // gzip header (RFC 1952): magic 1f 8b, method 8, no flags, mtime 0 (offsets 4..8)
    assert_eq!(&bytes[..4], &[0x1f, 0x8b, 8, 0]);
    assert_eq!(&bytes[4..8], &[0, 0, 0, 0]);

    // GNU cpio lists it: the console node, /init executable, the modules and the order file
    let raw = t.path().join("a.cpio");
    let mut gz = flate2::read::GzDecoder::new(&bytes[..]);
    let mut cpio_bytes = Vec::new();
    std::io::Read::read_to_end(&mut gz, &mut cpio_bytes).unwrap();
    std::fs::write(&raw, &cpio_bytes).unwrap();
    let listing = Command::new(&cpio)
        .args(["-itv", "-F"])
        .arg(&raw)
        .output()
        .unwrap();
    assert!(listing.status.success());
    let listing = String::from_utf8_lossy(&listing.stdout);
    let line = |name: &str| {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" {name}")))
            .unwrap_or_else(|| panic!("no {name} in\n{listing}"))
            .to_owned()
    };
    let console = line("dev/console");
    assert!(
        console.starts_with("crw-------") && console.contains("5,") && console.contains(" 1 "),
        "{console}"
    );
    assert!(line("init").starts_with("-rwxr-xr-x"), "{listing}");
    assert!(line("dev").starts_with("drwxr-xr-x"), "{listing}");
    assert!(line("lib/modules/usb_storage.ko").starts_with("-rw-r--r--"));

    // extracted by cpio, the files are the inputs
    let x = t.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let st = Command::new(&cpio)
        .current_dir(&x)
        .args(["-id", "--quiet", "-F"])
        .arg(&raw)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(
        std::fs::read(x.join("init")).unwrap(),
        std::fs::read(some_elf()).unwrap()
    );
    assert_eq!(
        std::fs::read(x.join("lib/modules/sunxi_mmc.ko")).unwrap(),
        std::fs::read(
            assets
                .modules_dir
                .join("kernel/drivers/mmc/host/sunxi-mmc.ko")
        )
        .unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(x.join("etc/norrec/note.txt")).unwrap(),
        "extra file\n"
    );

    // the order file honours every depends= that `agent modules --json` reports
    let order: Vec<String> = std::fs::read_to_string(x.join("lib/modules/norrec.order"))
        .unwrap()
        .lines()
        .map(|l| l.trim_end_matches(".ko").to_owned())
        .collect();
    assert_eq!(order.len(), 30);
    let json: serde_json::Value = serde_json::from_str(&ok(norrec(&[
        &"agent",
        &"modules",
        &"--modules-from",
        &assets.modules_dir,
        &"--json",
    ])))
    .unwrap();
    let pos = |n: &str| order.iter().position(|o| o == n);
    for m in json.as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let at = pos(name).unwrap_or_else(|| panic!("{name} not in {order:?}"));
        for d in m["depends"].as_array().unwrap() {
            let d = d.as_str().unwrap();
            assert!(
                pos(d).unwrap() < at,
                "{d} must load before {name}: {order:?}"
            );
        }
    }
    // a known chain from Debian's modules: usb_storage needs usbcore and scsi_mod
    assert!(pos("usbcore") < pos("usb_storage") && pos("scsi_mod") < pos("usb_storage"));
    assert!(pos("jbd2") < pos("ext4") && pos("fat") < pos("vfat"));

    // norrec's own listing agrees
    let list = ok(norrec(&[&"initramfs", &"list", &a]));
    assert!(list.contains("crw-------         0 dev/console"), "{list}");
    let list_json: serde_json::Value =
        serde_json::from_str(&ok(norrec(&[&"initramfs", &"list", &a, &"--json"]))).unwrap();
    let init = list_json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "init")
        .unwrap();
    assert_eq!(init["mode"], "100755");
    assert_eq!(
        init["size"].as_u64().unwrap(),
        std::fs::metadata(some_elf()).unwrap().len()
    );
}

#[test]
fn bad_inputs_give_one_line_and_no_output() {
    let Some(assets) = board_assets() else { return };
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("initrd.gz");

    // /init that is not an executable
    let text = t.path().join("norrec.txt");
    std::fs::write(&text, "not a program").unwrap();
    let r = norrec(&[
        &"initramfs",
        &"build",
        &"--norrec-bin",
        &text,
        &"--modules-from",
        &assets.modules_dir,
        &"-o",
        &out,
    ]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("norrec.txt is not an ELF executable"), "{err}");
    assert!(!out.exists());

    // a board whose module list names a module the kernel package lacks, and one whose
    // dependency is missing from the list
    let board = t.path().join("board.toml");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../boards/cubieboard");
    std::fs::copy(
        manifest.join("layout.sfdisk"),
        t.path().join("layout.sfdisk"),
    )
    .unwrap();
    let toml = std::fs::read_to_string(manifest.join("board.toml")).unwrap();
    let at = toml.find("modules = [").unwrap();
    let end = at + toml[at..].find(']').unwrap() + 1;
    for (list, want) in [
        (
            r#"modules = ["fs/fat/fat", "fs/nope/nope"]"#,
            "module fs/nope/nope of the board's list not found",
        ),
        (
            r#"modules = ["fs/fat/vfat"]"#,
            "module vfat depends on fat, which is not in the board's module list",
        ),
    ] {
        std::fs::write(&board, format!("{}{list}{}", &toml[..at], &toml[end..])).unwrap();
        let r = norrec(&[
            &"--board",
            &board,
            &"initramfs",
            &"build",
            &"--norrec-bin",
            &some_elf(),
            &"--modules-from",
            &assets.modules_dir,
            &"-o",
            &out,
        ]);
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{err}");
        assert!(!out.exists());
    }
}
