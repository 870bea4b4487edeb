//! The reads a selection makes, in the shapes the API documents: an organization's service
//! accounts with their secrets' dates, its API keys (`desc`, `publicKey`), a key's access list
//! (`created`, `lastUsed`), a project's API keys, agent keys (`createdTime`, an ISO 8601 string or
//! epoch ms), AI model keys (`createdAt`, `lastUsedAt`) and service accounts with their secrets'
//! dates, an organization's projects, a project's organization. One request per page, paced and
//! retried as every request of a run; a list is read whole by the paging rules `verify` has, or
//! not at all. A date or an id in a form the documents do not give is kept as written, to be named.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::api::{ITEMS_PER_PAGE, ListShape, ListSpec};
use crate::engine::Context;
use crate::engine::read::{Group, get};
use crate::input::{Kind, ObjectId};
use crate::verify::listing::MAX_PAGES;

/// A date of a list item: absent, read, or written in a form the documents do not give (kept, as
/// written, to be named: an unreadable date proves nothing, least of all "never used").
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Date {
    #[default]
    Absent,
    At(Timestamp),
    Unreadable(String),
}

impl Date {
    pub fn at(&self) -> Option<Timestamp> {
        match self {
            Date::At(t) => Some(*t),
            _ => None,
        }
    }

    /// The date as the list wrote it, named by `field`, when it could not be read.
    pub fn unreadable(&self, field: &str) -> Option<String> {
        match self {
            Date::Unreadable(raw) => Some(format!("{field} {raw}")),
            _ => None,
        }
    }

    fn of_text(text: &str) -> Date {
        text.parse().map_or_else(
            |_| Date::Unreadable(shown(&serde_json::json!(text))),
            Date::At,
        )
    }
}

/// A value as a message may quote it: JSON, cut short.
pub fn shown(value: &serde_json::Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// A date as the API writes it: an ISO 8601 timestamp with its offset (RFC 3339).
fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let value: Option<serde_json::Value> = Deserialize::deserialize(d)?;
    Ok(match value {
        None | Some(serde_json::Value::Null) => Date::Absent,
        Some(serde_json::Value::String(text)) => Date::of_text(&text),
        Some(other) => Date::Unreadable(shown(&other)),
    })
}

/// An agent key's `createdTime`: Cloud Manager's field table (Agent API Keys, response documents)
/// gives an ISO 8601 string, its example bodies and older pages epoch milliseconds. Both are read.
fn agent_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let value: Option<serde_json::Value> = Deserialize::deserialize(d)?;
    Ok(match value {
        None | Some(serde_json::Value::Null) => Date::Absent,
        Some(serde_json::Value::String(text)) => Date::of_text(&text),
        Some(number @ serde_json::Value::Number(_)) => number
            .as_i64()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .map_or_else(|| Date::Unreadable(shown(&number)), Date::At),
        Some(other) => Date::Unreadable(shown(&other)),
    })
}

/// An item's id as listed: its text, or what stood there instead (`None` when absent).
pub fn id_text(value: &Option<serde_json::Value>) -> Result<&str, String> {
    match value {
        Some(serde_json::Value::String(text)) => Ok(text),
        Some(other) => Err(shown(other)),
        None => Err("no id".into()),
    }
}

/// What paging compares of an item: the text of its id, however written.
pub trait Keyed {
    fn key(&self) -> Option<String>;
}

fn key_of(value: &Option<serde_json::Value>) -> Option<String> {
    value.as_ref().map(|v| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

#[derive(Deserialize, Debug, Default)]
pub struct Secret {
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    #[serde(default, rename = "createdAt", deserialize_with = "date")]
    pub created: Date,
    #[serde(default, rename = "expiresAt", deserialize_with = "date")]
    pub expires: Date,
    #[serde(default, rename = "lastUsedAt", deserialize_with = "date")]
    pub last_used: Date,
}

#[derive(Deserialize, Debug, Default)]
pub struct Account {
    #[serde(default, rename = "clientId")]
    pub client_id: Option<serde_json::Value>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "createdAt", deserialize_with = "date")]
    pub created: Date,
    #[serde(default)]
    pub secrets: Vec<Secret>,
}

impl Keyed for Account {
    fn key(&self) -> Option<String> {
        key_of(&self.client_id)
    }
}

#[derive(Deserialize, Debug, Default)]
pub struct ApiKey {
    #[serde(default, alias = "_id")]
    pub id: Option<serde_json::Value>,
    #[serde(default)]
    pub desc: Option<String>,
    #[serde(default, rename = "publicKey")]
    pub public_key: Option<String>,
    /// An agent key's creation.
    #[serde(default, rename = "createdTime", deserialize_with = "agent_time")]
    pub created_time: Date,
}

impl Keyed for ApiKey {
    fn key(&self) -> Option<String> {
        key_of(&self.id)
    }
}

#[derive(Deserialize, Debug, Default)]
pub struct ModelKey {
    #[serde(default, rename = "apiKeyId")]
    pub id: Option<serde_json::Value>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "createdAt", deserialize_with = "date")]
    pub created: Date,
    #[serde(default, rename = "lastUsedAt", deserialize_with = "date")]
    pub last_used: Date,
}

impl Keyed for ModelKey {
    fn key(&self) -> Option<String> {
        key_of(&self.id)
    }
}

#[derive(Deserialize, Debug, Default)]
pub struct AccessEntry {
    #[serde(default, rename = "cidrBlock")]
    pub cidr_block: Option<serde_json::Value>,
    #[serde(default, rename = "ipAddress")]
    pub ip_address: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "date")]
    pub created: Date,
    #[serde(default, rename = "lastUsed", deserialize_with = "date")]
    pub last_used: Date,
}

