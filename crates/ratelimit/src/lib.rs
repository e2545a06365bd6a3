//! Rate-limit logic for Portcullis, free of I/O: bucket keys from request facts, token bucket
//! arithmetic, the sharded and bounded in-process bucket store, quota calendar windows and
//! counters, and the `Retry-After` / `RateLimit-Policy` / `RateLimit` header values.
//!
//! The shared (Redis) store lives in `portcullis-ratelimit-redis` and reuses these types.

pub mod bucket;
pub mod headers;
pub mod key;
pub mod lease;
pub mod local;
pub mod quota;
mod shards;
pub mod spec;

pub use bucket::{BucketDecision, BucketParams};
pub use key::{bucket_key, write_key, RequestFacts, MISSING_PLACEHOLDER};
pub use lease::{LeaseOutcome, LocalLeases};
pub use local::{BucketRequest, LocalBuckets, DEFAULT_MAX_BUCKETS};
pub use quota::{window_bounds, LocalQuotas, QuotaDecision};
pub use shards::default_shard_count;
pub use spec::{LimitSpec, QuotaSpec};
