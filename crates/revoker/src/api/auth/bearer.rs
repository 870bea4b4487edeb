//! OAuth 2.0 client credentials for a service account: one access token per run, shared by every
//! worker, renewed once before it expires, revoked when the run ends.
//!
//! The token endpoint allows 10 requests a minute per client and IP, and a service account holds at
//! most 100 live tokens, so a token is never fetched per worker or per row: one fetch at a time, every
//! other worker waits for it. A token is renewed when within 10% of its life (at most 10 minutes) of
//! expiring, and once more when a request answers 401 with it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{After401, Sent};
use crate::api::classify::{self, Answer, Fatal};
use crate::figures::Figures;

/// Token requests per fetch before giving up on a token endpoint that keeps failing.
const FETCH_ATTEMPTS: u32 = 6;
/// Longest a token endpoint's `Retry-After` is waited.
const MAX_TOKEN_WAIT: Duration = Duration::from_secs(60);

struct Token {
    value: SecretString,
    renew_at: Instant,
    generation: u64,
}

pub(crate) struct BearerAuth {
    client_id: String,
    secret: SecretString,
    token_url: Url,
    revoke_url: Url,
    http: reqwest::Client,
    token: RwLock<Option<Arc<Token>>>,
    renewing: tokio::sync::Mutex<()>,
    /// The generation a 401 condemned: the next request fetches a new token.
    condemned: AtomicU64,
    generations: AtomicU64,
    figures: Arc<Figures>,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    /// Kept as sent: a server may send anything here, and no number it sends may panic revoker.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// The longest life revoker believes a token has, whatever the endpoint says: it only means the
/// token is renewed sooner than it would need to be.
const MAX_TOKEN_LIFE: Duration = Duration::from_secs(24 * 3600);

/// A token's life from `expires_in`: whole seconds, at least 1; absent means the documented hour.
fn life_of(expires_in: Option<&serde_json::Value>) -> Result<Duration, String> {
    let Some(value) = expires_in else {
        return Ok(Duration::from_secs(3600));
    };
    match value.as_u64() {
        Some(0) => Err("expires_in is 0".into()),
        Some(n) => Ok(Duration::from_secs(n).min(MAX_TOKEN_LIFE)),
        None => Err(format!(
            "expires_in {} is not a whole number of seconds",
            crate::text::clip(&value.to_string(), 40)
        )),
    }
}

#[derive(serde::Deserialize, Default)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
    detail: Option<String>,
}

