//! Learning the run's own credential as rows name it ([`crate::engine::own`]): a service account
//! knows its client id; an API key's id is read from the organization key lists of the input's
//! `org-api-key` rows (their items carry `publicKey`), one page at a time until it is found.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use crate::api::{Client, Credential};
use crate::engine::own::Own;
use crate::input::Kind;
use crate::input::{InputOptions, ObjectId, Source};

/// Organizations whose key lists are read at most, and pages of each.
const MAX_ORGS: usize = 20;
const MAX_PAGES: usize = 20;

#[derive(serde::Deserialize)]
struct Keys {
    #[serde(default)]
    results: Vec<KeyItem>,
}

#[derive(serde::Deserialize)]
struct KeyItem {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "publicKey")]
    public_key: Option<String>,
}

/// The run's own credential; for an API key, its id when an organization of the input lists it.
/// `org_rows` says whether the input has `org-api-key` rows at all: without them nothing is read.
/// Only the organizations `serves` names are asked: the credential's rows are there, and another
/// organization would only refuse it (`401 USER_CANNOT_ACCESS_ORG`).
pub async fn learn(
    client: &Client,
    credential: &Credential,
    (source, opts): (&Source, &InputOptions),
    (org_rows, serves): (bool, &(dyn Fn(&ObjectId) -> bool + Sync)),
    allowed: bool,
) -> Own {
    let identity = credential.public_identity();
    let public = match credential {
        Credential::ServiceAccount { client_id, .. } => {
            return Own::of(Some(client_id), identity, allowed);
        }
        Credential::ApiKey { public_key, .. } => public_key.clone(),
    };
    let mut own = Own::of(None, identity, allowed);
    if !org_rows {
        return own;
    }
    let mut orgs: BTreeSet<ObjectId> = BTreeSet::new();
    let _ = source.scan(opts, &mut |entry| {
        if let Ok(t) = &entry.target
            && t.kind == Kind::OrgApiKey
            && serves(&t.scope)
        {
            orgs.insert(t.scope);
        }
        if orgs.len() >= MAX_ORGS {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    for org in orgs {
        if let Some(id) = find(client, &org, &public).await {
            own.api_key = Some(id);
            break;
        }
    }
    own
}

async fn find(client: &Client, org: &ObjectId, public: &str) -> Option<ObjectId> {
    let spec = client.api().list(
        client.base_url(),
        Kind::OrgApiKey,
        org,
        None,
        client.envelope(),
    );
    for page in 1..=MAX_PAGES {
        let reply = client.list_page(&spec, page).await;
        if !matches!(reply.answer, crate::api::Answer::Done { .. }) {
            return None;
        }
        let keys: Keys = serde_json::from_slice(&reply.body).ok()?;
        if let Some(item) = keys
            .results
            .iter()
            .find(|k| k.public_key.as_deref() == Some(public))
        {
            return item.id.as_deref().and_then(ObjectId::parse);
        }
        if keys.results.len() < crate::api::ITEMS_PER_PAGE {
            return None;
        }
    }
    None
}
