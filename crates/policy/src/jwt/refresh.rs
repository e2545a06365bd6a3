//! The timing rules of JWKS refresh, kept pure so the proxy's fetch task only does I/O:
//! when to refresh next (`Cache-Control: max-age` within bounds), whether an unknown `kid` may
//! trigger a refresh (one per cooldown), and whether stale keys may still be used.

use portcullis_config::model::JwtIssuer;

/// An issuer's refresh bounds, from `authentication.jwt.issuers[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    pub min_seconds: u64,
    pub max_seconds: u64,
    pub unknown_kid_cooldown_seconds: u64,
    pub max_stale_seconds: u64,
}

impl RefreshPolicy {
    pub fn from_config(issuer: &JwtIssuer) -> Self {
        RefreshPolicy {
            min_seconds: issuer.jwks_refresh_min_seconds,
            max_seconds: issuer.jwks_refresh_max_seconds,
            unknown_kid_cooldown_seconds: issuer.unknown_kid_cooldown_seconds,
            max_stale_seconds: issuer.max_stale_seconds,
        }
    }

    /// Seconds until the next scheduled refresh, given the response's `Cache-Control` value:
    /// its `max-age` clamped to the bounds, or the upper bound without one.
    pub fn next_refresh_in(&self, cache_control: Option<&str>) -> u64 {
        let max_age = cache_control.and_then(max_age);
        match max_age {
            Some(seconds) => {
                seconds.clamp(self.min_seconds, self.max_seconds.max(self.min_seconds))
            }
            None => self.max_seconds,
        }
    }

    /// Whether keys last fetched at `fetched_at` may still be used at `now` while the endpoint
    /// is failing.
    pub fn keys_usable(&self, fetched_at: u64, now: u64) -> bool {
        now.saturating_sub(fetched_at) <= self.max_stale_seconds
    }
}

/// `max-age=N` from a `Cache-Control` value (`no-store`/`no-cache` mean 0).
pub fn max_age(cache_control: &str) -> Option<u64> {
    let mut result = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim();
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(0);
        }
        if let Some(value) = lower.strip_prefix("max-age=") {
            result = value.trim_matches('"').parse().ok();
        }
    }
    result
}

/// Allows one unknown-`kid` refresh per cooldown. The proxy keeps one per issuer (it is
/// consulted only on the unknown-kid failure path, never for good tokens).
#[derive(Debug, Clone, Default)]
pub struct KidRefreshGate {
    last_refresh: Option<u64>,
}

impl KidRefreshGate {
    /// `true`: refresh now (and the cooldown starts); `false`: fail the request fast with 401.
    pub fn try_refresh(&mut self, cooldown_seconds: u64, now: u64) -> bool {
        match self.last_refresh {
            Some(last) if now < last.saturating_add(cooldown_seconds) => false,
            _ => {
                self.last_refresh = Some(now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RefreshPolicy {
        RefreshPolicy {
            min_seconds: 60,
            max_seconds: 3600,
            unknown_kid_cooldown_seconds: 30,
            max_stale_seconds: 86_400,
        }
    }

    #[test]
    fn max_age_is_honoured_within_bounds() {
        let policy = policy();
        assert_eq!(policy.next_refresh_in(Some("public, max-age=600")), 600);
        assert_eq!(policy.next_refresh_in(Some("max-age=5")), 60);
        assert_eq!(policy.next_refresh_in(Some("max-age=999999")), 3600);
        assert_eq!(policy.next_refresh_in(Some("no-store")), 60);
        assert_eq!(policy.next_refresh_in(Some("max-age=junk")), 3600);
        assert_eq!(policy.next_refresh_in(None), 3600);
    }

    #[test]
    fn stale_keys_are_kept_up_to_the_max_stale_age() {
        let policy = policy();
        assert!(policy.keys_usable(1_000, 1_000 + 86_400));
        assert!(!policy.keys_usable(1_000, 1_000 + 86_401));
    }

    #[test]
    fn unknown_kids_trigger_at_most_one_refresh_per_cooldown() {
        let mut gate = KidRefreshGate::default();
        assert!(gate.try_refresh(30, 1_000));
        assert!(!gate.try_refresh(30, 1_001));
        assert!(!gate.try_refresh(30, 1_029));
        assert!(gate.try_refresh(30, 1_030));
        assert!(!gate.try_refresh(30, 1_031));
    }
}
