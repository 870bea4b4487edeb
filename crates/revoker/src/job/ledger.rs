//! A run with the job's ledger: the rows owed from earlier nights read after the input's own
//! ([`attach`]), every row given to the run recorded as owed before anything is sent
//! ([`owe_before`]), and the ledger settled against the report once the run (and its
//! verification) has ended ([`settle_after`]): finished rows leave, the rest count a night.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::input::Exemptions;
use crate::input::{Entry, Identity, InputOptions, ObjectId, Source};
use crate::job::Failure;
use crate::ledger::{self, Latest, Ledger, clock};
use crate::settings::Settings;
use crate::settings::{ExpiredExemptions, LedgerSetting};

/// The ledger's path for a run writing `report`, when the job keeps one: the job's path, or
/// `<job>.ledger.json` beside the report.
pub fn path_for(settings: &Settings, report: &Path) -> Option<PathBuf> {
    match settings.run.ledger.as_ref()? {
        LedgerSetting::At(p) => Some(p.clone()),
        LedgerSetting::On(false) => None,
        LedgerSetting::On(true) => {
            let dir = report.parent().unwrap_or(Path::new(""));
            Some(dir.join(format!("{}.ledger.json", settings.job_name)))
        }
    }
}

/// The input as a run of these settings would read it, with the ledger's owed rows after its own:
/// what `plan` and `--dry-run` show. The report is not chosen (that may resume one); only its
/// folder matters, where `ledger = true` keeps the ledger.
pub fn preview(settings: &Settings, source: Source) -> Result<Source, Failure> {
    let report = match &settings.values.report {
        Some(template) => {
            crate::settings::expand_report_path(template, &settings.job_name, &jiff::Zoned::now())
        }
        None => source
            .path()
            .and_then(crate::settings::default_report_path)
            .unwrap_or_default(),
    };
    attach(settings, &report, source).map(|(source, _)| source)
}

/// The valid rows of the input (its identities) and its last line.
fn input_rows(source: &Source, opts: &InputOptions) -> Result<(HashSet<Identity>, u64), Failure> {
    let mut ids = HashSet::new();
    let mut last = 0;
    source.scan(opts, &mut |e| {
        last = last.max(e.line);
        if let Ok(t) = &e.target {
            ids.insert(t.identity());
        }
        ControlFlow::Continue(())
    })?;
    Ok((ids, last))
}

/// The input with the ledger's owed rows it does not list read after its own rows (numbered
/// after its last line), so that a row an export no longer lists is still sent.
pub fn attach(
    settings: &Settings,
    report: &Path,
    source: Source,
) -> Result<(Source, Option<PathBuf>), Failure> {
    let Some(path) = path_for(settings, report) else {
        return Ok((source, None));
    };
    let owed = Ledger::load(&path)?;
    if owed.owed.is_empty() {
        return Ok((source, Some(path)));
    }
    let opts = settings.input_options();
    let (listed, last) = input_rows(&source, &opts)?;
    let mut extra = Vec::new();
    for row in &owed.owed {
        let Some(target) = row.target() else { continue };
        if listed.contains(&target.identity()) {
            continue;
        }
        extra.push(Entry {
            line: last + 1 + extra.len() as u64,
            offset: None,
            raw: crate::input::RawRow {
                scope: row.scope.clone(),
                key: row.key.clone(),
                kind: row.kind.clone(),
                secret: row.secret.clone(),
            },
            target: opts.allows(target.kind).map(|()| target),
            org: ObjectId::parse(&row.org),
        });
    }
    tracing::info!(
        "ledger {}: {} rows owed from earlier nights, {} of them not in {} (sent after its rows)",
        path.display(),
        owed.owed.len(),
        extra.len(),
        source.name()
    );
    Ok((source.with_extra(extra), Some(path)))
}

/// Records every row the run was given (the input's and the ledger's) as owed, before anything
/// is sent: rows an earlier run of the report finished and exempt rows are not owed.
pub fn owe_before(
    path: Option<&Path>,
    (source, opts): (&Source, &InputOptions),
    finished: &HashSet<Identity>,
    exempt: &Exemptions,
) -> Result<(), Failure> {
    let Some(path) = path else {
        return Ok(());
    };
    let mut ledger = Ledger::load_to_change(path)?;
    let mut rows = Vec::new();
    source.scan(opts, &mut |e| {
        if let Ok(t) = e.target
            && !finished.contains(&t.identity())
            && exempt.covering(&t).is_none()
        {
            rows.push((t, e.org.map(|o| o.to_string())));
        }
        ControlFlow::Continue(())
    })?;
    ledger.owe(rows, clock::now());
    ledger.save(path)?;
    Ok(())
}

/// The latest outcome of every row of the report, by identity.
fn latest_of(report: &Path) -> HashMap<Identity, Latest> {
    let mut latest = HashMap::new();
    // A report that cannot be read settles nothing: every row stays owed.
    let _ = crate::report::read_records(report, &mut |r| {
        if let Some(t) = r.target() {
            latest.insert(
                t.identity(),
                Latest {
                    outcome: r.outcome,
                    message: r.message,
                    attempts: r.attempts,
                    run_id: r.run_id,
                },
            );
        }
    });
    latest
}

/// What the ledger owes once the run has ended.
pub struct Owed {
    pub path: PathBuf,
    pub ledger: Ledger,
    pub now: i64,
    pub escalate_after: u32,
}

