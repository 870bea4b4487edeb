//! `--validate-leaked`, opt-in: a resolved finding that holds a whole credential is tried once
//! against the API's root (`GET /api/atlas/v2`, `GET /api/public/v1.0`) to learn whether it is
//! live — a private key with the public key its list showed (HTTP Digest), a secret with its
//! account's client id (a token, revoked at once). Only a read is sent; what it learned is
//! recorded beside the finding. A public key or a client id alone authenticates nothing, and an
//! AI model key authenticates to the embedding service, not this API: those are not tried.

use std::sync::Arc;

use secrecy::SecretString;

use crate::api::{Answer, ApiConfig, Client, Credential, ListShape, ListSpec};
use crate::input::{CLIENT_ID_PREFIX, Kind};

/// What trying a leaked credential learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trial {
    /// In words, as recorded beside the finding.
    pub said: String,
    /// The API refused the value itself (401): it is no live credential. A listed credential that
    /// only shows the same ends is then another one, never to be revoked for this finding.
    pub rejected: bool,
}

/// Tries `credential` with the settings of `template`; answers what was learned.
pub async fn try_credential(template: &ApiConfig, credential: Credential) -> Trial {
    let config = ApiConfig {
        credential,
        pool_size: 1,
        ..template.clone()
    };
    let client = match Client::new(&config, Arc::new(crate::figures::Figures::default())) {
        Ok(c) => c,
        Err(e) => {
            return Trial {
                said: format!("not tried: {e}"),
                rejected: false,
            };
        }
    };
    let answer = match client.prepare().await {
        Err(answer) => answer,
        Ok(()) => {
            let spec = ListSpec {
                url: config.base_url.clone(),
                accept: client.api().accept(Kind::OrgApiKey),
                shape: ListShape::Secrets,
            };
            client.list_page(&spec, 1).await.answer
        }
    };
    // A token the leaked secret fetched is revoked now, however the read went.
    let revoked = client.finish().await;
    let mut said = match &answer {
        Answer::Done { .. } => "live: the API's root accepted it".to_string(),
        Answer::Fatal(_) => format!("not live: refused ({})", answer.described()),
        other => format!("unknown: {}", other.described()),
    };
    if let Some(warning) = revoked {
        said.push_str(&format!("; {warning}"));
    }
    // An access-list refusal is a live credential used from the wrong address: still revoked.
    let rejected = matches!(
        answer,
        Answer::Fatal(crate::api::Fatal::CredentialsRejected { .. })
    );
    Trial { said, rejected }
}

/// The credential a private key makes with its key's public key.
pub fn api_key(public_key: &str, private_key: SecretString) -> Credential {
    Credential::ApiKey {
        public_key: public_key.to_string(),
        private_key,
    }
}

/// The credential a secret makes with its account's client id.
pub fn service_account(client: crate::input::ObjectId, secret: SecretString) -> Credential {
    Credential::ServiceAccount {
        client_id: format!("{CLIENT_ID_PREFIX}{client}"),
        client_secret: secret,
    }
}
