//! `run --plan-file PLAN`: a reviewed plan applied as reviewed. Before anything is read or sent
//! the plan is refused (exit 2) when it is older than `plan_max_age`, was made against another
//! server, credential or input, or its signature does not verify. Then live state is read again
//! (the same lists a plan reads) and only rows the plan said will be revoked and that still exist
//! as planned may be sent; every other row that would reach a DELETE is held by the guard: the
//! outcome `drifted` when its state changed since the plan (gone, reappeared, moved away, its list
//! now unreadable, or unreadable at both readings: its state cannot be shown unchanged), and
//! `not_found` when the plan and the fresh reading both show it gone. `skipped` is never written:
//! it belongs to reports of old revokers. The signature rule: a plan with a signature beside it
//! (`PLAN.minisig`) is applied only when `--plan-public-key` verifies it; a public key given for
//! a plan without a signature is refused too.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use crate::guard::{Bound, Guard};
use crate::input::{Identity, Kind, ObjectId, Scope, Survey};
use crate::job::{Failure, PreparedJob};
use crate::plan::Fate;
use crate::plan::file::PlanFile;
use crate::report::Outcome;
use crate::verify::Readers;
use crate::vocab::ExitCode as _;

/// A plan file read and checked.
#[derive(Debug)]
pub struct Applied {
    pub path: PathBuf,
    pub sha256: String,
    pub file: PlanFile,
    /// The key that signed it, when it is signed (and verified).
    pub signed_by: Option<String>,
}

/// What binding a run to its plan found, for the cap, the question and the summary.
#[derive(Debug, Default)]
pub struct Binding {
    /// The plan's "will be revoked": what the cap and the question count.
    pub will_revoke: u64,
    /// Of those, still as planned: what may be sent.
    pub sending: u64,
    /// `line N: row: why` of every drifted row.
    pub drifted: Vec<String>,
    /// Rows to send per kind, and the organizations and projects they are in.
    pub kinds: BTreeMap<Kind, u64>,
    pub scopes: (u64, u64),
    /// Organizations the rows to send are in, where known (their own scope, a cell).
    pub orgs: BTreeSet<ObjectId>,
    /// API keys' public keys as the fresh reading listed them.
    pub public_keys: HashMap<Identity, String>,
}

/// Reads the plan of `--plan-file` and refuses it (exit 2) when it may not be applied here.
pub fn load(job: &PreparedJob, path: &std::path::Path) -> Result<Applied, Failure> {
    let settings = &job.settings;
    let (file, sha256, bytes) = PlanFile::read(path)?;
    let refuse = |why: String| {
        Failure::usage(format!(
            "{}: not applied, nothing was sent: {why}",
            path.display()
        ))
    };
    let sig = PathBuf::from(format!("{}.minisig", path.display()));
    let signed_by = match (&settings.run.plan_public_key, sig.exists()) {
        (Some(public), true) => Some(
            crate::report::signature::check_file(path, &bytes, public)
                .map_err(|e| refuse(e.to_string()))?,
        ),
        (Some(_), false) => {
            return Err(refuse(format!(
                "a public key was given and the plan is not signed ({} is missing)",
                sig.display()
            )));
        }
        (None, true) => {
            return Err(refuse(format!(
                "it is signed ({}): pass --plan-public-key (plan_public_key in a job) to check it",
                sig.display()
            )));
        }
        (None, false) => None,
    };
    file.consistent().map_err(&refuse)?;
    check_age(&file, settings.run.plan_max_age).map_err(&refuse)?;
    let base_url = settings.base_url.to_string();
    if file.base_url != base_url {
        return Err(refuse(format!(
            "it was made against {}, and this run is against {base_url}",
            file.base_url
        )));
    }
    let identity = super::plan::acting_identity(settings);
    if file.credential != identity {
        return Err(refuse(format!(
            "it was made as {}, and this run acts as {identity}",
            file.credential
        )));
    }
    if file.input_sha256 != job.source.sha256() {
        return Err(refuse(format!(
            "it was made from an input with SHA-256 {}, and this input ({}) has {}",
            file.input_sha256,
            job.source.name(),
            job.source.sha256()
        )));
    }
    Ok(Applied {
        path: crate::report::canonical(path),
        sha256,
        file,
        signed_by,
    })
}

