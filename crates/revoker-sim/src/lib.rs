//! A simulated Cloud Manager / Ops Manager (API v1.0) and Atlas Administration API (v2) that answers
//! as MongoDB documents: real HTTP Digest verification and OAuth 2.0 service-account tokens, every
//! revocable kind on both APIs with their success codes, the documented error documents
//! (`400 API_KEY_NOT_FOUND`, `404 GROUP_NOT_FOUND`, `401 NOT_IN_GROUP`, `403
//! IP_ADDRESS_NOT_ON_ACCESS_LIST`, `429 RATE_LIMITED_TOKEN_BUCKET` …), token buckets per API key and
//! per project or organization with optional `RateLimit-*` headers, `406` for a v2 request without its
//! versioned `Accept`, the list endpoints verification reads, and fault knobs. Tests, benchmarks and
//! `revoker demo` run against it on loopback. It depends on no revoker crate: [`model`] is
//! its own reading of MongoDB's documents.
//!
//! [`server`] is the HTTP plumbing and the faults, [`routes`] the API's endpoints, [`state`] what it
//! holds, [`auth`] digest, [`oauth`] service accounts, [`limits`] the token buckets.

mod auth;
mod body;
pub mod cli;
mod creates;
pub mod events;
mod events_route;
pub mod hostile;
mod limits;
mod lists;
mod made;
mod made_creates;
mod mcp;
pub mod model;
mod oauth;
mod routes;
pub mod seed;
mod server;
mod state;
pub mod truth;
mod usage;
pub mod values;

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

pub use model::{Kind, Label, Meta, Oid, Seed};
pub use server::{Sim, SimHandle, StatsHandle};

pub use hostile::{DateForm, DatedList, Hostile, ScopeRefusal};
pub use state::Stats;
pub use truth::Truth;

/// The API key the simulator accepts unless told otherwise.
pub const DEFAULT_PUBLIC_KEY: &str = "simpublic";
/// Deliberately not secret: it guards a test server on loopback.
pub const DEFAULT_PRIVATE_KEY: &str = "sim-private-key";
/// The service account the simulator accepts unless told otherwise.
pub const DEFAULT_CLIENT_ID: &str = "mdb_sa_id_5e00000000000000000000aa";
/// Deliberately not secret: it guards a test server on loopback.
pub const DEFAULT_CLIENT_SECRET: &str = "mdb_sa_sk_sim-client-secret";
/// The Cloud Manager API prefix the simulator serves.
pub const API_PREFIX: &str = "/api/public/v1.0";
/// The Atlas API prefix the simulator serves.
pub const ATLAS_PREFIX: &str = "/api/atlas/v2";

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
    /// The answer's body never ends (the revocation itself goes through).
    HugeBody,
    /// 302 to another host (nothing is revoked).
    Redirect,
    /// 429 regardless of any rate limit.
    Throttle,
    /// The connection is accepted and the request read, then nothing is ever answered.
    Silence,
    /// A 400 whose errorCode and detail carry escape sequences and newlines (a hostile server).
    Forged,
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
            Fault::Silence => "silence",
            Fault::Forged => "forged",
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

/// A list endpoint that answers as the documents allow but a careless client would misread
/// (`--list-fault NAME`): verification must never take these for a complete listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFault {
    /// Pages hold half of what they should and carry no `next` link, while `totalCount` tells
    /// the truth.
    ShortPages,
    /// `pageNum` is ignored: every page is the first, full, with a `next` link.
    IgnorePageNum,
    /// Page 2 and later answer 404 `GROUP_NOT_FOUND` / `ORG_NOT_FOUND`.
    NotFoundAfterFirstPage,
    /// Every list answers 400 `API_KEY_NOT_FOUND`.
    ApiKeyNotFound,
    /// A service account is answered without its `secrets` field.
    NoSecretsField,
    /// Every other item's id is a number instead of a string.
    UnreadableIds,
    /// No service-account endpoint at all: 404 `RESOURCE_NOT_FOUND`, as Ops Manager answers.
    NoServiceAccounts,
    /// Every `lastUsedAt` is a day without a time or an offset (`2026-11-20`), a form the spec
    /// never gives (it documents ISO 8601 timestamps in UTC).
    DateOnly,
    /// Every list answers 500 `UNEXPECTED_ERROR` while DELETEs work: a list nobody can read.
    ServerError,
    /// Every list answers an HTML 404 page (not the API's JSON) while DELETEs work, as a proxy in
    /// front of the API might.
    HtmlNotFound,
    /// Every list answers complete and empty (`results: []`, `totalCount: 0`; agent keys `[]`)
    /// while what it lists is there and DELETEs work: a list that lies.
    LyingEmpty,
    /// `totalCount` says fewer items than the list holds (one less, at least 0): a client that
    /// stops at `totalCount` misses the last.
    TotalCountLow,
    /// `totalCount` says more items than the list holds (one more): the list never looks whole.
    TotalCountHigh,
    /// Every other item's dates are a date without a time (`2026-01-05`) or a time without an
    /// offset (`2026-01-05T10:00:00`): neither says an instant.
    UnreadableDates,
    /// The first page of every paged list is empty and links a next page; the items follow on
    /// the pages after it.
    EmptyPages,
    /// Ids are listed in upper case (ObjectIds are hexadecimal: the same id); AI model key ids,
    /// which are not hexadecimal, are listed as they are.
    UpperCaseIds,
}

