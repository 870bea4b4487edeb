//! Learning the credentials a run stands on as rows name them ([`crate::guard::Own`]), and the
//! run's [`Guard`]: a service account knows its client id; an API key's id is read from the key
//! lists the input's rows name — `GET /admin/apiKeys` for `global-api-key` rows (an Ops Manager
//! key may be a global one), the organizations' lists for `org-api-key` rows — whose items carry
//! `publicKey`, one page at a time until it is found.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::api::{Client, Credential, Fatal};
use crate::guard::{Guard, ListedKey, OrgKeys, Own};
use crate::input::Survey;
use crate::input::{Exemptions, InputOptions, Kind, NO_SCOPE, ObjectId, Source};
use crate::job::PreparedJob;
use crate::settings::Settings;

/// Pages of one key list read at most (500 keys a page); a longer list is not read whole.
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
    /// Read leniently: a role that is not an object with a `groupId` string names no project.
    #[serde(default)]
    roles: serde_json::Value,
}

impl KeyItem {
    /// The key as the list showed it: its public key and the projects it has a role in.
    fn listed(&self) -> ListedKey {
        let mut projects: Vec<ObjectId> = self
            .roles
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("groupId")?.as_str().and_then(ObjectId::parse))
            .collect();
        projects.sort();
        projects.dedup();
        ListedKey {
            public_key: self.public_key.clone(),
            projects,
        }
    }
}

/// One key list as read: the ids of the keys searched for, every key it listed, and whether it
/// was read whole (a key missing from a list read in part may be on the rest).
pub(crate) struct ListRead {
    pub found: Vec<Option<ObjectId>>,
    pub keys: Vec<(ObjectId, ListedKey)>,
    pub whole: bool,
}

/// The key lists that can hold an API key the input's rows would delete.
#[derive(Default)]
pub struct KeyLists {
    /// The input has `global-api-key` rows.
    global: bool,
    /// Organizations of its `org-api-key` rows (all of them: a key left out could be the run's
    /// own; reading stops once every credential's key is found, unless `protecting`).
    orgs: BTreeSet<ObjectId>,
    /// Anything is protected: every organization's list is read whole, for the projects its
    /// keys have roles in, whatever the credentials are.
    protecting: bool,
}

impl KeyLists {
    /// The lists of `source`'s rows. `any` says whether it has rows of either kind at all (from
    /// the survey): without, the input is not read again and no list will be.
    pub fn of(source: &Source, opts: &InputOptions, any: bool) -> KeyLists {
        let mut out = KeyLists::default();
        if !any {
            return out;
        }
        let _ = source.scan(opts, &mut |entry| {
            match entry.target.as_ref().map(|t| (t.kind, t.scope)) {
                Ok((Kind::GlobalApiKey, _)) => out.global = true,
                Ok((Kind::OrgApiKey, org)) => {
                    out.orgs.insert(org);
                }
                _ => {}
            }
            ControlFlow::Continue(())
        });
        out
    }

    /// These lists, each read whole when `protecting` (see [`KeyLists::protecting`]).
    pub fn protecting(mut self, protecting: bool) -> KeyLists {
        self.protecting = protecting;
        self
    }
}

/// The credentials a run stands on, as rows name them: a service account by its client id; an API
/// key by its id, read from the lists of `lists` that show its `publicKey`. Each list is read once,
/// by the credential that serves its organization (another would only be refused: `401
/// USER_CANNOT_ACCESS_ORG`), and searched for every credential's public key, so a key that belongs
/// to an organization another credential serves is still known.
pub async fn guard(
    lanes: &super::lanes::Lanes,
    lists: &KeyLists,
    exempt: Arc<Exemptions>,
    allowed: bool,
) -> Guard {
    let mut owns: Vec<Own> = lanes
        .lanes
        .iter()
        .map(|lane| {
            let c = &lane.found.credential;
            let client = match c {
                Credential::ServiceAccount { client_id, .. } => Some(client_id.as_str()),
                Credential::ApiKey { .. } => None,
            };
            Own::of(client, c.public_identity())
        })
        .collect();
    let publics: Vec<Option<String>> = lanes
        .lanes
        .iter()
        .map(|lane| match &lane.found.credential {
            Credential::ApiKey { public_key, .. } => Some(public_key.clone()),
            Credential::ServiceAccount { .. } => None,
        })
        .collect();
    let apikeys = publics.iter().any(Option::is_some);
    if !apikeys && !lists.protecting {
        return Guard::new(exempt, owns, allowed);
    }
    let mut keys = OrgKeys::default();
    // A global key has no project role: its list is read for the own credential only.
    let global = (apikeys && lists.global).then_some((Kind::GlobalApiKey, NO_SCOPE));
    let orgs = lists.orgs.iter().map(|o| (Kind::OrgApiKey, *o));
    for (kind, scope) in global.into_iter().chain(orgs) {
        let all_found = owns
            .iter()
            .zip(&publics)
            .all(|(o, p)| p.is_none() || o.api_key.is_some());
        if all_found && !lists.protecting {
            break;
        }
        let lane = match kind {
            Kind::GlobalApiKey => Some(0),
            _ => lanes.lane_for(&scope),
        };
        let Some(lane) = lane else {
            // No credential serves the organization: none of its rows can be sent.
            keys.read_whole(scope);
            continue;
        };
        let read = read_list(&lanes.lanes[lane].client, kind, &scope, &publics).await;
        for ((own, id), public) in owns.iter_mut().zip(&read.found).zip(&publics) {
            own.api_key = own.api_key.or(*id);
            if !read.whole && public.is_some() {
                own.unread.insert(scope);
            }
        }
        if kind == Kind::OrgApiKey {
            if read.whole {
                keys.read_whole(scope);
            }
            for (key, listed) in read.keys {
                keys.add(scope, key, listed);
            }
        }
    }
    Guard::new(exempt, owns, allowed).with_keys(keys)
}

