//! Numbers as users type them: `0x1000`, `4096`, `8K`, `16M`, `16MiB`, `1G`.

/// Parses a byte count or offset: decimal or `0x` hex, with an optional K/M/G suffix (powers of
/// 1024; `KiB`, `k`, `kB` alike). The board manifest's sizes are written the same way.
pub fn parse_size(text: &str) -> Result<u64, String> {
    norrec_board::Size::parse(text).map(|s| s.0)
}

/// A `FILE@OFFSET` argument (the offset defaults to 0 when there is no `@`).
#[derive(Debug, Clone)]
pub struct FileAt {
    pub path: std::path::PathBuf,
    pub offset: u64,
}

/// Parses `FILE@OFFSET`, splitting at the last `@` so paths may contain one.
pub fn parse_file_at(text: &str) -> Result<FileAt, String> {
    match text.rsplit_once('@') {
        Some((path, off)) if !path.is_empty() => Ok(FileAt {
            path: path.into(),
            offset: parse_size(off)?,
        }),
        _ => Ok(FileAt {
            path: text.into(),
            offset: 0,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("0x1000"), Ok(0x1000));
        assert_eq!(parse_size("0xA2EAA4"), Ok(0xa2eaa4));
        assert_eq!(parse_size("8K"), Ok(8192));
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("12Q").unwrap_err().contains("suffix"));
        assert!(parse_size("10x").is_err());
        assert!(parse_size("0xZZ").unwrap_err().contains("not a size"));
        assert!(
            parse_size("99999999999999G")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn file_at() {
        let f = parse_file_at("fit@0x100000").unwrap();
        assert_eq!((f.path.to_str(), f.offset), (Some("fit"), 0x100000));
        let f = parse_file_at("a@b/fit@8K").unwrap();
        assert_eq!((f.path.to_str(), f.offset), (Some("a@b/fit"), 8192));
        assert_eq!(parse_file_at("plain").unwrap().offset, 0);
    }
}
