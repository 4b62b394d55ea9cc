//! Numbers in sfdisk scripts, as util-linux's `parse_size()` reads them: C `strtoumax` base 0
//! (so `0x800` is hex and `0100` is octal), an optional fraction, and a suffix K M G T P E (or
//! lower case), alone or with `iB` (powers of 1024) or with `B` (powers of 1000).

/// A parsed number: the value in bytes (or sectors, without suffix) and whether it had a suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Number {
    /// The value; bytes when `suffixed`, else the plain number.
    pub value: u64,
    /// Whether a size suffix was given.
    pub suffixed: bool,
}

/// Parses the leading unsigned integer like `strtoumax(s, &end, 0)`; returns it and the rest.
fn c_number(s: &str) -> Option<(u64, &str)> {
    let (digits, radix, prefix) = if let Some(h) = s.strip_prefix("0x").or(s.strip_prefix("0X")) {
        (h, 16, 2)
    } else if s.starts_with('0') {
        (s, 8, 0)
    } else {
        (s, 10, 0)
    };
    let n = digits
        .char_indices()
        .find(|(_, c)| !c.is_digit(radix))
        .map_or(digits.len(), |(i, _)| i);
    if n == 0 {
        // "0x" with no hex digit: strtoumax reads the "0" alone.
        return if prefix == 2 {
            Some((0, &s[1..]))
        } else {
            None
        };
    }
    let v = u64::from_str_radix(&digits[..n], radix).ok()?;
    Some((v, &s[prefix + n..]))
}

/// Parses a number with an optional suffix; `None` when it is not one.
pub fn parse(text: &str) -> Option<Number> {
    let t = text.trim_start();
    if t.starts_with('-') {
        return None;
    }
    let (int, mut rest) = c_number(t)?;
    if rest.is_empty() {
        return Some(Number {
            value: int,
            suffixed: false,
        });
    }
    // Optional fraction: ".<zeros><digits>".
    let mut frac = 0u64;
    let mut frac_zeros = 0u32;
    if let Some(f) = rest.strip_prefix('.') {
        let zeros = f.len() - f.trim_start_matches('0').len();
        frac_zeros = zeros as u32;
        let f = &f[zeros..];
        let n = f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len());
        if n > 0 {
            frac = f[..n].parse().ok()?;
        }
        rest = &f[n..];
        if rest.is_empty() {
            return None; // a fraction needs a suffix
        }
    }
    let mut chars = rest.chars();
    let unit = chars.next()?;
    let base: u64 = match chars.as_str() {
        "" | "iB" | "ib" => 1024,
        "B" | "b" => 1000,
        _ => return None,
    };
    let power = "KMGTPE"
        .find(unit)
        .or_else(|| "kmgtpe".find(unit))
        .map(|i| i as u32 + 1)?;
    let scale = base.checked_pow(power)?;
    let mut value = int.checked_mul(scale)?;
    if frac > 0 {
        // util-linux adds each fraction digit as scale / (digit's divisor / digit).
        let mut frac_div = 10u64;
        while frac_div < frac {
            frac_div = frac_div.saturating_mul(10);
        }
        for _ in 0..frac_zeros {
            frac_div = frac_div.saturating_mul(10);
        }
        let mut f = frac;
        let mut pos = 1u64;
        while f > 0 {
            let seg = f % 10;
            let seg_div = frac_div / pos;
            f /= 10;
            pos = pos.saturating_mul(10);
            if seg > 0 && seg_div / seg > 0 {
                value = value.checked_add(scale / (seg_div / seg))?;
            }
        }
    }
    Some(Number {
        value,
        suffixed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Option<(u64, bool)> {
        parse(s).map(|n| (n.value, n.suffixed))
    }

    #[test]
    fn numbers_like_util_linux() {
        assert_eq!(v("4096"), Some((4096, false)));
        assert_eq!(v("0x800"), Some((2048, false)));
        assert_eq!(v("0100"), Some((64, false)));
        assert_eq!(v("40M"), Some((40 << 20, true)));
        assert_eq!(v("40MiB"), Some((40 << 20, true)));
        assert_eq!(v("40MB"), Some((40_000_000, true)));
        assert_eq!(v("1k"), Some((1024, true)));
        assert_eq!(v("1.5M"), Some((3 << 19, true)));
        // util-linux adds each fraction digit rounded down: 0.25G is 1G/20 + 1G/5, one byte short.
        assert_eq!(v("0.25G"), Some(((1 << 28) - 1, true)));
        assert_eq!(v("1.5"), None);
        assert_eq!(v("12Q"), None);
        assert_eq!(v("-5"), None);
        assert_eq!(v("M"), None);
        assert_eq!(v("99999999999999999999"), None);
    }
}
