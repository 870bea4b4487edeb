//! The MongoDB management APIs: Cloud Manager / Ops Manager (v1.0) and the Atlas Administration API
//! (v2). [`flavour`] knows each API's endpoints and headers, [`auth`] authenticates (digest or a
//! service account's bearer token), [`classify`] turns every answer into an [`Answer`], and
//! [`list`] reads the list endpoints that verification uses. The [`Client`] owns the send loop.

pub mod auth;
mod classify;
mod flavour;
mod list;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use url::{Position, Url};

pub use auth::Credential;
pub use classify::{
    ACCESS_LIST_CODES, AUTHORIZATION_CODES, Answer, Fatal, MAX_RETRY_AFTER, OTHER_API_CODES,
    RateInfo, retry_after,
};
pub use flavour::{
    ATLAS_BASE_URL, ATLAS_PATH, Api, CLOUD_MANAGER_PATH, DEFAULT_BASE_URL, ITEMS_PER_PAGE,
    ListShape, ListSpec, url_of,
};
pub use list::{ListedId, Page, spelled_otherwise};

use crate::figures::Figures;
use crate::input::Target;

/// Largest answer body read for a revocation; the rest is dropped so a huge or hostile answer
/// cannot exhaust memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest list page read (500 items of a few hundred bytes each, with room to spare).
pub const MAX_LIST_BYTES: usize = 32 << 20;

/// A CA bundle larger than this is not a CA bundle.
const MAX_CA_BYTES: u64 = 1 << 20;
const CERT_BEGIN: &str = "-----BEGIN CERTIFICATE-----";

/// The bytes of a regular file of at most `max` bytes; anything else (a FIFO, `/dev/zero`, a huge
/// file) is refused before it is read, never read without end.
fn read_bounded(path: &std::path::Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > max {
        return Err(format!(
            "{} bytes: larger than the {max} a PEM bundle may be",
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// How to reach the API.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    pub base_url: Url,
    pub credential: Credential,
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

/// Errors setting up the client; all are exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("base URL {0:?} is not a valid URL")]
    BadBaseUrl(String),
    #[error("base URL {0} uses http://; only https:// is allowed, except on loopback addresses")]
    InsecureBaseUrl(String),
    #[error("base URL {0} must use https://")]
    UnsupportedScheme(String),
    #[error(
        "base URL {0} names no API revoker knows: its path must end in /api/public/v1.0 (Cloud Manager, Ops Manager) or /api/atlas/v2 (Atlas); did you mean {1}?"
    )]
    UnknownApi(String, String),
    #[error(
        "base URL {0} names the API path twice; MCLI_OPS_MANAGER_URL (or a profile's ops_manager_url) is the root URL, e.g. https://opsmanager.example.com:8080/, to which api/public/v1.0 is added"
    )]
    DoubledPath(String),
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

/// Parses and checks a base URL: `https`, or `http` on loopback only, ending in the path of an API
/// revoker knows. A trailing `/` is dropped.
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
    Api::of(&url)?;
    Ok(url)
}

/// One answer with what it said about rate limits, and its body when the caller asked for it.
#[derive(Clone, Debug)]
pub struct Reply {
    pub answer: Answer,
    pub rate: RateInfo,
    pub body: Vec<u8>,
}

impl Reply {
    fn of(answer: Answer) -> Reply {
        Reply {
            answer,
            rate: RateInfo::default(),
            body: Vec::new(),
        }
    }
}

/// The API client: one connection pool and one authentication session shared by every worker.
pub struct Client {
    http: reqwest::Client,
    auth: auth::Auth,
    base: Url,
    api: Api,
    envelope: bool,
    figures: Arc<Figures>,
    /// Whether the API has answered as itself (a 2xx, or its error document): from then on the
    /// base URL is right, and a stray undocumented 404 is retried rather than a stop.
    vouched: std::sync::atomic::AtomicBool,
    /// The credential's public identity (`API key …`, `service account …`), for messages.
    identity: String,
}

impl Client {
    pub fn new(config: &ApiConfig, figures: Arc<Figures>) -> Result<Client, ApiError> {
        let api = Api::of(&config.base_url)?;
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
            let pem = read_bounded(path, MAX_CA_BYTES).map_err(ca_error)?;
            if !pem
                .windows(CERT_BEGIN.len())
                .any(|w| w == CERT_BEGIN.as_bytes())
            {
                return Err(ca_error(format!("no {CERT_BEGIN} block in the file")));
            }
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(e.to_string()))?;
            if certs.is_empty() {
                return Err(ca_error("no PEM certificate in the file".into()));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder.build().map_err(|e| match &config.ca_cert {
            // The certificates are the one thing the builder is given that can be wrong.
            Some(path) => ApiError::CaCert {
                path: path.clone(),
                reason: format!("not a usable PEM certificate ({})", classify::describe(&e)),
            },
            None => ApiError::Client(classify::describe(&e)),
        })?;
        let auth = match &config.credential {
            Credential::ApiKey {
                public_key,
                private_key,
            } => auth::Auth::Digest(auth::DigestAuth::new(
                public_key,
                private_key.clone(),
                figures.clone(),
            )),
            Credential::ServiceAccount {
                client_id,
                client_secret,
            } => auth::Auth::Bearer(Box::new(auth::BearerAuth::new(
                client_id,
                client_secret.clone(),
                &api.root(&config.base_url),
                http.clone(),
                figures.clone(),
            ))),
        };
        Ok(Client {
            http,
            auth,
            base: config.base_url.clone(),
            api,
            envelope: config.envelope,
            figures,
            vouched: std::sync::atomic::AtomicBool::new(false),
            identity: config.credential.public_identity(),
        })
    }

