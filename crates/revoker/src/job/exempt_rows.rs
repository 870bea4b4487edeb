//! Exempt rows (and rows a reviewed plan holds back, `run --plan-file`) are written before the first DELETE, not as the engine reaches them: a run stopped
//! early (a signal, refused credentials) then never leaves one unwritten, so neither `--resume`
//! (with or without the exemption list) nor `report --failures` can take an exempt row for one
//! never attempted and send it.

use std::collections::HashSet;
use std::ops::ControlFlow;

use crate::figures::Figures;
use crate::guard::{Guard, Verdict};
use crate::input::{Identity, InputOptions, Source};
use crate::job::Failure;
use crate::job::session::Session;
use crate::report::{Outcome, Record};

/// Writes every exempt row of `source` the report has not finished; answers how many.
pub fn write(
    session: &Session,
    (source, opts): (&Source, &InputOptions),
    guard: &Guard,
    finished: &HashSet<Identity>,
    figures: &Figures,
) -> Result<u64, Failure> {
    let sink = session.sink_clone();
    let mut written = 0;
    source.scan(opts, &mut |entry| {
        let Ok(target) = entry.target else {
            return ControlFlow::Continue(());
        };
        if finished.contains(&target.identity()) {
            return ControlFlow::Continue(());
        }
        let (outcome, message) = match guard.decide_at(&target, entry.org) {
            Verdict::Exempt(message) => (Outcome::Exempt, message),
            Verdict::Held(outcome, message) => (outcome, message),
            _ => return ControlFlow::Continue(()),
        };
        let record = Record::new(&session.run_id, entry.line, outcome, message).naming(&target);
        if !sink.send(record) {
            // The writer stopped on an I/O error: joining the session reports it.
            return ControlFlow::Break(());
        }
        figures.add_outcome(outcome);
        written += 1;
        ControlFlow::Continue(())
    })?;
    Ok(written)
}
