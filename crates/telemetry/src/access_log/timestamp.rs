//! `2024-05-01T12:00:00.123Z` without a date library on the hot path: records arrive in
//! (nearly) time order, so the calendar arithmetic runs about once a second and every other
//! record copies the cached `YYYY-MM-DDTHH:MM:SS.` and appends its milliseconds.

/// The last instant the `time` crate (which wrote these lines before) could represent,
/// 9999-12-31T23:59:59.999Z; later timestamps were written as [`OUT_OF_RANGE`].
const MAX_MILLIS: u64 = 253_402_300_799_999;

const OUT_OF_RANGE: &[u8] = b"1970-01-01T00:00:00.000Z";

const SECONDS_PER_DAY: u64 = 86_400;

#[derive(Debug)]
pub(super) struct Timestamps {
    /// Unix second `prefix` renders; `u64::MAX` (never a valid second here) until the first.
    second: u64,
    prefix: [u8; 20],
}

impl Timestamps {
    pub(super) fn new() -> Timestamps {
        Timestamps {
            second: u64::MAX,
            prefix: *b"1970-01-01T00:00:00.",
        }
    }

    /// Appends `timestamp_ms` (Unix milliseconds) as RFC 3339 UTC with milliseconds.
    pub(super) fn write(&mut self, timestamp_ms: u64, out: &mut Vec<u8>) {
        if timestamp_ms > MAX_MILLIS {
            out.extend_from_slice(OUT_OF_RANGE);
            return;
        }
        let second = timestamp_ms / 1000;
        if second != self.second {
            self.prefix = prefix(second);
            self.second = second;
        }
        out.extend_from_slice(&self.prefix);
        let millis = timestamp_ms % 1000;
        out.extend_from_slice(&[digit(millis / 100), digit(millis / 10), digit(millis), b'Z']);
    }
}

/// The last decimal digit of `value` as ASCII.
fn digit(value: u64) -> u8 {
    // `value % 10` is below 10: the cast cannot truncate.
    b'0' + (value % 10) as u8
}

/// `YYYY-MM-DDTHH:MM:SS.` for a Unix second up to the year 9999.
fn prefix(second: u64) -> [u8; 20] {
    let (year, month, day) = civil_from_days(second / SECONDS_PER_DAY);
    let of_day = second % SECONDS_PER_DAY;
    let (hour, minute, sec) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    [
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
        b'T',
        digit(hour / 10),
        digit(hour),
        b':',
        digit(minute / 10),
        digit(minute),
        b':',
        digit(sec / 10),
        digit(sec),
        b'.',
    ]
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, for non-negative days only).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a 400-year era.
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(timestamps: &mut Timestamps, timestamp_ms: u64) -> String {
        let mut out = Vec::new();
        timestamps.write(timestamp_ms, &mut out);
        String::from_utf8(out).expect("ASCII")
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let mut timestamps = Timestamps::new();
        for (millis, expected) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_714_564_800_123, "2024-05-01T12:00:00.123Z"),
            (1_714_564_800_999, "2024-05-01T12:00:00.999Z"),
            (1_714_564_801_000, "2024-05-01T12:00:01.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (4_107_542_399_999, "2100-02-28T23:59:59.999Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (94_694_399_050, "1972-12-31T23:59:59.050Z"),
            (MAX_MILLIS, "9999-12-31T23:59:59.999Z"),
            (MAX_MILLIS + 1, "1970-01-01T00:00:00.000Z"),
            (u64::MAX, "1970-01-01T00:00:00.000Z"),
            // Back to an earlier second after the cache moved on.
            (1_714_564_800_001, "2024-05-01T12:00:00.001Z"),
        ] {
            assert_eq!(render(&mut timestamps, millis), expected, "{millis}");
        }
    }
}
