//! The run's clock as the ledger reads it. `REVOKER_NOW` (an RFC 3339 instant, e.g.
//! `2026-12-02T02:15:00Z`) replaces the system clock for the ledger's dates (first owed, nights,
//! ages, first seen, exemption expiry): it is for tests, which make nights pass without waiting,
//! and is not a setting for production use.

/// The variable that fixes the ledger's clock (test-only).
pub const NOW_VAR: &str = "REVOKER_NOW";

/// Seconds since the epoch: `REVOKER_NOW` when it is set and readable, else the system clock.
pub fn now() -> i64 {
    std::env::var(NOW_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<jiff::Timestamp>().ok())
        .unwrap_or_else(jiff::Timestamp::now)
        .as_second()
}

/// `seconds` as an RFC 3339 instant.
pub fn text(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// An RFC 3339 instant as seconds since the epoch.
pub fn parse(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// The UTC day `seconds` falls on: nights are counted by it.
pub fn day(seconds: i64) -> i64 {
    seconds.div_euclid(86_400)
}