fn sensitive(value: String) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl BearerAuth {
    /// `root` is the base URL without the API's path: the token endpoint is `{root}/api/oauth/token`.
    pub(crate) fn new(
        client_id: &str,
        secret: SecretString,
        root: &Url,
        http: reqwest::Client,
        figures: Arc<Figures>,
    ) -> BearerAuth {
        let at = |path: &str| {
            let mut url = root.clone();
            let base = root.path().trim_end_matches('/');
            url.set_path(&format!("{base}/api/oauth/{path}"));
            url
        };
        BearerAuth {
            client_id: client_id.to_string(),
            secret,
            token_url: at("token"),
            revoke_url: at("revoke"),
            http,
            token: RwLock::new(None),
            renewing: tokio::sync::Mutex::new(()),
            condemned: AtomicU64::new(0),
            generations: AtomicU64::new(0),
            figures,
        }
    }

    fn current(&self) -> Option<Arc<Token>> {
        self.token.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn usable(&self, token: &Token) -> bool {
        Instant::now() < token.renew_at && self.condemned.load(Ordering::Relaxed) < token.generation
    }

    fn sent(token: &Token) -> Sent {
        Sent {
            header: Some(format!("Bearer {}", token.value.expose_secret())),
            generation: token.generation,
            _first: None,
        }
    }

    pub(crate) async fn header(&self) -> Result<Sent, Answer> {
        if let Some(token) = self.current().filter(|t| self.usable(t)) {
            return Ok(Self::sent(&token));
        }
        let _one_at_a_time = self.renewing.lock().await;
        if let Some(token) = self.current().filter(|t| self.usable(t)) {
            return Ok(Self::sent(&token));
        }
        let token = Arc::new(self.fetch().await?);
        let replaced = self
            .token
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .replace(token.clone());
        // The token it replaces is revoked too: a renewal never leaves a live token behind.
        if let Some(old) = replaced
            && let Err(why) = self.revoke_value(&old.value).await
        {
            tracing::warn!("{why}");
        }
        Ok(Self::sent(&token))
    }

    pub(super) async fn after_401(&self, sent: &Sent, retried: u32) -> After401 {
        if retried >= 1 {
            return After401::Answer(Answer::Fatal(Fatal::CredentialsRejected {
                detail:
                    "401 Unauthorized with a fresh access token: the service account was refused"
                        .into(),
            }));
        }
        // Expired or revoked: only the first request to see it condemns this token.
        self.condemned.fetch_max(sent.generation, Ordering::Relaxed);
        After401::Retry
    }

    fn basic(&self) -> Option<HeaderValue> {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!(
            "{}:{}",
            encode(&self.client_id),
            encode(self.secret.expose_secret())
        );
        sensitive(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    }

    async fn post(&self, url: &Url, body: String) -> Result<reqwest::Response, reqwest::Error> {
        let mut request = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body);
        if let Some(basic) = self.basic() {
            request = request.header(AUTHORIZATION, basic);
        }
        request.send().await
    }

    /// Fetches a token: `invalid_client` and other refusals are fatal, 429 waits its `Retry-After`,
    /// 5xx and lost connections back off.
    async fn fetch(&self) -> Result<Token, Answer> {
        let mut delay = Duration::from_millis(500);
        let mut last = Answer::transient(None, "", "no answer from the token endpoint", None);
        for attempt in 1..=FETCH_ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Figures::bump(&self.figures.token_requests);
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credentials")
                .finish();
            let mut response = match self.post(&self.token_url, body).await {
                Ok(response) => response,
                Err(e) => {
                    last = classify::transport_error(&e);
                    continue;
                }
            };
            let status = response.status().as_u16();
            let wait = classify::retry_after(response.headers());
            let (body, _) = classify::read_capped(&mut response, 64 * 1024)
                .await
                .unwrap_or_default();
            match status {
                200..=299 => return self.token_of(&body).await,
                429 => {
                    delay = wait.unwrap_or(delay).min(MAX_TOKEN_WAIT);
                    last = Answer::transient(
                        Some(429),
                        "RATE_LIMITED",
                        "the token endpoint is rate limited (10 requests a minute per client and IP)",
                        wait,
                    );
                }
                408 | 500..=599 => {
                    last = Answer::transient(
                        Some(status),
                        "",
                        &format!("the token endpoint answered HTTP {status}"),
                        wait,
                    );
                }
                404 => {
                    return Err(Answer::Fatal(Fatal::NotTheApi {
                        detail: format!("no OAuth token endpoint at {} (HTTP 404)", self.token_url),
                    }));
                }
                _ => return Err(Answer::Fatal(refused(status, &body))),
            }
        }
        Err(last)
    }

    /// The token of a 2xx answer. One that cannot be used is refused with what was unexpected,
    /// and — when it did hold a token — that token is revoked first: nothing issued stays live.
    async fn token_of(&self, body: &[u8]) -> Result<Token, Answer> {
        let unusable = |why: &str| {
            Answer::Fatal(Fatal::AuthUnusable {
                detail: format!("the token endpoint answered unexpectedly: {why}"),
            })
        };
        let answer: TokenAnswer =
            serde_json::from_slice(body).map_err(|_| unusable("its answer is not a JSON token"))?;
        if answer.access_token.is_empty() {
            return Err(unusable("the access token is empty"));
        }
        let value = SecretString::from(answer.access_token);
        let checked = match &answer.token_type {
            Some(kind) if !kind.eq_ignore_ascii_case("bearer") => Err(format!(
                "token type {} is not Bearer",
                crate::text::shown(kind)
            )),
            _ => life_of(answer.expires_in.as_ref()),
        };
        let life = match checked {
            Ok(life) => life,
            Err(why) => {
                let revoked = match self.revoke_value(&value).await {
                    Ok(()) => "the token it issued was revoked".to_string(),
                    Err(e) => e,
                };
                return Err(unusable(&format!("{why} ({revoked})")));
            }
        };
        let margin = (life / 10).min(Duration::from_secs(600));
        let now = Instant::now();
        Ok(Token {
            value,
            renew_at: now.checked_add(life - margin).unwrap_or(now),
            generation: self.generations.fetch_add(1, Ordering::Relaxed) + 1,
        })
    }

    /// Revokes one access token.
    async fn revoke_value(&self, token: &SecretString) -> Result<(), String> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token.expose_secret())
            .append_pair("token_type_hint", "access_token")
            .finish();
        match self.post(&self.revoke_url, body).await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!(
                "revoking the access token answered HTTP {}",
                r.status().as_u16()
            )),
            Err(e) => Err(format!(
                "revoking the access token failed: {}",
                classify::describe(&e)
            )),
        }
    }

    /// Revokes the run's token, if it has one. A failure is for the caller to warn about.
    pub(crate) async fn revoke(&self) -> Result<bool, String> {
        let Some(token) = self.token.write().unwrap_or_else(|p| p.into_inner()).take() else {
            return Ok(false);
        };
        self.revoke_value(&token.value).await.map(|()| true)
    }
}

/// A token request the endpoint refused: the credential, not the moment, is at fault.
fn refused(status: u16, body: &[u8]) -> Fatal {
    let e: OAuthError = serde_json::from_slice(body).unwrap_or_default();
    let code = e
        .error
        .or(e.error_code)
        .map(|c| crate::text::clip(&c, 60))
        .unwrap_or_default();
    let said = e
        .error_description
        .or(e.detail)
        .map(|d| format!(": {}", crate::text::clip(&d, 200)))
        .unwrap_or_default();
    let hint = match (status, code.as_str()) {
        (403, _) | (_, "access_denied") => {
            "a service account holds at most 100 live access tokens; revoke some or wait for them to expire"
        }
        _ => {
            "check the client id and secret (MONGODB_ATLAS_CLIENT_ID, MONGODB_ATLAS_CLIENT_SECRET)"
        }
    };
    let code = if code.is_empty() {
        String::new()
    } else {
        format!(" {code}")
    };
    Fatal::CredentialsRejected {
        detail: format!(
            "the token endpoint refused the service account (HTTP {status}{code}{said}): {hint}"
        ),
    }
}
