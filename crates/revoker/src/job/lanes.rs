//! A credential per organization: one lane each — its own client (digest nonce or OAuth token,
//! revoked at the end), its own pacing and refusal breaker, its own stop — and the routing of every
//! row to the lane of its organization.
//!
//! Rows of organization-wide kinds carry their organization. A project row takes the `org` column of
//! the input when it has one; otherwise the project's organization is asked once
//! (`GET /groups/{id}` → `orgId`, with each credential in turn until one answers) and kept beside the
//! report in `REPORT.orgs.json`, so that a resume does not ask again. A project that is gone
//! (`404 GROUP_NOT_FOUND`) goes to the default lane, whose DELETE then records it `not_found`; one
//! no credential can see is `rejected` with that reason (when every credential answered
//! `401 NOT_IN_GROUP`, that the project may not exist: a deleted one answers so too). Without `[orgs.…]` in the job there is one
//! lane and nothing is routed or asked.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use crate::api::Client;
use crate::engine::read::ProjectOrg;
use crate::engine::{self, Context, Routed, StopFlag};
use crate::figures::Figures;
use crate::input::{InputOptions, ObjectId, Scope, Source, Target};
use crate::job::Failure;
use crate::settings::{Found, Settings};

/// The suffix of the project → organization map kept beside a report.
pub const ORGS: &str = ".orgs.json";

/// One credential of a run.
pub struct Lane {
    pub found: Found,
    /// The organizations it is mapped to; empty for the default credential.
    pub orgs: Vec<ObjectId>,
    pub client: Arc<Client>,
    pub ctx: Arc<Context>,
}

/// What asking a project's organization found.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Home {
    Org(ObjectId),
    /// The project does not exist.
    Gone,
    /// No credential could see it: the last answer, and whether every credential answered
    /// `401 NOT_IN_GROUP`, which a project that does not exist answers too.
    Unseen(String, bool),
}

/// Every lane of a run, and where rows go.
pub struct Lanes {
    pub lanes: Vec<Lane>,
    /// The lane of the run's own credential, for every organization not mapped.
    pub default: Option<usize>,
    homes: HashMap<ObjectId, Home>,
    /// The organization each mapped lane serves.
    by_org: HashMap<ObjectId, usize>,
}

impl Lanes {
    /// The lanes of the settings: the default credential's (when there is one) and one per
    /// `[orgs.<id>]` credential (one lane for a credential mapped to several organizations).
    pub fn build(
        settings: &Settings,
        figures: &Arc<Figures>,
        master: &StopFlag,
        scopes: u64,
    ) -> Result<Lanes, Failure> {
        let mut out = Lanes {
            lanes: Vec::new(),
            default: None,
            homes: HashMap::new(),
            by_org: HashMap::new(),
        };
        match &settings.credential {
            Ok(found) => {
                out.push(settings, found.clone(), None, figures, master, scopes)?;
                out.default = Some(0);
            }
            Err(e) if settings.org_credentials.is_empty() => return Err(Failure::usage(e)),
            Err(_) => {}
        }
        for oc in &settings.org_credentials {
            let found = oc.credential.as_ref().map_err(Failure::usage)?;
            out.push(
                settings,
                found.clone(),
                Some(oc.org),
                figures,
                master,
                scopes,
            )?;
        }
        Ok(out)
    }

    fn push(
        &mut self,
        settings: &Settings,
        found: Found,
        org: Option<ObjectId>,
        figures: &Arc<Figures>,
        master: &StopFlag,
        scopes: u64,
    ) -> Result<(), Failure> {
        let identity = found.credential.public_identity();
        if let Some(i) = self
            .lanes
            .iter()
            .position(|l| l.found.credential.public_identity() == identity)
        {
            if let Some(org) = org {
                self.lanes[i].orgs.push(org);
                self.by_org.insert(org, i);
            }
            return Ok(());
        }
        let client = Arc::new(Client::new(&settings.api_config(&found), figures.clone())?);
        // Each lane stops on its own refusal; a signal stops them all.
        let stop = StopFlag::default();
        forward(master.clone(), stop.clone());
        let ctx = super::acting::context(settings, &client, &stop, scopes);
        if let Some(org) = org {
            self.by_org.insert(org, self.lanes.len());
        }
        self.lanes.push(Lane {
            found,
            orgs: org.into_iter().collect(),
            client,
            ctx,
        });
        Ok(())
    }

    /// Whether rows are routed at all: the job maps organizations to credentials.
    pub fn routed(&self) -> bool {
        !self.by_org.is_empty()
    }

    /// The lane that takes everything no mapping names: the default, else the first.
    pub fn primary(&self) -> usize {
        self.default.unwrap_or(0)
    }

    /// The organization of `project`, when this run learned it.
    pub fn org_of(&self, project: &ObjectId) -> Option<ObjectId> {
        match self.homes.get(project) {
            Some(Home::Org(org)) => Some(*org),
            _ => None,
        }
    }

    /// The lane that sends the rows of `org`, if any.
    pub fn lane_for(&self, org: &ObjectId) -> Option<usize> {
        self.lane_of_org(org).ok()
    }

