//! What the Redis store answers: decisions with their source, and its counters.

use portcullis_ratelimit::bucket::BucketDecision;
use portcullis_ratelimit::QuotaDecision;

/// Where a decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionSource {
    /// The shared bucket in Redis.
    Redis,
    /// A token this instance had leased earlier (`redisLeased`).
    Lease,
    /// Redis was unavailable; the per-instance emergency bucket decided (`localFallback`).
    LocalFallback,
    /// Redis was unavailable; admitted without counting (`failOpen`).
    FailOpen,
    /// Redis was unavailable; refused (`failClosed`).
    FailClosed,
}

impl DecisionSource {
    /// True when Redis did not take part (for the "fallback activations" metric).
    pub fn is_degraded(&self) -> bool {
        matches!(
            self,
            DecisionSource::LocalFallback | DecisionSource::FailOpen | DecisionSource::FailClosed
        )
    }
}

/// A rate-limit decision and where it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitVerdict {
    pub decision: BucketDecision,
    pub source: DecisionSource,
}

impl LimitVerdict {
    pub fn admitted(&self) -> bool {
        self.decision.admitted
    }
}

/// A quota decision and whether Redis made it (else the per-instance fallback counter did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaVerdict {
    pub decision: QuotaDecision,
    /// Unix second the decision was made at (Redis `TIME`, or this host's clock on fallback).
    pub unix_seconds: u64,
    pub from_redis: bool,
}

/// A copy of the store's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreStats {
    /// Redis calls attempted.
    pub calls: u64,
    /// Calls that failed with an error reply or a connection error.
    pub errors: u64,
    /// Calls that missed the deadline.
    pub timeouts: u64,
    /// Decisions made without calling Redis because the breaker was open.
    pub breaker_refusals: u64,
    /// Decisions made by a failure mode (fallback activations).
    pub degraded_decisions: u64,
    /// Probes on a fresh connection made while the breaker was open.
    pub probes: u64,
    /// Times a probe found Redis back and closed the breaker.
    pub recoveries: u64,
}
