//! The names U-Boot 2023.01 (`boot/image.c`) gives image types, operating systems,
//! architectures and compressions: the short name used in FIT properties and the long name
//! `mkimage -l` prints. Only the entries a FIT for an ARM/RISC-V/x86 Linux board is likely to
//! carry are listed; anything else prints as U-Boot prints an unknown value.

const TYPES: &[(&str, &str)] = &[
    ("filesystem", "Filesystem Image"),
    ("firmware", "Firmware"),
    ("flat_dt", "Flat Device Tree"),
    ("kernel", "Kernel Image"),
    ("kernel_noload", "Kernel Image (no loading done)"),
    ("invalid", "Invalid Image"),
    ("multi", "Multi-File Image"),
    ("ramdisk", "RAMDisk Image"),
    ("script", "Script"),
    ("standalone", "Standalone Program"),
    ("x86_setup", "x86 setup.bin"),
    ("fpga", "FPGA Image"),
    ("tee", "Trusted Execution Environment Image"),
    ("firmware_ivt", "Firmware with HABv4 IVT"),
    ("copro", "Coprocessor Image"),
    ("sunxi_egon", "Allwinner eGON Boot Image"),
    ("sunxi_toc0", "Allwinner TOC0 Boot Image"),
];

const OSES: &[(&str, &str)] = &[
    ("invalid", "Invalid OS"),
    ("arm-trusted-firmware", "ARM Trusted Firmware"),
    ("linux", "Linux"),
    ("netbsd", "NetBSD"),
    ("ose", "Enea OSE"),
    ("plan9", "Plan 9"),
    ("rtems", "RTEMS"),
    ("tee", "Trusted Execution Environment"),
    ("u-boot", "U-Boot"),
    ("vxworks", "VxWorks"),
    ("qnx", "QNX"),
    ("integrity", "INTEGRITY"),
    ("freebsd", "FreeBSD"),
    ("openbsd", "OpenBSD"),
    ("openrtos", "OpenRTOS"),
    ("opensbi", "RISC-V OpenSBI"),
    ("efi", "EFI Firmware"),
];

const ARCHES: &[(&str, &str)] = &[
    ("invalid", "Invalid ARCH"),
    ("alpha", "Alpha"),
    ("arm", "ARM"),
    ("x86", "Intel x86"),
    ("ia64", "IA64"),
    ("m68k", "M68K"),
    ("microblaze", "MicroBlaze"),
    ("mips", "MIPS"),
    ("mips64", "MIPS 64 Bit"),
    ("nios2", "NIOS II"),
    ("powerpc", "PowerPC"),
    ("ppc", "PowerPC"),
    ("s390", "IBM S390"),
    ("sh", "SuperH"),
    ("sparc", "SPARC"),
    ("sparc64", "SPARC 64 Bit"),
    ("blackfin", "Blackfin"),
    ("avr32", "AVR32"),
    ("nds32", "NDS32"),
    ("or1k", "OpenRISC 1000"),
    ("sandbox", "Sandbox"),
    ("arm64", "AArch64"),
    ("arc", "ARC"),
    ("x86_64", "AMD x86_64"),
    ("xtensa", "Xtensa"),
    ("riscv", "RISC-V"),
];

const COMPS: &[(&str, &str)] = &[
    ("none", "uncompressed"),
    ("bzip2", "bzip2 compressed"),
    ("gzip", "gzip compressed"),
    ("lzma", "lzma compressed"),
    ("lzo", "lzo compressed"),
    ("lz4", "lz4 compressed"),
    ("zstd", "zstd compressed"),
];

fn long(
    table: &[(&str, &'static str)],
    short: Option<&str>,
    unknown: &'static str,
) -> &'static str {
    short
        .and_then(|s| table.iter().find(|(k, _)| *k == s))
        .map_or(unknown, |(_, l)| l)
}

/// "Kernel Image" for "kernel".
pub fn type_name(short: Option<&str>) -> &'static str {
    long(TYPES, short, "Unknown Image")
}

/// "Linux" for "linux".
pub fn os_name(short: Option<&str>) -> &'static str {
    long(OSES, short, "Unknown OS")
}

/// "ARM" for "arm".
pub fn arch_name(short: Option<&str>) -> &'static str {
    long(ARCHES, short, "Unknown Architecture")
}

/// "uncompressed" for "none" (and for a missing property, as U-Boot defaults to none).
pub fn comp_name(short: Option<&str>) -> &'static str {
    long(COMPS, Some(short.unwrap_or("none")), "Unknown Compression")
}

/// Whether `short` is a known architecture name.
pub fn is_arch(short: &str) -> bool {
    ARCHES.iter().any(|(k, _)| *k == short)
}

/// Whether `short` is a known OS name.
pub fn is_os(short: &str) -> bool {
    OSES.iter().any(|(k, _)| *k == short)
}

/// Whether `short` is a known compression name.
pub fn is_comp(short: &str) -> bool {
    COMPS.iter().any(|(k, _)| *k == short)
}
