//! A simulated Cloud Manager: the Public API v1.0 endpoints revoker uses, real HTTP Digest
//! verification, and fault knobs. Tests, benchmarks and `revoker demo` run against it on loopback.

mod auth;
mod body;
mod server;
mod state;

use std::net::SocketAddr;
use std::time::Duration;

pub use server::{Sim, SimHandle};
pub use state::Stats;

use crate::input::ObjectId;

/// The credential the simulator accepts unless told otherwise.
pub const DEFAULT_PUBLIC_KEY: &str = "simpublic";
/// Deliberately not secret: it guards a test server on loopback.
pub const DEFAULT_PRIVATE_KEY: &str = "sim-private-key";
/// The API prefix the simulator serves.
pub const API_PREFIX: &str = "/api/public/v1.0";

/// Faults beyond the named knobs, each with its own rate (`--fault NAME=RATE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The key is revoked, then the connection is closed before the answer.
    LostAnswer,
    /// Headers are sent, then the body never finishes (until the client's timeout).
    Stall,
    /// The body is cut short of its Content-Length.
    Truncate,
    /// 500 with an HTML page for a body.
    Html500,
    /// With `envelope=true`, a 200 whose body is not JSON (nothing is revoked).
    BadEnvelope,
    /// The answer carries a 10 MB body (the revocation itself goes through).
    HugeBody,
    /// 302 to another host (nothing is revoked).
    Redirect,
    /// 429 regardless of any rate limit.
    Throttle,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::LostAnswer => "lost-answer",
            Fault::Stall => "stall",
            Fault::Truncate => "truncate",
            Fault::Html500 => "html500",
            Fault::BadEnvelope => "bad-envelope",
            Fault::HugeBody => "huge-body",
            Fault::Redirect => "redirect",
            Fault::Throttle => "throttle",
        }
    }

    pub fn parse_spec(spec: &str) -> Result<(Fault, f64), String> {
        let (name, rate) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec:?} is not NAME=RATE"))?;
        let fault = <Fault as clap::ValueEnum>::from_str(name.trim(), true).map_err(|_| {
            let names: Vec<&str> = <Fault as clap::ValueEnum>::value_variants()
                .iter()
                .map(|f| f.name())
                .collect();
            format!(
                "unknown fault {name:?}; the faults are {}",
                names.join(", ")
            )
        })?;
        Ok((fault, parse_rate(rate)?))
    }
}

/// A fraction from 0 to 1.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("{text:?} is not a fraction from 0 to 1")),
    }
}

/// How the `Retry-After` header of a 429 is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RetryAfterStyle {
    /// Delay in seconds, as configured.
    #[default]
    Seconds,
    /// The same delay as an HTTP date.
    Date,
    /// An absurdly large number of seconds.
    Huge,
    /// Not a number nor a date.
    Garbage,
}

/// The digest challenge the simulator issues.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ChallengeStyle {
    /// As Cloud Manager: MD5, qop=auth.
    #[default]
    Md5,
    /// A header that cannot be parsed.
    Malformed,
    /// An algorithm no client supports.
    UnsupportedAlgorithm,
}

/// Every knob of the simulator. All faults are off by default.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub public_key: String,
    pub private_key: String,
    pub latency: Duration,
    pub latency_jitter: Duration,
    /// Fraction of authenticated requests answered with `error_status`.
    pub error_rate: f64,
    pub error_status: u16,
    /// Fraction of authenticated requests whose connection is closed before any answer.
    pub reset_rate: f64,
    /// Requests per minute per API key (token bucket holding a second's worth).
    pub rate_limit_per_minute: Option<u32>,
    /// Requests per minute per project.
    pub project_rate_limit_per_minute: Option<u32>,
    /// Seconds sent in `Retry-After` on 429s; no header when `None`.
    pub retry_after: Option<u64>,
    pub retry_after_style: RetryAfterStyle,
    /// Nonces older than this are refused with `stale=true`.
    pub nonce_ttl: Option<Duration>,
    pub forbid_projects: Vec<ObjectId>,
    pub faults: Vec<(Fault, f64)>,
    pub challenge: ChallengeStyle,
    /// Serve HTTPS with this certificate chain and key (PEM files) instead of plain HTTP.
    pub tls: Option<TlsFiles>,
}

/// A certificate chain and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            public_key: DEFAULT_PUBLIC_KEY.into(),
            private_key: DEFAULT_PRIVATE_KEY.into(),
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
            error_rate: 0.0,
            error_status: 503,
            reset_rate: 0.0,
            rate_limit_per_minute: None,
            project_rate_limit_per_minute: None,
            retry_after: None,
            retry_after_style: RetryAfterStyle::Seconds,
            nonce_ttl: None,
            forbid_projects: Vec::new(),
            faults: Vec::new(),
            challenge: ChallengeStyle::Md5,
            tls: None,
        }
    }
}

/// Whether `addr` is a loopback address, the only kind the simulator listens on by default.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
