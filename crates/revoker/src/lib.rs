//! revoker: revoke MongoDB Cloud Manager, Ops Manager and Atlas credentials in bulk, and prove it.
//!
//! The binary is a thin shell over this library; each module is one concern:
//! [`input`] reads and validates the rows, [`settings`] merges job files, flags, the environment and
//! profiles, [`api`] talks to the API (endpoints per API, digest or bearer auth, classification),
//! [`engine`] schedules the requests (paces, retries, breakers), [`verify`] proves keys are gone,
//! [`report`] records outcomes and evidence, and [`cli`] is the command line. [`vocab`],
//! [`figures`] and [`text`] are small pieces they share; [`fsx`] holds the owner-only, no-follow
//! file primitives. The simulated API is a crate of its own (`revoker-sim`), linked only into
//! `revoker demo` (the default `demo` feature).

pub mod api;
pub mod census;
pub mod cli;
pub mod engine;
pub mod events;
pub mod figures;
pub mod findings;
pub mod fsx;
pub mod guard;
pub mod input;
pub mod job;
pub mod ledger;
pub mod plan;
pub mod report;
pub mod rotate;
pub mod select;
pub mod settings;
pub mod text;
pub mod ui;
pub mod verify;
pub mod vocab;
