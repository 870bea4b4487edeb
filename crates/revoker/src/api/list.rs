//! Reading the list endpoints verification uses, in their documented shapes:
//! `{links, results, totalCount}` pages, the bare array of agent API keys (`_id` or `id`), and a
//! service account's `secrets[].id`.

use std::collections::HashSet;

use serde_json::Value;

use super::flavour::{ITEMS_PER_PAGE, ListShape};
use crate::input::{ObjectId, parse_client_id};

/// What one page held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// The ids listed (a client id's hex part for service accounts).
    pub ids: HashSet<ObjectId>,
    /// Items on the page, whether or not their id could be read.
    pub items: usize,
    /// Whether another page follows.
    pub more: bool,
}

impl Page {
    /// Reads page `page` of a list of shape `shape`; `Err` says why the body is not such a list.
    pub fn parse(shape: ListShape, body: &[u8], page: usize) -> Result<Page, String> {
        let value: Value =
            serde_json::from_slice(body).map_err(|_| "the list answer is not JSON".to_string())?;
        let id_of = |item: &Value, fields: &[&str]| -> Option<ObjectId> {
            fields.iter().find_map(|f| {
                let text = item.get(*f)?.as_str()?;
                ObjectId::parse(text).or_else(|| parse_client_id(text))
            })
        };
        match shape {
            ListShape::Paged { id_field } => {
                let results = value
                    .get("results")
                    .and_then(Value::as_array)
                    .ok_or("the list answer has no results array")?;
                let next = value
                    .get("links")
                    .and_then(Value::as_array)
                    .is_some_and(|links| {
                        links
                            .iter()
                            .any(|l| l.get("rel").and_then(Value::as_str) == Some("next"))
                    });
                let total = value.get("totalCount").and_then(Value::as_u64);
                // Without a next link, a full page with more counted than read also means more.
                let more = next
                    || (results.len() >= ITEMS_PER_PAGE
                        && total.is_none_or(|t| t > (page * ITEMS_PER_PAGE) as u64));
                Ok(Page {
                    ids: results
                        .iter()
                        .filter_map(|i| id_of(i, &[id_field]))
                        .collect(),
                    items: results.len(),
                    more,
                })
            }
            ListShape::BareArray => {
                let items = value.as_array().ok_or("the list answer is not an array")?;
                Ok(Page {
                    ids: items
                        .iter()
                        .filter_map(|i| id_of(i, &["_id", "id"]))
                        .collect(),
                    items: items.len(),
                    more: false,
                })
            }
            ListShape::Secrets => {
                let secrets = value
                    .get("secrets")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                Ok(Page {
                    ids: secrets.iter().filter_map(|i| id_of(i, &["id"])).collect(),
                    items: secrets.len(),
                    more: false,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_documented_shape_reads() {
        let a = "5f1b2c3d4e5f6a7b8c9d0e1f";
        let paged = format!(
            r#"{{"links":[{{"rel":"self","href":"x"}},{{"rel":"next","href":"y"}}],"results":[{{"id":"{a}"}}],"totalCount":900}}"#
        );
        let page = Page::parse(ListShape::Paged { id_field: "id" }, paged.as_bytes(), 1).unwrap();
        assert!(page.more && page.items == 1 && page.ids.contains(&ObjectId::parse(a).unwrap()));
        let agents = format!(r#"[{{"_id":"{a}","desc":"x","key":"****","createdTime":1}}]"#);
        let page = Page::parse(ListShape::BareArray, agents.as_bytes(), 1).unwrap();
        assert_eq!(page.ids.len(), 1);
        let clients = format!(r#"{{"results":[{{"clientId":"mdb_sa_id_{a}"}}],"totalCount":1}}"#);
        let page = Page::parse(
            ListShape::Paged {
                id_field: "clientId",
            },
            clients.as_bytes(),
            1,
        )
        .unwrap();
        assert!(!page.more && page.ids.contains(&ObjectId::parse(a).unwrap()));
        let secrets = format!(r#"{{"clientId":"mdb_sa_id_{a}","secrets":[{{"id":"{a}"}}]}}"#);
        assert_eq!(
            Page::parse(ListShape::Secrets, secrets.as_bytes(), 1)
                .unwrap()
                .ids
                .len(),
            1
        );
        assert!(Page::parse(ListShape::BareArray, b"{}", 1).is_err());
    }
}
