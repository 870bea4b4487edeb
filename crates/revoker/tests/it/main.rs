//! revoker's integration tests: one binary, a module per area, each driving the real binary
//! against the simulator on an ephemeral loopback port (shared helpers in `revoker-testkit`).

mod answers;
mod api;
mod bad_input;
mod cli;
mod crash;
mod evidence;
mod faults;
mod guard;
mod hardening;
mod hostile;
mod house;
mod invariants;
mod kinds;
mod limits;
mod misc;
mod newcomer;
mod oauth;
mod operations;
mod operator;
mod orgs;
mod plan;
mod properties;
mod rotate;
mod run;
mod select;
mod selection;
mod signed;
mod tls;
mod truth;
mod verification;
