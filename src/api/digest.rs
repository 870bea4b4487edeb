//! HTTP Digest with one nonce shared by every worker.
//!
//! diqwest's `DigestAuthSession` keeps the nonce, counts `nc` atomically and computes each
//! `Authorization` header (with the `digest_auth` crate's hashing). Its `send_digest_auth` round trip
//! is not used: on a refused nonce it clears the shared cache and starts over with an unauthenticated
//! request, which costs three round trips, ignores the fresh nonce the server's 401 already carries,
//! and lets one worker's clearing throw away a nonce another worker just learned. Here a 401 is
//! answered with its own nonce (one extra round trip for a stale nonce), and only one worker at a time
//! fetches a first challenge.

use digest_auth::HttpMethod;
use diqwest::{DigestAuthCredentials, DigestAuthSession};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use url::{Position, Url};

use super::{Answer, Client, Counters};

/// Rounds of `stale=true` in a row after which the server is taken to be broken rather than busy.
const MAX_STALE_ROUNDS: u32 = 3;

pub(super) struct DigestState {
    session: DigestAuthSession,
    host: String,
    challenge: tokio::sync::Mutex<()>,
}

impl DigestState {
    pub(super) fn new(host: String, user: &str, password: &str) -> DigestState {
        DigestState {
            session: DigestAuthSession::new(user, password),
            host,
            challenge: tokio::sync::Mutex::new(()),
        }
    }

    fn has_nonce(&self) -> bool {
        matches!((&self.session).cached_context(&self.host), Ok(Some(_)))
    }

    /// Sends a `DELETE` to `url` with digest authentication and returns the first answer that is not
    /// a challenge; an `Err` is an answer already classified (credentials refused, transport error).
    pub(super) async fn send(
        &self,
        client: &Client,
        url: &Url,
    ) -> Result<reqwest::Response, Answer> {
        let uri = &url[Position::BeforePath..];
        // Whether the nonce in use came from a challenge during this call: a 401 then means the
        // credentials themselves are refused.
        let mut fresh = false;
        let mut stale_rounds = 0;
        loop {
            if !self.has_nonce() {
                let _only_one = self.challenge.lock().await;
                if !self.has_nonce() {
                    let first = client.send_once(url, None).await?;
                    if first.status() != StatusCode::UNAUTHORIZED {
                        return Ok(first);
                    }
                    self.learn(first.headers(), &client.counters)?;
                    fresh = true;
                }
            }
            let authorization = (&self.session)
                .calculate_authorization(
                    &self.host,
                    uri,
                    HttpMethod::from("DELETE"),
                    None,
                    &HeaderMap::new(),
                )
                .map_err(|e| Answer::AuthUnusable {
                    detail: format!("cannot answer the digest challenge: {e}"),
                })?;
            let response = client
                .send_once(url, Some(authorization.to_header_string()))
                .await?;
            if response.status() != StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            let stale = self.learn(response.headers(), &client.counters)?;
            if stale {
                stale_rounds += 1;
                if stale_rounds > MAX_STALE_ROUNDS {
                    return Err(Answer::transient(
                        Some(401),
                        "",
                        "the server refused every nonce as stale",
                        None,
                    ));
                }
                continue;
            }
            if fresh {
                return Err(Answer::CredentialsRejected {
                    detail: "401 Unauthorized after a fresh digest challenge: the API key pair was refused".into(),
                });
            }
            fresh = true;
        }
    }

    /// Takes the nonce of a 401's challenge for every later request; answers whether it was `stale`.
    fn learn(&self, headers: &HeaderMap, counters: &Counters) -> Result<bool, Answer> {
        let Some(value) = headers.get(WWW_AUTHENTICATE) else {
            return Err(Answer::CredentialsRejected {
                detail: "401 Unauthorized without a digest challenge".into(),
            });
        };
        let unusable = |why: String| Answer::AuthUnusable {
            detail: format!("the server's digest challenge cannot be used: {why}"),
        };
        let text = value
            .to_str()
            .map_err(|_| unusable("it is not text".into()))?;
        if !text.trim_start().starts_with("Digest") {
            return Err(unusable(format!(
                "it is not a Digest challenge ({})",
                crate::input::shown(text)
            )));
        }
        let parsed =
            digest_auth::WwwAuthenticateHeader::parse(text).map_err(|e| unusable(e.to_string()))?;
        Counters::bump(&counters.challenges);
        (&self.session)
            .store_context(&self.host, text)
            .map_err(|e| unusable(e.to_string()))?;
        Ok(parsed.stale)
    }
}
