//! Reading one list whole, or saying why it was not. A listing proves a key absent only when it is
//! complete: every page read, what was read agreeing with `totalCount` where the answer has one,
//! every item's id readable. A server that answers short pages without `next`, ignores `pageNum`
//! (every page full, always a `next`), or changes its count between pages gives an incomplete
//! listing, which proves nothing.
//!
//! A 404 proves the whole scope gone only when its code names the scope (`GROUP_NOT_FOUND`,
//! `INVALID_GROUP_ID` for a project's lists, `ORG_NOT_FOUND`, `INVALID_ORG_ID` for an
//! organization's) and it answers the first page. `404 RESOURCE_NOT_FOUND` is also what a server
//! without the endpoint answers (Ops Manager has no service accounts), and a 404 after page 1
//! contradicts page 1: neither is evidence.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::api::{Answer, ListedId, Page};
use crate::api::{ITEMS_PER_PAGE, ListShape, ListSpec};
use crate::engine::{Context, Purpose, go_ahead, with_retries};
use crate::input::{Kind, ObjectId, Scope, Target};

/// Pages read of one list at most, whatever a server says: 5,000,000 items at 500 a page.
pub const MAX_PAGES: u64 = 10_000;

/// List pages read at once. A page may be tens of megabytes; a handful in memory at a time keeps
/// a verification's peak bounded however many lists it reads.
pub const CONCURRENT_PAGES: usize = 4;

/// One list to read: what kind of key, in which scope, and for secrets, which service account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListKey {
    pub kind: Kind,
    pub scope: ObjectId,
    pub client: Option<ObjectId>,
}

impl ListKey {
    /// The list that shows whether `target` still exists.
    pub fn of(target: &Target) -> ListKey {
        ListKey {
            kind: target.kind,
            scope: target.scope,
            client: target.kind.needs_secret().then_some(target.key),
        }
    }

    /// The id by which that list names `target`: its secret's, its key's, or (an AI model API
    /// key) its two halves.
    pub fn listed_id(target: &Target) -> Option<ListedId> {
        match target.kind {
            Kind::AiModelApiKey | Kind::DatabaseUser => Some((target.key, target.secret)),
            k if k.needs_secret() => target.secret.map(|s| (s, None)),
            _ => Some((target.key, None)),
        }
    }
}

/// What reading a list found.
#[derive(Debug)]
pub enum Listed {
    /// Everything the list holds.
    Complete {
        ids: HashSet<ListedId>,
        pages: u64,
        items: u64,
        /// API keys' public keys as the list showed them.
        public_keys: std::collections::HashMap<ObjectId, String>,
    },
    /// The project, organization or service account itself is gone: so is everything in it.
    Gone(String),
    /// The list was answered, but not in a way that proves anything; why.
    Incomplete(String),
    /// The list could not be read.
    Failed(Answer),
}

/// The codes by which a 404 says the scope of a list is gone. Ops Manager itself is never gone,
/// and a project that is gone proves nothing of a secret reached through it: the secret is its
/// organization's service account's, and outlives the project.
fn names_the_scope(kind: Kind, code: &str) -> bool {
    if kind == Kind::ProjectServiceAccountSecret {
        return false;
    }
    match kind.scope() {
        Scope::Org => matches!(code, "ORG_NOT_FOUND" | "INVALID_ORG_ID"),
        Scope::Project => matches!(code, "GROUP_NOT_FOUND" | "INVALID_GROUP_ID"),
        Scope::Global => false,
    }
}

/// The list's request, as the client sends it.
pub fn spec(ctx: &Context, key: &ListKey) -> ListSpec {
    let client = ctx.client();
    let client_id = key.client.map(|c| {
        if key.kind.is_mcp() {
            c.to_string()
        } else {
            format!("{}{c}", crate::input::CLIENT_ID_PREFIX)
        }
    });
    client.api().list(
        client.base_url(),
        key.kind,
        &key.scope,
        client_id.as_deref(),
        client.envelope(),
    )
}

/// Where paging stands: the one rule for when a list has been read whole.
#[derive(Default)]
pub struct Progress {
    ids: HashSet<ListedId>,
    public_keys: std::collections::HashMap<ObjectId, String>,
    items: u64,
    total: Option<u64>,
}

impl Progress {
    /// Takes page `page`; `Ok(true)` when the listing is complete, `Ok(false)` when another page
    /// is to be read, `Err` when it can never be complete.
    pub fn take(&mut self, page: u64, p: Page, paged: bool) -> Result<bool, String> {
        if p.unreadable > 0 {
            return Err(format!(
                "page {page} listed {} of its {} items without a readable id",
                p.unreadable, p.items
            ));
        }
        match (page, self.total, p.total) {
            (1, _, t) => self.total = t,
            (_, Some(before), Some(now)) if before != now => {
                return Err(format!(
                    "totalCount changed from {before} to {now} between pages"
                ));
            }
            (_, Some(_), None) => return Err(format!("page {page} has no totalCount")),
            _ => {}
        }
        if p.items == 0 && p.next {
            return Err(format!("page {page} is empty yet links a next page"));
        }
        let before = self.ids.len();
        self.ids.extend(p.ids);
        self.public_keys.extend(p.public_keys);
        self.items += p.items as u64;
        let added = (self.ids.len() - before) as u64;
        if p.items > 0 && added == 0 && page > 1 {
            return Err(format!(
                "page {page} repeats only ids of earlier pages (the server seems to ignore pageNum)"
            ));
        }
        if !paged {
            return Ok(true);
        }
        let read = self.ids.len() as u64;
        let more = p.next || (p.items >= ITEMS_PER_PAGE && self.total.is_none_or(|t| read < t));
        match self.total {
            Some(t) if read > t => Err(format!("{read} ids listed where totalCount says {t}")),
            Some(t) if !more && read < t => Err(format!(
                "{read} of the {t} items totalCount counts were listed, and page {page} links no next page"
            )),
            _ if !more => Ok(true),
            Some(t) if page > t.div_ceil(ITEMS_PER_PAGE as u64) => Err(format!(
                "page {page} still links a next page, past the {} that totalCount {t} needs",
                t.div_ceil(ITEMS_PER_PAGE as u64)
            )),
            _ if page >= MAX_PAGES => Err(format!("more than {MAX_PAGES} pages")),
            _ => Ok(false),
        }
    }
}