    /// The credential's public identity: never a secret.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    pub fn api(&self) -> Api {
        self.api
    }

    /// Whether requests ask for `envelope=true` answers.
    pub fn envelope(&self) -> bool {
        self.envelope
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The host the requests go to, for messages.
    pub fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or("the server");
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    pub fn figures(&self) -> &Arc<Figures> {
        &self.figures
    }

    /// The URL that revokes `target`.
    pub fn endpoint(&self, target: &Target) -> Url {
        self.api.revoke_url(&self.base, target, self.envelope)
    }

    /// Gets ready to send: a service account fetches its token now, so that a refused secret stops
    /// the run before any request.
    pub async fn prepare(&self) -> Result<(), Answer> {
        match &self.auth {
            auth::Auth::Bearer(b) => b.header().await.map(drop),
            auth::Auth::Digest(_) => Ok(()),
        }
    }

    /// Ends the session: a service account's token is revoked. Answers a warning when that fails.
    pub async fn finish(&self) -> Option<String> {
        match &self.auth {
            auth::Auth::Bearer(b) => b.revoke().await.err(),
            auth::Auth::Digest(_) => None,
        }
    }

    /// Sends the `DELETE` that revokes `target` and classifies the answer. Never fails: every error
    /// is an [`Answer`].
    pub async fn revoke(&self, target: &Target) -> Reply {
        let url = self.endpoint(target);
        self.send(
            reqwest::Method::DELETE,
            &url,
            self.api.accept(target.kind),
            MAX_BODY_BYTES,
        )
        .await
    }

    /// Reads one page (from 1) of a list; the body of a 2xx answer is in the reply.
    pub async fn list_page(&self, spec: &ListSpec, page: usize) -> Reply {
        let mut url = spec.url.clone();
        if matches!(spec.shape, ListShape::Paged { .. }) {
            url.query_pairs_mut()
                .append_pair("pageNum", &page.to_string())
                .append_pair("itemsPerPage", &ITEMS_PER_PAGE.to_string());
        }
        self.send(reqwest::Method::GET, &url, spec.accept, MAX_LIST_BYTES)
            .await
    }

    /// Reads the API's root resource (`GET /api/atlas/v2`, Atlas's `getSystemStatus`;
    /// `GET /api/public/v1.0`, Cloud Manager's root): whether the server answers at all.
    pub async fn root(&self) -> Reply {
        let mut url = self.base.clone();
        if self.envelope {
            url.query_pairs_mut().append_pair("envelope", "true");
        }
        self.send(
            reqwest::Method::GET,
            &url,
            self.api.accept(crate::input::Kind::ProjectApiKey),
            MAX_BODY_BYTES,
        )
        .await
    }

    /// Sends a `POST` of a JSON body (a create) and classifies the answer; the body of a 2xx
    /// answer is in the reply. Never retried here: a create sent twice creates twice.
    pub async fn post(&self, url: &Url, accept: &str, body: Vec<u8>) -> Reply {
        self.send_body(
            reqwest::Method::POST,
            url,
            accept,
            MAX_LIST_BYTES,
            Some(body),
        )
        .await
    }

    async fn send(&self, method: reqwest::Method, url: &Url, accept: &str, cap: usize) -> Reply {
        self.send_body(method, url, accept, cap, None).await
    }

    /// The send loop: authenticates, answers challenges and renews tokens (none of which counts as an
    /// attempt), then classifies the answer.
    async fn send_body(
        &self,
        method: reqwest::Method,
        url: &Url,
        accept: &str,
        cap: usize,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let uri = &url[Position::BeforePath..];
        let mut retried = 0u32;
        loop {
            let sent = match self.auth.header(method.as_str(), uri).await {
                Ok(sent) => sent,
                Err(answer) => return Reply::of(answer),
            };
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, accept);
            if let Some(body) = &body {
                // The create's media type is the version it asks for (`Content-Type` as `Accept`).
                request = request
                    .header(reqwest::header::CONTENT_TYPE, accept)
                    .body(body.clone());
            }
            if let Some(value) = &sent.header {
                match HeaderValue::from_str(value) {
                    Ok(mut value) => {
                        value.set_sensitive(true);
                        request = request.header(AUTHORIZATION, value);
                    }
                    Err(_) => {
                        return Reply::of(Answer::Fatal(Fatal::AuthUnusable {
                            detail: "the Authorization header cannot be sent (not visible ASCII)"
                                .into(),
                        }));
                    }
                }
            }
            Figures::bump(&self.figures.requests);
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => return Reply::of(classify::transport_error(&e)),
            };
            Figures::bump(&self.figures.responses);
            if response.status() == reqwest::StatusCode::UNAUTHORIZED {
                let headers = response.headers().clone();
                let mut response = response;
                let (body, cut) = classify::read_capped(&mut response, MAX_BODY_BYTES)
                    .await
                    .unwrap_or_default();
                let text = classify::error_text(401, &body, cut);
                // A refusal of this project or organization is an answer, whatever the scheme.
                if sent.header.is_some() && AUTHORIZATION_CODES.contains(&text.code.as_str()) {
                    return Reply::of(Answer::Rejected {
                        status: 401,
                        code: text.code,
                        detail: text.detail,
                    });
                }
                match self.auth.after_401(&headers, &sent, retried).await {
                    auth::After401::Retry => {
                        retried += 1;
                        continue;
                    }
                    auth::After401::Answer(answer) => return Reply::of(answer),
                }
            }
            let (answer, rate, body) = classify::classify(response, self.envelope, cap).await;
            let answer = self.name_other_api(self.vouch(answer, sent.header.is_some()));
            drop(sent);
            if answer.is_throttled() {
                Figures::bump(&self.figures.throttled);
            }
            return Reply { answer, rate, body };
        }
    }
}

