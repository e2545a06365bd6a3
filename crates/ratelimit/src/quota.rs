//! Quotas: request counts per calendar window (UTC), and the in-process counter store.
//!
//! Windows are aligned to the calendar, not to the first request: a `day` quota resets at
//! 00:00:00 UTC, a `month` quota at 00:00:00 UTC on the 1st. A refused request is not counted.

use portcullis_config::model::QuotaWindow;

use crate::shards::{default_shard_count, Expiring, ShardedMap};

const SECONDS_PER_DAY: u64 = 86_400;

/// The window `[start, end)` (Unix seconds, UTC) that contains `unix_seconds`.
pub fn window_bounds(window: QuotaWindow, unix_seconds: u64) -> (u64, u64) {
    let fixed = |length: u64| {
        let start = unix_seconds - unix_seconds % length;
        (start, start + length)
    };
    match window {
        QuotaWindow::Minute => fixed(60),
        QuotaWindow::Hour => fixed(3_600),
        QuotaWindow::Day => fixed(SECONDS_PER_DAY),
        QuotaWindow::Month => {
            let (year, month, _) = civil_from_days(unix_seconds / SECONDS_PER_DAY);
            let (next_year, next_month) = if month == 12 {
                (year + 1, 1)
            } else {
                (year, month + 1)
            };
            (
                days_from_civil(year, month, 1) * SECONDS_PER_DAY,
                days_from_civil(next_year, next_month, 1) * SECONDS_PER_DAY,
            )
        }
    }
}

/// The calendar date (year, month 1–12, day 1–31) of a day counted from 1970-01-01.
/// (The days-to-civil algorithm of H. Hinnant, restricted to dates from 1970 on.)
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to the given date (year ≥ 1970, month 1–12).
pub fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_from_march = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The outcome of counting one request against one quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaDecision {
    pub admitted: bool,
    pub limit: u64,
    /// Requests counted in this window, this one included when admitted.
    pub used: u64,
    /// Unix second at which the window ends and the count starts again.
    pub window_end: u64,
    /// Length of the current window in seconds (months differ).
    pub window_seconds: u64,
}

impl QuotaDecision {
    /// Builds the decision for a window `[start, end)` whose count is `used` after this request.
    /// A window that ends before it starts (never built by `window_bounds`, but this is public)
    /// has length 0 rather than underflowing: found by the `ratelimit_headers` fuzz contract.
    pub fn new(admitted: bool, limit: u64, used: u64, start: u64, end: u64) -> Self {
        QuotaDecision {
            admitted,
            limit,
            used,
            window_end: end,
            window_seconds: end.saturating_sub(start),
        }
    }

    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// Whole seconds until the window resets, at least 1 (for `Retry-After` and `t`).
    pub fn reset_seconds(&self, unix_seconds: u64) -> u64 {
        self.window_end.saturating_sub(unix_seconds).max(1)
    }
}

struct QuotaEntry {
    window_start: u64,
    window_end: u64,
    count: u64,
}

impl Expiring for QuotaEntry {
    fn expires_at(&self) -> u64 {
        self.window_end
    }
}

/// Quota counters held in this process (standalone mode). Time is Unix seconds, passed in.
pub struct LocalQuotas {
    counters: ShardedMap<QuotaEntry>,
}

impl LocalQuotas {
    pub fn new(max_counters: usize) -> Self {
        LocalQuotas {
            counters: ShardedMap::new(max_counters, default_shard_count()),
        }
    }

    /// Counts one request for `key` unless the window's count has reached `limit`.
    pub fn hit(
        &self,
        key: &str,
        limit: u64,
        window: QuotaWindow,
        unix_seconds: u64,
    ) -> QuotaDecision {
        let (start, end) = window_bounds(window, unix_seconds);
        self.counters.update(
            key,
            unix_seconds,
            || QuotaEntry {
                window_start: start,
                window_end: end,
                count: 0,
            },
            |entry| {
                if entry.window_start != start {
                    *entry = QuotaEntry {
                        window_start: start,
                        window_end: end,
                        count: 0,
                    };
                }
                let admitted = entry.count < limit;
                if admitted {
                    entry.count += 1;
                }
                QuotaDecision::new(admitted, limit, entry.count, start, end)
            },
        )
    }

    /// Takes back one counted request (when a later check refused the request).
    pub fn refund(&self, key: &str, window: QuotaWindow, unix_seconds: u64) {
        let (start, _) = window_bounds(window, unix_seconds);
        self.counters.update_existing(key, |entry| {
            if entry.window_start == start {
                entry.count = entry.count.saturating_sub(1);
            }
        });
    }

    /// Drops counters whose window has ended.
    pub fn evict_idle(&self, unix_seconds: u64) -> usize {
        self.counters.evict_expired(unix_seconds)
    }

