//! Protected organizations and projects (`protect = [...]` in a job, `--protect ID`, `--protect
//! FILE`): a row touching one is never sent, whatever the input says. A protected id may be an
//! organization or a project (an id does not say which): a row is covered when its scope is
//! protected, or when it is a project row whose project belongs to a protected organization. The
//! organization of a project is known from the row's `org` cell, or from `GET /groups/{id}`
//! (its `orgId`), asked before anything is sent; a project row whose organization cannot be
//! learned while any id is protected is refused as well (it may be in a protected one).
//! Deleting an organization API key removes it from every project it is assigned to: an
//! `org-api-key` row whose key has a role in a protected project (its organization's key list,
//! `roles[].groupId`) is covered too, and so is one whose list could not be read whole while
//! anything is protected.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use super::OrgKeys;
use crate::input::{Kind, ObjectId, Scope, Target};

/// What the run must never touch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Protect {
    /// Each protected id, and where it was named (`--protect`, the job, a file).
    ids: BTreeMap<ObjectId, String>,
    /// Name patterns (`*prod*`): a scope whose name matches must be typed at the question.
    pub guard_names: Vec<String>,
}

/// What the organization of a project is, as far as the run could learn it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Home {
    Org(ObjectId),
    /// The project does not exist: nothing in it can be revoked.
    Gone,
    /// Not learned (no cell, the API did not say).
    Unknown,
    /// Not asked (`run --dry-run` sends no request): only the row's scope and cell are judged.
    Unasked,
}