impl Owed {
    /// The escalation line of the summary, when a row is owed for more than `escalate_after`
    /// nights.
    pub fn escalation(&self) -> Option<String> {
        let rows = self.ledger.escalated(self.escalate_after);
        if rows.is_empty() {
            return None;
        }
        let shown: Vec<String> = rows
            .iter()
            .take(10)
            .map(|r| {
                format!(
                    "{} (owed {} days, {} nights, {} attempts; last {}: {})",
                    r.name(),
                    r.age_days(self.now),
                    r.nights,
                    r.attempts,
                    r.last_outcome,
                    r.last_reason
                )
            })
            .collect();
        let more = rows.len().saturating_sub(shown.len());
        Some(format!(
            "revoker: ESCALATED: {} owed for more than {} nights (ledger {}): {}{}; `revoker ledger {}` lists them, `revoker ledger abandon ROW --reason TEXT` gives one up",
            crate::text::plural(rows.len() as u64, "row", "rows"),
            self.escalate_after,
            self.path.display(),
            shown.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            },
            self.path.display()
        ))
    }

    /// One line on what is still owed, when anything is: how many, and the oldest's age.
    pub fn still_owed(&self) -> Option<String> {
        let oldest = self
            .ledger
            .owed
            .iter()
            .max_by_key(|r| r.age_days(self.now))?;
        Some(format!(
            "revoker: ledger {}: {} still owed, the oldest ({}) for {} over {}; `revoker ledger {}` lists them with their ages",
            self.path.display(),
            crate::text::plural(self.ledger.owed.len() as u64, "row", "rows"),
            oldest.name(),
            crate::text::plural(oldest.age_days(self.now).max(0) as u64, "day", "days"),
            crate::text::plural(u64::from(oldest.nights), "night", "nights"),
            self.path.display()
        ))
    }

    pub fn metrics(&self, job: &str) -> String {
        ledger::metrics(&self.ledger, job, self.now, self.escalate_after)
    }
}

/// Settles the ledger against the report after the run; answers what is still owed.
pub fn settle_after(
    path: Option<&Path>,
    report: &Path,
    escalate_after: u32,
) -> Result<Option<Owed>, Failure> {
    let Some(path) = path else {
        return Ok(None);
    };
    let mut ledger = Ledger::load_to_change(path)?;
    let now = clock::now();
    let settled = ledger.settle(&latest_of(report), now);
    ledger.save(path)?;
    tracing::info!(
        "ledger {}: {} rows paid, {} now exempt, {} still owed",
        path.display(),
        settled.paid,
        settled.exempted,
        ledger.owed.len()
    );
    Ok(Some(Owed {
        path: path.to_path_buf(),
        ledger,
        now,
        escalate_after,
    }))
}

/// The run's exemption list, with every exemption past its `until` (or with an unreadable one)
/// warned about; past ones stop protecting only when the job says `expired_exemptions =
/// "revoke"`. The same in a run, a plan and a dry run.
pub fn exemptions(settings: &Settings) -> Result<Exemptions, Failure> {
    let mut exempt = Exemptions::of(settings.run.exempt.as_ref())?;
    let now = clock::now();
    let revoke = settings.run.expired_exemptions == ExpiredExemptions::Revoke;
    for line in expiry_lines(&exempt, now, revoke) {
        tracing::warn!("{line}");
    }
    if revoke {
        exempt.drop_expired(now);
    }
    Ok(exempt)
}

/// One warning per exemption past its `until` or with one that cannot be read.
pub fn expiry_lines(exempt: &Exemptions, now: i64, revoke: bool) -> Vec<String> {
    exempt
        .expired(now)
        .into_iter()
        .map(|e| {
            let what = e.dated.describe(&exempt.file);
            match (e.readable, revoke) {
                (false, _) => format!(
                    "exemption {what}: the until date cannot be read (YYYY-MM-DD or an RFC 3339 instant); it keeps protecting"
                ),
                (true, false) => format!(
                    "exemption {what} has expired; it keeps protecting (expired_exemptions = \"revoke\" stops it): renew or remove it"
                ),
                (true, true) => format!(
                    "exemption {what} has expired and no longer protects (expired_exemptions = \"revoke\")"
                ),
            }
        })
        .collect()
}

/// The exemption gauges: past their `until`, and with an `until` that cannot be read.
pub fn exemption_metrics(exempt: &Exemptions, job: &str, now: i64) -> String {
    let expired = exempt.expired(now);
    let unreadable = expired.iter().filter(|e| !e.readable).count();
    let job = job.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "# HELP revoker_exemptions_expired Exemptions past their until date (state=\"expired\") or with an until that cannot be read (state=\"unreadable\").\n# TYPE revoker_exemptions_expired gauge\nrevoker_exemptions_expired{{job=\"{job}\",state=\"expired\"}} {}\nrevoker_exemptions_expired{{job=\"{job}\",state=\"unreadable\"}} {unreadable}\n",
        expired.len() - unreadable
    )
}

/// When the ledger at `path` first saw each credential without a creation date.
pub fn first_seen(path: &Path) -> Result<crate::select::FirstSeen, Failure> {
    let ledger = Ledger::load_to_change(path)?;
    Ok(ledger
        .first_seen
        .iter()
        .filter_map(|s| {
            let kind = crate::input::Kind::parse(&s.kind)?;
            let key = ObjectId::parse(&s.key)?;
            let at = jiff::Timestamp::from_second(s.at_seconds()?).ok()?;
            Some(((kind, key), at))
        })
        .collect())
}

/// Records now as the first sighting of each of `keys` the ledger had not seen.
pub fn record_seen(path: &Path, keys: &[(crate::input::Kind, ObjectId)]) -> Result<(), Failure> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut ledger = Ledger::load_to_change(path)?;
    let now = clock::now();
    let before = ledger.first_seen.len();
    for (kind, key) in keys {
        ledger.first_seen(kind.as_str(), &key.to_string(), now);
    }
    if ledger.first_seen.len() != before {
        ledger.save(path)?;
    }
    Ok(())
}
