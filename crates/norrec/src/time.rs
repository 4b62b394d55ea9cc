//! Calendar dates for what the CLI prints (UTC, no time-zone database): one civil-from-days
//! conversion (Howard Hinnant's algorithm) behind every date the commands show.

/// `(year, month 1..=12, day 1..=31, hour, minute, second)` in UTC of `secs` since 1970,
/// negative ones included.
pub fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc_seconds(secs: i64) -> String {
    let (y, m, d, hh, mm, ss) = civil(secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
}

/// `YYYY-MM-DD HH:MM` (UTC), as `ls -l` style listings show times.
pub fn utc_minutes(secs: i64) -> String {
    let (y, m, d, hh, mm, _) = civil(secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc_seconds(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_seconds(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc_seconds(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_minutes(0), "1970-01-01 00:00");
        assert_eq!(utc_minutes(1_000_000_000), "2001-09-09 01:46");
        assert_eq!(utc_minutes(-192_522_496), "1963-11-25 17:31");
        assert_eq!(utc_minutes(4_102_444_800), "2100-01-01 00:00");
        assert_eq!(civil(-1), (1969, 12, 31, 23, 59, 59));
    }
}
