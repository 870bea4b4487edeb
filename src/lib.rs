//! revoker: revoke MongoDB Cloud Manager / Ops Manager API keys in bulk.
//!
//! The binary is a thin shell over this library; each module is one concern:
//! [`input`] reads the rows, [`api`] talks to the API, [`engine`] schedules the requests,
//! [`report`] records the outcomes, [`job`] merges job files, flags and credentials, [`cli`] is the
//! command line, and [`sim`] is the simulated Cloud Manager used by tests, benchmarks and the demo.

pub mod api;
pub mod cli;
pub mod demo;
pub mod engine;
pub mod input;
pub mod job;
pub mod report;
pub mod sim;
