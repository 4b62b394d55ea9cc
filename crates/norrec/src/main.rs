//! `norrec`: the command-line front end. Each command group lives in `cmd/<group>.rs` as a clap
//! `Subcommand` enum and a `run` function; this file only parses, dispatches and reports errors.

mod cmd;
mod num;
mod output;
mod time;
mod ui;

use clap::{Parser, Subcommand};

/// SPI-NOR recovery of embedded Linux boards, from the build host to the board and back.
#[derive(Debug, Parser)]
#[command(name = "norrec", version, propagate_version = true)]
#[command(
    after_help = "Examples:\n  norrec demo\n  norrec flash create --chip is25wp128 --place fitImage@0 -o flash.bin\n  norrec flash inspect flash.bin --json"
)]
struct Cli {
    /// Print machine-readable JSON instead of text (where a command reports something).
    #[arg(long, global = true)]
    json: bool,
    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors on stderr; no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// The board manifest every default comes from: a built-in board or a board.toml path.
    #[arg(
        long,
        global = true,
        default_value = "cubieboard",
        env = "NORREC_BOARD"
    )]
    board: String,
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run the whole chain that exists on the built-in example, in a temporary folder.
    #[command(after_help = "Example:\n  norrec demo\n  norrec demo --keep ./demo-out")]
    Demo(cmd::demo::Args),
    /// SPI NOR flash images: create, write, read, inspect; the chip table.
    #[command(subcommand)]
    Flash(cmd::flash::FlashCmd),
    /// SWUpdate bundles (.swu): build, list, verify, extract.
    #[command(subcommand)]
    Swu(cmd::swu::SwuCmd),
    /// Install a .swu into disk images or devices (like swupdate -i), verified before writing.
    #[command(
        after_help = "Examples:\n  norrec install update.swu -d /dev/mmcblk0=sd.img -k cert.pem -e stable,main\n  norrec install update.swu -d /dev/mmcblk0=sd.img -k cert.pem -H cubieboard:1.0 --env-default u-boot-initial-env --json\n\n/dev/mmcblk0=sd.img also maps /dev/mmcblk0p1, p2… to the partitions of sd.img's MBR.\nbootenv variables go to the board's uboot.env on its boot partition (or --env FILE)."
    )]
    Install(cmd::install::Args),
    /// Recover an SD image from a USB stick image, as the board's recovery agent does (journaled, resumable).
    #[command(
        after_help = "Examples:\n  norrec recover --sd sd.img --usb usb.img -k cert.pem\n  norrec recover --sd sd.img --usb usb.img -k cert.pem --json\n\nSteps: check the stick's one .swu and its signature, partition (unless the table has the\nboard layout), format boot vfat (and data ext4 unless it holds a valid one), write uboot.env,\ninstall, done. A journal before the first partition lets a cut run go on where it stopped."
    )]
    Recover(cmd::recover::Args),
    /// Disk images, MBR partition tables (sfdisk scripts) and FAT file systems: create, partition, show, format, cp, ls.
    #[command(subcommand)]
    Disk(cmd::disk::DiskCmd),
    /// Recovery USB stick images: create (MBR + FAT + files, sparse, rootless).
    #[command(subcommand)]
    Usb(cmd::usb::UsbCmd),
    /// U-Boot script images (boot.scr): build like mkimage -T script, show and check.
    #[command(subcommand)]
    Script(cmd::script::ScriptCmd),
    /// U-Boot environments: build (mkenvimage), print/set (fw_printenv/fw_setenv), extract the default.
    #[command(subcommand)]
    Env(cmd::env::EnvCmd),
    /// sunxi SPL (eGON.BT0): check header and checksum before it is written at 8 KiB.
    #[command(subcommand)]
    Spl(cmd::spl::SplCmd),
    /// U-Boot boot sequences: the NOR FIT loader done right.
    #[command(subcommand)]
    Bootcmd(cmd::bootcmd::BootcmdCmd),
    /// Device trees: compile .dts to .dtb (like dtc) and print a .dtb as source.
    #[command(subcommand)]
    Dtb(cmd::dtb::DtbCmd),
    /// FIT images: build (like mkimage -f), list (mkimage -l), verify, extract, size.
    #[command(subcommand)]
    Fit(cmd::fit::FitCmd),
    /// Recovery initramfs: build (norrec as /init, the board's modules in depends order), list.
    #[command(subcommand)]
    Initramfs(cmd::initramfs::InitramfsCmd),
    /// The board in real QEMU: run it on this terminal, or boot it to a marker with a console log.
    #[command(subcommand)]
    Qemu(cmd::qemu::QemuCmd),
    /// The recovery agent (PID 1 of the initramfs): its parts by hand, the module load order.
    #[command(subcommand)]
    Agent(cmd::agent::AgentCmd),
}

fn main() {
    // As /init of the recovery initramfs (or PID 1 under any name) norrec is the agent.
    let argv0 = std::env::args_os().next().unwrap_or_default();
    if std::process::id() == 1 || argv0.to_string_lossy().ends_with("init") {
        cmd::agent::pid1();
    }
    ui::exit_quietly_on_closed_stdout();
    let cli = Cli::parse();
    let ui = ui::Ui::new(cli.json, cli.verbose, cli.quiet, cli.board);
    let result = dispatch(cli.command, ui.clone());
    if let Err(err) = result {
        ui.error(&err);
        std::process::exit(1);
    }
}

/// Runs one parsed command (also how `norrec demo` runs its steps).
pub(crate) fn dispatch(command: Commands, ui: ui::Ui) -> anyhow::Result<()> {
    match command {
        Commands::Demo(args) => cmd::demo::run(args, &ui),
        Commands::Flash(c) => cmd::flash::run(c, &ui),
        Commands::Swu(c) => cmd::swu::run(c, &ui),
        Commands::Install(a) => cmd::install::run(a, &ui),
        Commands::Recover(a) => cmd::recover::run(a, &ui),
        Commands::Disk(c) => cmd::disk::run(c, &ui),
        Commands::Usb(c) => cmd::usb::run(c, &ui),
        Commands::Script(c) => cmd::script::run(c, &ui),
        Commands::Env(c) => cmd::env::run(c, &ui),
        Commands::Spl(c) => cmd::spl::run(c, &ui),
        Commands::Bootcmd(c) => cmd::bootcmd::run(c, &ui),
        Commands::Dtb(c) => cmd::dtb::run(c, &ui),
        Commands::Fit(c) => cmd::fit::run(c, &ui),
        Commands::Initramfs(c) => cmd::initramfs::run(c, &ui),
        Commands::Qemu(c) => cmd::qemu::run(c, &ui),
        Commands::Agent(c) => cmd::agent::run(c, &ui),
    }
}
