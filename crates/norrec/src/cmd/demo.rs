//! `norrec demo`: the whole chain that exists, on the built-in example, in a temporary folder.
//!
//! Each step is a norrec command line, printed and then run exactly as a user would type it, so
//! the demo doubles as a tour of the CLI. The example inputs live in `boards/cubieboard/example/`
//! (compiled in); kernel and rootfs bytes are generated stand-ins and are named as such. What the
//! real board runs is proved by the QEMU tests, not here.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;

use crate::ui::Ui;

/// Arguments of `norrec demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep the outputs in this folder instead of a temporary one.
    #[arg(long)]
    pub keep: Option<PathBuf>,
}

/// The example's files, compiled in.
const EXAMPLE: &[(&str, &str)] = &[
    (
        "board.dts",
        include_str!("../../../../boards/cubieboard/example/board.dts"),
    ),
    (
        "sw-description",
        include_str!("../../../../boards/cubieboard/example/sw-description"),
    ),
    (
        "uboot-env.txt",
        include_str!("../../../../boards/cubieboard/example/uboot-env.txt"),
    ),
    (
        "boot.cmd",
        include_str!("../../../../boards/cubieboard/boot.cmd"),
    ),
];

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<()> {
    let tmp;
    let dir: &Path = match &args.keep {
        Some(d) => {
            std::fs::create_dir_all(d)
                .with_context(|| format!("{}: cannot create", d.display()))?;
            d
        }
        None => {
            tmp = tempfile::tempdir().context("cannot create a temporary folder")?;
            tmp.path()
        }
    };
    let board = ui.board()?;
    let p = |name: &str| dir.join(name).display().to_string();
    let mut n = 0;
    let mut step = |what: &str| {
        n += 1;
        ui.note(format_args!("\n== {n}. {what}"));
    };

    step("the example inputs (boards/cubieboard/example, compiled in)");
    for (name, text) in EXAMPLE {
        write(&dir.join(name), text.as_bytes())?;
    }
    write(
        &dir.join("zImage"),
        &stand_in(b"norrec demo kernel stand-in", 3 << 20),
    )?;
    let tree = dir.join("rootfs");
    for (name, text) in ROOTFS {
        let path = tree.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("{}: cannot create", parent.display()))?;
        }
        write(&path, text.as_bytes())?;
    }
    ui.note(format_args!(
        "{dir}: board.dts, boot.cmd, sw-description, uboot-env.txt, a small rootfs/ tree; zImage \
         (3 MiB) is a generated stand-in",
        dir = dir.display()
    ));

    step("the device tree (dtc -I dts -O dtb)");
    norrec(
        ui,
        &["dtb", "build", &p("board.dts"), "-o", &p("board.dtb")],
    )?;

    step("the recovery FIT at the board's kernel load address (mkimage -f auto)");
    let load = format!("{:#x}", board.memory.kernel_load.0);
    norrec(
        ui,
        &[
            "fit",
            "build",
            "--kernel",
            &p("zImage"),
            "--fdt",
            &p("board.dtb"),
            "--arch",
            "arm",
            "--load",
            &load,
            "-o",
            &p("recovery.itb"),
        ],
    )?;
    norrec(ui, &["fit", "verify", &p("recovery.itb")])?;

    step("the flash image with the FIT at the board's recovery offset (dd | tr; dd conv=notrunc)");
    let place = format!("{}@{:#x}", p("recovery.itb"), board.flash.recovery_offset.0);
    norrec(
        ui,
        &["flash", "create", "--place", &place, "-o", &p("flash.bin")],
    )?;
    norrec(ui, &["flash", "inspect", &p("flash.bin")])?;

    step("the U-Boot commands that load the FIT from SPI NOR (not the seed's setexpr.b sequence)");
    norrec(ui, &["bootcmd", "nor"])?;

    step("the recovered system's boot script and environment (mkimage -T script; mkenvimage)");
    norrec(
        ui,
        &["script", "build", &p("boot.cmd"), "-o", &p("boot.scr")],
    )?;
    norrec(
        ui,
        &["env", "build", &p("uboot-env.txt"), "-o", &p("uboot.env")],
    )?;

    step("the root file system from a directory tree (mke2fs -t ext4 -d, fakeroot)");
    norrec(
        ui,
        &[
            "disk",
            "mkfs-from-dir",
            &p("rootfs"),
            "-o",
            &p("rootfs.ext4"),
            "--size",
            "16M",
            "--all-root",
            "-L",
            "rootfs",
        ],
    )?;

    step("an SD card with the seed's layout and a data partition to keep (sfdisk; mkfs.ext4)");
    norrec(
        ui,
        &[
            "disk",
            "create",
            &p("sd.img"),
            "--size",
            "1G",
            "--board-layout",
        ],
    )?;
    norrec(ui, &["disk", "show", &p("sd.img")])?;
    let part = |n: u32| format!("{}:{n}", p("sd.img"));
    norrec(ui, &["disk", "format", &part(4), "ext4", "-L", "data"])?;

    step("the SWUpdate bundle (swugenerator)");
    let gz = dir.join("rootfs.ext4.gz");
    gzip(&dir.join("rootfs.ext4"), &gz)?;
    norrec(
        ui,
        &[
            "swu",
            "build",
            &p("sw-description"),
            "-a",
            &p("rootfs.ext4.gz"),
            "-a",
            &p("boot.scr"),
            "-o",
            &p("update.swu"),
        ],
    )?;
    norrec(ui, &["swu", "list", &p("update.swu")])?;

    step("the USB stick with the bundle (dd; sfdisk; mkfs.vfat; mcopy)");
    norrec(
        ui,
        &[
            "usb",
            "create",
            &p("usb.img"),
            "--size",
            "1G",
            "--add",
            &p("update.swu"),
        ],
    )?;

    step("the recovery, on the host against the SD and USB images (the seed's recovery script)");
    norrec(
        ui,
        &[
            "recover",
            "--sd",
            &p("sd.img"),
            "--usb",
            &p("usb.img"),
            "--no-verify-signature",
            "--env-default",
            &p("uboot-env.txt"),
        ],
    )?;
    norrec(ui, &["disk", "ls", &part(1)])?;
    norrec(ui, &["disk", "ls", &format!("{}:/etc", part(2))])?;

    if args.keep.is_some() {
        ui.note(format_args!("\noutputs kept in {}", dir.display()));
    }
    Ok(())
}

