//! The filters of a selection: a rule is a set of conditions that must all hold; a credential is
//! selected when any rule holds for it. A condition that does not apply to a kind (an expiry on an
//! API key, which carries no dates) never holds for it, so a rule selects only the kinds all its
//! conditions apply to, and `kinds` narrows that further.
//!
//! Times are compared in UTC against one "now" for the whole selection. The boundaries: a secret is
//! expired when `expiresAt <= now` (a secret expiring this very second is expired); "expiring
//! within 7d" is `now < expiresAt <= now + 7d`; "created before 90d" is `createdAt < now - 90d`
//! (strictly older); "unused for 30d" is `(lastUsedAt, or createdAt when never used) < now - 30d`.

use std::time::Duration;

use jiff::Timestamp;

use crate::input::Kind;

/// One rule: every condition set must hold.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Kinds this rule may select (default: every kind its conditions apply to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<Kind>>,
    /// Service-account secrets past their `expiresAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<bool>,
    /// Secrets expiring within this long (`7d`, `12h`).
    #[serde(default, with = "span", skip_serializing_if = "Option::is_none")]
    pub expiring_within: Option<Duration>,
    /// Created longer ago than this: secrets, service accounts, agent and AI model keys.
    #[serde(default, with = "span", skip_serializing_if = "Option::is_none")]
    pub created_before: Option<Duration>,
    /// Not used for this long: secrets and AI model keys by `lastUsedAt` (or their creation when
    /// never used), API keys by every access-list entry's `lastUsed` (or its creation).
    #[serde(default, with = "span", skip_serializing_if = "Option::is_none")]
    pub unused_for: Option<Duration>,
    /// Never used: no `lastUsedAt`, or an API key whose access list shows no use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub never_used: Option<bool>,
    /// Service accounts whose every secret (at least one) is expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_secrets_expired: Option<bool>,
    /// API keys without any access-list entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_access_list: Option<bool>,
    /// A wildcard pattern (`*`, `?`; case ignored) on the name: a service account's or AI model
    /// key's `name`, an API key's or agent key's `desc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A wildcard pattern on the description: a service account's `description`, a key's `desc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Durations written `90d`, `12h`, `2w` or ISO 8601 (`P90D`); days are 24 hours.
pub mod span {
    use std::time::Duration;

    pub fn parse(text: &str) -> Result<Duration, String> {
        let span: jiff::Span = text
            .trim()
            .parse()
            .map_err(|e| format!("{text:?} is not a duration like 90d or 12h ({e})"))?;
        let signed = span
            .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
            .map_err(|e| format!("{text:?}: {e}"))?;
        Duration::try_from(signed).map_err(|_| format!("{text:?} is negative"))
    }

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format!("{}h", d.as_secs() / 3600)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let text: Option<String> = serde::Deserialize::deserialize(d)?;
        text.map(|t| parse(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// What is known of one access-list entry of an API key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    pub created: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    /// A date of the entry that could not be read, as the list wrote it (`lastUsed "…"`).
    pub unreadable: Option<String>,
}

/// The date fields of a credential, as conditions read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateField {
    Created,
    Expires,
    LastUsed,
    /// A service account's secrets' `expiresAt`.
    SecretsExpire,
}

/// What the lists said of one credential.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub created: Option<Timestamp>,
    pub expires: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    pub name: String,
    pub description: String,
    /// A service account's secrets' `expiresAt`.
    pub secrets_expire: Vec<Option<Timestamp>>,
    /// An API key's access list, once read (`None` until then).
    pub access: Option<Vec<Entry>>,
    /// Dates the lists gave that could not be read, each as the list wrote it (`lastUsedAt
    /// "2026-11-20"`): a condition that reads one neither holds nor fails, it is unknown.
    pub unreadable: Vec<(DateField, String)>,
    /// When the job's ledger first saw a credential the API gives no creation date (an API
    /// key): `created_before` reads it as "first seen before". `None` without a ledger.
    pub first_seen: Option<Timestamp>,
}