impl Protect {
    /// The protected ids of a job's `protect` and of each `--protect` (an id, or a file of ids:
    /// one per line, `#` comments and blank lines ignored, or a CSV/JSON export whose cells are
    /// read as ids wherever they are 24 hex digits).
    pub fn load(job: &[String], flags: &[String]) -> Result<Protect, String> {
        let mut ids = BTreeMap::new();
        for (value, origin) in job
            .iter()
            .map(|v| (v, "the job's protect"))
            .chain(flags.iter().map(|v| (v, "--protect")))
        {
            if let Some(id) = ObjectId::parse(value.trim()) {
                ids.entry(id).or_insert_with(|| origin.to_string());
                continue;
            }
            if origin == "the job's protect" {
                return Err(format!(
                    "protect: {value:?} is not an organization or project id (24 hex digits)"
                ));
            }
            for id in read_ids(Path::new(value))? {
                ids.entry(id)
                    .or_insert_with(|| format!("--protect {value}"));
            }
        }
        Ok(Protect {
            ids,
            guard_names: Vec::new(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn ids(&self) -> impl Iterator<Item = &ObjectId> {
        self.ids.keys()
    }

    /// Why `target` (whose project's organization is `home`) is protected, if it is.
    pub fn covering(&self, target: &Target, home: Home) -> Option<String> {
        if self.ids.is_empty() || target.kind.scope() == Scope::Global {
            return None;
        }
        let what = match target.kind.scope() {
            Scope::Org => "organization",
            _ => "project",
        };
        if let Some(origin) = self.ids.get(&target.scope) {
            return Some(format!(
                "{what} {} is protected ({origin}): never sent",
                target.scope
            ));
        }
        if target.kind.scope() != Scope::Project {
            return None;
        }
        match home {
            Home::Org(org) => self.ids.get(&org).map(|origin| {
                format!(
                    "project {} belongs to organization {org}, which is protected ({origin}): never sent",
                    target.scope
                )
            }),
            Home::Gone | Home::Unasked => None,
            Home::Unknown => Some(format!(
                "project {}: its organization could not be learned (no org cell, and GET /groups/{} did not name one) while organizations are protected: it may be in one, so it is never sent",
                target.scope, target.scope
            )),
        }
    }

    /// Why the organization key `target` deletes is protected by a project it has a role in, if
    /// it is (`keys`: the key lists read before sending; `None`, not read: not judged).
    pub fn covering_key(&self, target: &Target, keys: Option<&OrgKeys>) -> Option<String> {
        let keys = keys?;
        if self.ids.is_empty() || target.kind != Kind::OrgApiKey {
            return None;
        }
        let (org, key) = (target.scope, target.key);
        match keys.get(&org, &key) {
            Some(listed) => listed.projects.iter().find_map(|p| {
                self.ids.get(p).map(|origin| {
                    format!(
                        "organization API key {key} has a role in project {p}, which is protected ({origin}): deleting the key removes it from that project; never sent"
                    )
                })
            }),
            None if keys.whole(&org) => None,
            None => Some(format!(
                "organization API key {key}: the key list of organization {org} could not be read whole, so whether the key has a role in a protected project is not known; never sent (run again when the list can be read)"
            )),
        }
    }

    /// The home of `target`'s project from what is known: what the API said (`homes`), then its
    /// cell when the API was not asked or could not say (`None`: the API was not asked).
    pub fn home(
        target: &Target,
        cell: Option<ObjectId>,
        homes: Option<&HashMap<ObjectId, Home>>,
    ) -> Home {
        let asked = homes.map(|h| h.get(&target.scope).copied().unwrap_or(Home::Unknown));
        match (asked, cell) {
            (Some(home @ (Home::Org(_) | Home::Gone)), _) => home,
            (_, Some(org)) => Home::Org(org),
            (Some(home), None) => home,
            (None, None) => Home::Unasked,
        }
    }
}

/// Whether `name` matches one of `patterns` (`*` any run of characters, `?` one; case ignored).
pub fn name_guarded(patterns: &[String], name: &str) -> bool {
    patterns
        .iter()
        .any(|p| glob(&p.to_lowercase(), &name.to_lowercase()))
}

fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The ids of a protect file: every 24-hex-digit word in it, comments (`#`) aside.
fn read_ids(path: &Path) -> Result<BTreeSet<ObjectId>, String> {
    let bytes =
        crate::fsx::read_bounded(path, crate::fsx::Links::Follow, 16 << 20).map_err(|e| {
            format!(
                "--protect {}: not an id, and cannot read it as a file: {e}",
                path.display()
            )
        })?;
    let text = String::from_utf8_lossy(&bytes);
    let mut ids = BTreeSet::new();
    // Every word must be an id: a mistyped line silently dropped would leave its scope open.
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default();
        for word in line
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
        {
            let id = ObjectId::parse(word).ok_or_else(|| {
                format!(
                    "--protect {}:{}: {:?} is not an organization or project id (24 hex digits); nothing was sent",
                    path.display(),
                    n + 1,
                    crate::text::clip(word, 40)
                )
            })?;
            ids.insert(id);
        }
    }
    if ids.is_empty() {
        return Err(format!(
            "--protect {}: no organization or project id in it (24 hex digits)",
            path.display()
        ));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Kind;

    #[test]
    fn a_protect_file_with_a_word_that_is_not_an_id_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.txt");
        std::fs::write(
            &file,
            "# prod\n5e0000000000000000000009\n6a00000000000000000000001\n",
        )
        .unwrap();
        let err = read_ids(&file).unwrap_err();
        assert!(
            err.contains(
                "p.txt:3: \"6a00000000000000000000001\" is not an organization or project id"
            ),
            "{err}"
        );
        std::fs::write(&file, "6a0000000000000000000001x\n").unwrap();
        assert!(read_ids(&file).unwrap_err().contains("p.txt:1:"));
        std::fs::write(
            &file,
            "5e0000000000000000000009, 6a0000000000000000000001 # two\n",
        )
        .unwrap();
        assert_eq!(read_ids(&file).unwrap().len(), 2);
    }

    #[test]
    fn a_project_of_a_protected_org_is_covered_and_an_unknown_org_is_refused() {
        let org = ObjectId::from_bytes([1; 12]);
        let protect = Protect::load(&[org.to_string()], &[]).unwrap();
        let row = Target {
            kind: Kind::ProjectApiKey,
            scope: ObjectId::from_bytes([2; 12]),
            key: ObjectId::from_bytes([3; 12]),
            secret: None,
        };
        assert!(protect.covering(&row, Home::Org(org)).is_some());
        assert!(protect.covering(&row, Home::Unknown).is_some());
        assert_eq!(protect.covering(&row, Home::Gone), None);
        let other = ObjectId::from_bytes([9; 12]);
        assert_eq!(protect.covering(&row, Home::Org(other)), None);
        let org_row = Target {
            kind: Kind::OrgApiKey,
            scope: org,
            ..row
        };
        assert!(protect.covering(&org_row, Home::Unknown).is_some());
        assert!(Protect::load(&["nope".into()], &[]).is_err());
    }

    #[test]
    fn an_org_key_with_a_role_in_a_protected_project_is_covered_only_once_its_list_is_read() {
        let (org, project, key) = (
            ObjectId::from_bytes([1; 12]),
            ObjectId::from_bytes([2; 12]),
            ObjectId::from_bytes([3; 12]),
        );
        let protect = Protect::load(&[project.to_string()], &[]).unwrap();
        let row = Target {
            kind: Kind::OrgApiKey,
            scope: org,
            key,
            secret: None,
        };
        let mut keys = OrgKeys::default();
        // Not read (`--dry-run`): not judged; read in part without the key: undecided.
        assert_eq!(protect.covering_key(&row, None), None);
        assert!(
            protect
                .covering_key(&row, Some(&keys))
                .is_some_and(|w| w.contains("could not be read whole"))
        );
        keys.read_whole(org);
        assert_eq!(protect.covering_key(&row, Some(&keys)), None);
        let listed = |projects| crate::guard::ListedKey {
            public_key: None,
            projects,
        };
        keys.add(org, key, listed(vec![ObjectId::from_bytes([9; 12])]));
        assert_eq!(protect.covering_key(&row, Some(&keys)), None);
        keys.add(org, key, listed(vec![project]));
        assert_eq!(
            protect.covering_key(&row, Some(&keys)).as_deref(),
            Some(
                "organization API key 030303030303030303030303 has a role in project 020202020202020202020202, which is protected (the job's protect): deleting the key removes it from that project; never sent"
            )
        );
        assert_eq!(Protect::default().covering_key(&row, Some(&keys)), None);
    }

    #[test]
    fn names_match_globs_case_ignored() {
        let p = vec!["*prod*".to_string()];
        assert!(name_guarded(&p, "Team-PROD-eu"));
        assert!(!name_guarded(&p, "staging"));
        assert!(glob("a?c", "abc") && !glob("a?c", "ac"));
    }
}
