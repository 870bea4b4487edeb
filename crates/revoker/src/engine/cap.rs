//! The cap at send time. `max_revocations` is checked before anything is sent, from the rows or
//! from the plan; but a plan counts rows its lists showed gone as nothing to revoke, and a list can
//! be wrong. So the engine also holds the run to the cap as it sends: a DELETE goes only with a
//! place reserved, a place is given back only when the answer proves nothing was destroyed (a
//! not-found, a refusal), and once the cap's revocations are spent no further DELETE is sent.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit};

/// The revocations one run may still make, shared by its engines (one per credential).
pub struct SendCap {
    max: u64,
    places: Semaphore,
    spent: AtomicU64,
    /// A row the plan showed gone was revoked: its listings are not evidence any more.
    plan_refuted: AtomicBool,
}

impl SendCap {
    pub fn new(max: u64) -> SendCap {
        let places = usize::try_from(max)
            .unwrap_or(Semaphore::MAX_PERMITS)
            .min(Semaphore::MAX_PERMITS);
        let cap = SendCap {
            max,
            places: Semaphore::new(places),
            spent: AtomicU64::new(0),
            plan_refuted: AtomicBool::new(false),
        };
        if max == 0 {
            cap.places.close();
        }
        cap
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// A row the plan showed gone was revoked after all.
    pub(super) fn refute_plan(&self) {
        self.plan_refuted.store(true, Ordering::SeqCst);
    }

    /// Whether the plan's "gone" may still stand for a row the cap no longer lets the run send.
    pub(super) fn plan_stands(&self) -> bool {
        !self.plan_refuted.load(Ordering::SeqCst)
    }

    /// A place for one DELETE, waiting for one in flight to settle; `None` once every place is
    /// spent.
    pub(super) async fn reserve(&self) -> Option<SemaphorePermit<'_>> {
        self.places.acquire().await.ok()
    }

    /// Settles a DELETE's place: given back when nothing was destroyed, spent when something
    /// may have been (a 2xx, a not-found after a lost answer, a request sent whose answer never
    /// came).
    pub(super) fn settle(&self, place: SemaphorePermit<'_>, may_have_destroyed: bool) {
        if !may_have_destroyed {
            return;
        }
        place.forget();
        if self.spent.fetch_add(1, Ordering::SeqCst) + 1 >= self.max {
            self.places.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn places_come_back_only_when_nothing_was_destroyed() {
        let cap = SendCap::new(2);
        for _ in 0..5 {
            let place = cap.reserve().await.unwrap();
            cap.settle(place, false);
        }
        let place = cap.reserve().await.unwrap();
        cap.settle(place, true);
        let place = cap.reserve().await.unwrap();
        cap.settle(place, true);
        assert!(cap.reserve().await.is_none());
        assert!(SendCap::new(0).reserve().await.is_none());
    }
}