    pub fn len(&self) -> usize {
        self.counters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_ending_before_it_starts_has_no_length() {
        let decision = QuotaDecision::new(true, 10, 3, 100, 50);
        assert_eq!(decision.window_seconds, 0);
        assert_eq!(decision.reset_seconds(60), 1);
    }

    /// Unix seconds of a UTC date and time.
    fn at(year: u64, month: u64, day: u64, hour: u64, minute: u64, second: u64) -> u64 {
        days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3_600 + minute * 60 + second
    }

    #[test]
    fn known_dates_convert_both_ways() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(at(2024, 2, 29, 12, 0, 0), 1_709_208_000);
        for days in [0, 59, 60, 365, 11_016, 11_017, 19_782, 20_000, 47_541] {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days, "day {days}");
        }
    }

    #[test]
    fn fixed_windows_align_to_the_clock() {
        let moment = at(2026, 11, 28, 13, 47, 31);
        assert_eq!(
            window_bounds(QuotaWindow::Minute, moment),
            (at(2026, 11, 28, 13, 47, 0), at(2026, 11, 28, 13, 48, 0))
        );
        assert_eq!(
            window_bounds(QuotaWindow::Hour, moment),
            (at(2026, 11, 28, 13, 0, 0), at(2026, 11, 28, 14, 0, 0))
        );
        assert_eq!(
            window_bounds(QuotaWindow::Day, moment),
            (at(2026, 11, 28, 0, 0, 0), at(2026, 11, 29, 0, 0, 0))
        );
    }

    #[test]
    fn month_windows_follow_the_calendar() {
        // Leap February (2024, and 2000 which is divisible by 400) has 29 days.
        let leap = window_bounds(QuotaWindow::Month, at(2024, 2, 29, 23, 59, 59));
        assert_eq!(leap, (at(2024, 2, 1, 0, 0, 0), at(2024, 3, 1, 0, 0, 0)));
        assert_eq!(leap.1 - leap.0, 29 * SECONDS_PER_DAY);
        let y2000 = window_bounds(QuotaWindow::Month, at(2000, 2, 10, 0, 0, 0));
        assert_eq!(y2000.1 - y2000.0, 29 * SECONDS_PER_DAY);
        // 2100 is divisible by 100 but not 400: not a leap year.
        let y2100 = window_bounds(QuotaWindow::Month, at(2100, 2, 10, 0, 0, 0));
        assert_eq!(y2100.1 - y2100.0, 28 * SECONDS_PER_DAY);
        // December rolls into the next year.
        assert_eq!(
            window_bounds(QuotaWindow::Month, at(2025, 12, 31, 23, 59, 59)),
            (at(2025, 12, 1, 0, 0, 0), at(2026, 1, 1, 0, 0, 0))
        );
        // The first second of a month starts that month's window.
        assert_eq!(
            window_bounds(QuotaWindow::Month, at(2026, 3, 1, 0, 0, 0)).0,
            at(2026, 3, 1, 0, 0, 0)
        );
        assert_eq!(
            window_bounds(QuotaWindow::Month, at(2026, 2, 28, 23, 59, 59)).1,
            at(2026, 3, 1, 0, 0, 0)
        );
    }

    #[test]
    fn quota_refuses_once_exhausted_and_resets_with_the_window() {
        let quotas = LocalQuotas::new(100);
        let start = at(2026, 1, 31, 23, 59, 58);
        for used in 1..=3 {
            let decision = quotas.hit("k", 3, QuotaWindow::Month, start);
            assert!(decision.admitted);
            assert_eq!(decision.used, used);
        }
        let refused = quotas.hit("k", 3, QuotaWindow::Month, start + 1);
        assert!(!refused.admitted);
        assert_eq!(refused.remaining(), 0);
        assert_eq!(refused.reset_seconds(start + 1), 1);
        assert_eq!(refused.window_seconds, 31 * SECONDS_PER_DAY);
        let next_month = quotas.hit("k", 3, QuotaWindow::Month, start + 2);
        assert!(next_month.admitted);
        assert_eq!(next_month.used, 1);
        assert_eq!(next_month.window_seconds, 28 * SECONDS_PER_DAY);
    }

    #[test]
    fn refunds_and_idle_eviction() {
        let quotas = LocalQuotas::new(100);
        let now = at(2026, 5, 5, 5, 5, 5);
        assert!(quotas.hit("k", 1, QuotaWindow::Minute, now).admitted);
        assert!(!quotas.hit("k", 1, QuotaWindow::Minute, now).admitted);
        quotas.refund("k", QuotaWindow::Minute, now);
        assert!(quotas.hit("k", 1, QuotaWindow::Minute, now).admitted);
        assert_eq!(quotas.evict_idle(now), 0);
        assert_eq!(quotas.evict_idle(at(2026, 5, 5, 5, 6, 0)), 1);
        assert!(quotas.is_empty());
    }
}