/// How the `Retry-After` header of a 429 is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RetryAfterStyle {
    /// Delay in seconds.
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
    /// As Cloud Manager: MD5, qop="auth".
    #[default]
    Md5,
    /// As MongoDB's pages print it: `op="auth"` where `qop` belongs, and a nonce with `+`, `/`, `=`.
    Docs,
    /// RFC 7616 SHA-256.
    Sha256,
    /// MD5-sess.
    Md5Sess,
    /// A Bearer challenge first, then the Digest one, as two headers.
    BearerThenDigest,
    /// A header that cannot be parsed.
    Malformed,
    /// An algorithm no client supports.
    UnsupportedAlgorithm,
}

/// A token bucket: `capacity` tokens, refilled at `refill` tokens every `per`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    pub capacity: u32,
    pub refill: u32,
    pub per: Duration,
}

impl Bucket {
    /// A bucket holding one second's worth of `per_minute`.
    pub fn per_minute(per_minute: u32) -> Bucket {
        Bucket {
            capacity: (per_minute / 60).max(1),
            refill: per_minute,
            per: Duration::from_secs(60),
        }
    }

    pub fn per_second(&self) -> f64 {
        f64::from(self.refill) / self.per.as_secs_f64()
    }
}

impl FromStr for Bucket {
    type Err = String;

    /// `CAPACITY:REFILL/UNIT`, e.g. `10:10/s` or `100:100/m`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("{s:?} is not a bucket: write CAPACITY:REFILL, e.g. 10:10/s or 100:100/m");
        let (capacity, rate) = s.split_once(':').ok_or_else(bad)?;
        let capacity: u32 = capacity.trim().parse().map_err(|_| bad())?;
        let (refill, unit) = rate.split_once('/').ok_or_else(bad)?;
        let refill: u32 = refill.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        if capacity == 0 || refill == 0 {
            return Err(bad());
        }
        Ok(Bucket {
            capacity,
            refill,
            per,
        })
    }
}

