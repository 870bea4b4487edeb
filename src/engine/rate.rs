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

    /// A keyed limiter for this rate; see [`even_quota`] for its burst.
    pub fn keyed_limiter<K: std::hash::Hash + Eq + Clone>(&self) -> DefaultKeyedRateLimiter<K> {
        RateLimiter::keyed(even_quota(self.per_second()))
    }
}

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

/// After a cut, the rate rises by this share of its base every [`STEP`] without a cut.
const RAISE_SHARE: f64 = 0.05;
/// A cut sets the rate to this share of what the server admitted.
const CUT_TO: f64 = 0.9;
/// Share of 429s among a window's answers above which the rate is cut. Below it, the 429s are
/// scattered (a slight overshoot, or a server that throttles at random) and the pause alone is
/// the right answer; cutting on each would ratchet the rate down to nothing.
const CUT_ABOVE: f64 = 0.2;
/// Answers a window needs before its share of 429s means anything.
const MIN_ANSWERS: u64 = 10;
const STEP: Duration = Duration::from_secs(1);

/// Answers counted over one step.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    answers: u64,
    throttled: u64,
}

impl Window {
    fn new(start: Instant) -> Window {
        Window {
            start,
            answers: 0,
            throttled: 0,
        }
    }
}

struct State {
    /// Current rate; `None` while unlimited.
    rate: Option<f64>,
    /// What a raise is a share of: the configured rate, or the rate set by the first cut.
    base: f64,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    last_change: Instant,
    paused_until: Instant,
    window: Window,
}

/// The global pace of a run: its rate limiter, the pause after a 429, and the adaptation of the
/// rate to what the server admits.
pub struct Throttle {
    ceiling: Option<f64>,
    state: Mutex<State>,
}

impl Throttle {
    pub fn new(rate: Option<Rate>) -> Throttle {
        let now = Instant::now();
        let ceiling = rate.map(|r| r.per_second());
        Throttle {
            ceiling,
            state: Mutex::new(State {
                rate: ceiling,
                base: ceiling.unwrap_or(0.0),
                limiter: ceiling.map(|r| Arc::new(RateLimiter::direct(even_quota(r)))),
                last_change: now,
                paused_until: now,
                window: Window::new(now),
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
    }

    fn set_rate(st: &mut State, rate: Option<f64>) {
        if rate != st.rate {
            st.rate = rate;
            st.limiter = rate.map(|r| Arc::new(RateLimiter::direct(even_quota(r))));
        }
        st.last_change = Instant::now();
    }

    fn maybe_raise(&self, st: &mut State) {
        let Some(rate) = st.rate else { return };
        if st.last_change.elapsed() < STEP || st.paused_until > Instant::now() {
            return;
        }
        let raised = rate + st.base * RAISE_SHARE;
        let next = match self.ceiling {
            Some(ceiling) if raised >= ceiling => ceiling,
            _ => raised,
        };
        Self::set_rate(st, Some(next));
    }

    /// Counts an answer; a 429 also pauses everyone for `wait` and, when 429s are a large share of
    /// the recent answers, cuts the rate to just under what the server admitted.
    pub fn answered(&self, throttled: Option<Duration>) {
        let now = Instant::now();
        let mut st = self.state();
        if now.duration_since(st.window.start) >= STEP {
            st.window = Window::new(now);
        }
        st.window.answers += 1;
        let Some(wait) = throttled else { return };
        st.window.throttled += 1;
        st.paused_until = st.paused_until.max(now + wait);
        let w = st.window;
        let dense = w.answers >= MIN_ANSWERS && w.throttled as f64 >= w.answers as f64 * CUT_ABOVE;
        if !dense
            || now.duration_since(st.last_change) < STEP.min(now.duration_since(w.start) + STEP / 2)
        {
            return;
        }
        let elapsed = now.duration_since(w.start).as_secs_f64().max(0.05);
        let admitted = (w.answers - w.throttled) as f64 / elapsed;
        let floor = 1.0f64.max(st.base * RAISE_SHARE);
        let cut = (admitted * CUT_TO).max(floor);
        let cut = st.rate.map_or(cut, |r| cut.min(r * CUT_TO));
        if st.rate.is_none() {
            st.base = cut;
        }
        Self::set_rate(&mut st, Some(cut));
        st.window = Window::new(now);
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
    fn dense_429s_cut_the_rate_scattered_ones_only_pause_and_it_recovers() {
        let throttle = Throttle::new(Some("100/s".parse().unwrap()));
        throttle.state().last_change -= STEP;
        // 1 in 10: a pause, no cut.
        for _ in 0..9 {
            throttle.answered(None);
        }
        throttle.answered(Some(Duration::from_millis(5)));
        assert_eq!(throttle.current_rate(), Some(100.0));
        assert!(throttle.paused_until() > Instant::now());
        // Half of the answers 429: cut under what was admitted, and never above 90% of the rate.
        for _ in 0..10 {
            throttle.answered(Some(Duration::ZERO));
        }
        let cut = throttle.current_rate().unwrap();
        assert!((5.0..=90.0).contains(&cut), "{cut}");
        for _ in 0..40 {
            throttle.state().last_change -= STEP;
            throttle.state().paused_until = Instant::now();
            let mut st = throttle.state();
            throttle.maybe_raise(&mut st);
        }
        assert_eq!(throttle.current_rate(), Some(100.0));
    }
}
