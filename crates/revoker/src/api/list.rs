//! Reading the list endpoints verification uses, in their documented shapes:
//! `{links, results, totalCount}` pages, the bare array of agent API keys (`_id` or `id`), and a
//! service account's `secrets[].id`.
//!
//! Only the id fields, the links' `rel` and `totalCount` are kept; serde skips everything else
//! without building it, so a page of many megabytes costs little more than its bytes. A page says
//! what it could not read (an item without a readable id, an account without `secrets`): a listing
//! with any such gap proves nothing.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::flavour::ListShape;
use crate::input::{ObjectId, parse_client_id};

/// An item's id as a [`crate::input::Target`] holds it: an ObjectId (a client id's hex part), or an
/// AI model API key's id in two halves.
pub type ListedId = (ObjectId, Option<ObjectId>);

/// The listed AI model key id that `row` spells in another case, if the list holds one. The API
/// compares these ids exactly (they are not hex: the spec's `apiKeyId` is a string, e.g.
/// `a86r5kwrfsk5r5ku5tgvhmpj`), so such a row names no key, and its not-found proves nothing of
/// the listed one.
pub fn spelled_otherwise<'a>(
    row: &str,
    ids: impl IntoIterator<Item = &'a ListedId>,
) -> Option<String> {
    ids.into_iter().find_map(|(first, second)| {
        let second = second.as_ref()?;
        let mut bytes = first.bytes().to_vec();
        bytes.extend(second.bytes());
        let text = String::from_utf8(bytes).ok()?;
        (text != row && text.eq_ignore_ascii_case(row)).then_some(text)
    })
}

/// What one page held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// The ids listed.
    pub ids: Vec<ListedId>,
    /// API keys' `publicKey` beside their id, where the list shows it (a key's lists do).
    pub public_keys: Vec<(ObjectId, String)>,
    /// Items on the page, whether or not their id could be read.
    pub items: usize,
    /// Items whose id field is missing or not an id.
    pub unreadable: usize,
    /// Whether the page links a next one.
    pub next: bool,
    /// `totalCount`, where the answer has one.
    pub total: Option<u64>,
}

/// An id field as sent: kept only when it is a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Text(String),
    Other(IgnoredAny),
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    id: Option<IdValue>,
    #[serde(default, rename = "_id")]
    underscore_id: Option<IdValue>,
    #[serde(default, rename = "clientId")]
    client_id: Option<IdValue>,
    #[serde(default, rename = "apiKeyId")]
    api_key_id: Option<IdValue>,
    #[serde(default, rename = "databaseName")]
    database_name: Option<IdValue>,
    #[serde(default)]
    username: Option<IdValue>,
    #[serde(default, rename = "publicKey")]
    public_key: Option<IdValue>,
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    rel: Option<String>,
}

#[derive(Deserialize)]
struct PagedBody {
    results: Option<Vec<Item>>,
    #[serde(default)]
    links: Vec<Link>,
    #[serde(default, rename = "totalCount")]
    total_count: Option<serde_json::Number>,
}

#[derive(Deserialize)]
struct AccountBody {
    secrets: Option<Vec<Item>>,
}

/// The id of `item` in `field`: exactly an ObjectId, a client id (`mdb_sa_id_` + ObjectId), or
/// (in `apiKeyId`) an AI model API key's id.
fn id_of(item: &Item, field: &str) -> Option<ListedId> {
    if field == super::flavour::DB_USER_ID {
        let (Some(IdValue::Text(db)), Some(IdValue::Text(user))) =
            (&item.database_name, &item.username)
        else {
            return None;
        };
        return crate::vocab::parse_db_user(&format!("{db}/{user}")).map(|(a, b)| (a, Some(b)));
    }
    let value = match field {
        "clientId" => item.client_id.as_ref(),
        "apiKeyId" => item.api_key_id.as_ref(),
        "_id" => item.underscore_id.as_ref().or(item.id.as_ref()),
        _ => item.id.as_ref(),
    }?;
    let IdValue::Text(text) = value else {
        return None;
    };
    if field == "apiKeyId" {
        return crate::vocab::parse_model_key(text).map(|(a, b)| (a, Some(b)));
    }
    ObjectId::parse(text)
        .or_else(|| parse_client_id(text))
        .map(|id| (id, None))
}

fn page_of(items: &[Item], field: &str) -> Page {
    let ids: Vec<ListedId> = items.iter().filter_map(|i| id_of(i, field)).collect();
    let public_keys = items
        .iter()
        .filter_map(|i| match (id_of(i, field), &i.public_key) {
            (Some((id, None)), Some(IdValue::Text(p))) => Some((id, p.clone())),
            _ => None,
        })
        .collect();
    Page {
        public_keys,
        unreadable: items.len() - ids.len(),
        items: items.len(),
        ids,
        ..Page::default()
    }
}

