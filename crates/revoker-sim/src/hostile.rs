//! Hostile switches: behaviour MongoDB documents (or real servers and proxies show) that a careless
//! client misreads, each named so a failing test can say which it met. They come on top of the
//! older knobs (`--list-fault`, `--fault`, `--not-in-group`, …), and `--hostile-seed N` picks a
//! random but reproducible set of all of them ([`pick`]).
//!
//! | switch | what the server does | document |
//! |---|---|---|
//! | `--date-form [LIST=]FORM` | writes a list's dates as ISO 8601 with or without milliseconds, `Z` or an offset, or epoch milliseconds | the v2 spec's `date-time` fields; Cloud Manager's agent-key page (`createdTime`: ISO 8601 in its table, epoch ms in its example) |
//! | `--refuse-lists ID[=STATUS]` | every GET of that project or organization answers 401 (`NOT_IN_GROUP` / `USER_CANNOT_ACCESS_ORG`) or 403; DELETEs go through | Cloud Manager's error-code reference |
//! | `--refuse-deletes ID[=STATUS]` | the reverse: DELETEs refused, lists answered | same |
//! | `--other-api ID` | every request of that project or organization answers the other API's 404 (`ATLAS_GROUP` / `EXPECTED_NON_ATLAS_ORG` on v1.0, `NOT_ATLAS_GROUP` / `NOT_ATLAS_ORG` on v2) | Cloud Manager's error-code reference |
//! | `--slow-lists MS` | every GET waits MS first | |
//! | `--list-fault …` (several may be given with `--hostile-list-fault`) | pages that mislead; see [`crate::ListFault`] | |

use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::model::Oid;
use crate::{Fault, ListFault, SimConfig};

/// How a list writes its dates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DateForm {
    /// ISO 8601 in UTC without fractions: `2026-01-01T00:00:00Z` (the v2 spec's examples).
    #[default]
    Iso,
    /// With milliseconds: `2026-01-01T00:00:00.000Z`.
    IsoMillis,
    /// With a `+02:00` offset instead of `Z` (the same instant).
    IsoOffset,
    /// Milliseconds and an offset: `2026-01-01T02:00:00.000+02:00`.
    IsoMillisOffset,
    /// A JSON number of milliseconds since 1970 (Cloud Manager's agent-key example).
    EpochMs,
}

impl DateForm {
    pub const ALL: [DateForm; 5] = [
        DateForm::Iso,
        DateForm::IsoMillis,
        DateForm::IsoOffset,
        DateForm::IsoMillisOffset,
        DateForm::EpochMs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DateForm::Iso => "iso",
            DateForm::IsoMillis => "iso-millis",
            DateForm::IsoOffset => "iso-offset",
            DateForm::IsoMillisOffset => "iso-millis-offset",
            DateForm::EpochMs => "epoch-ms",
        }
    }

    /// `seconds` (Unix, UTC) written in this form.
    pub fn write(self, seconds: i64) -> serde_json::Value {
        let Ok(at) = jiff::Timestamp::from_second(seconds) else {
            return serde_json::Value::Null;
        };
        let offset = || {
            let zone = jiff::tz::TimeZone::fixed(jiff::tz::offset(2));
            at.to_zoned(zone)
        };
        let text = match self {
            DateForm::Iso => at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            DateForm::IsoMillis => at.strftime("%Y-%m-%dT%H:%M:%S.%3fZ").to_string(),
            DateForm::IsoOffset => offset().strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            DateForm::IsoMillisOffset => offset().strftime("%Y-%m-%dT%H:%M:%S.%3f%:z").to_string(),
            DateForm::EpochMs => return serde_json::json!(seconds * 1000),
        };
        serde_json::Value::String(text)
    }
}

/// The lists that carry dates, each of which may write them its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DatedList {
    /// Service-account secrets (`createdAt`, `expiresAt`, `lastUsedAt`), of organizations and
    /// projects.
    Secrets,
    /// Service accounts' `createdAt`.
    ServiceAccounts,
    /// AI model keys' `createdAt`, `lastUsedAt`.
    AiModelKeys,
    /// Agent keys' `createdTime` (epoch milliseconds unless told).
    AgentKeys,
    /// API-key access lists' `created`, `lastUsed`.
    AccessLists,
}

impl DatedList {
    pub const ALL: [DatedList; 5] = [
        DatedList::Secrets,
        DatedList::ServiceAccounts,
        DatedList::AiModelKeys,
        DatedList::AgentKeys,
        DatedList::AccessLists,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DatedList::Secrets => "secrets",
            DatedList::ServiceAccounts => "service-accounts",
            DatedList::AiModelKeys => "ai-model-keys",
            DatedList::AgentKeys => "agent-keys",
            DatedList::AccessLists => "access-lists",
        }
    }
}