fn check_age(file: &PlanFile, max: std::time::Duration) -> Result<(), String> {
    let made: jiff::Timestamp = file
        .made_at
        .parse()
        .map_err(|e| format!("its time {:?} cannot be read: {e}", file.made_at))?;
    let age = jiff::Timestamp::now().duration_since(made);
    let age = std::time::Duration::try_from(age).map_err(|_| {
        format!(
            "it was made at {}, in the future of this machine's clock",
            file.made_at
        )
    })?;
    if age > max {
        return Err(format!(
            "it was made at {}, {} ago, more than plan_max_age {} (make a new plan and have it reviewed)",
            file.made_at,
            humantime::format_duration(std::time::Duration::from_secs(age.as_secs())),
            humantime::format_duration(max)
        ));
    }
    Ok(())
}

/// Reads live state again with the run's `guard`, and binds the guard to the rows the plan will
/// revoke that are still as planned. The fresh reading is recorded in the report's audit file.
pub async fn bind(
    job: &PreparedJob,
    applied: &Applied,
    (report, readers): (&std::path::Path, &Readers),
    guard: Guard,
    (survey, finished): (&Survey, &HashSet<Identity>),
) -> Result<(Guard, Binding), Failure> {
    let settings = &job.settings;
    let inputs = (&*job.source, &guard, &*survey.conflicts);
    let mut live = super::plan::live_plan(settings, readers, inputs, finished).await?;
    super::plan::record(settings, report, (&job.source, &job.exempt), &live)?;
    if let Some(reason) = readers.stopped() {
        return Err(Failure::new(
            reason.exit_code(),
            anyhow::anyhow!("reading live state again stopped: {reason}; nothing was sent"),
        ));
    }
    let public_keys = std::mem::take(&mut live.public_keys);
    let now: HashMap<u64, Fate> = live.lines.iter().map(|(l, _, f)| (*l, *f)).collect();
    let planned = applied.file.fates();
    let mut binding = Binding {
        will_revoke: applied.file.will_revoke,
        public_keys,
        ..Binding::default()
    };
    let (mut send, mut held) = (HashSet::new(), HashMap::new());
    let mut scopes = HashSet::new();
    job.source.scan(&job.opts.every_kind(), &mut |entry| {
        let Ok(target) = entry.target else {
            return ControlFlow::Continue(());
        };
        let (Some(live), Some(was)) = (now.get(&entry.line), planned.get(&entry.line)) else {
            return ControlFlow::Continue(());
        };
        if decided_elsewhere(*was, *live) {
            return ControlFlow::Continue(());
        }
        match judge(*was, *live, &applied.file.made_at) {
            None => {
                send.insert(target.identity());
                *binding.kinds.entry(target.kind).or_default() += 1;
                scopes.insert((target.kind.scope() == Scope::Org, target.scope));
                match (target.kind.scope(), entry.org) {
                    (Scope::Org, _) => binding.orgs.insert(target.scope),
                    (_, Some(org)) => binding.orgs.insert(org),
                    _ => false,
                };
            }
            Some((outcome, why)) => {
                if outcome == Outcome::Drifted {
                    binding
                        .drifted
                        .push(format!("{}: {target}: {why}", job.source.place(entry.line)));
                }
                held.insert(target.identity(), (outcome, why));
            }
        }
        ControlFlow::Continue(())
    })?;
    binding.sending = send.len() as u64;
    let orgs = scopes.iter().filter(|(org, _)| *org).count() as u64;
    binding.scopes = (scopes.len() as u64 - orgs, orgs);
    Ok((guard.bound_to(Arc::new(Bound::new(send, held))), binding))
}