/// Reads the list of `key` page by page, with the run's retries and pacing.
pub async fn read_list(ctx: &Arc<Context>, key: ListKey, pages: &Semaphore) -> Listed {
    let client = ctx.client().clone();
    let spec = spec(ctx, &key);
    let paged = matches!(spec.shape, ListShape::Paged { .. });
    let mut progress = Progress::default();
    let mut page = 1u64;
    loop {
        let Some(dispatch) = go_ahead(ctx, key.scope).await else {
            return Listed::Failed(Answer::transient(None, "", "the run stopped", None));
        };
        let Ok(_permit) = pages.acquire().await else {
            return Listed::Failed(Answer::transient(None, "", "the run stopped", None));
        };
        let shape = spec.shape;
        let attempted = with_retries(
            ctx,
            (key.scope, Purpose::Read),
            dispatch,
            || client.list_page(&spec, page as usize),
            |reply| match &reply.answer {
                Answer::Done { .. } => {
                    Page::parse(shape, &reply.body).map_err(|why| Answer::Rejected {
                        status: reply.answer.http_status().unwrap_or(200),
                        code: String::new(),
                        detail: why,
                    })
                }
                other => Err(other.clone()),
            },
        )
        .await;
        match attempted.result {
            Ok(p) => match progress.take(page, p, paged) {
                Ok(true) => {
                    return Listed::Complete {
                        items: progress.items,
                        ids: progress.ids,
                        pages: page,
                        public_keys: progress.public_keys,
                    };
                }
                Ok(false) => page += 1,
                Err(why) => return Listed::Incomplete(why),
            },
            Err(Answer::NotFound {
                status,
                code,
                detail,
            }) => {
                let why = format!("HTTP {status} {code}: {detail}");
                return if page == 1 && names_the_scope(key.kind, &code) {
                    Listed::Gone(why)
                } else if page == 1 {
                    Listed::Incomplete(format!(
                        "{why} (a not-found that does not name the {} proves nothing about its keys)",
                        key.kind.scope().as_str()
                    ))
                } else {
                    Listed::Incomplete(format!("page {page} answered {why} after page 1 listed"))
                };
            }
            Err(answer) => return Listed::Failed(answer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(ids: std::ops::Range<u8>, next: bool, total: Option<u64>) -> Page {
        let ids: Vec<ListedId> = ids.map(|n| (ObjectId::from_bytes([n; 12]), None)).collect();
        Page {
            items: ids.len(),
            ids,
            unreadable: 0,
            next,
            total,
            public_keys: Vec::new(),
        }
    }

    #[test]
    fn a_listing_is_complete_only_when_it_agrees_with_its_count() {
        let mut p = Progress::default();
        assert_eq!(p.take(1, page(0..3, false, Some(3)), true), Ok(true));

        let mut p = Progress::default();
        let err = p.take(1, page(0..3, false, Some(600)), true).unwrap_err();
        assert!(err.starts_with("3 of the 600 items"), "{err}");

        // Every page the first, always a next: stopped at page 2.
        let mut p = Progress::default();
        assert_eq!(p.take(1, page(0..3, true, None), true), Ok(false));
        let err = p.take(2, page(0..3, true, None), true).unwrap_err();
        assert!(err.contains("ignore pageNum"), "{err}");

        let mut p = Progress::default();
        assert_eq!(p.take(1, page(0..3, true, Some(6)), true), Ok(false));
        let err = p.take(2, page(3..6, false, Some(7)), true).unwrap_err();
        assert!(err.contains("totalCount changed"), "{err}");

        let mut p = Progress::default();
        let mut unreadable = page(0..3, false, Some(4));
        unreadable.items = 4;
        unreadable.unreadable = 1;
        assert!(p.take(1, unreadable, true).is_err());
    }

    #[test]
    fn an_empty_page_with_a_next_link_is_never_followed() {
        let mut p = Progress::default();
        let err = p.take(1, page(0..0, true, None), true).unwrap_err();
        assert_eq!(err, "page 1 is empty yet links a next page");
    }

    #[test]
    fn a_next_link_that_never_ends_stops_past_what_the_count_allows() {
        let mut p = Progress::default();
        for n in 1..=2u64 {
            let start = ((n - 1) * 3) as u8;
            assert_eq!(
                p.take(n, page(start..start + 3, true, Some(1000)), true),
                Ok(false)
            );
        }
        let err = p.take(3, page(6..9, true, Some(1000)), true).unwrap_err();
        assert_eq!(
            err,
            "page 3 still links a next page, past the 2 that totalCount 1000 needs"
        );
    }
}