/// A scope whose lists (or DELETEs) are refused, and with which status (401 or 403).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScopeRefusal {
    pub scope: Oid,
    pub status: u16,
}

impl std::str::FromStr for ScopeRefusal {
    type Err = String;

    /// `ID` (401) or `ID=401` / `ID=403`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (id, status) = text.split_once('=').unwrap_or((text, "401"));
        let scope = Oid::parse(id.trim())
            .ok_or_else(|| format!("{id:?} is not a project or organization id"))?;
        match status.trim() {
            "401" => Ok(ScopeRefusal { scope, status: 401 }),
            "403" => Ok(ScopeRefusal { scope, status: 403 }),
            other => Err(format!("{other:?}: the status is 401 or 403")),
        }
    }
}

/// The hostile switches beyond the older knobs of [`SimConfig`]; all off by default.
#[derive(Clone, Debug, Default)]
pub struct Hostile {
    /// List faults applied together with [`SimConfig::list_fault`].
    pub list_faults: Vec<ListFault>,
    /// The date form of every list (`None`) or of one; the last that names a list wins.
    pub date_forms: Vec<(Option<DatedList>, DateForm)>,
    /// GETs of these scopes are refused; their DELETEs are not.
    pub refuse_lists: Vec<ScopeRefusal>,
    /// DELETEs in these scopes are refused; their GETs are not.
    pub refuse_deletes: Vec<ScopeRefusal>,
    /// These projects and organizations live under the other API.
    pub other_api: Vec<Oid>,
    /// Every GET waits this long first.
    pub slow_lists: Duration,
}

impl Hostile {
    /// How `list` writes its dates.
    pub fn date_form(&self, list: DatedList) -> DateForm {
        let default = if list == DatedList::AgentKeys {
            DateForm::EpochMs
        } else {
            DateForm::Iso
        };
        self.date_forms
            .iter()
            .rev()
            .find(|(l, _)| l.is_none_or(|l| l == list))
            .map_or(default, |(_, f)| *f)
    }

    pub(crate) fn lists_refused(&self, scope: &Oid) -> Option<u16> {
        self.refuse_lists
            .iter()
            .find(|r| r.scope == *scope)
            .map(|r| r.status)
    }

    pub(crate) fn deletes_refused(&self, scope: &Oid) -> Option<u16> {
        self.refuse_deletes
            .iter()
            .find(|r| r.scope == *scope)
            .map(|r| r.status)
    }
}

/// `[LIST=]FORM`.
pub fn parse_date_form(text: &str) -> Result<(Option<DatedList>, DateForm), String> {
    use clap::ValueEnum;
    let (list, form) = match text.split_once('=') {
        Some((list, form)) => (
            Some(DatedList::from_str(list.trim(), true).map_err(|_| {
                let names: Vec<&str> = DatedList::ALL.iter().map(|l| l.name()).collect();
                format!("{list:?} is not a list with dates: {}", names.join(", "))
            })?),
            form,
        ),
        None => (None, text),
    };
    let form = DateForm::from_str(form.trim(), true).map_err(|_| {
        let names: Vec<&str> = DateForm::ALL.iter().map(|f| f.name()).collect();
        format!("{form:?} is not a date form: {}", names.join(", "))
    })?;
    Ok((list, form))
}

/// The list faults a seed may pick: each leaves every credential where it is.
const SEEDED_LIST_FAULTS: [ListFault; 11] = [
    ListFault::ShortPages,
    ListFault::IgnorePageNum,
    ListFault::NotFoundAfterFirstPage,
    ListFault::NoSecretsField,
    ListFault::UnreadableIds,
    ListFault::TotalCountLow,
    ListFault::TotalCountHigh,
    ListFault::UnreadableDates,
    ListFault::EmptyPages,
    ListFault::UpperCaseIds,
    ListFault::ApiKeyNotFound,
];