/// Whether a row the plan and live state agree on is decided before the plan is consulted: an
/// exemption, the run's own credential, a protection (the guard), a later copy (its first
/// line), a row finished, invalid or of a kind not allowed (the input). Such a row did not drift,
/// and holding it here would name it among the drifted.
fn decided_elsewhere(was: Fate, now: Fate) -> bool {
    was == now
        && matches!(
            was,
            Fate::Exempt
                | Fate::Own
                | Fate::Protected
                | Fate::Duplicate
                | Fate::Finished
                | Fate::Invalid
                | Fate::NotAllowed
        )
}

/// What becomes of a row the plan gave `was` and live state gives `now`: `None` to send it.
fn judge(was: Fate, now: Fate, made_at: &str) -> Option<(Outcome, String)> {
    let drifted = |what: &str| {
        Some((
            Outcome::Drifted,
            format!(
                "{what} since the plan of {made_at}: never sent (the plan said {}, live state says {})",
                was.as_str(),
                now.as_str()
            ),
        ))
    };
    match (was, now) {
        (Fate::Revoke, Fate::Revoke) => None,
        (Fate::Gone, Fate::Gone) => Some((
            Outcome::NotFound,
            format!("gone at the plan of {made_at} and again before this run: not sent"),
        )),
        (Fate::Revoke, Fate::Gone) => drifted("gone (or moved away)"),
        (Fate::Revoke, Fate::Cannot | Fate::Unknown) => {
            drifted("its list cannot be read whole now")
        }
        (_, Fate::Revoke) => drifted("it appeared (or reappeared)"),
        (a, b) if a == b => Some((
            Outcome::Drifted,
            format!(
                "not among the rows the plan of {made_at} will revoke ({}), nor shown unchanged since: never sent",
                a.meaning()
            ),
        )),
        _ => drifted("its state changed"),
    }
}

/// Names every drifted row before anything is sent (the report has each with its outcome too).
pub fn say_drifted(binding: &Binding) {
    if binding.drifted.is_empty() {
        return;
    }
    tracing::warn!(
        "{} of the plan's rows drifted since it was made and will not be sent:\n  {}",
        binding.drifted.len(),
        binding.drifted.join("\n  ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_refused_or_skipped_alike_in_the_plan_and_now_is_not_drifted() {
        for fate in [Fate::Own, Fate::Exempt, Fate::Duplicate, Fate::Protected] {
            assert!(decided_elsewhere(fate, fate), "{fate:?}");
        }
        for (was, now) in [
            (Fate::Revoke, Fate::Revoke),
            (Fate::Gone, Fate::Gone),
            (Fate::Revoke, Fate::Own),
            (Fate::Own, Fate::Revoke),
        ] {
            assert!(!decided_elsewhere(was, now), "{was:?} {now:?}");
        }
    }

    #[test]
    fn only_a_row_planned_and_still_there_is_sent_and_every_change_drifts() {
        let at = "2026-12-02T10:00:00.000Z";
        assert_eq!(judge(Fate::Revoke, Fate::Revoke, at), None);
        for (was, now) in [
            (Fate::Revoke, Fate::Gone),
            (Fate::Revoke, Fate::Cannot),
            (Fate::Revoke, Fate::Unknown),
            (Fate::Gone, Fate::Revoke),
            (Fate::Cannot, Fate::Revoke),
            (Fate::Exempt, Fate::Revoke),
            (Fate::Gone, Fate::Cannot),
        ] {
            let (outcome, why) = judge(was, now, at).unwrap();
            assert_eq!(outcome, Outcome::Drifted, "{was:?} → {now:?}");
            assert!(why.contains("never sent"), "{why}");
        }
        assert_eq!(
            judge(Fate::Gone, Fate::Gone, at).unwrap().0,
            Outcome::NotFound
        );
        assert_eq!(
            judge(Fate::Cannot, Fate::Cannot, at).unwrap().0,
            Outcome::Drifted
        );
    }
}
