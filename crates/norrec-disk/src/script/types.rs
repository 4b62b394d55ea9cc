//! Partition types in sfdisk scripts for `label: dos`, looked up in libfdisk's order: alias
//! (`linux`), shortcut (`L`), type name (`Linux`, compared on letters and digits only), then
//! the hex code (`83`, `0x0c`, `c`).
//!
//! The aliases and shortcuts are libfdisk 2.38's table for MBR; the names cover the common
//! types only. Where sfdisk quietly writes type 0 for a word it does not know, norrec refuses.

/// (shortcut, alias, code).
const SHORTCUTS: &[(&str, &str, u8)] = &[
    ("L", "linux", 0x83),
    ("S", "swap", 0x82),
    ("E", "extended", 0x05),
    ("Ex", "extended", 0x05),
    ("U", "uefi", 0xef),
    ("R", "raid", 0xfd),
    ("V", "lvm", 0x8e),
    ("X", "linuxex", 0x85),
];

/// Display names of common MBR types (as fdisk lists them).
const NAMES: &[(&str, u8)] = &[
    ("Empty", 0x00),
    ("FAT12", 0x01),
    ("FAT16 <32M", 0x04),
    ("Extended", 0x05),
    ("FAT16", 0x06),
    ("HPFS/NTFS/exFAT", 0x07),
    ("W95 FAT32", 0x0b),
    ("W95 FAT32 (LBA)", 0x0c),
    ("W95 FAT16 (LBA)", 0x0e),
    ("W95 Ext'd (LBA)", 0x0f),
    ("Linux swap / Solaris", 0x82),
    ("Linux", 0x83),
    ("Linux extended", 0x85),
    ("Linux LVM", 0x8e),
    ("EFI (FAT-12/16/32)", 0xef),
    ("Linux raid autodetect", 0xfd),
];

fn alnum_lower(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The type byte for `text`, or a message saying why not.
pub fn parse(text: &str) -> Result<u8, String> {
    if let Some(&(_, _, code)) = SHORTCUTS.iter().find(|(_, a, _)| *a == text) {
        return Ok(code);
    }
    if let Some(&(_, _, code)) = SHORTCUTS.iter().find(|(s, _, _)| *s == text) {
        return Ok(code);
    }
    let key = alnum_lower(text);
    if let Some(&(_, code)) = NAMES.iter().find(|(n, _)| alnum_lower(n) == key) {
        return Ok(code);
    }
    // strtol(text, 16): optional 0x, hex digits, nothing after.
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    match u32::from_str_radix(hex, 16) {
        Ok(code) if !hex.starts_with('+') => u8::try_from(code)
            .map_err(|_| format!("type '{text}' is larger than a byte (0x{code:x})")),
        _ => Err(format!(
            "unknown partition type '{text}' (give a hex code such as c or 83, or L, S, U, R, V)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_like_sfdisk() {
        assert_eq!(parse("L"), Ok(0x83));
        assert_eq!(parse("linux"), Ok(0x83));
        assert_eq!(parse("Linux"), Ok(0x83));
        assert_eq!(parse("S"), Ok(0x82));
        assert_eq!(parse("c"), Ok(0x0c));
        assert_eq!(parse("0c"), Ok(0x0c));
        assert_eq!(parse("0x83"), Ok(0x83));
        assert_eq!(parse("b"), Ok(0x0b));
        assert_eq!(parse("E"), Ok(0x05));
        assert_eq!(parse("W95 FAT32 (LBA)"), Ok(0x0c));
        assert!(parse("1ff").unwrap_err().contains("larger"));
        assert!(parse("fat32").unwrap_err().contains("unknown"));
    }
}
