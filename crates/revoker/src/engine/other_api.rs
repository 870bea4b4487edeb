//! A run against the wrong one of MongoDB's two APIs. A project or organization of the other API
//! answers 404 `NOT_ATLAS_GROUP`, `NOT_ATLAS_ORG`, `ATLAS_GROUP` or `EXPECTED_NON_ATLAS_ORG`: it
//! exists, elsewhere. One such scope among others is that scope's rows only (`rejected`); when
//! every scope tried answers so and none answered as this API's own, the base URL is the wrong API
//! and the run stops as for a wrong base URL (exit 2), naming the one that reaches them.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::api::{Answer, Api};
use crate::input::ObjectId;

/// Scopes of the other API (with none of this API's) before the run stops; fewer when the run has
/// fewer, down to one: every row of a single-project run answering so is the whole run.
const OTHER_API_SCOPES_TO_STOP: u64 = 3;

#[derive(Default)]
struct State {
    scopes: HashSet<ObjectId>,
    own: bool,
}

/// Counts the scopes that answered as the other API's.
pub struct OtherApi {
    state: Mutex<State>,
    needed: u64,
}

impl OtherApi {
    pub fn new(scopes: u64) -> OtherApi {
        OtherApi {
            state: Mutex::new(State::default()),
            needed: OTHER_API_SCOPES_TO_STOP.min(scopes).max(1),
        }
    }

    /// Counts an answer from `scope`; answers the other API and how many scopes said so, once
    /// that is every scope tried and enough to stop.
    pub fn answered(&self, scope: ObjectId, answer: &Answer) -> Option<(Api, usize)> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(answer, Answer::Done { .. } | Answer::NotFound { .. }) {
            st.own = true;
            return None;
        }
        let other = answer.other_api()?;
        if st.own {
            return None;
        }
        st.scopes.insert(scope);
        (st.scopes.len() as u64 >= self.needed).then_some((other, st.scopes.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn other(code: &str) -> Answer {
        Answer::Rejected {
            status: 404,
            code: code.into(),
            detail: String::new(),
        }
    }

    #[test]
    fn every_scope_of_the_other_api_stops_but_one_among_this_apis_does_not() {
        let id = |n: u8| ObjectId::from_bytes([n; 12]);
        let o = OtherApi::new(1);
        assert_eq!(
            o.answered(id(1), &other("NOT_ATLAS_GROUP")),
            Some((Api::CloudManager, 1))
        );
        let o = OtherApi::new(10);
        assert_eq!(o.answered(id(1), &other("ATLAS_GROUP")), None);
        assert_eq!(o.answered(id(2), &other("ATLAS_GROUP")), None);
        assert_eq!(
            o.answered(id(3), &other("EXPECTED_NON_ATLAS_ORG")),
            Some((Api::Atlas, 3))
        );
        let o = OtherApi::new(10);
        o.answered(id(9), &Answer::Done { status: 204 });
        for n in 1..5 {
            assert_eq!(o.answered(id(n), &other("NOT_ATLAS_ORG")), None);
        }
        assert_eq!(
            OtherApi::new(5).answered(id(1), &other("GROUP_NOT_FOUND")),
            None
        );
    }
}