/// Applies a random but reproducible set of switches to `config`, with the projects and
/// organizations of `scopes` as candidates for the per-scope ones; answers them as command-line
/// arguments that reproduce the set without the seed.
pub fn pick(seed: u64, scopes: &[Oid], config: &mut SimConfig) -> Vec<String> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut args = Vec::new();
    for fault in SEEDED_LIST_FAULTS {
        if rng.random_bool(0.15) {
            config.hostile.list_faults.push(fault);
            args.push(format!("--hostile-list-fault={}", list_fault_name(fault)));
        }
    }
    for list in DatedList::ALL {
        if rng.random_bool(0.5) {
            let form = DateForm::ALL[rng.random_range(0..DateForm::ALL.len())];
            config.hostile.date_forms.push((Some(list), form));
            args.push(format!("--date-form={}={}", list.name(), form.name()));
        }
    }
    for scope in scopes {
        let status = if rng.random_bool(0.5) { 401 } else { 403 };
        match rng.random_range(0..12) {
            0 => {
                config.hostile.refuse_lists.push(ScopeRefusal {
                    scope: *scope,
                    status,
                });
                args.push(format!("--refuse-lists={scope}={status}"));
            }
            1 => {
                config.hostile.refuse_deletes.push(ScopeRefusal {
                    scope: *scope,
                    status,
                });
                args.push(format!("--refuse-deletes={scope}={status}"));
            }
            2 => {
                config.hostile.other_api.push(*scope);
                args.push(format!("--other-api={scope}"));
            }
            _ => {}
        }
    }
    for (fault, max) in [(Fault::LostAnswer, 0.3), (Fault::Throttle, 0.2)] {
        if rng.random_bool(0.3) {
            let rate = (rng.random_range(0.0..max) * 100.0_f64).round() / 100.0;
            config.faults.push((fault, rate));
            args.push(format!("--fault={}={rate}", fault.name()));
        }
    }
    if rng.random_bool(0.5) {
        config.retry_after = Some(0);
        args.push("--retry-after=0".into());
    }
    if rng.random_bool(0.3) {
        config.ratelimit_headers = true;
        args.push("--ratelimit-headers".into());
    }
    if rng.random_bool(0.2) {
        config.hostile.slow_lists = Duration::from_millis(rng.random_range(1..50));
        args.push(format!(
            "--slow-lists={}",
            config.hostile.slow_lists.as_millis()
        ));
    }
    if rng.random_bool(0.1) {
        config.list_padding = 4096;
        args.push("--list-padding=4096".into());
    }
    args
}

/// The command-line name of a list fault.
pub fn list_fault_name(fault: ListFault) -> String {
    use clap::ValueEnum;
    fault
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_date_form_writes_the_same_instant() {
        let at = 1_767_225_600 + 3_723; // 2026-01-01T01:02:03Z
        let forms: Vec<serde_json::Value> = DateForm::ALL.iter().map(|f| f.write(at)).collect();
        assert_eq!(
            forms,
            [
                serde_json::json!("2026-01-01T01:02:03Z"),
                serde_json::json!("2026-01-01T01:02:03.000Z"),
                serde_json::json!("2026-01-01T03:02:03+02:00"),
                serde_json::json!("2026-01-01T03:02:03.000+02:00"),
                serde_json::json!(1_767_229_323_000_i64),
            ]
        );
        for text in forms.iter().filter_map(|v| v.as_str()) {
            let read: jiff::Timestamp = text.parse().unwrap();
            assert_eq!(read.as_second(), at, "{text}");
        }
    }

    #[test]
    fn date_forms_parse_for_every_list_or_one() {
        assert_eq!(
            parse_date_form("epoch-ms").unwrap(),
            (None, DateForm::EpochMs)
        );
        assert_eq!(
            parse_date_form("secrets=iso-millis-offset").unwrap(),
            (Some(DatedList::Secrets), DateForm::IsoMillisOffset)
        );
        assert!(parse_date_form("secrets=tomorrow").is_err());
        assert!(parse_date_form("keys=iso").is_err());
        let hostile = Hostile {
            date_forms: vec![
                (None, DateForm::IsoMillis),
                (Some(DatedList::Secrets), DateForm::EpochMs),
            ],
            ..Hostile::default()
        };
        assert_eq!(hostile.date_form(DatedList::Secrets), DateForm::EpochMs);
        assert_eq!(hostile.date_form(DatedList::AgentKeys), DateForm::IsoMillis);
        assert_eq!(
            Hostile::default().date_form(DatedList::AgentKeys),
            DateForm::EpochMs
        );
    }

    #[test]
    fn refusals_parse_with_their_status() {
        let r: ScopeRefusal = "5e0000000000000000000001=403".parse().unwrap();
        assert_eq!(r.status, 403);
        let r: ScopeRefusal = "5e0000000000000000000001".parse().unwrap();
        assert_eq!(r.status, 401);
        assert!(
            "5e0000000000000000000001=404"
                .parse::<ScopeRefusal>()
                .is_err()
        );
    }

    #[test]
    fn a_seed_picks_the_same_switches_every_time() {
        let scopes = [Oid::from_bytes([1; 12]), Oid::from_bytes([2; 12])];
        let picks: Vec<Vec<String>> = (0..40)
            .map(|seed| pick(seed, &scopes, &mut SimConfig::default()))
            .collect();
        for (seed, args) in picks.iter().enumerate() {
            assert_eq!(*args, pick(seed as u64, &scopes, &mut SimConfig::default()));
        }
        assert!(picks.iter().any(|a| a.len() > 2), "some sets are rich");
        assert!(
            picks
                .iter()
                .flatten()
                .any(|a| a.starts_with("--refuse-lists=")),
            "{picks:?}"
        );
    }
}
