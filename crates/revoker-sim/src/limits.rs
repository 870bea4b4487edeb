//! The simulator's rate limits: token buckets (GCRA, governor) per API key or service account and per
//! project or organization, the documented 429 (`RATE_LIMITED_TOKEN_BUCKET`, with the bucket's
//! capacity and refill rate, and `Retry-After`), and optional `RateLimit-Limit` /
//! `RateLimit-Remaining` headers on every answer.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::state::lock;
use super::{Bucket, RetryAfterStyle, SimConfig};
use crate::model::Oid;

type Limiter<K> =
    RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// Requests still on the wire when a 429 went out are not counted as early; the margin is wide so
/// that a loaded machine's scheduling delays do not count either.
const IN_FLIGHT_GRACE: Duration = Duration::from_millis(250);

fn limiter<K: Hash + Eq + Clone>(bucket: &Bucket) -> Option<Limiter<K>> {
    let period = bucket.per.checked_div(bucket.refill.max(1))?;
    let quota = Quota::with_period(period)?.allow_burst(
        std::num::NonZeroU32::new(bucket.capacity).unwrap_or(std::num::NonZeroU32::MIN),
    );
    Some(RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>())
}

/// The tighter of what the buckets so far said and `(capacity, remaining)` of one more.
fn tighter(admitted: Admitted, capacity: u32, remaining: u32) -> Admitted {
    match admitted {
        Some((_, r)) if r <= remaining => admitted,
        _ => Some((capacity, remaining)),
    }
}