    /// The lane of `org`, or the default lane.
    fn lane_of_org(&self, org: &ObjectId) -> Result<usize, String> {
        self.by_org
            .get(org)
            .copied()
            .or(self.default)
            .ok_or_else(|| {
                format!(
                    "no credential of this run is for organization {org} (the job maps only {})",
                    self.mapped()
                )
            })
    }

    fn mapped(&self) -> String {
        let mut orgs: Vec<String> = self.by_org.keys().map(ToString::to_string).collect();
        orgs.sort();
        orgs.join(", ")
    }

    /// Which lane sends `t`, or why none can.
    pub fn route(&self, t: &Target, hint: Option<ObjectId>) -> Result<usize, String> {
        match t.kind.scope() {
            Scope::Org => self.lane_of_org(&t.scope),
            Scope::Global => Ok(self.primary()),
            Scope::Project => match hint
                .map(Home::Org)
                .or_else(|| self.homes.get(&t.scope).cloned())
            {
                Some(Home::Org(org)) => self.lane_of_org(&org),
                Some(Home::Gone) => Ok(self.primary()),
                Some(Home::Unseen(why, false)) => Err(format!(
                    "project {}: no credential of this run can see it ({why})",
                    t.scope
                )),
                Some(Home::Unseen(why, true)) => Err(format!(
                    "project {}: no credential of this run can see it, or it does not exist (every credential answered 401 NOT_IN_GROUP, which a deleted project answers too; {why})",
                    t.scope
                )),
                None => Ok(self.primary()),
            },
        }
    }

    /// The engine part of lane `i`: its router, and whether it reports what no lane sends.
    pub fn engine_lane(self: &Arc<Self>, i: usize) -> Option<engine::Lane> {
        if !self.routed() {
            return None;
        }
        let lanes = self.clone();
        Some(engine::Lane {
            route: Arc::new(move |t: &Target, hint| match lanes.route(t, hint) {
                Ok(lane) if lane == i => Routed::Mine,
                Ok(_) => Routed::Other,
                Err(why) => Routed::Nobody(why),
            }),
            primary: i == self.primary(),
            note: self.lanes[i].found.credential.public_identity(),
        })
    }

    /// Learns the organization of every project row without an `org` cell (see [`Lanes::learn_projects`]).
    pub async fn learn(
        &mut self,
        source: &Source,
        opts: &InputOptions,
        report: &Path,
    ) -> Result<(), Failure> {
        if !self.routed() {
            return Ok(());
        }
        let mut projects: Vec<ObjectId> = Vec::new();
        let mut told: BTreeMap<ObjectId, ObjectId> = BTreeMap::new();
        // Projects the input gives two organizations: neither cell is believed, the API is asked.
        let mut contradicted: Vec<ObjectId> = Vec::new();
        source.scan(opts, &mut |e| {
            if let Ok(t) = &e.target
                && t.kind.scope() == Scope::Project
            {
                match e.org {
                    Some(org) => {
                        if told
                            .insert(t.scope, org)
                            .is_some_and(|before| before != org)
                        {
                            contradicted.push(t.scope);
                        }
                    }
                    None => projects.push(t.scope),
                }
            }
            ControlFlow::Continue(())
        })?;
        // A row without a cell is routed by what the API says of its project, never by another
        // row's cell: that cell may be the wrong one of a contradiction (a row left invalid), or
        // simply wrong. Rows with a cell go by their own.
        let uncelled: std::collections::BTreeSet<ObjectId> = projects.iter().copied().collect();
        told.retain(|p, _| !uncelled.contains(p) && !contradicted.contains(p));
        self.learn_projects(projects, told, report).await
    }

    /// Learns the organizations of `projects`, from what the input `told`, the map kept beside
    /// `report` and then the API, and keeps the map beside the report (a resume and a
    /// verification read it rather than ask again).
    pub async fn learn_projects(
        &mut self,
        mut projects: Vec<ObjectId>,
        told: BTreeMap<ObjectId, ObjectId>,
        report: &Path,
    ) -> Result<(), Failure> {
        if !self.routed() {
            return Ok(());
        }
        let path = crate::report::sidecar(report, ORGS);
        let mut kept = read_map(&path)?;
        let before = kept.clone();
        kept.extend(told);
        projects.sort();
        projects.dedup();
        let wanted: Vec<ObjectId> = projects
            .into_iter()
            .filter(|p| !kept.contains_key(p))
            .collect();
        for project in &wanted {
            let home = self.ask(project).await;
            if let Home::Org(org) = home {
                kept.insert(*project, org);
            }
            self.homes.insert(*project, home);
        }
        for (project, org) in &kept {
            self.homes.insert(*project, Home::Org(*org));
        }
        if kept != before {
            write_map(&path, &kept);
        }
        if !wanted.is_empty() {
            tracing::info!(
                "asked the organization of {} projects; kept in {}",
                wanted.len(),
                path.display()
            );
        }
        Ok(())
    }

    /// The contexts of the lanes, and where a row goes: what verification and plans read with.
    pub fn readers(self: &Arc<Self>) -> crate::verify::Readers {
        let lanes = self.clone();
        crate::verify::Readers {
            ctxs: self.lanes.iter().map(|l| l.ctx.clone()).collect(),
            route: Arc::new(move |t: &Target| lanes.route(t, None)),
        }
    }

