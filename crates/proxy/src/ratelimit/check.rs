//! The per-request decision. A route whose rules are all local buckets is decided
//! synchronously with reused key buffers (no allocation on admission); anything that needs
//! Redis or a quota goes through `RateLimiter::check`.

use std::cell::RefCell;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderName, HeaderValue};
use portcullis_config::model::{Config, RateLimitStore};
use portcullis_error::{ErrorKind, GatewayError, Phase};
use portcullis_ratelimit::bucket::{BucketDecision, BucketParams};
use portcullis_ratelimit::headers::{
    retry_after_seconds, write_policy_header, write_status_header, PolicyItem, StatusItem,
    RATELIMIT, RATELIMIT_POLICY,
};
use portcullis_ratelimit::{LimitSpec, RequestFacts};
use portcullis_ratelimit_redis::{DecisionSource, Outcome, RuleKind};

use super::facts::{request_facts, FactsInput, IpText};
use super::{InstalledLimits, RouteLimits, Shared};

static RATELIMIT_POLICY_HEADER: HeaderName = HeaderName::from_static(RATELIMIT_POLICY);
static RATELIMIT_HEADER: HeaderName = HeaderName::from_static(RATELIMIT);

/// `RateLimit-Policy`, `RateLimit` and, on a refusal, `Retry-After`. Boxed: built only for
/// refusals and routes that ask for headers, and kept small in the pipeline's results.
#[derive(Debug, Default)]
pub(crate) struct RateLimitHeaders(Box<HeaderValues>);

#[derive(Debug, Default)]
struct HeaderValues {
    policy: Option<HeaderValue>,
    status: Option<HeaderValue>,
    retry_after: Option<HeaderValue>,
}

impl RateLimitHeaders {
    fn from_strings(policy: String, status: String) -> RateLimitHeaders {
        let value = |text: String| {
            (!text.is_empty())
                .then(|| HeaderValue::try_from(text).ok())
                .flatten()
        };
        RateLimitHeaders(Box::new(HeaderValues {
            policy: value(policy),
            status: value(status),
            retry_after: None,
        }))
    }

    fn with_retry_after(mut self, seconds: u64) -> RateLimitHeaders {
        self.0.retry_after = Some(HeaderValue::from(seconds));
        self
    }

    /// Adds the headers to a response.
    pub(crate) fn apply(self, headers: &mut HeaderMap) {
        let values = *self.0;
        if let Some(policy) = values.policy {
            headers.insert(RATELIMIT_POLICY_HEADER.clone(), policy);
        }
        if let Some(status) = values.status {
            headers.insert(RATELIMIT_HEADER.clone(), status);
        }
        if let Some(retry_after) = values.retry_after {
            headers.insert(RETRY_AFTER, retry_after);
        }
    }
}

/// A refused request: the error to render and the headers to send with it.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) error: GatewayError,
    pub(crate) headers: RateLimitHeaders,
}

