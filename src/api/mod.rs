//! The Cloud Manager / Ops Manager API: endpoints per kind, HTTP Digest authentication with a reused
//! nonce, and the classification of every answer.

mod classify;
mod digest;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::input::{Kind, Target};

pub use classify::{Answer, MAX_RETRY_AFTER, retry_after};

/// Cloud Manager's public API.
pub const DEFAULT_BASE_URL: &str = "https://cloud.mongodb.com/api/public/v1.0";

/// Largest answer body read; the rest is dropped so a huge or hostile answer cannot exhaust memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How to reach the API.
#[derive(Clone)]
pub struct ApiConfig {
    pub base_url: Url,
    pub public_key: String,
    pub private_key: SecretString,
    /// Whole request, answer body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Ask for `envelope=true` answers and classify by their inner status.
    pub envelope: bool,
    /// Extra trusted roots (PEM), for Ops Manager behind a private CA.
    pub ca_cert: Option<PathBuf>,
    /// Connections kept open; the engine's concurrency.
    pub pool_size: usize,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("base_url", &self.base_url.as_str())
            .field("public_key", &self.public_key)
            .field("private_key", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("envelope", &self.envelope)
            .field("ca_cert", &self.ca_cert)
            .finish()
    }
}

/// Errors setting up the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("base URL {0:?} is not a valid URL")]
    BadBaseUrl(String),
    #[error("base URL {0} uses http://; only https:// is allowed, except on loopback addresses")]
    InsecureBaseUrl(String),
    #[error("base URL {0} must use https://")]
    UnsupportedScheme(String),
    #[error("CA certificate {path}: {reason}")]
    CaCert { path: PathBuf, reason: String },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// Whether `url`'s host is a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Parses and checks a base URL: `https`, or `http` on loopback only. A trailing `/` is dropped.