impl Page {
    /// Reads a list answer of shape `shape`; `Err` says why the body is not such a list.
    pub fn parse(shape: ListShape, body: &[u8]) -> Result<Page, String> {
        let not = |what: &'static str| move |e: serde_json::Error| format!("{what} ({e})");
        match shape {
            ListShape::Paged { id_field } => {
                let body: PagedBody = serde_json::from_slice(body)
                    .map_err(not("the list answer is not a page of results"))?;
                let results = body.results.ok_or("the list answer has no results array")?;
                let total = match body.total_count {
                    Some(n) => Some(
                        n.as_u64()
                            .ok_or_else(|| format!("totalCount {n} is not a count"))?,
                    ),
                    None => None,
                };
                Ok(Page {
                    next: body.links.iter().any(|l| l.rel.as_deref() == Some("next")),
                    total,
                    ..page_of(&results, id_field)
                })
            }
            ListShape::BareArray => {
                let items: Vec<Item> = serde_json::from_slice(body)
                    .map_err(not("the list answer is not an array of keys"))?;
                Ok(page_of(&items, "_id"))
            }
            ListShape::Secrets => {
                let account: AccountBody = serde_json::from_slice(body)
                    .map_err(not("the service account answer is not an object"))?;
                // An account read without its secrets is not an account without secrets.
                let secrets = account
                    .secrets
                    .ok_or("the service account was answered without its secrets field")?;
                Ok(page_of(&secrets, "id"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "5f1b2c3d4e5f6a7b8c9d0e1f";

    #[test]
    fn each_documented_shape_reads() {
        let paged = format!(
            r#"{{"links":[{{"rel":"self","href":"x"}},{{"rel":"next","href":"y"}}],"results":[{{"id":"{A}","roles":[{{"x":1}}]}}],"totalCount":900}}"#
        );
        let page = Page::parse(ListShape::Paged { id_field: "id" }, paged.as_bytes()).unwrap();
        assert!(page.next && page.items == 1 && page.total == Some(900));
        assert_eq!(page.ids, vec![(ObjectId::parse(A).unwrap(), None)]);
        let agents = format!(r#"[{{"_id":"{A}","desc":"x","key":"****","createdTime":1}}]"#);
        let page = Page::parse(ListShape::BareArray, agents.as_bytes()).unwrap();
        assert_eq!((page.ids.len(), page.unreadable), (1, 0));
        let clients = format!(r#"{{"results":[{{"clientId":"mdb_sa_id_{A}"}}],"totalCount":1}}"#);
        let page = Page::parse(
            ListShape::Paged {
                id_field: "clientId",
            },
            clients.as_bytes(),
        )
        .unwrap();
        assert!(!page.next && page.ids.contains(&(ObjectId::parse(A).unwrap(), None)));
        let models = br#"{"results":[{"apiKeyId":"a86r5kwrfsk5r5ku5tgvhmpj","name":"x"},{"apiKeyId":"short"},{"apiKeyId":"not/one"}],"totalCount":3}"#;
        let page = Page::parse(
            ListShape::Paged {
                id_field: "apiKeyId",
            },
            models,
        )
        .unwrap();
        // Any id the API lists is read (the spec gives apiKeyId no pattern), never one no URL holds.
        assert_eq!((page.ids.len(), page.unreadable), (2, 1));
        let secrets = format!(r#"{{"clientId":"mdb_sa_id_{A}","secrets":[{{"id":"{A}"}}]}}"#);
        let page = Page::parse(ListShape::Secrets, secrets.as_bytes()).unwrap();
        assert_eq!(page.ids.len(), 1);
        assert!(Page::parse(ListShape::BareArray, b"{}").is_err());
    }

    #[test]
    fn what_cannot_be_read_is_counted_never_skipped() {
        let items = format!(
            r#"{{"results":[{{"id":"{A}"}},{{"id":12}},{{"id":" {A}"}},{{"keyId":"{A}"}}],"totalCount":4}}"#
        );
        let page = Page::parse(ListShape::Paged { id_field: "id" }, items.as_bytes()).unwrap();
        assert_eq!((page.items, page.ids.len(), page.unreadable), (4, 1, 3));
        let err = Page::parse(ListShape::Secrets, br#"{"clientId":"x"}"#).unwrap_err();
        assert!(err.contains("without its secrets field"), "{err}");
        let err = Page::parse(
            ListShape::Paged { id_field: "id" },
            br#"{"results":[],"totalCount":-1}"#,
        )
        .unwrap_err();
        assert!(err.contains("not a count"), "{err}");
    }
}