thread_local! {
    /// Bucket keys of the local fast path, one buffer per limit, reused across requests.
    static KEY_BUFFERS: RefCell<(Vec<String>, Vec<BucketDecision>)> =
        const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Decides one request on `route_id`: `Ok` with the headers to add to the response (when the
/// route asks for them), or the refusal.
pub(crate) async fn check(
    limits: &InstalledLimits,
    route_id: usize,
    route_name: &str,
    config: &Config,
    input: FactsInput<'_>,
) -> Result<Option<RateLimitHeaders>, Refused> {
    let (Some(route), Some(shared)) = (limits.routes.get(route_id), limits.shared.as_deref())
    else {
        return Ok(None);
    };
    if route.is_empty() {
        return Ok(None);
    }
    let ip = IpText::new(input.client_ip);
    let facts = request_facts(&input, &ip, route_name, config);
    if route.all_local {
        return decide_local(shared, route, &facts);
    }
    // Boxed: the Redis call's state is large, and keeping it inline would make every
    // request's future (moved a few times per request) that much larger.
    let outcome = Box::pin(shared.limiter.check(
        &route.limits,
        &route.quotas,
        &facts,
        unix_seconds(),
    ))
    .await;
    finish(route, &outcome, limits)
}

/// All rules are local buckets: take from each in order under the caller's thread-local key
/// buffers; on a refusal give back what this request took.
fn decide_local(
    shared: &Shared,
    route: &RouteLimits,
    facts: &RequestFacts<'_>,
) -> Result<Option<RateLimitHeaders>, Refused> {
    let local = shared.limiter.local();
    let now = Instant::now();
    KEY_BUFFERS.with_borrow_mut(|(keys, decisions)| {
        if keys.len() < route.limits.len() {
            keys.resize_with(route.limits.len(), || String::with_capacity(64));
        }
        decisions.clear();
        let mut refused_at = None;
        for (index, spec) in route.limits.iter().enumerate() {
            spec.write_key(facts, &mut keys[index]);
            let decision = local.take(&keys[index], spec.params, now);
            decisions.push(decision);
            if !decision.admitted {
                for (earlier, key) in route.limits[..index].iter().zip(keys.iter()) {
                    local.refund(key, earlier.params, 1.0, now);
                }
                refused_at = Some(index);
                break;
            }
        }
        let Some(index) = refused_at else {
            return Ok(route
                .headers
                .then(|| bucket_headers(&route.limits, decisions)));
        };
        let spec = &route.limits[index];
        let retry = retry_after_seconds(decisions[index].until_next_token);
        for (earlier, decision) in route.limits[..index].iter().zip(decisions.iter_mut()) {
            *decision = refunded(*decision, earlier.params);
        }
        if let Some(counter) = route.rejections.get(index) {
            counter.inc();
        }
        Err(Refused {
            error: rate_limited(RuleKind::RateLimit, &spec.name, retry),
            headers: bucket_headers(&route.limits, decisions).with_retry_after(retry),
        })
    })
}

/// The token a refused request's earlier limits gave back, shown in `RateLimit`.
fn refunded(mut decision: BucketDecision, params: BucketParams) -> BucketDecision {
    decision.tokens = (decision.tokens + 1.0).min(params.capacity);
    decision
}

fn bucket_headers(specs: &[LimitSpec], decisions: &[BucketDecision]) -> RateLimitHeaders {
    let policies: Vec<PolicyItem<'_>> = specs
        .iter()
        .zip(decisions)
        .map(|(spec, _)| PolicyItem::for_bucket(&spec.name, spec.params))
        .collect();
    let statuses: Vec<StatusItem<'_>> = specs
        .iter()
        .zip(decisions)
        .map(|(spec, decision)| StatusItem::for_bucket(&spec.name, decision))
        .collect();
    let mut policy = String::new();
    let mut status = String::new();
    write_policy_header(&policies, &mut policy);
    write_status_header(&statuses, &mut status);
    RateLimitHeaders::from_strings(policy, status)
}

/// Turns the limiter's outcome into headers or a refusal, and counts it.
fn finish(
    route: &RouteLimits,
    outcome: &Outcome,
    limits: &InstalledLimits,
) -> Result<Option<RateLimitHeaders>, Refused> {
    if outcome.degraded() {
        limits.metrics.rate_limit_fallback();
    }
    let Some(refusal) = &outcome.refusal else {
        return Ok(route.headers.then(|| {
            let (policy, status) = outcome.header_values();
            RateLimitHeaders::from_strings(policy, status)
        }));
    };
    let counter_index = match refusal.kind {
        RuleKind::RateLimit => outcome.limits.len().checked_sub(1),
        RuleKind::Quota => outcome
            .quotas
            .len()
            .checked_sub(1)
            .map(|index| index + route.limits.len()),
    };
    if let Some(counter) = counter_index.and_then(|index| route.rejections.get(index)) {
        counter.inc();
    }
    let closed = refusal.kind == RuleKind::RateLimit
        && outcome
            .limits
            .last()
            .is_some_and(|limit| limit.source == Some(DecisionSource::FailClosed));
    if closed {
        return Err(store_unavailable(
            &refusal.name,
            refusal.retry_after_seconds,
        ));
    }
    let (policy, status) = with_refunds(outcome, refusal.kind).header_values();
    Err(Refused {
        error: rate_limited(refusal.kind, &refusal.name, refusal.retry_after_seconds),
        headers: RateLimitHeaders::from_strings(policy, status)
            .with_retry_after(refusal.retry_after_seconds),
    })
}

/// The outcome as the client should see it after the refusal gave back what this request
/// took: one token to every limit before the refusing one (a leased token stays with the
/// instance), one count to every quota before the refusing one.
fn with_refunds(outcome: &Outcome, kind: RuleKind) -> Outcome {
    let mut shown = outcome.clone();
    let refunded_limits = match kind {
        RuleKind::RateLimit => shown.limits.len().saturating_sub(1),
        RuleKind::Quota => shown.limits.len(),
    };
    for limit in &mut shown.limits[..refunded_limits] {
        if limit.spec.store != RateLimitStore::RedisLeased {
            limit.decision = refunded(limit.decision, limit.spec.params);
        }
    }
    if kind == RuleKind::Quota {
        let refunded_quotas = shown.quotas.len().saturating_sub(1);
        for quota in &mut shown.quotas[..refunded_quotas] {
            quota.decision.used = quota.decision.used.saturating_sub(1);
        }
    }
    shown
}

fn rate_limited(kind: RuleKind, name: &str, retry_after: u64) -> GatewayError {
    let rule = match kind {
        RuleKind::RateLimit => "rate limit",
        RuleKind::Quota => "quota",
    };
    GatewayError::client(ErrorKind::RateLimited, Phase::RateLimit).with_detail(format!(
        "{rule} {name} is exhausted; retry after {retry_after} s"
    ))
}

/// A `failClosed` limit whose store is unavailable: 503, retryable.
fn store_unavailable(name: &str, retry_after: u64) -> Refused {
    Refused {
        error: GatewayError::gateway(ErrorKind::RateLimitStoreUnavailable, Phase::RateLimit)
            .with_detail(format!(
                "rate limit {name} cannot be checked: its store is unavailable"
            )),
        headers: RateLimitHeaders::default().with_retry_after(retry_after.max(1)),
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