impl Keyed for AccessEntry {
    fn key(&self) -> Option<String> {
        key_of(&self.cidr_block).or_else(|| key_of(&self.ip_address))
    }
}

impl Keyed for Group {
    fn key(&self) -> Option<String> {
        key_of(&self.id)
    }
}

/// A page of a paged list: its items, its count, and whether it links a next one.
#[derive(Deserialize)]
pub struct PageOf<T> {
    pub results: Vec<T>,
    #[serde(default)]
    links: Vec<Link>,
    #[serde(default, rename = "totalCount")]
    total: Option<u64>,
}

impl<T> PageOf<T> {
    /// Whether the page links a next one.
    pub fn next(&self) -> bool {
        self.links.iter().any(|l| l.rel.as_deref() == Some("next"))
    }
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    rel: Option<String>,
}

/// Where the paging of one list stands, by the rules `verify` reads lists with: a page that adds
/// no new id ends the list as incomplete (a server that ignores `pageNum`), `totalCount` bounds
/// it, and no list has more than [`MAX_PAGES`] pages.
#[derive(Default)]
struct Paging {
    seen: HashSet<String>,
    read: u64,
    total: Option<u64>,
}

impl Paging {
    /// Takes page `page`; `Ok(true)` when the list is whole, `Ok(false)` when another page is to
    /// be read, `Err` when it can never be whole.
    fn take(
        &mut self,
        page: u64,
        keys: Vec<Option<String>>,
        next: bool,
        total: Option<u64>,
    ) -> Result<bool, String> {
        match (page, self.total, total) {
            (1, _, t) => self.total = t,
            (_, Some(before), Some(now)) if before != now => {
                return Err(format!(
                    "totalCount changed from {before} to {now} between pages"
                ));
            }
            (_, Some(_), None) => return Err(format!("page {page} has no totalCount")),
            _ => {}
        }
        let items = keys.len() as u64;
        if items == 0 && next {
            return Err(format!("page {page} is empty yet links a next page"));
        }
        let before = self.seen.len();
        self.seen.extend(keys.into_iter().flatten());
        self.read += items;
        if items > 0 && self.seen.len() == before && page > 1 {
            return Err(format!(
                "page {page} repeats only ids of earlier pages (the server seems to ignore pageNum)"
            ));
        }
        let per_page = ITEMS_PER_PAGE as u64;
        let more = next || (items >= per_page && self.total.is_none_or(|t| self.read < t));
        match self.total {
            Some(t) if self.read > t => Err(format!(
                "{} items listed where totalCount says {t}",
                self.read
            )),
            Some(t) if !more && self.read < t => Err(format!(
                "{} of the {t} items totalCount counts were listed, and page {page} links no next page",
                self.read
            )),
            _ if !more => Ok(true),
            Some(t) if page > t.div_ceil(per_page) => Err(format!(
                "page {page} still links a next page, past the {} that totalCount {t} needs",
                t.div_ceil(per_page)
            )),
            _ if page >= MAX_PAGES => Err(format!("more than {MAX_PAGES} pages")),
            _ => Ok(false),
        }
    }
}

/// Every item of a list, read whole by [`Paging`]'s rules, or why it could not be.
pub async fn all<T: DeserializeOwned + Keyed>(
    ctx: &Arc<Context>,
    scope: ObjectId,
    spec: &ListSpec,
) -> Result<Vec<T>, String> {
    all_answered(ctx, scope, spec)
        .await
        .map_err(|e| e.described())
}

/// Why a list could not be read whole: a page's answer (kept, so that a caller tells a 404 from
/// other failures) or the paging's rules.
#[derive(Debug)]
pub enum ListError {
    Answer(crate::api::Answer),
    Paging(String),
}

impl ListError {
    pub fn described(&self) -> String {
        match self {
            ListError::Answer(a) => a.described(),
            ListError::Paging(why) => why.clone(),
        }
    }
}

/// [`all`], keeping the answer of a page that was not one.
pub async fn all_answered<T: DeserializeOwned + Keyed>(
    ctx: &Arc<Context>,
    scope: ObjectId,
    spec: &ListSpec,
) -> Result<Vec<T>, ListError> {
    if spec.shape == ListShape::BareArray {
        return get::<Vec<T>>(ctx, scope, spec, 1)
            .await
            .map_err(ListError::Answer);
    }
    let mut out = Vec::new();
    let mut paging = Paging::default();
    for page in 1..=MAX_PAGES {
        let p: PageOf<T> = get(ctx, scope, spec, page as usize)
            .await
            .map_err(ListError::Answer)?;
        let (next, total) = (p.next(), p.total);
        let keys = p.results.iter().map(Keyed::key).collect();
        let whole = paging
            .take(page, keys, next, total)
            .map_err(ListError::Paging)?;
        out.extend(p.results);
        if whole {
            return Ok(out);
        }
    }
    Err(ListError::Paging(format!("more than {MAX_PAGES} pages")))
}

/// A kind's list, as `verify` reads it, but without system-managed service accounts unless asked.
pub fn kind_list(ctx: &Context, kind: Kind, scope: &ObjectId, system_managed: bool) -> ListSpec {
    let client = ctx.client();
    let mut spec = client
        .api()
        .list(client.base_url(), kind, scope, None, client.envelope());
    if !system_managed {
        let kept: Vec<(String, String)> = spec
            .url
            .query_pairs()
            .filter(|(k, _)| k != "includeSystemManaged")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        spec.url.set_query(None);
        if !kept.is_empty() {
            spec.url.query_pairs_mut().extend_pairs(kept);
        }
    }
    spec
}
