//! The server side of HTTP Digest (RFC 7616 / 2617; MD5, SHA-256 and `-sess`; qop=auth), hashing
//! with the `digest_auth` crate: nonces issued here, expiring after a lifetime, each `(nonce, nc)`
//! accepted once, and answered only with the algorithm they were issued for.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use digest_auth::{AuthContext, AuthorizationHeader, HttpMethod};

use super::ChallengeStyle;
use super::state::lock;

pub(super) const REALM: &str = "MMS Public API";

/// Highest `nc` tracked per nonce; a client past it is sent a new nonce.
const MAX_NC: u32 = 1 << 26;

struct NonceState {
    issued: Instant,
    algorithm: &'static str,
    /// One bit per `nc` seen, so replays are refused whatever order requests arrive in.
    seen: Vec<u64>,
}

impl NonceState {
    /// Marks `nc` as used; false if it already was.
    fn first_use(&mut self, nc: u32) -> bool {
        let (word, bit) = ((nc / 64) as usize, nc % 64);
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        let fresh = self.seen[word] & (1 << bit) == 0;
        self.seen[word] |= 1 << bit;
        fresh
    }
}

pub(super) struct Digest {
    /// Every API key this simulator accepts: public key → private key.
    users: Mutex<HashMap<String, String>>,
    ttl: Option<Duration>,
    style: ChallengeStyle,
    nonces: Mutex<HashMap<String, NonceState>>,
}

/// The verdict on one request's `Authorization` header.
pub(super) enum Verdict {
    /// Good: the API key (user name) that sent it.
    Accepted(String),
    /// The digest is right but its nonce expired or is unknown: challenge again with `stale=true`.
    Stale,
    /// Anything else: wrong password, unknown user, replay, wrong algorithm, malformed header.
    Refused,
}

impl Digest {
    pub(super) fn new(
        user: &str,
        password: &str,
        ttl: Option<Duration>,
        style: ChallengeStyle,
    ) -> Digest {
        Digest {
            users: Mutex::new(HashMap::from([(user.to_string(), password.to_string())])),
            ttl,
            style,
            nonces: Mutex::new(HashMap::new()),
        }
    }

    /// Accepts another API key as well.
    pub(super) fn add(&self, user: &str, password: &str) {
        lock(&self.users).insert(user.into(), password.into());
    }

    /// A deleted API key no longer authenticates.
    pub(super) fn remove(&self, user: &str) {
        lock(&self.users).remove(user);
    }

