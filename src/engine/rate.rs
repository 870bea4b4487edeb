//! Rates (`100/s`, `6000/m`), and the adaptive throttle: a global pause on 429, then a lowered rate
//! that recovers step by step, so a long run settles just under the server's limit.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A number of requests per unit of time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    pub fn per_second(&self) -> f64 {
        f64::from(self.count) / self.per.as_secs_f64()
    }

    /// A limiter for this rate that allows no burst: requests are spaced evenly, so that a server
    /// whose bucket holds only a second's worth never sees more than its limit.
    pub fn keyed_limiter<K: std::hash::Hash + Eq + Clone>(&self) -> DefaultKeyedRateLimiter<K> {
        RateLimiter::keyed(even_quota(self.per_second()))
    }
}

fn even_quota(per_second: f64) -> Quota {
    let period = Duration::from_secs_f64(1.0 / per_second.max(0.001));
    Quota::with_period(period.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN)
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "m",
            3600 => "h",
            _ => return write!(f, "{}/{}", self.count, humantime::format_duration(self.per)),
        };
        write!(f, "{}/{unit}", self.count)
    }
}

impl FromStr for Rate {
    type Err = String;

    /// `N/s`, `N/m` (or `/min`), `N/h`; `N` alone means per second.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a rate: write it as 100/s, 6000/m or 50000/h");
        let (count, unit) = s.trim().split_once('/').unwrap_or((s.trim(), "s"));
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!("{s:?}: a rate must be at least 1"));
        }
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Rate { count, per })
    }
}

impl<'de> serde::Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// After a cut, the rate rises by this share of its base every [`STEP`].
const RAISE_SHARE: f64 = 0.05;
/// A 429 cuts the rate to this share of what it was.
const CUT_TO: f64 = 0.7;
const STEP: Duration = Duration::from_secs(1);

struct State {
    /// Current rate; `None` while unlimited.
    rate: Option<f64>,
    /// What a raise is a share of: the configured rate, or the rate observed at the first cut.
    base: f64,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    last_change: Instant,
    paused_until: Instant,
}

/// The global pace of a run.
pub struct Throttle {
    ceiling: Option<f64>,
    started: Instant,
    sent: std::sync::atomic::AtomicU64,
    state: Mutex<State>,
}

impl Throttle {
    pub fn new(rate: Option<Rate>) -> Throttle {
        let now = Instant::now();
        let ceiling = rate.map(|r| r.per_second());
        Throttle {
            ceiling,
            started: now,
            sent: Default::default(),
            state: Mutex::new(State {
                rate: ceiling,
                base: ceiling.unwrap_or(0.0),
                limiter: ceiling.map(|r| Arc::new(RateLimiter::direct(even_quota(r)))),
                last_change: now,
                paused_until: now,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Until when everyone waits because of a 429.
    pub fn paused_until(&self) -> Instant {
        self.state().paused_until
    }

    /// The current rate in requests per second, `None` while unlimited.
    pub fn current_rate(&self) -> Option<f64> {
        self.state().rate
    }

    /// Waits for the next slot of the current rate.
    pub async fn ready(&self) {
        let limiter = {
            let mut st = self.state();
            self.maybe_raise(&mut st);
            st.limiter.clone()
        };
        if let Some(limiter) = limiter {
            limiter.until_ready().await;
        }
        self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn maybe_raise(&self, st: &mut State) {
        let Some(rate) = st.rate else { return };
        if st.last_change.elapsed() < STEP || st.paused_until > Instant::now() {
            return;
        }
        let raised = rate + st.base * RAISE_SHARE;
        let next = match self.ceiling {
            Some(ceiling) if raised >= ceiling => Some(ceiling),
            _ => Some(raised),
        };
        if next != st.rate {
            st.rate = next;
            st.limiter = next.map(|r| Arc::new(RateLimiter::direct(even_quota(r))));
        }
        st.last_change = Instant::now();
    }

    /// A 429 arrived: everyone pauses for `wait`, and the rate is cut (at most once per step, since
    /// the 429s of one burst all report the same excess).
    pub fn throttled(&self, wait: Duration) {
        let now = Instant::now();
        let mut st = self.state();
        st.paused_until = st.paused_until.max(now + wait);
        if st.rate.is_some() && now.duration_since(st.last_change) < STEP {
            return;
        }
        let current = st.rate.unwrap_or_else(|| {
            let elapsed = now.duration_since(self.started).as_secs_f64().max(0.001);
            self.sent.load(std::sync::atomic::Ordering::Relaxed) as f64 / elapsed
        });
        if st.rate.is_none() {
            st.base = current;
        }
        let floor = (st.base * 0.05).max(1.0);
        let cut = (current * CUT_TO).max(floor);
        st.rate = Some(cut);
        st.limiter = Some(Arc::new(RateLimiter::direct(even_quota(cut))));
        st.last_change = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!("100/s".parse::<Rate>().unwrap().per_second(), 100.0);
        assert_eq!("6000/m".parse::<Rate>().unwrap().per_second(), 100.0);
        assert_eq!("6000/min".parse::<Rate>().unwrap().to_string(), "6000/m");
        assert_eq!("50".parse::<Rate>().unwrap().per_second(), 50.0);
        assert!("0/s".parse::<Rate>().is_err());
        assert!("fast".parse::<Rate>().unwrap_err().contains("100/s"));
        assert!("10/fortnight".parse::<Rate>().is_err());
    }

    #[test]
    fn a_429_pauses_and_cuts_then_the_rate_recovers_to_the_ceiling() {
        let throttle = Throttle::new(Some("100/s".parse().unwrap()));
        throttle.state().last_change -= STEP;
        throttle.throttled(Duration::from_millis(0));
        assert_eq!(throttle.current_rate(), Some(70.0));
        // A second 429 of the same burst does not cut again.
        throttle.throttled(Duration::from_millis(0));
        assert_eq!(throttle.current_rate(), Some(70.0));
        for _ in 0..10 {
            throttle.state().last_change -= STEP;
            let mut st = throttle.state();
            throttle.maybe_raise(&mut st);
        }
        assert_eq!(throttle.current_rate(), Some(100.0));
    }
}