/// Every knob of the simulator. All faults and limits are off by default.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub public_key: String,
    pub private_key: String,
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of the access tokens issued.
    pub token_ttl: Duration,
    pub latency: Duration,
    pub latency_jitter: Duration,
    /// Fraction of authenticated requests answered with `error_status`.
    pub error_rate: f64,
    pub error_status: u16,
    /// Fraction of authenticated requests whose connection is closed before any answer.
    pub reset_rate: f64,
    /// Token bucket per API key or service account.
    pub user_bucket: Option<Bucket>,
    /// Token bucket per project and per organization.
    pub scope_bucket: Option<Bucket>,
    /// The scopes `scope_bucket` limits; empty limits every scope.
    pub limited_scopes: Vec<Oid>,
    /// Send `RateLimit-Limit` and `RateLimit-Remaining` on every answer that went through a bucket.
    pub ratelimit_headers: bool,
    /// `Retry-After` seconds on 429s; `None` computes it from the bucket.
    pub retry_after: Option<u64>,
    pub retry_after_style: RetryAfterStyle,
    /// Nonces older than this are refused with `stale=true`.
    pub nonce_ttl: Option<Duration>,
    /// Answer 403 `USER_CANNOT_ACCESS_GROUP` (or `…_ORG`) for these projects or organizations.
    pub forbid_projects: Vec<Oid>,
    /// Answer 401 `NOT_IN_GROUP` after a valid authentication for these projects or organizations.
    pub not_in_group: Vec<Oid>,
    /// Projects and organizations of Cloud Manager: on v2 requests about them answer the Atlas
    /// error reference's 404 `NOT_ATLAS_GROUP` / `NOT_ATLAS_ORG`.
    pub cloud_manager_only: Vec<Oid>,
    /// Projects and organizations of Atlas: on v1.0 requests about them answer 404 `ATLAS_GROUP` /
    /// `EXPECTED_NON_ATLAS_ORG`.
    pub atlas_only: Vec<Oid>,
    /// Answer every authenticated request 403 `IP_ADDRESS_NOT_ON_ACCESS_LIST`.
    pub access_list_denied: bool,
    pub faults: Vec<(Fault, f64)>,
    pub challenge: ChallengeStyle,
    /// Serve HTTPS with this certificate chain and key (PEM files) instead of plain HTTP.
    pub tls: Option<TlsFiles>,
    /// A list endpoint that misleads.
    pub list_fault: Option<ListFault>,
    /// Bytes of description added to every listed item, for pages of many megabytes.
    pub list_padding: usize,
    /// Fields of every token answer sent as given (an `expires_in` out of range, another
    /// `token_type`): a token endpoint that answers unexpectedly.
    pub token_answer: serde_json::Map<String, serde_json::Value>,
    /// Serve `GET /rateLimits` (Atlas v2) with the buckets enforced; without it that endpoint
    /// answers 404, as for a server that has none (Cloud Manager, older Atlas).
    pub publish_limits: bool,
    /// More API keys, each a member of its organizations only (its requests for other scopes are
    /// refused as the API refuses a key outside an organization).
    pub more_keys: Vec<OrgKey>,
    /// Accept the API keys it holds as credentials too (public key, private key), so that a
    /// leaked key can be tried (`revoke --validate-leaked`); off by default.
    pub accept_leaked: bool,
    /// The hostile switches ([`hostile`]): dates in every form, lists or DELETEs refused per
    /// scope, the other API's 404s, slow lists, more list faults at once.
    pub hostile: Hostile,
    /// Events seeded before any request (an attacker's trail among benign events): see [`events`].
    pub events: Vec<events::Event>,
    /// Database users per project, `(project, (databaseName, username))`.
    pub database_users: Vec<(Oid, events::DbUser)>,
}

/// An API key of some organizations.
#[derive(Clone, Debug)]
pub struct OrgKey {
    pub public_key: String,
    pub private_key: String,
    /// The organizations it belongs to; their projects are its too.
    pub orgs: Vec<Oid>,
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
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: DEFAULT_CLIENT_SECRET.into(),
            token_ttl: Duration::from_secs(3600),
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
            error_rate: 0.0,
            error_status: 503,
            reset_rate: 0.0,
            user_bucket: None,
            scope_bucket: None,
            limited_scopes: Vec::new(),
            ratelimit_headers: false,
            retry_after: None,
            retry_after_style: RetryAfterStyle::Seconds,
            nonce_ttl: None,
            forbid_projects: Vec::new(),
            not_in_group: Vec::new(),
            cloud_manager_only: Vec::new(),
            atlas_only: Vec::new(),
            access_list_denied: false,
            faults: Vec::new(),
            challenge: ChallengeStyle::Md5,
            tls: None,
            list_fault: None,
            list_padding: 0,
            token_answer: serde_json::Map::new(),
            more_keys: Vec::new(),
            accept_leaked: false,
            publish_limits: false,
            hostile: Hostile::default(),
            events: Vec::new(),
            database_users: Vec::new(),
        }
    }
}

/// Whether `addr` is a loopback address, the only kind the simulator listens on by default.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_parse() {
        let b: Bucket = "10:10/s".parse().unwrap();
        assert_eq!((b.capacity, b.per_second()), (10, 10.0));
        let b: Bucket = "100:100/m".parse().unwrap();
        assert!((b.per_second() - 100.0 / 60.0).abs() < 1e-9);
        assert!("0:1/s".parse::<Bucket>().is_err());
        assert!("10".parse::<Bucket>().is_err());
        assert_eq!(Bucket::per_minute(1200).capacity, 20);
    }
}
