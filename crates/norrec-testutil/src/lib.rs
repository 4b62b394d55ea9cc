//! Test helpers for norrec's interop tests.
//!
//! Every interop test runs a reference tool (mkimage, sfdisk, swupdate, …) on what norrec wrote,
//! or norrec on what the tool wrote. [`tool`] finds the tool; when it is missing the test is
//! skipped with a message, except under `NORREC_REQUIRE_TOOLS=1` (set by `scripts/test` and so in
//! CI), where a missing tool fails the test.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Extra places where reference tools live besides `PATH` (the swugenerator venv, sbin).
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/local/sbin"];

/// Whether a missing tool must fail the test (`NORREC_REQUIRE_TOOLS=1`).
pub fn tools_required() -> bool {
    std::env::var_os("NORREC_REQUIRE_TOOLS").is_some_and(|v| v == "1")
}

/// Finds `name` on `PATH`, in `NORREC_TOOL_DIRS` (colon-separated) or in sbin.
///
/// Returns `None` (after printing why) when it is missing and tools are not required; panics when
/// they are, so CI never passes a test that did not run.
pub fn tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(extra) = std::env::var_os("NORREC_TOOL_DIRS") {
        dirs.extend(std::env::split_paths(&extra));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.extend(EXTRA_DIRS.iter().map(PathBuf::from));
    if let Some(found) = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) {
        return Some(found);
    }
    if tools_required() {
        panic!("reference tool '{name}' not found and NORREC_REQUIRE_TOOLS=1: run scripts/setup");
    }
    eprintln!("skipping: reference tool '{name}' not found (run scripts/setup)");
    None
}

/// Runs a command to completion and panics, with its stderr, if it fails.
pub fn run_ok<I, S>(program: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = Command::new(program)
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {:?} failed ({}):\n{}{}",
        program.display(),
        args,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `sh -c script` (for pipelines such as the seed's `dd … | tr …`) and panics if it fails.
pub fn sh_ok(script: &str) -> Output {
    let out = Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("cannot run sh");
    assert!(
        out.status.success(),
        "sh -c {script:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Debian's armhf parts for the board tests, unpacked by `scripts/board-assets` (called by
/// `scripts/setup`) under `$NORREC_BOARD_ASSETS`, else `$NORREC_CACHE/board`, else
/// `~/.cache/norrec/board`.
#[derive(Debug, Clone)]
pub struct BoardAssets {
    /// The cache directory (holds `versions`).
    pub dir: PathBuf,
    /// The armmp kernel (zImage).
    pub vmlinuz: PathBuf,
    /// `sun4i-a10-cubieboard.dtb` from the kernel package.
    pub dtb: PathBuf,
    /// `lib/modules/<version>` of the kernel package.
    pub modules_dir: PathBuf,
    /// The kernel version (`6.1.0-50-armmp`).
    pub kernel_version: String,
    /// `usr/lib/u-boot/Cubieboard/u-boot-sunxi-with-spl.bin`.
    pub uboot_spl_bin: PathBuf,
    /// busybox-static's `bin/busybox` (for debugging by hand).
    pub busybox: PathBuf,
}

fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("NORREC_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|x| PathBuf::from(x).join("norrec")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/norrec")))
}

fn find_board_assets() -> Result<BoardAssets, String> {
    let dir = std::env::var_os("NORREC_BOARD_ASSETS")
        .map(PathBuf::from)
        .or_else(|| cache_dir().map(|c| c.join("board")))
        .ok_or("no NORREC_BOARD_ASSETS, NORREC_CACHE or HOME")?;
    let kernel = dir.join("kernel");
    let modules_root = kernel.join("lib/modules");
    let kernel_version = std::fs::read_dir(&modules_root)
        .map_err(|e| format!("{}: {e}", modules_root.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .max()
        .ok_or_else(|| format!("no kernel version under {}", modules_root.display()))?;
    let assets = BoardAssets {
        vmlinuz: kernel.join(format!("boot/vmlinuz-{kernel_version}")),
        dtb: kernel.join(format!(
            "usr/lib/linux-image-{kernel_version}/sun4i-a10-cubieboard.dtb"
        )),
        modules_dir: modules_root.join(&kernel_version),
        uboot_spl_bin: dir.join("u-boot-sunxi/usr/lib/u-boot/Cubieboard/u-boot-sunxi-with-spl.bin"),
        busybox: dir.join("busybox-static/bin/busybox"),
        kernel_version,
        dir,
    };
    for p in [&assets.vmlinuz, &assets.dtb, &assets.uboot_spl_bin] {
        if !p.is_file() {
            return Err(format!("{} missing", p.display()));
        }
    }
    Ok(assets)
}

/// The board assets, or `None` (after saying why) when `scripts/board-assets` has not run; panics
/// under `NORREC_REQUIRE_TOOLS=1`.
pub fn board_assets() -> Option<BoardAssets> {
    match find_board_assets() {
        Ok(a) => Some(a),
        Err(why) if tools_required() => {
            panic!("board assets not found ({why}) and NORREC_REQUIRE_TOOLS=1: run scripts/setup")
        }
        Err(why) => {
            eprintln!("skipping: board assets not found ({why}); run scripts/setup");
            None
        }
    }
}

/// The static armv7 `norrec` binary for the board: `NORREC_BOARD_BIN`, else the one
/// `scripts/test` builds (`target/board/armv7-unknown-linux-gnueabihf/release/norrec`). `None` (after saying why) when missing; panics under
/// `NORREC_REQUIRE_TOOLS=1`.
pub fn board_bin() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("NORREC_BOARD_BIN") {
        Some(p) => vec![PathBuf::from(p)],
        None => {
            let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            vec![repo.join("target/board/armv7-unknown-linux-gnueabihf/release/norrec")]
        }
    };
    if let Some(p) = candidates.iter().find(|p| p.is_file()) {
        return Some(p.clone());
    }
    let why = format!(
        "no board binary at {} (build it with scripts/test or set NORREC_BOARD_BIN)",
        candidates[0].display()
    );
    if tools_required() {
        panic!("{why} and NORREC_REQUIRE_TOOLS=1");
    }
    eprintln!("skipping: {why}");
    None
}

/// `mkimage -f auto` arguments for the quick-form FIT the tests compare norrec's against: an ARM
/// Linux kernel, uncompressed, load and entry 0x40008000, named "Linux"; `-b` for each dtb,
/// `-i RAMDISK`, then the output file.
pub fn mkimage_auto_args<'a>(
    kernel: &'a str,
    dtbs: &[&'a str],
    ramdisk: &'a str,
    out: &'a str,
) -> Vec<&'a str> {
    let mut args = vec![
        "-f",
        "auto",
        "-A",
        "arm",
        "-O",
        "linux",
        "-T",
        "kernel",
        "-C",
        "none",
        "-a",
        "0x40008000",
        "-e",
        "0x40008000",
        "-n",
        "Linux",
        "-d",
        kernel,
    ];
    for dtb in dtbs {
        args.extend_from_slice(&["-b", dtb]);
    }
    args.extend_from_slice(&["-i", ramdisk, out]);
    args
}

/// `len` bytes of a xorshift stream seeded by `seed`: test payloads that differ per seed and do
/// not compress (so hashes, offsets and compression see real data).
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}
