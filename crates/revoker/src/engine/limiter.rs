//! The evenly spaced limiters that keep a scope, or the run, to its rate.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// Requests spaced evenly at `per_second`, with a burst of a twentieth of a second's worth (at least
/// one). The burst only lets a request that woke a little late (timers tick in milliseconds) take its
/// missed slot back, so the rate is kept over time; and it stays far below a second's worth, so a
/// server whose bucket holds one second never sees more than its limit.
fn even_quota(per_second: f64) -> Quota {
    let period = Duration::from_secs_f64(1.0 / per_second.max(0.001));
    let burst = NonZeroU32::new((per_second / 20.0) as u32).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

/// A limiter spacing requests evenly at `per_second`. With `fresh`, its first slot is free; without,
/// the first request waits one period, as for a bucket that was just emptied.
pub(crate) fn limiter(per_second: f64, fresh: bool) -> DefaultDirectRateLimiter {
    let limiter = RateLimiter::direct(even_quota(per_second));
    if !fresh {
        let _ = limiter.check();
    }
    limiter
}

/// A limiter at `per_second` whose first `burst` requests go at once: a bucket known to be full.
pub(crate) fn burst_limiter(per_second: f64, burst: u32) -> DefaultDirectRateLimiter {
    let quota = even_quota(per_second);
    RateLimiter::direct(quota.allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN)))
}
