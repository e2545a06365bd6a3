//! Jittered exponential back-off between failed requests to the control plane.
//!
//! The delay doubles from `initial` up to `max`; each delay is drawn uniformly from its upper
//! half ("equal jitter"), so a fleet that lost the control plane at the same moment does not
//! come back in lock-step, yet no retry comes sooner than half the nominal delay.

use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    /// Failures since the last success.
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            failures: 0,
        }
    }

    /// The delay before the next attempt after one more failure.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.delay_for(self.failures, rand::random::<f64>());
        self.failures = self.failures.saturating_add(1);
        delay
    }

    /// A request succeeded: the next failure starts from `initial` again.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures counted since the last success.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// The delay after `failures` earlier failures, with `fraction` in `[0, 1)` picking the
    /// point in the jitter range.
    fn delay_for(&self, failures: u32, fraction: f64) -> Duration {
        let doubled = self
            .initial
            .checked_mul(1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.max);
        let nominal = doubled.min(self.max);
        let half = nominal / 2;
        half + half.mul_f64(fraction.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INITIAL: Duration = Duration::from_millis(250);
    const MAX: Duration = Duration::from_secs(10);

    #[test]
    fn nominal_delay_doubles_then_caps() {
        let backoff = Backoff::new(INITIAL, MAX);
        let cases = [
            (0, 250),
            (1, 500),
            (2, 1_000),
            (3, 2_000),
            (4, 4_000),
            (5, 8_000),
            (6, 10_000),
            (7, 10_000),
            (40, 10_000),
            (u32::MAX, 10_000),
        ];
        for (failures, millis) in cases {
            // The top of the jitter range is the nominal delay.
            let top = backoff.delay_for(failures, 1.0);
            assert_eq!(
                top,
                Duration::from_millis(millis),
                "after {failures} failures"
            );
            let bottom = backoff.delay_for(failures, 0.0);
            assert_eq!(
                bottom,
                Duration::from_millis(millis) / 2,
                "after {failures}"
            );
        }
    }

    #[test]
    fn drawn_delays_stay_within_the_jitter_range_and_vary() {
        let mut backoff = Backoff::new(INITIAL, MAX);
        for _ in 0..10 {
            backoff.next_delay();
        }
        let delays: Vec<Duration> = (0..50).map(|_| backoff.next_delay()).collect();
        for delay in &delays {
            assert!(*delay >= MAX / 2 && *delay <= MAX, "{delay:?}");
        }
        assert!(
            delays.iter().any(|delay| *delay != delays[0]),
            "jitter must vary the delays: {delays:?}"
        );
    }

    #[test]
    fn reset_starts_over_from_the_initial_delay() {
        let mut backoff = Backoff::new(INITIAL, MAX);
        for _ in 0..8 {
            backoff.next_delay();
        }
        assert_eq!(backoff.failures(), 8);
        backoff.reset();
        assert_eq!(backoff.failures(), 0);
        let delay = backoff.next_delay();
        assert!(delay >= INITIAL / 2 && delay <= INITIAL, "{delay:?}");
    }

    #[test]
    fn a_max_below_initial_never_shortens_the_first_delay() {
        let backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(backoff.delay_for(0, 1.0), Duration::from_secs(2));
        assert_eq!(backoff.delay_for(5, 1.0), Duration::from_secs(2));
    }
}
