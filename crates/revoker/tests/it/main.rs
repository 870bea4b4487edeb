//! revoker's integration tests: one binary, a module per area, each driving the real binary
//! against the simulator on an ephemeral loopback port (shared helpers in `revoker-testkit`).

mod answers;
mod api;
mod bad_input;
mod census;
mod cli;
mod crash;
mod events;
mod evidence;
mod faults;
mod guard;
mod guardrails;
mod hardening;
mod hostile;
mod house;
mod invariants;
mod kinds;
mod leftovers;
mod limits;
mod mcp;
mod misc;
mod newcomer;
mod oauth;
mod operations;
mod operator;
mod orgs;
mod plan;
mod properties;
mod run;
mod select;
mod selection;
mod signed;
mod spec;
mod tls;
mod truth;
mod verification;
