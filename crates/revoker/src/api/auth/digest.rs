//! HTTP Digest (RFC 7616 / 2617) with one nonce shared by every worker.
//!
//! The challenge is parsed and answered by the `digest_auth` crate (MD5, SHA-256, SHA-512-256 and
//! their `-sess` variants; qop `auth`). revoker keeps the parsed challenge itself rather than
//! diqwest's session cache, which rebuilds the challenge without its `algorithm` (so it answers a
//! SHA-256 or MD5-sess challenge with MD5) and keeps the private key as a plain `String`. A 401 is
//! answered with its own nonce (one extra round trip for a stale one), and only one worker at a time
//! sends the first, unauthenticated request that fetches a challenge.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use secrecy::{ExposeSecret, SecretString};

use super::{After401, Sent};
use crate::api::classify::{Answer, Fatal};
use crate::figures::Figures;

/// Rounds of `stale=true` in a row after which the server is taken to be broken rather than busy.
const MAX_STALE_ROUNDS: u32 = 3;

struct Challenge {
    header: WwwAuthenticateHeader,
    nc: AtomicU32,
    generation: u64,
}

pub(crate) struct DigestAuth {
    user: String,
    password: SecretString,
    current: RwLock<Option<Arc<Challenge>>>,
    generations: AtomicU64,
    first: Arc<tokio::sync::Mutex<()>>,
    figures: Arc<Figures>,
}

impl DigestAuth {
    pub(crate) fn new(user: &str, password: SecretString, figures: Arc<Figures>) -> DigestAuth {
        DigestAuth {
            user: user.to_string(),
            password,
            current: RwLock::new(None),
            generations: AtomicU64::new(0),
            first: Arc::new(tokio::sync::Mutex::new(())),
            figures,
        }
    }

    fn current(&self) -> Option<Arc<Challenge>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(super) async fn header(&self, method: &str, uri: &str) -> Result<Sent, Answer> {
        if let Some(challenge) = self.current() {
            return self.answer(&challenge, method, uri);
        }
        // No nonce yet: one worker sends unauthenticated to fetch a challenge; the others wait for it.
        let guard = self.first.clone().lock_owned().await;
        if let Some(challenge) = self.current() {
            drop(guard);
            return self.answer(&challenge, method, uri);
        }
        Ok(Sent {
            header: None,
            generation: 0,
            _first: Some(guard),
        })
    }

    fn answer(&self, challenge: &Challenge, method: &str, uri: &str) -> Result<Sent, Answer> {
        let nc = challenge.nc.fetch_add(1, Ordering::Relaxed);
        let mut prompt = challenge.header.clone();
        // `respond` counts up from the prompt's nc: this request's count is `nc + 1`.
        prompt.nc = nc;
        let context = AuthContext::new_with_method(
            self.user.as_str(),
            self.password.expose_secret(),
            uri,
            Option::<&[u8]>::None,
            HttpMethod::from(method),
        );
        let header = prompt.respond(&context).map_err(|e| {
            Answer::Fatal(Fatal::AuthUnusable {
                detail: format!("cannot answer the digest challenge: {e}"),
            })
        })?;
        Ok(Sent {
            header: Some(header.to_header_string()),
            generation: challenge.generation,
            _first: None,
        })
    }