    fn algorithm(&self) -> &'static str {
        match self.style {
            ChallengeStyle::Sha256 => "SHA-256",
            ChallengeStyle::Md5Sess => "MD5-sess",
            _ => "MD5",
        }
    }

    /// The `WWW-Authenticate` values of a challenge with a new nonce, worded as Cloud Manager words
    /// it (or as a knob asks).
    pub(super) fn challenge(&self, stale: bool) -> Vec<String> {
        let nonce = match self.style {
            // Base64-like, as real nonces are: `+`, `/` and `=` included.
            ChallengeStyle::Docs => format!(
                "{:x}+{:x}/{:x}==",
                rand::random::<u64>(),
                rand::random::<u64>(),
                rand::random::<u32>()
            ),
            _ => format!("{:032x}", rand::random::<u128>()),
        };
        let now = Instant::now();
        {
            let mut nonces = lock(&self.nonces);
            if let Some(ttl) = self.ttl {
                // Forget nonces long past their lifetime so the table stays small on long runs.
                nonces.retain(|_, n| now.duration_since(n.issued) < ttl * 4);
            }
            nonces.insert(
                nonce.clone(),
                NonceState {
                    issued: now,
                    algorithm: self.algorithm(),
                    seen: Vec::new(),
                },
            );
        }
        let standard = |algorithm: &str| {
            format!(
                "Digest realm=\"{REALM}\", domain=\"\", nonce=\"{nonce}\", algorithm={algorithm}, qop=\"auth\", stale={stale}"
            )
        };
        match self.style {
            ChallengeStyle::Md5 | ChallengeStyle::Sha256 | ChallengeStyle::Md5Sess => {
                vec![standard(self.algorithm())]
            }
            ChallengeStyle::Docs => vec![format!(
                "Digest realm=\"{REALM}\", domain=\"\", nonce=\"{nonce}\", algorithm=MD5, op=\"auth\", stale={stale}"
            )],
            ChallengeStyle::BearerThenDigest => {
                vec![format!("Bearer realm=\"{REALM}\""), standard("MD5")]
            }
            ChallengeStyle::Malformed => {
                vec![format!("Digest realm=\"{REALM}, nonce={nonce}, qop")]
            }
            ChallengeStyle::UnsupportedAlgorithm => vec![format!(
                "Digest realm=\"{REALM}\", nonce=\"{nonce}\", algorithm=SHA-1-FANCY, qop=\"auth\", stale={stale}"
            )],
        }
    }

    /// Checks an `Authorization` header for a request of `method` on `uri` (path and query).
    pub(super) fn verify(&self, header: &str, method: &str, uri: &str) -> Verdict {
        let Ok(claimed) = AuthorizationHeader::parse(header) else {
            return Verdict::Refused;
        };
        let Some(password) = lock(&self.users).get(&claimed.username).cloned() else {
            return Verdict::Refused;
        };
        if claimed.realm != REALM || claimed.uri != uri {
            return Verdict::Refused;
        }
        let mut expected = claimed.clone();
        let context = AuthContext::new_with_method(
            &claimed.username,
            &password,
            uri,
            Option::<&[u8]>::None,
            HttpMethod::from(method),
        );
        expected.digest(&context);
        if !expected.response.eq_ignore_ascii_case(&claimed.response) {
            return Verdict::Refused;
        }
        if claimed.qop.is_some() && claimed.nc > MAX_NC {
            return Verdict::Stale;
        }
        let mut nonces = lock(&self.nonces);
        let Some(state) = nonces.get_mut(&claimed.nonce) else {
            return Verdict::Stale;
        };
        if claimed.algorithm.to_string() != state.algorithm {
            return Verdict::Refused;
        }
        if self.ttl.is_some_and(|ttl| state.issued.elapsed() >= ttl) {
            return Verdict::Stale;
        }
        // Without qop (RFC 2069) there is no nc to count; such a client is tolerated as curl is.
        if claimed.qop.is_some() && !state.first_use(claimed.nc) {
            return Verdict::Refused;
        }
        Verdict::Accepted(claimed.username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(challenge: &str, user: &str, password: &str, uri: &str, nc: u32) -> String {
        let mut prompt = digest_auth::WwwAuthenticateHeader::parse(challenge).unwrap();
        prompt.nc = nc - 1;
        let context = AuthContext::new_with_method(
            user,
            password,
            uri,
            Option::<&[u8]>::None,
            HttpMethod::from("DELETE"),
        );
        prompt.respond(&context).unwrap().to_header_string()
    }

    #[test]
    fn accepts_once_refuses_replays_and_wrong_passwords() {
        let digest = Digest::new("pub", "priv", None, ChallengeStyle::Md5);
        let challenge = digest.challenge(false).remove(0);
        let uri = "/api/public/v1.0/groups/x/apiKeys/y";
        assert!(matches!(
            digest.verify(&answer(&challenge, "pub", "priv", uri, 2), "DELETE", uri),
            Verdict::Accepted(_)
        ));
        // Out of order is fine; the same nc twice is not.
        assert!(matches!(
            digest.verify(&answer(&challenge, "pub", "priv", uri, 1), "DELETE", uri),
            Verdict::Accepted(_)
        ));
        assert!(matches!(
            digest.verify(&answer(&challenge, "pub", "priv", uri, 2), "DELETE", uri),
            Verdict::Refused
        ));
        assert!(matches!(
            digest.verify(&answer(&challenge, "pub", "wrong", uri, 3), "DELETE", uri),
            Verdict::Refused
        ));
        assert!(matches!(
            digest.verify(
                &answer(&challenge, "pub", "priv", "/other", 4),
                "DELETE",
                uri
            ),
            Verdict::Refused
        ));
    }

    #[test]
    fn sha256_challenges_need_sha256_answers() {
        let digest = Digest::new("pub", "priv", None, ChallengeStyle::Sha256);
        let challenge = digest.challenge(false).remove(0);
        let uri = "/x";
        assert!(matches!(
            digest.verify(&answer(&challenge, "pub", "priv", uri, 1), "DELETE", uri),
            Verdict::Accepted(_)
        ));
        let as_md5 = challenge.replace("algorithm=SHA-256", "algorithm=MD5");
        assert!(matches!(
            digest.verify(&answer(&as_md5, "pub", "priv", uri, 2), "DELETE", uri),
            Verdict::Refused
        ));
    }

    #[test]
    fn expired_nonces_are_stale() {
        let digest = Digest::new("pub", "priv", Some(Duration::ZERO), ChallengeStyle::Md5);
        let challenge = digest.challenge(false).remove(0);
        let uri = "/x";
        assert!(matches!(
            digest.verify(&answer(&challenge, "pub", "priv", uri, 1), "DELETE", uri),
            Verdict::Stale
        ));
        let unknown = challenge.replace("nonce=\"", "nonce=\"0");
        assert!(matches!(
            digest.verify(&answer(&unknown, "pub", "priv", uri, 1), "DELETE", uri),
            Verdict::Stale
        ));
    }
}
