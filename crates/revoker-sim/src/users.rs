//! `GET groups/{p}/databaseUsers` (v2, `listDatabaseUsers`, Accept 2023-01-01): the project's
//! database users, `{links, results: [{username, databaseName, …}], totalCount}`. The simulator
//! holds none; the list is there so that a census of a project it has reads whole.

use super::lists::{ListRequest, missing_scope, page_of};
use super::model::Kind;
use super::routes::SimAnswer;
use super::state::World;

pub(super) fn list(world: &World, req: &ListRequest<'_>) -> SimAnswer {
    if world.project_org(&req.scope).is_none() {
        return missing_scope(Kind::ProjectApiKey, &req.scope);
    }
    page_of(req, 0, "username", &mut |_, _| Vec::new())
}