impl Facts {
    /// The unreadable date among `fields`, as the list wrote it.
    fn unread(&self, fields: &[DateField]) -> Option<String> {
        self.unreadable
            .iter()
            .find(|(f, _)| fields.contains(f))
            .map(|(_, text)| text.clone())
    }
}

/// Which conditions a kind's facts can answer.
fn applies(kind: Kind, condition: &str) -> bool {
    let secret = kind.needs_secret();
    let api_key = matches!(kind, Kind::OrgApiKey | Kind::ProjectApiKey);
    match condition {
        "expired" | "expiring_within" => secret,
        // An API key has no creation date: its first sighting by the job's ledger stands in.
        "created_before" => {
            secret
                || api_key
                || matches!(
                    kind,
                    Kind::ServiceAccount | Kind::AgentApiKey | Kind::AiModelApiKey
                )
        }
        "unused_for" | "never_used" => secret || api_key || kind == Kind::AiModelApiKey,
        "all_secrets_expired" => kind == Kind::ServiceAccount,
        "no_access_list" => api_key,
        _ => true,
    }
}

/// The kinds a selection can read.
pub const SELECTABLE: [Kind; 9] = [
    Kind::ServiceAccountSecret,
    Kind::ProjectServiceAccountSecret,
    Kind::ServiceAccount,
    Kind::OrgApiKey,
    Kind::ProjectApiKey,
    Kind::AgentApiKey,
    Kind::AiModelApiKey,
    Kind::OrgMcpSecret,
    Kind::ProjectMcpSecret,
];

fn older(t: Option<Timestamp>, than: Duration, now: Timestamp) -> bool {
    let Ok(limit) = now.checked_sub(jiff::SignedDuration::try_from(than).unwrap_or_default())
    else {
        return false;
    };
    t.is_some_and(|t| t < limit)
}

fn glob(pattern: &str, text: &str) -> bool {
    wildmatch::WildMatch::new_case_insensitive(pattern).matches(text)
}

/// The outcome of a rule on one credential.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Every condition holds: why, in words.
    Holds(Vec<String>),
    No,
    /// Everything but the access list holds; read it, then ask again.
    NeedsAccessList,
    /// No condition fails, but some rest on dates that could not be read (each as the list wrote
    /// it): never selected, and named.
    Unreadable(Vec<String>),
}

/// One condition on one credential: holds (`Some(true)`), fails, or is unknown because a date it
/// reads could not be read; and what it says, in words.
type Check = (Option<bool>, String);

impl Rule {
    /// The conditions set, by name.
    fn conditions(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let set = [
            ("expired", self.expired == Some(true)),
            ("expiring_within", self.expiring_within.is_some()),
            ("created_before", self.created_before.is_some()),
            ("unused_for", self.unused_for.is_some()),
            ("never_used", self.never_used == Some(true)),
            (
                "all_secrets_expired",
                self.all_secrets_expired == Some(true),
            ),
            ("no_access_list", self.no_access_list == Some(true)),
            ("name", self.name.is_some()),
            ("description", self.description.is_some()),
        ];
        for (name, on) in set {
            if on {
                out.push(name);
            }
        }
        out
    }

    /// A rule without a condition would select everything: refused.
    pub fn check(&self, which: usize) -> Result<(), String> {
        if self.conditions().is_empty() {
            return Err(format!(
                "rule {which} has no condition (expired, expiring_within, created_before, unused_for, never_used, all_secrets_expired, no_access_list, name, description): it would select every credential"
            ));
        }
        if let Some(kinds) = &self.kinds
            && let Some(k) = kinds.iter().find(|k| !SELECTABLE.contains(k))
        {
            return Err(format!(
                "rule {which}: kind {k} cannot be selected from live state (selectable: {})",
                SELECTABLE.map(|k| k.as_str()).join(", ")
            ));
        }
        if self.kinds().is_empty() {
            return Err(format!(
                "rule {which}: no kind has every condition it sets ({})",
                self.conditions().join(", ")
            ));
        }
        Ok(())
    }

