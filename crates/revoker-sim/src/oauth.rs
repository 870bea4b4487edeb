//! The OAuth 2.0 side of the simulator: `POST /api/oauth/token` (client credentials, HTTP Basic)
//! issuing bearer tokens that expire, `POST /api/oauth/revoke`, the documented 10 token requests a
//! minute per client and the 100 live tokens a service account may hold.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::state::lock;

/// Token requests a client may make per minute.
pub(super) const TOKENS_PER_MINUTE: usize = 10;
/// Live tokens a service account may hold.
pub(super) const MAX_LIVE_TOKENS: usize = 100;

struct Token {
    expires: Instant,
    revoked: bool,
}

pub(super) struct OAuth {
    client_id: String,
    client_secret: String,
    ttl: Duration,
    /// Fields of the token answer as sent instead of the true ones (`expires_in`, `token_type`).
    pub(super) overrides: serde_json::Map<String, serde_json::Value>,
    tokens: Mutex<HashMap<String, Token>>,
    /// Every token ever issued, for tests that check none leaks.
    issued: Mutex<Vec<String>>,
    recent: Mutex<VecDeque<Instant>>,
}

/// An answer of the token endpoints: status, JSON body, `Retry-After`.
pub(super) struct TokenAnswer {
    pub status: u16,
    pub body: serde_json::Value,
    pub retry_after: Option<u64>,
}

fn oauth_error(status: u16, error: &str, description: &str) -> TokenAnswer {
    TokenAnswer {
        status,
        body: serde_json::json!({ "error": error, "error_description": description }),
        retry_after: None,
    }
}

/// Whether a bearer token was refused because it expired (rather than being unknown or revoked).
pub(super) enum Refusal {
    Expired,
    Unknown,
}

impl OAuth {
    pub(super) fn new(client_id: &str, client_secret: &str, ttl: Duration) -> OAuth {
        OAuth {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            ttl,
            overrides: serde_json::Map::new(),
            tokens: Mutex::new(HashMap::new()),
            issued: Mutex::new(Vec::new()),
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// Whether `authorization` is `Basic` with this simulator's client id and secret.
    fn client_ok(&self, authorization: Option<&str>) -> bool {
        let Some(encoded) = authorization.and_then(|v| v.strip_prefix("Basic ")) else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((id, secret)) = text.split_once(':') else {
            return false;
        };
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        decode(id) == self.client_id && decode(secret) == self.client_secret
    }

    /// `POST /api/oauth/token`.
    /// `POST /api/oauth/token`; `created` when the client logged in with a created secret.
    pub(super) fn token_for(
        &self,
        created: bool,
        authorization: Option<&str>,
        body: &[u8],
    ) -> TokenAnswer {
        if !created && !self.client_ok(authorization) {
            return oauth_error(401, "invalid_client", "Invalid client credentials.");
        }
        let grant = url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| v.into_owned());
        if grant.as_deref() != Some("client_credentials") {
            return oauth_error(
                400,
                "unsupported_grant_type",
                "Only client_credentials is supported.",
            );
        }
        let now = Instant::now();
        {
            let mut recent = lock(&self.recent);
            while recent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
            {
                recent.pop_front();
            }
            if recent.len() >= TOKENS_PER_MINUTE {
                let wait = recent
                    .front()
                    .map_or(60, |t| 60 - now.duration_since(*t).as_secs().min(59));
                return TokenAnswer {
                    status: 429,
                    body: serde_json::json!({
                        "detail": "Too many token requests for this service account: 10 a minute per client and IP address.",
                        "error": 429,
                        "errorCode": "RATE_LIMITED",
                        "parameters": [],
                        "reason": "Too Many Requests",
                    }),
                    retry_after: Some(wait),
                };
            }
            recent.push_back(now);
        }
        let mut tokens = lock(&self.tokens);
        tokens.retain(|_, t| t.expires > now && !t.revoked);
        if tokens.len() >= MAX_LIVE_TOKENS {
            return oauth_error(
                403,
                "access_denied",
                "The service account already holds the maximum number of access tokens.",
            );
        }
        let token = format!(
            "sim{:032x}{:032x}",
            rand::random::<u128>(),
            rand::random::<u128>()
        );
        lock(&self.issued).push(token.clone());
        tokens.insert(
            token.clone(),
            Token {
                expires: now + self.ttl,
                revoked: false,
            },
        );
        let mut body = serde_json::json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.ttl.as_secs().max(1),
        });
        for (k, v) in &self.overrides {
            body[k] = v.clone();
        }
        TokenAnswer {
            status: 200,
            body,
            retry_after: None,
        }
    }

    /// `POST /api/oauth/revoke`: answers whether a live token was revoked.
    pub(super) fn revoke(&self, authorization: Option<&str>, body: &[u8]) -> (TokenAnswer, bool) {
        if !self.client_ok(authorization) {
            return (
                oauth_error(401, "invalid_client", "Invalid client credentials."),
                false,
            );
        }
        let token = url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let revoked = match lock(&self.tokens).get_mut(&token) {
            Some(t) if !t.revoked => {
                t.revoked = true;
                true
            }
            _ => false,
        };
        (
            TokenAnswer {
                status: 200,
                body: serde_json::json!({}),
                retry_after: None,
            },
            revoked,
        )
    }

    /// Revokes every live token (a knob: what an administrator revoking the service account's
    /// tokens mid-run looks like).
    pub(super) fn revoke_all(&self) -> usize {
        let mut n = 0;
        for t in lock(&self.tokens).values_mut().filter(|t| !t.revoked) {
            t.revoked = true;
            n += 1;
        }
        n
    }

    /// Every token issued and not yet forgotten (for tests that check no token leaks).
    pub(super) fn issued(&self) -> Vec<String> {
        lock(&self.issued).clone()
    }

    /// The client a bearer token belongs to.
    pub(super) fn check(&self, token: &str) -> Result<String, Refusal> {
        match lock(&self.tokens).get(token) {
            Some(t) if t.revoked => Err(Refusal::Unknown),
            Some(t) if t.expires <= Instant::now() => Err(Refusal::Expired),
            Some(_) => Ok(self.client_id.clone()),
            None => Err(Refusal::Unknown),
        }
    }
}
