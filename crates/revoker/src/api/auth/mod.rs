//! How requests are authenticated: HTTP Digest with a programmatic API key, or an OAuth 2.0 bearer
//! token of a service account. The client owns the send loop; an [`Auth`] supplies the
//! `Authorization` header for each request and judges the 401s it gets back.

mod bearer;
mod digest;

use std::fmt;

use reqwest::header::HeaderMap;
use secrecy::SecretString;

pub(crate) use bearer::BearerAuth;
pub(crate) use digest::DigestAuth;

use super::classify::Answer;

/// A credential, as settings resolved it.
#[derive(Clone)]
pub enum Credential {
    /// A programmatic API key: HTTP Digest, public key as user name, private key as password.
    ApiKey {
        public_key: String,
        private_key: SecretString,
    },
    /// A service account: OAuth 2.0 client credentials, then `Authorization: Bearer`.
    ServiceAccount {
        client_id: String,
        client_secret: SecretString,
    },
}

impl Credential {
    /// What the audit record and `--print-config` may show: never a secret.
    pub fn public_identity(&self) -> String {
        match self {
            Credential::ApiKey { public_key, .. } => format!("API key {public_key}"),
            Credential::ServiceAccount { client_id, .. } => format!("service account {client_id}"),
        }
    }

    /// How it signs requests: `HTTP Digest` or `OAuth 2.0`.
    pub fn method(&self) -> &'static str {
        match self {
            Credential::ApiKey { .. } => "HTTP Digest",
            Credential::ServiceAccount { .. } => "OAuth 2.0 bearer token",
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::ApiKey { public_key, .. } => f
                .debug_struct("ApiKey")
                .field("public_key", public_key)
                .field("private_key", &"[redacted]")
                .finish(),
            Credential::ServiceAccount { client_id, .. } => f
                .debug_struct("ServiceAccount")
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .finish(),
        }
    }
}

/// The `Authorization` header of one request, and what is needed to judge its 401.
pub(crate) struct Sent {
    pub header: Option<String>,
    /// Which nonce or token it used, so that only the first 401 on it renews it.
    pub generation: u64,
    /// Held while the first, unauthenticated request of a digest session is on the wire, so that
    /// the other workers wait for its challenge instead of drawing one each.
    pub _first: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// What to do after a 401 that is not an authorization refusal.
pub(crate) enum After401 {
    /// Send again: a new nonce or a renewed token is ready.
    Retry,
    /// Give up with this answer (credentials refused, unusable challenge).
    Answer(Answer),
}

/// The authentication of a client.
pub(crate) enum Auth {
    Digest(DigestAuth),
    Bearer(Box<BearerAuth>),
}

impl Auth {
    /// The header for a request, waiting for a nonce or a token where one is being fetched.
    pub async fn header(&self, method: &str, uri: &str) -> Result<Sent, Answer> {
        match self {
            Auth::Digest(d) => d.header(method, uri).await,
            Auth::Bearer(b) => b.header().await,
        }
    }

    /// Judges a 401. `sent` is what the request carried; `retried` says whether this request was
    /// already sent again after an earlier 401 of this call.
    pub async fn after_401(&self, headers: &HeaderMap, sent: &Sent, retried: u32) -> After401 {
        match self {
            Auth::Digest(d) => d.after_401(headers, sent, retried),
            Auth::Bearer(b) => b.after_401(sent, retried).await,
        }
    }
}
