//! Set-up the real-QEMU board tests (qemu.rs, qemu_nor.rs) share: norrec's initramfs, the
//! recovery FIT's .its, the SD image and the USB stick, all made by the norrec binary.

use std::path::{Path, PathBuf};

use norrec_testutil::{BoardAssets, board_assets, board_bin};

use super::ok_os as norrec;

/// The file on the stick the agent lists, and its bytes.
pub const STICK_FILE: &str = "hello-from-the-stick.txt";
pub const STICK_TEXT: &[u8] = b"norrec was here\n";

/// The built-in board every test boots.
pub fn board() -> norrec_board::Board {
    norrec_board::Board::builtin("cubieboard").unwrap()
}

/// Debian's kernel, dtb and modules, and `dir/initrd.cpio.gz`: norrec's initramfs with the
/// static ARM norrec as /init; None when a part is missing (skip; panics under
/// NORREC_REQUIRE_TOOLS=1).
pub fn initramfs(dir: &Path) -> Option<(BoardAssets, PathBuf)> {
    let assets = board_assets()?;
    let bin = board_bin()?;
    let initrd = dir.join("initrd.cpio.gz");
    norrec(&[
        &"initramfs",
        &"build",
        &"--norrec-bin",
        &bin,
        &"--modules-from",
        &assets.modules_dir,
        &"-o",
        &initrd,
    ]);
    Some((assets, initrd))
}

/// The recovery FIT's .its: Debian's kernel at the board's kernel_load, the Cubieboard dtb and
/// norrec's initramfs, each with a sha256, in one configuration `recovery`; `extra_images` (.its
/// nodes) go into `images` after them, outside the configuration.
pub fn recovery_its(
    description: &str,
    kernel: &Path,
    dtb: &Path,
    initrd: &Path,
    extra_images: &str,
) -> String {
    let kernel_load = board().memory.kernel_load.0;
    format!(
        r#"/dts-v1/;
/ {{
    description = "{description}";
    #address-cells = <1>;
    images {{
        kernel {{
            description = "Debian armmp";
            data = /incbin/("{kernel}");
            type = "kernel"; arch = "arm"; os = "linux"; compression = "none";
            load = <{kernel_load:#x}>; entry = <{kernel_load:#x}>;
            hash-1 {{ algo = "sha256"; }};
        }};
        fdt {{
            description = "sun4i-a10-cubieboard";
            data = /incbin/("{dtb}");
            type = "flat_dt"; arch = "arm"; compression = "none";
            hash-1 {{ algo = "sha256"; }};
        }};
        ramdisk {{
            description = "norrec initramfs";
            data = /incbin/("{initrd}");
            type = "ramdisk"; arch = "arm"; os = "linux"; compression = "none";
            hash-1 {{ algo = "sha256"; }};
        }};{extra_images}
    }};
    configurations {{
        default = "recovery";
        recovery {{
            description = "norrec agent";
            kernel = "kernel"; fdt = "fdt"; ramdisk = "ramdisk";
        }};
    }};
}};
"#,
        kernel = kernel.display(),
        dtb = dtb.display(),
        initrd = initrd.display(),
    )
}

/// A 1 GiB sparse SD image at `sd` with the board's layout and FAT on p1.
pub fn sd_image(sd: &Path) {
    norrec(&[&"disk", &"create", &sd, &"--size", &"1G", &"--board-layout"]);
    norrec(&[&"disk", &"format", &format!("{}:1", sd.display()), &"vfat"]);
}

/// `dir/usb.img`: a 64 MiB stick (MBR + FAT) holding [`STICK_FILE`].
pub fn usb_stick(dir: &Path) -> PathBuf {
    let file = dir.join(STICK_FILE);
    std::fs::write(&file, STICK_TEXT).unwrap();
    let usb = dir.join("usb.img");
    norrec(&[&"usb", &"create", &usb, &"--size", &"64M", &"--add", &file]);
    usb
}

/// `r`'s value, or a panic with the error and the console log it names.
pub fn or_log<T>(r: norrec_qemu::Result<T>, log: &Path) -> T {
    r.unwrap_or_else(|e| {
        panic!(
            "{e}\n--- console log {}:\n{}",
            log.display(),
            std::fs::read_to_string(log).unwrap_or_default()
        )
    })
}