impl Client {
    /// The base URL of `api` on this client's server: where a scope of the other API is reached.
    pub fn base_of(&self, api: Api) -> String {
        api.base_at(self.api.root(&self.base).as_str())
    }

    /// A scope of the other API: the answer names that API's base URL, which reaches it.
    fn name_other_api(&self, answer: Answer) -> Answer {
        match (answer.other_api(), answer) {
            (
                Some(other),
                Answer::Rejected {
                    status,
                    code,
                    detail,
                },
            ) => Answer::Rejected {
                detail: format!(
                    "{detail} (it exists under the {other}, not this run's {}: its base URL is {})",
                    self.api,
                    self.base_of(other)
                ),
                status,
                code,
            },
            (_, answer) => answer,
        }
    }

    /// Tells the API's answers from those of whatever else a base URL may reach. A wrong URL is
    /// wrong from the first request on, so once the API has answered, a later 404 without its error
    /// document is a glitch on the way (a proxy, a cut body) and is tried again, never a reason to
    /// stop, and never "not found". A 2xx to a request that carried no credentials cannot be the
    /// API's, which asks for them first.
    fn vouch(&self, answer: Answer, signed: bool) -> Answer {
        match answer {
            Answer::Done { status } if !signed => Answer::Fatal(Fatal::NotTheApi {
                detail: format!(
                    "HTTP {status} to a request without credentials, which the API always asks for first"
                ),
            }),
            Answer::Fatal(Fatal::NotTheApi { detail })
                if self.vouched.load(std::sync::atomic::Ordering::Relaxed) =>
            {
                Answer::Transient {
                    status: Some(404),
                    code: String::new(),
                    detail,
                    retry_after: None,
                    ambiguous: false,
                }
            }
            answer => {
                if matches!(answer, Answer::Done { .. }) || !answer.error_code().is_empty() {
                    self.vouched
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                answer
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_https_except_on_loopback_and_name_an_api() {
        assert!(matches!(
            parse_base_url("http://example.com/api/public/v1.0"),
            Err(ApiError::InsecureBaseUrl(_))
        ));
        assert!(matches!(
            parse_base_url("ftp://example.com/api/public/v1.0"),
            Err(ApiError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            parse_base_url("not a url"),
            Err(ApiError::BadBaseUrl(_))
        ));
        assert!(matches!(
            parse_base_url("https://cloud.mongodb.com"),
            Err(ApiError::UnknownApi(..))
        ));
        for ok in [
            "http://127.0.0.1:8080/api/public/v1.0/",
            "http://[::1]:1/api/atlas/v2",
            "http://localhost/api/public/v1.0",
            "https://cloud.mongodb.com/api/public/v1.0",
        ] {
            let url = parse_base_url(ok).unwrap();
            assert!(!url.path().ends_with('/'), "{url}");
        }
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let config = ApiConfig {
            base_url: parse_base_url("https://x.example/api/public/v1.0").unwrap(),
            credential: Credential::ApiKey {
                public_key: "PUBLIC".into(),
                private_key: secrecy::SecretString::from("hunter2-private"),
            },
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
        let sa = Credential::ServiceAccount {
            client_id: "mdb_sa_id_x".into(),
            client_secret: secrecy::SecretString::from("mdb_sa_sk_secret"),
        };
        let shown = format!("{sa:?}");
        assert!(
            shown.contains("mdb_sa_id_x") && !shown.contains("sk_secret"),
            "{shown}"
        );
    }
}