    /// `GET /groups/{id}` with each credential, the default first, until one answers.
    async fn ask(&self, project: &ObjectId) -> Home {
        let mut order: Vec<usize> = (0..self.lanes.len()).collect();
        order.sort_by_key(|i| Some(*i) != self.default);
        let mut last = String::from("not asked");
        let mut all_not_in_group = !order.is_empty();
        for i in order {
            let why = match crate::engine::read::project_org(&self.lanes[i].ctx, *project).await {
                ProjectOrg::Org(org) => return Home::Org(org),
                ProjectOrg::Gone => return Home::Gone,
                ProjectOrg::NotInGroup(why) => why,
                ProjectOrg::Unknown(why) => {
                    all_not_in_group = false;
                    why
                }
            };
            last = format!(
                "{} answered {why}",
                self.lanes[i].found.credential.public_identity()
            );
        }
        Home::Unseen(last, all_not_in_group)
    }

    /// Says each credential's stop as it happens, not at the end of the run: its rows not yet sent
    /// are not attempted while the others go on. A signal stops them all and is said once, by the
    /// run. Nothing to say with one credential: its stop is the run's.
    pub fn say_stops(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        if self.lanes.len() < 2 {
            return Vec::new();
        }
        (0..self.lanes.len())
            .map(|i| {
                let lanes = self.clone();
                tokio::spawn(async move {
                    let stop = lanes.lanes[i].ctx.stop().clone();
                    stop.wait().await;
                    if let Some(note) = stop.reason().and_then(|r| lanes.stopped(i, &r)) {
                        tracing::warn!("{note}");
                    }
                })
            })
            .collect()
    }

    /// What lane `i` stopping for `reason` means, in words; `None` for a signal.
    pub fn stopped(&self, i: usize, reason: &crate::engine::StopReason) -> Option<String> {
        use crate::engine::StopReason as S;
        if matches!(reason, S::Interrupted | S::Terminated | S::HungUp) {
            return None;
        }
        let lane = &self.lanes[i];
        let whose = if lane.orgs.is_empty() {
            "of every organization no other credential is for".to_string()
        } else {
            let orgs: Vec<String> = lane.orgs.iter().map(ToString::to_string).collect();
            format!("of organizations {}", orgs.join(", "))
        };
        Some(format!(
            "{} stopped: {reason}; its rows {whose} not yet sent are not attempted (a resume sends them)",
            lane.found.credential.public_identity()
        ))
    }

    /// Revokes every lane's token (if it fetched one); answers the warnings.
    pub async fn finish(&self) {
        for lane in &self.lanes {
            if let Some(warning) = lane.client.finish().await {
                tracing::warn!("{warning}");
            }
        }
    }

    /// The public identities of the lanes, with their organizations, for the audit record.
    pub fn identities(&self) -> Vec<String> {
        if !self.routed() {
            return self
                .lanes
                .iter()
                .map(|l| l.found.credential.public_identity())
                .collect();
        }
        self.lanes
            .iter()
            .map(|l| {
                let id = l.found.credential.public_identity();
                if l.orgs.is_empty() {
                    format!("{id} (default)")
                } else {
                    let orgs: Vec<String> = l.orgs.iter().map(ToString::to_string).collect();
                    format!("{id} (organizations {})", orgs.join(", "))
                }
            })
            .collect()
    }
}

/// Sets `lane` when `master` is set (a signal), with the same reason.
fn forward(master: StopFlag, lane: StopFlag) {
    tokio::spawn(async move {
        master.wait().await;
        if let Some(reason) = master.reason() {
            lane.request(reason);
        }
    });
}

/// A map of 100,000 projects is about 6 MB; anything much larger is not one.
const MAX_MAP_BYTES: u64 = 64 << 20;

/// The map kept beside the report, read as a side file (no link, no FIFO, bounded): a map that
/// cannot be read is an error naming it, since routing by a wrong one would send rows with the
/// wrong credential, and waiting on it would hold the report's lock.
fn read_map(path: &Path) -> Result<BTreeMap<ObjectId, ObjectId>, Failure> {
    use crate::fsx::{Links, read_bounded};
    let bad = |why: String| {
        Failure::usage(format!(
            "{}: {why}; remove it and revoker asks the projects' organizations again",
            path.display()
        ))
    };
    let bytes = match read_bounded(path, Links::Refuse, MAX_MAP_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(bad(e.to_string())),
    };
    serde_json::from_slice::<BTreeMap<ObjectId, ObjectId>>(&bytes)
        .map_err(|e| bad(format!("not a project → organization map ({e})")))
}

fn write_map(path: &Path, map: &BTreeMap<ObjectId, ObjectId>) {
    let bytes = serde_json::to_vec_pretty(map).unwrap_or_default();
    if let Err(e) = crate::fsx::write_atomic(path, &bytes, 0o600) {
        tracing::warn!(
            "cannot keep the project organizations in {}: {e}",
            path.display()
        );
    }
}