/// The demo's root file system tree.
const ROOTFS: &[(&str, &str)] = &[
    (
        "etc/os-release",
        "NAME=\"norrec demo\"\nID=norrec-demo\nVERSION_ID=1.0.0\n",
    ),
    ("etc/hostname", "cubieboard\n"),
    ("etc/fstab", "/dev/mmcblk0p4 /data ext4 defaults 0 2\n"),
    ("data/.keep", ""),
];

/// Prints and runs one norrec command line.
fn norrec(ui: &Ui, argv: &[&str]) -> anyhow::Result<()> {
    ui.note(format_args!("$ norrec {}", argv.join(" ")));
    let cli = crate::Cli::try_parse_from(std::iter::once("norrec").chain(argv.iter().copied()))?;
    crate::dispatch(cli.command, ui.clone())
}

fn write(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, data).with_context(|| format!("{}: cannot write", path.display()))
}

/// `len` bytes that say what they are, then a pattern that compresses like code does (a little).
fn stand_in(label: &[u8], len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = label.to_vec();
    let mut x: u32 = 0x1234_5678;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push(if x % 4 == 0 { (x >> 8) as u8 } else { 0 });
    }
    v
}

fn gzip(src: &Path, dst: &Path) -> anyhow::Result<()> {
    let data = std::fs::read(src).with_context(|| format!("{}: cannot read", src.display()))?;
    let out =
        std::fs::File::create(dst).with_context(|| format!("{}: cannot create", dst.display()))?;
    let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &data)?;
    enc.finish()?;
    Ok(())
}