    /// The kinds this rule can select.
    pub fn kinds(&self) -> Vec<Kind> {
        let conditions = self.conditions();
        SELECTABLE
            .into_iter()
            .filter(|k| self.kinds.as_ref().is_none_or(|ks| ks.contains(k)))
            .filter(|k| conditions.iter().all(|c| applies(*k, c)))
            .collect()
    }

    /// Whether the rule needs an API key's access list.
    pub fn needs_access(&self, kind: Kind) -> bool {
        matches!(kind, Kind::OrgApiKey | Kind::ProjectApiKey)
            && (self.unused_for.is_some()
                || self.never_used == Some(true)
                || self.no_access_list == Some(true))
    }

    /// The rule on one credential of `kind`.
    pub fn judge(&self, kind: Kind, f: &Facts, now: Timestamp) -> Verdict {
        if !self.kinds().contains(&kind) {
            return Verdict::No;
        }
        let fails = |checks: &[Check]| checks.iter().any(|(ok, _)| *ok == Some(false));
        let mut checks = self.plain(kind, f, now);
        if fails(&checks) {
            return Verdict::No;
        }
        if self.needs_access(kind) {
            let Some(entries) = &f.access else {
                return Verdict::NeedsAccessList;
            };
            checks.extend(self.access(entries, now));
            if fails(&checks) {
                return Verdict::No;
            }
        }
        let unknown: Vec<String> = checks
            .iter()
            .filter(|(ok, _)| ok.is_none())
            .map(|(_, text)| text.clone())
            .collect();
        if unknown.is_empty() {
            Verdict::Holds(checks.into_iter().map(|(_, text)| text).collect())
        } else {
            Verdict::Unreadable(unknown)
        }
    }

    /// Every condition that needs no access list.
    fn plain(&self, kind: Kind, f: &Facts, now: Timestamp) -> Vec<Check> {
        use DateField::*;
        let at = |t: Option<Timestamp>| t.map_or("never".to_string(), |t| t.to_string());
        // A condition on a date the list gave unreadably is unknown, whatever the others say.
        let on = |fields: &[DateField], ok: bool, text: String| match f.unread(fields) {
            Some(raw) => (None, format!("{raw} is not a date")),
            None => (Some(ok), text),
        };
        let mut checks = Vec::new();
        if self.expired == Some(true) {
            let ok = f.expires.is_some_and(|e| e <= now);
            checks.push(on(&[Expires], ok, format!("expired at {}", at(f.expires))));
        }
        if let Some(d) = self.expiring_within {
            let soon = now.checked_add(jiff::SignedDuration::try_from(d).unwrap_or_default());
            let ok = matches!((f.expires, soon), (Some(e), Ok(soon)) if e > now && e <= soon);
            let text = format!("expires at {} (within {})", at(f.expires), words(d));
            checks.push(on(&[Expires], ok, text));
        }
        if let Some(d) = self.created_before {
            checks.push(match (f.created, f.first_seen) {
                (None, Some(seen)) if matches!(kind, Kind::OrgApiKey | Kind::ProjectApiKey) => (
                    Some(older(Some(seen), d, now)),
                    format!(
                        "first seen at {seen} by the job's ledger (over {} ago; the API gives no creation date)",
                        words(d)
                    ),
                ),
                _ => {
                    let text = format!("created at {} (over {} ago)", at(f.created), words(d));
                    on(&[Created], older(f.created, d, now), text)
                }
            });
        }
        // An API key's use is in its access list, judged apart.
        if !matches!(kind, Kind::OrgApiKey | Kind::ProjectApiKey) {
            if let Some(d) = self.unused_for {
                let last = f.last_used.or(f.created);
                let text = format!("last used {} (over {} ago)", at(f.last_used), words(d));
                checks.push(on(&[LastUsed, Created], older(last, d, now), text));
            }
            if self.never_used == Some(true) {
                checks.push(on(&[LastUsed], f.last_used.is_none(), "never used".into()));
            }
        }
        if self.all_secrets_expired == Some(true) {
            let all = !f.secrets_expire.is_empty()
                && f.secrets_expire.iter().all(|e| e.is_some_and(|e| e <= now));
            let text = format!("all {} secrets expired", f.secrets_expire.len());
            checks.push(on(&[SecretsExpire], all, text));
        }
        if let Some(p) = &self.name {
            let text = format!("name {:?} matches {p:?}", f.name);
            checks.push((Some(glob(p, &f.name)), text));
        }
        if let Some(p) = &self.description {
            let text = format!("description {:?} matches {p:?}", f.description);
            checks.push((Some(glob(p, &f.description)), text));
        }
        checks
    }