/// The guard without asking the server (`--dry-run`, `validate`): exemptions, and the service
/// accounts among the settings' credentials (an API key's id is not known without a list).
pub fn offline(settings: &Settings, exempt: Arc<Exemptions>) -> Guard {
    let found = settings.credential.iter().chain(
        settings
            .org_credentials
            .iter()
            .filter_map(|o| o.credential.as_ref().ok()),
    );
    let owns = found
        .map(|f| {
            let client = match &f.credential {
                Credential::ServiceAccount { client_id, .. } => Some(client_id.as_str()),
                Credential::ApiKey { .. } => None,
            };
            Own::of(client, f.credential.public_identity())
        })
        .collect();
    Guard::new(exempt, owns, settings.run.allow_own_credential)
        .protecting_offline(settings.run.protect.clone())
}

/// One key list read page by page: the keys whose `publicKey` is one of `publics`, and every key
/// listed (its public key and project roles).
pub(crate) async fn read_list(
    client: &Client,
    kind: Kind,
    scope: &ObjectId,
    publics: &[Option<String>],
) -> ListRead {
    let mut out = ListRead {
        found: vec![None; publics.len()],
        keys: Vec::new(),
        whole: false,
    };
    let spec = client
        .api()
        .list(client.base_url(), kind, scope, None, client.envelope());
    // Whole by verify's rules (`Progress`): a short page, an empty page that links another, a
    // count that disagrees or an unreadable id leave the list read in part.
    let mut progress = crate::verify::listing::Progress::default();
    for page in 1..=MAX_PAGES {
        let reply = client.list_page(&spec, page).await;
        let stops_the_lane = matches!(
            reply.answer.fatal(),
            Some(Fatal::CredentialsRejected { .. } | Fatal::AccessList { .. })
        );
        if stops_the_lane || reply.answer.other_api().is_some() {
            // The credential that sends this organization's rows cannot sign in, or the
            // organization lives under the other API: none of its rows can revoke anything, so
            // none is left undecided. An answer that is not the API's (an HTML 404) proves
            // nothing: the list is unread.
            out.whole = true;
            return out;
        }
        if !matches!(reply.answer, crate::api::Answer::Done { .. }) {
            return out;
        }
        // An envelope list is the list object plus `status`: the same fields.
        let (Ok(keys), Ok(listed)) = (
            serde_json::from_slice::<Keys>(&reply.body),
            crate::api::Page::parse(spec.shape, &reply.body),
        ) else {
            return out;
        };
        for item in &keys.results {
            let id = item.id.as_deref().and_then(ObjectId::parse);
            let at = publics
                .iter()
                .position(|p| p.is_some() && p.as_deref() == item.public_key.as_deref());
            if let Some(at) = at {
                out.found[at] = id;
            }
            if let Some(id) = id {
                out.keys.push((id, item.listed()));
            }
        }
        match progress.take(page as u64, listed, true) {
            Ok(true) => {
                out.whole = true;
                return out;
            }
            Ok(false) => {}
            Err(_) => return out,
        }
    }
    out
}

/// The guard of a revocation run: the key lists read when a row is an API key of an organization
/// (or a global one), the run's own credential found in them.
pub async fn for_run(job: &PreparedJob, lanes: &super::lanes::Lanes, survey: &Survey) -> Guard {
    let key_rows = survey.kind_count(Kind::OrgApiKey) + survey.kind_count(Kind::GlobalApiKey);
    let protecting = !job.settings.run.protect.is_empty();
    let lists = KeyLists::of(&job.source, &job.opts, key_rows > 0).protecting(protecting);
    guard(
        lanes,
        &lists,
        job.exempt.clone(),
        job.settings.run.allow_own_credential,
    )
    .await
}

/// The public keys of `source`'s API key rows as the organizations' key lists showed them when
/// the guard read them (no request of its own), added to `into` where it has none (a plan's
/// reading wins): an `org-api-key` row's from its organization's list, a `project-api-key` row's
/// (an organization key assigned to the project) from whichever list showed its id.
pub fn public_keys(
    guard: &Guard,
    (source, opts): (&Source, &InputOptions),
    into: &mut std::collections::HashMap<crate::input::Identity, String>,
) {
    let Some(keys) = guard.keys() else {
        return;
    };
    let _ = source.scan(opts, &mut |entry| {
        if let Ok(t) = &entry.target {
            let public = match t.kind {
                Kind::OrgApiKey => keys
                    .get(&t.scope, &t.key)
                    .and_then(|l| l.public_key.as_deref()),
                Kind::ProjectApiKey => keys.public_key_of(&t.key),
                _ => None,
            };
            if let Some(p) = public {
                into.entry(t.identity()).or_insert_with(|| p.to_string());
            }
        }
        ControlFlow::Continue(())
    });
}