    pub(super) fn after_401(&self, headers: &HeaderMap, sent: &Sent, retried: u32) -> After401 {
        let unusable = |why: String| {
            After401::Answer(Answer::Fatal(Fatal::AuthUnusable {
                detail: format!("the server's digest challenge cannot be used: {why}"),
            }))
        };
        let offered: Vec<String> = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let Some(digest) = offered.iter().find_map(|v| digest_challenge(v)) else {
            let detail = if offered.is_empty() {
                "401 Unauthorized without a digest challenge".to_string()
            } else {
                let schemes: Vec<String> = offered
                    .iter()
                    .flat_map(|v| split_challenges(v))
                    .map(|(scheme, _)| scheme)
                    .collect();
                format!(
                    "401 Unauthorized without a Digest challenge (the server offered {})",
                    crate::text::clip(&schemes.join(", "), 80)
                )
            };
            return After401::Answer(Answer::Fatal(Fatal::CredentialsRejected { detail }));
        };
        let parsed = match WwwAuthenticateHeader::parse(&digest) {
            Ok(parsed) => parsed,
            Err(digest_auth::Error::UnknownAlgorithm(name)) => {
                return unusable(format!(
                    "unsupported algorithm {} (revoker answers MD5, SHA-256 and SHA-512-256, and their -sess variants)",
                    crate::text::shown(&name)
                ));
            }
            Err(e) => return unusable(crate::text::clip(&e.to_string(), 200)),
        };
        Figures::bump(&self.figures.challenges);
        let stale = parsed.stale;
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(Challenge {
            header: parsed,
            nc: AtomicU32::new(0),
            generation,
        }));
        if stale {
            if retried >= MAX_STALE_ROUNDS {
                return After401::Answer(Answer::transient(
                    Some(401),
                    "",
                    "the server refused every nonce as stale",
                    None,
                ));
            }
            return After401::Retry;
        }
        // A fresh challenge answering a request that already carried a nonce learned during this
        // call: the key pair itself is refused.
        if sent.header.is_some() && retried >= 1 {
            return After401::Answer(Answer::Fatal(Fatal::CredentialsRejected {
                detail:
                    "401 Unauthorized after a fresh digest challenge: the API key pair was refused"
                        .into(),
            }));
        }
        After401::Retry
    }
}

/// Splits a `WWW-Authenticate` value into its challenges: `(scheme, parameters)`. Commas separate
/// both challenges and parameters; a new challenge starts where an item begins with a scheme name
/// followed by a space (or stands alone).
fn split_challenges(value: &str) -> Vec<(String, Vec<String>)> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let first_word_end = item.find(char::is_whitespace).unwrap_or(item.len());
        let first_word = &item[..first_word_end];
        if !first_word.contains('=') {
            let rest = item[first_word_end..].trim();
            let params = if rest.is_empty() {
                Vec::new()
            } else {
                vec![rest.to_string()]
            };
            out.push((first_word.to_string(), params));
        } else if let Some(last) = out.last_mut() {
            last.1.push(item.to_string());
        }
    }
    out
}

/// The Digest challenge in a `WWW-Authenticate` value, rewritten for the parser: MongoDB's pages
/// print `op="auth"` where `qop` belongs, and servers send both.
fn digest_challenge(value: &str) -> Option<String> {
    let (_, params) = split_challenges(value)
        .into_iter()
        .find(|(scheme, _)| scheme.eq_ignore_ascii_case("Digest"))?;
    let has_qop = params.iter().any(|p| {
        p.split('=')
            .next()
            .is_some_and(|k| k.trim().eq_ignore_ascii_case("qop"))
    });
    let params: Vec<String> = params
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !has_qop && k.trim().eq_ignore_ascii_case("op") => format!("qop={v}"),
            _ => p,
        })
        .collect();
    Some(format!("Digest {}", params.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_challenge_is_found_among_others_and_op_means_qop() {
        let docs = r#"Digest realm="MMS Public API", domain="", nonce="a+b/c=", algorithm=MD5, op="auth", stale=false"#;
        let fixed = digest_challenge(docs).unwrap();
        let parsed = WwwAuthenticateHeader::parse(&fixed).unwrap();
        assert_eq!(parsed.nonce, "a+b/c=");
        assert_eq!(parsed.qop, Some(vec![digest_auth::Qop::AUTH]));
        let two = r#"Bearer realm="atlas", error="invalid_token", Digest realm="MMS Public API", nonce="n1", qop="auth", algorithm=SHA-256"#;
        let parsed = WwwAuthenticateHeader::parse(&digest_challenge(two).unwrap()).unwrap();
        assert_eq!(parsed.nonce, "n1");
        assert_eq!(parsed.algorithm.to_string(), "SHA-256");
        assert!(digest_challenge(r#"Bearer realm="x""#).is_none());
        let schemes: Vec<String> = split_challenges(r#"Negotiate, Basic realm="a, b""#)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(schemes, ["Negotiate", "Basic"]);
    }
}
