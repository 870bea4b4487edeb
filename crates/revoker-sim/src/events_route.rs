//! The routes of [`crate::events`]: parsing their paths and serving them. Database users are
//! Atlas's (`deleteDatabaseUser`, `listDatabaseUsers`); events are both APIs' (Cloud Manager's
//! "Events" resource and Atlas's `listOrgEvents` / `listGroupEvents`).

use hyper::Method;

use super::ListFault;
use super::events::{Log, percent_decode};
use super::hostile::Hostile;
use super::lists::ListRequest;
use super::model::Kind;
use super::routes::{Flavour, Route, SimAnswer, scope_id};
use super::state::{Counters, World};

/// What serving needs of the request and the server.
pub(super) struct Context<'a> {
    pub path: &'a str,
    pub page: Option<&'a str>,
    pub per_page: Option<&'a str>,
    pub query: &'a str,
    pub user: &'a str,
    pub faults: &'a [ListFault],
    pub hostile: &'a Hostile,
    pub caller: &'a str,
    pub counters: &'a Counters,
}

/// The route of an events or database-user path, if it is one.
pub(super) fn parse(flavour: Flavour, method: &Method, parts: &[&str]) -> Option<Route> {
    let scope = |text: &str, kind| scope_id(text, kind);
    let route = match (method, parts) {
        (&Method::GET, ["orgs", o, "events"]) => {
            scope(o, Kind::OrgApiKey).map(|o| Route::Events(true, o))
        }
        (&Method::GET, ["groups", g, "events"]) => {
            scope(g, Kind::ProjectApiKey).map(|g| Route::Events(false, g))
        }
        (&Method::GET, ["groups", g, "databaseUsers"]) if flavour == Flavour::V2 => {
            scope(g, Kind::ProjectApiKey).map(Route::DbUsers)
        }
        (&Method::DELETE, ["groups", g, "databaseUsers", db, user]) if flavour == Flavour::V2 => {
            let names = percent_decode(db).zip(percent_decode(user));
            scope(g, Kind::ProjectApiKey).map(|g| match names {
                Some((db, user)) => Route::DeleteDbUser(g, db, user),
                None => Route::Answer(SimAnswer::error(
                    400,
                    "INVALID_PARAMETER",
                    "The database user's name is not a valid path segment.".into(),
                    "Bad Request",
                )),
            })
        }
        _ => return None,
    };
    Some(route.unwrap_or_else(Route::Answer))
}

/// Serves an events or database-user route.
pub(super) fn serve(world: &World, log: &Log, route: Route, cx: Context<'_>) -> SimAnswer {
    use std::sync::atomic::Ordering;
    let request = |kind, scope| ListRequest {
        kind,
        scope,
        parent: None,
        page: cx.page,
        per_page: cx.per_page,
        include_system_managed: false,
        self_url: cx.path,
        caller: cx.caller,
        faults: cx.faults,
        hostile: cx.hostile,
    };
    match route {
        Route::Events(org, scope) => {
            cx.counters.lists.fetch_add(1, Ordering::Relaxed);
            let exists = if org {
                world.org_exists(&scope)
            } else {
                world.project_org(&scope).is_some()
            };
            let kind = if org {
                Kind::OrgApiKey
            } else {
                Kind::ProjectApiKey
            };
            log.list(org, exists, &request(kind, scope), cx.query)
        }
        Route::DbUsers(scope) => {
            cx.counters.lists.fetch_add(1, Ordering::Relaxed);
            let exists = world.project_org(&scope).is_some();
            log.users(exists, &request(Kind::ProjectApiKey, scope))
        }
        Route::DeleteDbUser(scope, db, user) => {
            cx.counters.deletes.fetch_add(1, Ordering::Relaxed);
            let org = world.project_org(&scope);
            let answer = log.delete_user(org.is_some(), scope, (db, user), cx.user, org);
            let counter = if answer.status == 204 {
                &cx.counters.deleted
            } else {
                &cx.counters.not_found
            };
            counter.fetch_add(1, Ordering::Relaxed);
            answer
        }
        Route::Answer(answer) => answer,
        _ => super::routes::not_found(cx.path),
    }
}