    /// The access-list conditions.
    fn access(&self, entries: &[Entry], now: Timestamp) -> Vec<Check> {
        let unread = entries.iter().find_map(|e| e.unreadable.clone());
        let dated = |ok: bool, text: String| match &unread {
            Some(raw) => (None, format!("access list {raw} is not a date")),
            None => (Some(ok), text),
        };
        let mut checks = Vec::new();
        if self.no_access_list == Some(true) {
            checks.push((Some(entries.is_empty()), "no access-list entry".into()));
        }
        if let Some(d) = self.unused_for {
            let ok = !entries.is_empty()
                && entries
                    .iter()
                    .all(|e| older(e.last_used.or(e.created), d, now));
            let last = entries.iter().filter_map(|e| e.last_used).max();
            let text = format!(
                "access list last used {} (over {} ago)",
                last.map_or("never".into(), |t| t.to_string()),
                words(d)
            );
            checks.push(dated(ok, text));
        }
        if self.never_used == Some(true) {
            let ok = !entries.is_empty() && entries.iter().all(|e| e.last_used.is_none());
            checks.push(dated(ok, "access list shows no use".into()));
        }
        checks
    }
}

/// A duration as the rule said it: whole days, else hours.
fn words(d: Duration) -> String {
    let hours = d.as_secs() / 3600;
    if hours.is_multiple_of(24) && hours > 0 {
        format!("{}d", hours / 24)
    } else {
        format!("{hours}h")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Option<Timestamp> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn boundaries_are_as_documented() {
        let now: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let expired = Rule {
            expired: Some(true),
            ..Rule::default()
        };
        let at = |e: &str| Facts {
            expires: t(e),
            ..Facts::default()
        };
        let k = Kind::ServiceAccountSecret;
        assert!(matches!(
            expired.judge(k, &at("2026-12-01T00:00:00Z"), now),
            Verdict::Holds(_)
        ));
        assert_eq!(
            expired.judge(k, &at("2026-12-01T00:00:01Z"), now),
            Verdict::No
        );
        let within = Rule {
            expiring_within: Some(span::parse("7d").unwrap()),
            ..Rule::default()
        };
        assert!(matches!(
            within.judge(k, &at("2026-12-08T00:00:00Z"), now),
            Verdict::Holds(_)
        ));
        assert_eq!(
            within.judge(k, &at("2026-12-08T00:00:01Z"), now),
            Verdict::No
        );
        assert_eq!(
            within.judge(k, &at("2026-12-01T00:00:00Z"), now),
            Verdict::No
        );
        // An expiry says nothing of an API key.
        assert_eq!(
            expired.judge(Kind::OrgApiKey, &at("2020-01-01T00:00:00Z"), now),
            Verdict::No
        );
    }

    #[test]
    fn an_api_key_needs_its_access_list_only_when_the_rest_holds() {
        let now: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let rule = Rule {
            unused_for: Some(span::parse("30d").unwrap()),
            name: Some("ci-*".into()),
            ..Rule::default()
        };
        let mut f = Facts {
            name: "prod".into(),
            ..Facts::default()
        };
        assert_eq!(rule.judge(Kind::OrgApiKey, &f, now), Verdict::No);
        f.name = "CI-runner".into();
        assert_eq!(
            rule.judge(Kind::OrgApiKey, &f, now),
            Verdict::NeedsAccessList
        );
        f.access = Some(vec![Entry {
            created: t("2026-01-01T00:00:00Z"),
            last_used: t("2026-10-01T00:00:00Z"),
            unreadable: None,
        }]);
        assert!(matches!(
            rule.judge(Kind::OrgApiKey, &f, now),
            Verdict::Holds(_)
        ));
        f.access = Some(vec![]);
        assert_eq!(rule.judge(Kind::OrgApiKey, &f, now), Verdict::No);
    }

    #[test]
    fn an_unreadable_date_never_selects_and_is_named_only_where_it_decides() {
        let now: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let unused = Rule {
            unused_for: Some(span::parse("30d").unwrap()),
            ..Rule::default()
        };
        let f = Facts {
            created: t("2026-01-01T00:00:00Z"),
            unreadable: vec![(DateField::LastUsed, "lastUsedAt \"2026-11-30\"".into())],
            ..Facts::default()
        };
        let k = Kind::ServiceAccountSecret;
        assert_eq!(
            unused.judge(k, &f, now),
            Verdict::Unreadable(vec!["lastUsedAt \"2026-11-30\" is not a date".into()])
        );
        // A condition that fails on readable facts decides alone.
        let named = Rule {
            name: Some("ci-*".into()),
            ..unused.clone()
        };
        assert_eq!(named.judge(k, &f, now), Verdict::No);
        // A rule that reads no unreadable date is judged as ever.
        let created = Rule {
            created_before: Some(span::parse("30d").unwrap()),
            ..Rule::default()
        };
        assert!(matches!(created.judge(k, &f, now), Verdict::Holds(_)));
        // An access-list entry's unreadable date.
        let entries = vec![Entry {
            created: t("2026-01-01T00:00:00Z"),
            last_used: None,
            unreadable: Some("lastUsed \"yesterday\"".into()),
        }];
        let key = Facts {
            access: Some(entries),
            ..Facts::default()
        };
        assert!(matches!(
            unused.judge(Kind::OrgApiKey, &key, now),
            Verdict::Unreadable(_)
        ));
    }

    #[test]
    fn an_api_key_is_created_before_when_first_seen_before_and_says_so() {
        let now = t("2026-12-01T00:00:00Z").unwrap();
        let rule = Rule {
            created_before: Some(span::parse("90d").unwrap()),
            kinds: Some(vec![Kind::OrgApiKey]),
            ..Rule::default()
        };
        let mut f = Facts {
            first_seen: t("2026-08-01T00:00:00Z"),
            ..Facts::default()
        };
        match rule.judge(Kind::OrgApiKey, &f, now) {
            Verdict::Holds(why) => assert!(
                why[0].starts_with("first seen at 2026-08-01T00:00:00Z by the job's ledger"),
                "{why:?}"
            ),
            v => panic!("{v:?}"),
        }
        f.first_seen = t("2026-11-01T00:00:00Z");
        assert_eq!(rule.judge(Kind::OrgApiKey, &f, now), Verdict::No);
        // Without a ledger an API key has no date to judge: never selected.
        f.first_seen = None;
        assert_eq!(rule.judge(Kind::OrgApiKey, &f, now), Verdict::No);
    }

    #[test]
    fn a_rule_without_conditions_or_kinds_is_refused() {
        assert!(
            Rule::default()
                .check(1)
                .unwrap_err()
                .contains("no condition")
        );
        let r = Rule {
            kinds: Some(vec![Kind::OrgApiKey]),
            expired: Some(true),
            ..Rule::default()
        };
        assert!(
            r.check(2)
                .unwrap_err()
                .contains("no kind has every condition")
        );
        assert_eq!(span::parse("90d").unwrap(), Duration::from_secs(90 * 86400));
        assert!(span::parse("soon").is_err());
    }
}
