//! `Retry-After`, `RateLimit-Policy` and `RateLimit` header values (draft-ietf-httpapi-
//! ratelimit-headers, revisions 08–11): both fields are Structured Field Lists whose members
//! are a String naming the policy with parameters:
//!
//! * `RateLimit-Policy: "per-tenant";q=100;w=2` — `q` the quota (tokens a full bucket holds,
//!   or the quota's limit), `w` the window in seconds (the time a drained bucket needs to fill,
//!   or the quota's calendar window).
//! * `RateLimit: "per-tenant";r=41;t=2` — `r` the units remaining, `t` whole seconds until the
//!   quota is fully available again (a bucket full, a quota window restarted).
//!
//! Every limit and quota the route applies is one list member, in the route's order. The
//! writers append to a caller-owned buffer so the hot path can reuse one.

use std::fmt::Write as _;
use std::time::Duration;

use crate::bucket::{ceil_seconds, BucketDecision, BucketParams};
use crate::quota::QuotaDecision;

pub const RATELIMIT_POLICY: &str = "ratelimit-policy";
pub const RATELIMIT: &str = "ratelimit";
pub const RETRY_AFTER: &str = "retry-after";

/// One member of `RateLimit-Policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyItem<'a> {
    pub name: &'a str,
    pub quota: u64,
    pub window_seconds: u64,
}

/// One member of `RateLimit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusItem<'a> {
    pub name: &'a str,
    pub remaining: u64,
    pub reset_seconds: u64,
}

impl<'a> PolicyItem<'a> {
    /// The policy of a token bucket: `q` its capacity (whole tokens, at least 1), `w` the
    /// seconds a drained bucket takes to fill (rounded up, at least 1).
    pub fn for_bucket(name: &'a str, params: BucketParams) -> Self {
        PolicyItem {
            name,
            quota: (params.capacity.floor() as u64).max(1),
            window_seconds: ceil_seconds(
                Duration::try_from_secs_f64(params.full_refill_seconds()).unwrap_or(Duration::MAX),
            )
            .max(1),
        }
    }

    /// The policy of a quota in its current window.
    pub fn for_quota(name: &'a str, decision: &QuotaDecision) -> Self {
        PolicyItem {
            name,
            quota: decision.limit,
            window_seconds: decision.window_seconds,
        }
    }
}

impl<'a> StatusItem<'a> {
    pub fn for_bucket(name: &'a str, decision: &BucketDecision) -> Self {
        StatusItem {
            name,
            remaining: decision.remaining(),
            reset_seconds: ceil_seconds(decision.until_full),
        }
    }

    pub fn for_quota(name: &'a str, decision: &QuotaDecision, unix_seconds: u64) -> Self {
        StatusItem {
            name,
            remaining: decision.remaining(),
            reset_seconds: decision.reset_seconds(unix_seconds),
        }
    }
}

/// Appends the `RateLimit-Policy` value for `items` to `out`.
pub fn write_policy_header(items: &[PolicyItem<'_>], out: &mut String) {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        write_sf_string(item.name, out);
        let _ = write!(
            out,
            ";q={};w={}",
            sf_integer(item.quota),
            sf_integer(item.window_seconds)
        );
    }
}

/// Appends the `RateLimit` value for `items` to `out`.
pub fn write_status_header(items: &[StatusItem<'_>], out: &mut String) {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        write_sf_string(item.name, out);
        let _ = write!(
            out,
            ";r={};t={}",
            sf_integer(item.remaining),
            sf_integer(item.reset_seconds)
        );
    }
}

/// `Retry-After` in whole seconds, rounded up, at least 1 (a refusal always waits).
pub fn retry_after_seconds(wait: Duration) -> u64 {
    ceil_seconds(wait).max(1)
}

/// Structured Field Integers have at most 15 digits.
fn sf_integer(value: u64) -> u64 {
    value.min(999_999_999_999_999)
}

/// An sf-string: printable ASCII in double quotes, `"` and `\` escaped. Anything else (limit
/// names are kebab-case, so only a hand-built name could carry it) becomes `?`.
fn write_sf_string(value: &str, out: &mut String) {
    out.push('"');
    for character in value.chars() {
        match character {
            '"' | '\\' => {
                out.push('\\');
                out.push(character);
            }
            ' '..='~' => out.push(character),
            _ => out.push('?'),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket;

    #[test]
    fn policy_for_the_seed_bucket() {
        let params = BucketParams {
            capacity: 100.0,
            refill_per_second: 50.0,
        };
        let mut value = String::new();
        write_policy_header(
            &[PolicyItem::for_bucket("checkout-default", params)],
            &mut value,
        );
        assert_eq!(value, "\"checkout-default\";q=100;w=2");
    }

    #[test]
    fn several_policies_form_a_list() {
        let items = [
            PolicyItem {
                name: "burst",
                quota: 10,
                window_seconds: 1,
            },
            PolicyItem {
                name: "daily",
                quota: 1000,
                window_seconds: 86_400,
            },
        ];
        let mut value = String::new();
        write_policy_header(&items, &mut value);
        assert_eq!(value, "\"burst\";q=10;w=1, \"daily\";q=1000;w=86400");
    }

    #[test]
    fn status_reports_whole_tokens_and_rounded_up_reset() {
        let params = BucketParams {
            capacity: 10.0,
            refill_per_second: 4.0,
        };
        let decision = bucket::take(params, 2.5, 0.0, 1.0);
        let mut value = String::new();
        write_status_header(&[StatusItem::for_bucket("per-user", &decision)], &mut value);
        // 1.5 tokens left: r=1; (10 - 1.5) / 4 = 2.125 s to full: t=3.
        assert_eq!(value, "\"per-user\";r=1;t=3");
    }

    #[test]
    fn quota_items_use_the_calendar_window() {
        let decision = QuotaDecision::new(true, 1000, 250, 86_400, 172_800);
        let mut policy = String::new();
        let mut status = String::new();
        write_policy_header(&[PolicyItem::for_quota("daily", &decision)], &mut policy);
        write_status_header(
            &[StatusItem::for_quota("daily", &decision, 172_000)],
            &mut status,
        );
        assert_eq!(policy, "\"daily\";q=1000;w=86400");
        assert_eq!(status, "\"daily\";r=750;t=800");
    }

    #[test]
    fn names_are_valid_sf_strings() {
        let mut value = String::new();
        write_status_header(
            &[StatusItem {
                name: "a\"b\\c\u{e9}",
                remaining: 0,
                reset_seconds: 1,
            }],
            &mut value,
        );
        assert_eq!(value, "\"a\\\"b\\\\c?\";r=0;t=1");
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(3)), 3);
    }

    #[test]
    fn huge_values_stay_within_sf_integer_range() {
        let mut value = String::new();
        write_policy_header(
            &[PolicyItem {
                name: "x",
                quota: u64::MAX,
                window_seconds: 1,
            }],
            &mut value,
        );
        assert_eq!(value, "\"x\";q=999999999999999;w=1");
    }
}
