//! Wall-clock time as text: ISO 8601 in UTC with milliseconds (`watch --json`), local time of
//! day (`watch` for people), and the firmware's `Time` format (the simulator).

use chrono::{Local, SecondsFormat, Utc};

/// `2026-11-25T10:00:00.123Z`
pub fn utc_millis() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `10:00:00.123` in the local time zone.
pub fn local_time_of_day() -> String {
    Local::now().format("%H:%M:%S%.3f").to_string()
}

/// `2026-11-25T10:00:00`, the firmware's `Time` (local time; the simulator's clock is UTC).
pub fn firmware_time() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let utc = utc_millis();
        assert_eq!(
            (utc.len(), &utc[10..11], &utc[19..20], &utc[23..]),
            (24, "T", ".", "Z"),
            "{utc}"
        );
        let local = local_time_of_day();
        assert_eq!(
            (local.len(), &local[2..3], &local[8..9]),
            (12, ":", "."),
            "{local}"
        );
        assert_eq!(firmware_time().len(), 19);
    }
}