/// Takes a token from `key`'s bucket: the tokens left, or how long until there is one.
fn take<K: Hash + Eq + Clone>(limiter: &Limiter<K>, key: &K) -> Result<u32, Duration> {
    limiter
        .check_key(key)
        .map(|snapshot| snapshot.remaining_burst_capacity())
        .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

/// A refused request: the 429's `Retry-After` and its error document.
pub(super) struct Throttled {
    pub retry_after: Option<String>,
    pub body: serde_json::Value,
}

pub(super) struct Limits {
    user: Option<(Bucket, Limiter<String>)>,
    scope: Option<(Bucket, Limiter<Oid>)>,
    limited: std::collections::HashSet<Oid>,
    headers: bool,
    retry_after: Option<u64>,
    style: RetryAfterStyle,
    /// Per bucket: from when to when a `Retry-After` it was sent forbids requests.
    quiet: Mutex<HashMap<String, (Instant, Instant)>>,
}

/// What the buckets said about an admitted request: `(capacity, remaining)` of the tightest.
pub(super) type Admitted = Option<(u32, u32)>;

impl Limits {
    pub(super) fn new(config: &SimConfig) -> Limits {
        Limits {
            user: config.user_bucket.and_then(|b| limiter(&b).map(|l| (b, l))),
            scope: config
                .scope_bucket
                .and_then(|b| limiter(&b).map(|l| (b, l))),
            limited: config.limited_scopes.iter().copied().collect(),
            headers: config.ratelimit_headers,
            retry_after: config.retry_after,
            style: config.retry_after_style,
            quiet: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request that arrived while a `Retry-After` for one of its buckets was running.
    pub(super) fn early(&self, user: &str, scope: Option<Oid>) -> bool {
        let now = Instant::now();
        let quiet = lock(&self.quiet);
        [
            format!("user {user}"),
            scope.map_or(String::new(), |s| format!("scope {s}")),
        ]
        .iter()
        .any(|key| {
            quiet
                .get(key)
                .is_some_and(|&(from, until)| now >= from && now < until)
        })
    }

    /// Takes a token from the request's buckets, or answers the 429.
    pub(super) fn check(
        &self,
        user: &str,
        scope: Option<Oid>,
        endpoint: &str,
    ) -> Result<Admitted, Throttled> {
        let mut admitted: Admitted = None;
        let scope = scope.filter(|s| self.limited.is_empty() || self.limited.contains(s));
        if let (Some(scope), Some((bucket, limiter))) = (scope, &self.scope) {
            let remaining = take(limiter, &scope)
                .map_err(|wait| self.throttled(format!("scope {scope}"), bucket, wait, endpoint))?;
            admitted = tighter(admitted, bucket.capacity, remaining);
        }
        if let Some((bucket, limiter)) = &self.user {
            let remaining = take(limiter, &user.to_string())
                .map_err(|wait| self.throttled(format!("user {user}"), bucket, wait, endpoint))?;
            admitted = tighter(admitted, bucket.capacity, remaining);
        }
        Ok(if self.headers { admitted } else { None })
    }

    /// The documented answer of an empty bucket.
    fn throttled(&self, key: String, bucket: &Bucket, wait: Duration, endpoint: &str) -> Throttled {
        let seconds = self
            .retry_after
            .unwrap_or_else(|| wait.as_secs_f64().ceil().max(1.0) as u64);
        let per = bucket.per.as_secs().max(1);
        let body = serde_json::json!({
            "detail": format!(
                "Rate limit exceeded for {endpoint}. Please retry after {seconds} seconds. Request capacity: {}. Refill rate: {} per {per} seconds.",
                bucket.capacity, bucket.refill
            ),
            "error": 429,
            "errorCode": "RATE_LIMITED_TOKEN_BUCKET",
            "parameters": [endpoint, seconds, bucket.capacity, bucket.refill, per],
            "reason": "Too Many Requests",
        });
        Throttled {
            retry_after: Some(self.retry_after_value(key, seconds)),
            body,
        }
    }

    /// A 429 of the `throttle` fault: the older `RATE_LIMITED` document, no bucket described.
    pub(super) fn fault(&self, user: &str) -> Throttled {
        Throttled {
            retry_after: self
                .retry_after
                .map(|s| self.retry_after_value(format!("user {user}"), s)),
            body: serde_json::json!({
                "detail": "Too many requests; the rate limit was exceeded.",
                "error": 429,
                "errorCode": "RATE_LIMITED",
                "parameters": [],
                "reason": "Too Many Requests",
            }),
        }
    }

    fn retry_after_value(&self, key: String, seconds: u64) -> String {
        let now = Instant::now();
        lock(&self.quiet).insert(
            key,
            (now + IN_FLIGHT_GRACE, now + Duration::from_secs(seconds)),
        );
        match self.style {
            RetryAfterStyle::Seconds => seconds.to_string(),
            RetryAfterStyle::Date => {
                let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds as i64);
                jiff::fmt::rfc2822::to_string(&at.to_zoned(jiff::tz::TimeZone::UTC))
                    .unwrap_or_default()
            }
            RetryAfterStyle::Huge => "99999999999".into(),
            RetryAfterStyle::Garbage => "after lunch".into(),
        }
    }
}

/// `GET /rateLimits`: the buckets this simulator enforces, as endpoint sets with the documented
/// fields (`capacity`, `refillRate`, `refillDurationSeconds` each `{value}`). Every endpoint of the
/// API is in each set: the simulator's buckets do not tell endpoints apart.
pub(super) fn published(
    config: &SimConfig,
    req: &super::lists::ListRequest<'_>,
) -> super::routes::SimAnswer {
    let deletes = [
        "/api/atlas/v2/groups/{groupId}/apiKeys/{apiUserId}",
        "/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}",
        "/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}",
        "/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}/secrets/{secretId}",
        "/api/atlas/v2/groups/{groupId}/serviceAccounts/{clientId}",
        "/api/atlas/v2/groups/{groupId}/serviceAccounts/{clientId}/secrets/{secretId}",
        "/api/atlas/v2/groups/{groupId}/aiModelApiKeys/{apiKeyId}",
    ];
    let set = |id: &str, scope: &str, bucket: &Bucket, prefix: &str| {
        let endpoints: Vec<serde_json::Value> = deletes
            .iter()
            .filter(|p| prefix.is_empty() || p.starts_with(prefix))
            .map(|p| serde_json::json!({ "method": "DELETE", "path": p }))
            .collect();
        serde_json::json!({
            "endpointSetId": id,
            "endpointSetName": format!("Simulated {scope} bucket"),
            "scope": scope,
            "endpoints": endpoints,
            "capacity": { "value": bucket.capacity },
            "refillRate": { "value": bucket.refill },
            "refillDurationSeconds": { "value": bucket.per.as_secs() },
        })
    };
    let mut sets = Vec::new();
    if let Some(b) = &config.scope_bucket {
        sets.push(set(
            "credentials_group",
            "GROUP",
            b,
            "/api/atlas/v2/groups/",
        ));
        sets.push(set(
            "credentials_org",
            "ORGANIZATION",
            b,
            "/api/atlas/v2/orgs/",
        ));
    }
    if let Some(b) = &config.user_bucket {
        sets.push(set("credentials_user", "USER", b, ""));
    }
    let mut answer = super::routes::SimAnswer::json(
        200,
        serde_json::json!({
            "links": [{ "rel": "self", "href": req.self_url }],
            "results": sets,
            "totalCount": sets.len(),
        }),
    );
    answer.list = true;
    answer
}
