//! Wall-clock time as text, without a date-time dependency: ISO 8601 in UTC (for `watch
//! --json`) and the firmware's local-time style (for the simulator's `Time` fields).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Calendar fields of a UTC instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
}

impl Utc {
    pub fn now() -> Utc {
        Utc::at(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO),
        )
    }

    /// Days since the epoch to a civil date (Howard Hinnant's algorithm).
    pub fn at(since_epoch: Duration) -> Utc {
        let secs = since_epoch.as_secs() as i64;
        let days = secs.div_euclid(86_400);
        let rest = secs.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Utc {
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest / 60 % 60,
            second: rest % 60,
            millis: since_epoch.subsec_millis(),
        }
    }

    /// `2026-11-25T10:00:00.123Z`
    #[cfg_attr(not(test), expect(dead_code, reason = "watch --json uses it next"))]
    pub fn iso_millis(&self) -> String {
        format!("{}.{:03}Z", self.seconds(), self.millis)
    }

    /// `2026-11-25T10:00:00`, the firmware's `Time` format.
    pub fn seconds(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(
            Utc::at(Duration::ZERO).iso_millis(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Utc::at(Duration::from_millis(951_782_400_123)).iso_millis(),
            "2000-02-29T00:00:00.123Z"
        );
        assert_eq!(
            Utc::at(Duration::from_secs(1_795_600_800)).seconds(),
            "2026-11-25T10:00:00"
        );
    }
}