pub fn parse_base_url(text: &str) -> Result<Url, ApiError> {
    let url = Url::parse(text.trim()).map_err(|_| ApiError::BadBaseUrl(text.to_string()))?;
    if url.host().is_none() || url.cannot_be_a_base() {
        return Err(ApiError::BadBaseUrl(text.to_string()));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(ApiError::InsecureBaseUrl(url.to_string())),
        _ => return Err(ApiError::UnsupportedScheme(url.to_string())),
    }
    let mut url = url;
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The Ops Manager root URL (`MCLI_OPS_MANAGER_URL`) turned into the API base URL.
pub fn base_url_from_ops_manager(root: &str) -> Result<Url, ApiError> {
    let root = root.trim().trim_end_matches('/');
    parse_base_url(&format!("{root}/api/public/v1.0"))
}

/// The URL that revokes `target`. Ids are pushed as path segments, so they are percent-encoded even
/// though validation already allows only hex digits.
pub fn endpoint(base: &Url, target: &Target, envelope: bool) -> Url {
    let mut url = base.clone();
    let collection = match target.kind {
        Kind::ProjectApiKey => "apiKeys",
        Kind::AgentApiKey => "agentapikeys",
    };
    if let Ok(mut segments) = url.path_segments_mut() {
        segments
            .pop_if_empty()
            .push("groups")
            .push(&target.project.to_string())
            .push(collection)
            .push(&target.key.to_string());
    }
    if envelope {
        url.set_query(Some("envelope=true"));
    }
    url
}

/// Counters of what the client sent, read by the engine for progress and the summary.
#[derive(Debug, Default)]
pub struct Counters {
    /// Every HTTP request, digest challenges included.
    pub requests: AtomicU64,
    /// Requests that drew a digest challenge (401 with a new nonce).
    pub challenges: AtomicU64,
    /// 429 answers.
    pub throttled: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The API client: one connection pool and one digest session shared by every worker.
pub struct Client {
    http: reqwest::Client,
    digest: digest::DigestState,
    base: Url,
    envelope: bool,
    pub counters: Counters,
}

impl Client {
    pub fn new(config: &ApiConfig) -> Result<Client, ApiError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("revoker/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(config.pool_size.max(1))
            .tcp_nodelay(true)
            .http1_only();
        if is_loopback(&config.base_url) {
            // A proxy from the environment must not capture the simulator's traffic.
            builder = builder.no_proxy();
        }
        if let Some(path) = &config.ca_cert {
            let ca_error = |reason: String| ApiError::CaCert {
                path: path.clone(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(e.to_string()))?;
            if certs.is_empty() {
                return Err(ca_error("no PEM certificate in the file".into()));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| ApiError::Client(classify::describe(&e)))?;
        let host = config.base_url.host_str().unwrap_or_default().to_string();
        Ok(Client {
            http,
            digest: digest::DigestState::new(
                host,
                &config.public_key,
                config.private_key.expose_secret(),
            ),
            base: config.base_url.clone(),
            envelope: config.envelope,
            counters: Counters::default(),
        })
    }

    /// Sends the `DELETE` that revokes `target` and classifies the answer. Never fails: every error
    /// is an [`Answer`].
    pub async fn revoke(&self, target: &Target) -> Answer {
        let url = endpoint(&self.base, target, self.envelope);
        match self.digest.send(self, &url).await {
            Ok(response) => classify::classify(response, self.envelope, &self.counters).await,
            Err(answer) => answer,
        }
    }

    async fn send_once(
        &self,
        url: &Url,
        authorization: Option<String>,
    ) -> Result<reqwest::Response, Answer> {
        let mut request = self
            .http
            .delete(url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(value) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        Counters::bump(&self.counters.requests);
        request
            .send()
            .await
            .map_err(|e| classify::transport_error(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::ObjectId;

    #[test]
    fn base_urls_must_be_https_except_on_loopback() {
        assert!(matches!(
            parse_base_url("http://example.com/api"),
            Err(ApiError::InsecureBaseUrl(_))
        ));
        assert!(matches!(
            parse_base_url("ftp://example.com/"),
            Err(ApiError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            parse_base_url("not a url"),
            Err(ApiError::BadBaseUrl(_))
        ));
        for ok in [
            "http://127.0.0.1:8080/api/public/v1.0/",
            "http://[::1]:1/x",
            "http://localhost/x",
            "https://cloud.mongodb.com/api/public/v1.0",
        ] {
            let url = parse_base_url(ok).unwrap();
            assert!(!url.path().ends_with('/') || url.path() == "/", "{url}");
        }
        assert_eq!(
            base_url_from_ops_manager("https://om.example.com:8080/")
                .unwrap()
                .as_str(),
            "https://om.example.com:8080/api/public/v1.0"
        );
    }

    #[test]
    fn endpoints_per_kind() {
        let base = parse_base_url("https://cloud.mongodb.com/api/public/v1.0").unwrap();
        let project = ObjectId::parse("5f1b2c3d4e5f6a7b8c9d0e1f").unwrap();
        let key = ObjectId::parse("aaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
        let t = |kind| Target { kind, project, key };
        assert_eq!(
            endpoint(&base, &t(Kind::ProjectApiKey), false).as_str(),
            "https://cloud.mongodb.com/api/public/v1.0/groups/5f1b2c3d4e5f6a7b8c9d0e1f/apiKeys/aaaaaaaaaaaaaaaaaaaaaaaa"
        );
        assert_eq!(
            endpoint(&base, &t(Kind::AgentApiKey), true).as_str(),
            "https://cloud.mongodb.com/api/public/v1.0/groups/5f1b2c3d4e5f6a7b8c9d0e1f/agentapikeys/aaaaaaaaaaaaaaaaaaaaaaaa?envelope=true"
        );
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let config = ApiConfig {
            base_url: parse_base_url("https://x.example").unwrap(),
            public_key: "PUBLIC".into(),
            private_key: SecretString::from("hunter2-private"),
            timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            envelope: false,
            ca_cert: None,
            pool_size: 1,
        };
        let shown = format!("{config:?}");
        assert!(
            shown.contains("PUBLIC") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
