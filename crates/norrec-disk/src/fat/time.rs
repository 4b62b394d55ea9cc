//! DOS time stamps (UTC; FAT has no time zone) and the clock norrec gives `fatfs`.
//!
//! `SOURCE_DATE_EPOCH`, when set, replaces the current time everywhere, so images built twice
//! are the same bytes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A DOS date and time as stored in directory entries (2-second resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DosDateTime {
    /// Bits 15..9 year-1980, 8..5 month, 4..0 day.
    pub date: u16,
    /// Bits 15..11 hour, 10..5 minute, 4..0 seconds/2.
    pub time: u16,
}

/// Civil date from days since 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl DosDateTime {
    /// 1980-01-01 00:00:00, the earliest DOS time.
    pub const EPOCH: DosDateTime = DosDateTime {
        date: 1 | (1 << 5),
        time: 0,
    };

    /// The DOS time of a Unix time (UTC), clamped to 1980..=2107.
    pub fn from_unix(secs: i64) -> Self {
        let (y, m, d) = civil(secs.div_euclid(86_400));
        if y < 1980 {
            return Self::EPOCH;
        }
        if y > 2107 {
            return DosDateTime {
                date: (127 << 9) | (12 << 5) | 31,
                time: (23 << 11) | (59 << 5) | 29,
            };
        }
        let s = secs.rem_euclid(86_400);
        DosDateTime {
            date: (((y - 1980) as u16) << 9) | ((m as u16) << 5) | d as u16,
            time: (((s / 3600) as u16) << 11)
                | ((((s / 60) % 60) as u16) << 5)
                | ((s % 60) / 2) as u16,
        }
    }

    /// The DOS time of a `SystemTime`.
    pub fn from_system(t: SystemTime) -> Self {
        let secs = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        Self::from_unix(secs)
    }

    /// Now, or `SOURCE_DATE_EPOCH` when it is set.
    pub fn now() -> Self {
        // `fatfs` asks for the time on every cluster it writes: the conversion is done once
        // per second (the last one is kept as seconds << 32 | date << 16 | time).
        static LAST: AtomicU64 = AtomicU64::new(u64::MAX);
        let secs = now_unix();
        let last = LAST.load(Ordering::Relaxed);
        if last != u64::MAX && (last >> 32) as i64 == secs {
            return DosDateTime {
                date: (last >> 16) as u16,
                time: last as u16,
            };
        }
        let t = Self::from_unix(secs);
        if (0..1 << 32).contains(&secs) {
            LAST.store(
                ((secs as u64) << 32) | (u64::from(t.date) << 16) | u64::from(t.time),
                Ordering::Relaxed,
            );
        }
        t
    }

    /// As `fatfs` wants it.
    pub fn to_fatfs(self) -> fatfs::DateTime {
        fatfs::DateTime {
            date: fatfs::Date {
                year: 1980 + (self.date >> 9),
                month: (self.date >> 5) & 15,
                day: self.date & 31,
            },
            time: fatfs::Time {
                hour: self.time >> 11,
                min: (self.time >> 5) & 63,
                sec: (self.time & 31) * 2,
                millis: 0,
            },
        }
    }
}

/// Seconds since 1970: `SOURCE_DATE_EPOCH` if set and numeric, else the system clock.
/// The variable is read once per process (`fatfs` asks for the time on every cluster it
/// writes, and each `getenv` scans the environment under a lock).
pub fn now_unix() -> i64 {
    static EPOCH: std::sync::OnceLock<Option<i64>> = std::sync::OnceLock::new();
    let fixed = EPOCH.get_or_init(|| {
        std::env::var_os("SOURCE_DATE_EPOCH")
            .and_then(|s| s.to_str().and_then(|s| s.trim().parse::<i64>().ok()))
    });
    if let Some(n) = fixed {
        return *n;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The clock handed to `fatfs` (its own default needs `chrono`, which norrec does not pull in).
#[derive(Debug)]
pub struct Clock;

/// The one clock instance (`fatfs` wants a `&'static`).
pub static CLOCK: Clock = Clock;

impl fatfs::TimeProvider for Clock {
    fn get_current_date(&self) -> fatfs::Date {
        DosDateTime::now().to_fatfs().date
    }
    fn get_current_date_time(&self) -> fatfs::DateTime {
        DosDateTime::now().to_fatfs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_to_dos() {
        // mkfs.fat --invariant's time, 2015-03-14 09:26:53 UTC.
        let t = DosDateTime::from_unix(1_426_325_213);
        assert_eq!(t.date, (35 << 9) | (3 << 5) | 14);
        assert_eq!(t.time, (9 << 11) | (26 << 5) | 26);
        assert_eq!(DosDateTime::from_unix(0), DosDateTime::EPOCH);
        // 2000-02-29 23:59:59
        let t = DosDateTime::from_unix(951_868_799);
        assert_eq!(t.date, (20 << 9) | (2 << 5) | 29);
        assert_eq!(t.time, (23 << 11) | (59 << 5) | 29);
    }
}
