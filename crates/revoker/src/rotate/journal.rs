//! The rotation journal: one JSON line per step of each credential, appended and synced before
//! the step is taken (and after it is done), so that a crash at any point leaves a state a resume
//! reads: planned → created → delivered → in_use → old_revoked → verified (or stopped, named).
//! It holds ids, the reach and times: never a secret.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::reach::Reach;
use crate::fsx::{self, Links};

/// A credential's step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Planned,
    /// `--cutover now`: the old credential was revoked before its replacement was made.
    RevokedFirst,
    /// About to create: a resume finds a replacement made now by its marker.
    Creating,
    Created,
    Delivered,
    InUse,
    /// The cutover came without evidence of the replacement's use: the deadline passed, the
    /// time given came, `--cutover now`, or the old credential was already gone.
    CutOver,
    OldRevoked,
    Verified,
    /// The row stopped; the message says why.
    Stopped,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Planned => "planned",
            Step::RevokedFirst => "revoked_first",
            Step::Creating => "creating",
            Step::Created => "created",
            Step::Delivered => "delivered",
            Step::InUse => "in_use",
            Step::CutOver => "cut_over",
            Step::OldRevoked => "old_revoked",
            Step::Verified => "verified",
            Step::Stopped => "stopped",
        }
    }
}

/// One journal line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Line {
    pub run: String,
    pub at: String,
    pub kind: String,
    pub scope: String,
    pub old: String,
    pub step: Step,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<Reach>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The old credential was revoked before its replacement was made (`--cutover now`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked_first: bool,
    /// When the replacement was delivered: use since then is the cutover's evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered: Option<String>,
    /// A stopped row's last step taken, where a resume goes on from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Step>,
    /// A secret's row: the ids of the account's secrets listed when `creating` was journaled (a
    /// secret has no description to mark it: one listed later and not among these is the
    /// replacement a crashed run made).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<String>,
    /// A secret's row: the lifetime in hours its replacement is created with, chosen apart from
    /// the old one's ([`crate::rotate::kinds::marked_hours`]) so that a resume tells this
    /// rotation's secret from one someone else made meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<i64>,
}

impl Line {
    /// The last step taken: a stopped row's step before it stopped.
    pub fn progress(&self) -> Option<Step> {
        match self.step {
            Step::Stopped => self.from,
            step => Some(step),
        }
    }
}

/// The journal beside a rotation's report.
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
    /// The latest line of each old credential.
    latest: HashMap<String, Line>,
    /// The runs that journaled each old credential: a replacement marked by one of them is this
    /// rotation's, one marked by any other run is another rotation's.
    runs: HashMap<String, std::collections::BTreeSet<String>>,
}

/// The journal's path for a report.
pub fn path_for(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".rotate.jsonl");
    PathBuf::from(name)
}

impl Journal {
    /// Opens (or creates, owner-only) the journal and reads what it holds. A torn last line (a
    /// crash mid-write) is ignored: its step was never taken.
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        let file = fsx::open_append(path, Links::Refuse)?;
        let bytes = fsx::read_bounded(path, Links::Refuse, 1 << 30)?;
        let mut latest = HashMap::new();
        let mut runs: HashMap<String, std::collections::BTreeSet<String>> = HashMap::new();
        for line in bytes.split(|b| *b == b'\n') {
            if let Ok(line) = serde_json::from_slice::<Line>(line) {
                runs.entry(line.old.clone())
                    .or_default()
                    .insert(line.run.clone());
                latest.insert(line.old.clone(), line);
            }
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            latest,
            runs,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The latest line of `old`.
    pub fn latest(&self, old: &str) -> Option<&Line> {
        self.latest.get(old)
    }

    /// Whether `run` journaled `old` in this journal: its marked replacements are this
    /// rotation's to withdraw.
    pub fn is_ours(&self, old: &str, run: &str) -> bool {
        self.runs.get(old).is_some_and(|r| r.contains(run))
    }

    /// Appends a line and syncs it before answering. What the credential's earlier lines said and
    /// this one leaves out is carried on (the reach, the replacement, a revocation first), and a
    /// stop records the step it stopped after.
    pub fn write(&mut self, mut line: Line) -> std::io::Result<()> {
        if let Some(prev) = self.latest.get(&line.old) {
            line.revoked_first |= prev.revoked_first;
            if line.reach.is_none() {
                line.reach = prev.reach.clone();
            }
            if line.delivered.is_none() {
                line.delivered = prev.delivered.clone();
            }
            if line.before.is_empty() {
                line.before = prev.before.clone();
            }
            if line.hours.is_none() {
                line.hours = prev.hours;
            }
            if line.step == Step::Stopped {
                line.from = prev.progress();
                if line.new.is_none() {
                    line.new = prev.new.clone();
                }
            }
        }
        line.revoked_first |= line.step == Step::RevokedFirst;
        if line.step == Step::Delivered {
            line.delivered = Some(line.at.clone());
        }
        let mut text = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
        text.push(b'\n');
        self.file.write_all(&text)?;
        self.file.sync_data()?;
        self.runs
            .entry(line.old.clone())
            .or_default()
            .insert(line.run.clone());
        self.latest.insert(line.old.clone(), line);
        Ok(())
    }
}
