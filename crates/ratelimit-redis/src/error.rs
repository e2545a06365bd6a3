use std::time::Duration;

/// Why a Redis call gave no answer the limiter could use.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis did not answer within {0:?} (redis.timeoutMs)")]
    Timeout(Duration),
    #[error("the redis circuit breaker is open: no call was made")]
    BreakerOpen,
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis connection settings: {0}")]
    Settings(String),
}
