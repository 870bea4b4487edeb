//! The typed settings of a run: every value of the merged layers with its default applied, here
//! and only here, and checked (a zero that means nothing is refused). Consumers read these; none
//! applies a default of its own.

use std::path::PathBuf;
use std::time::Duration;

use super::{JobFile, SettingsError};
use crate::engine::Rate;
use crate::input::Kind;
use crate::vocab::defaults;

/// What a run does, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// At least 1.
    pub concurrency: usize,
    /// At least 1.
    pub max_attempts: u32,
    /// More than zero.
    pub timeout: Duration,
    /// More than zero.
    pub connect_timeout: Duration,
    pub rate: Option<Rate>,
    pub project_rate: Option<Rate>,
    pub envelope: bool,
    pub verify: bool,
    /// Kinds this job may revoke; empty means the default (the non-destructive kinds).
    pub kinds: Vec<Kind>,
    pub metrics_file: Option<PathBuf>,
    pub sign_key: Option<PathBuf>,
    pub api_moved: bool,
    pub new_input: bool,
    pub allow_own_credential: bool,
    pub exempt: Option<PathBuf>,
    pub max_revocations: Option<u64>,
    pub plan: bool,
    pub yes: bool,
    pub forget_limits: bool,
    /// Protected organizations and projects, and the name guard.
    pub protect: std::sync::Arc<crate::guard::Protect>,
    pub plan_file: Option<PathBuf>,
    pub plan_max_age: Duration,
    pub plan_public_key: Option<PathBuf>,
    /// The job's ledger, when it keeps one (its default path is chosen beside the report).
    pub ledger: Option<super::job::LedgerSetting>,
    /// Nights after which an owed row is escalated.
    pub escalate_after: u32,
    pub expired_exemptions: super::job::ExpiredExemptions,
}

impl Resolved {
    /// `origin` names where a value came from, for messages.
    pub fn of(
        values: &JobFile,
        origin: &dyn Fn(&str) -> String,
    ) -> Result<Resolved, SettingsError> {
        let positive = |name: &str, value: Option<Duration>, default: Duration| match value {
            Some(Duration::ZERO) => Err(SettingsError::Invalid(format!(
                "{name} must be more than 0s (from {})",
                origin(name)
            ))),
            v => Ok(v.unwrap_or(default)),
        };
        let at_least_one = |name: &str, value: Option<u64>, default: u64| match value {
            Some(0) => Err(SettingsError::Invalid(format!(
                "{name} must be at least 1 (from {})",
                origin(name)
            ))),
            v => Ok(v.unwrap_or(default)),
        };
        let yes = |v: Option<bool>| v.unwrap_or(false);
        Ok(Resolved {
            concurrency: at_least_one(
                "concurrency",
                values.concurrency.map(|c| c as u64),
                defaults::CONCURRENCY as u64,
            )? as usize,
            max_attempts: at_least_one(
                "max_attempts",
                values.max_attempts.map(u64::from),
                u64::from(defaults::MAX_ATTEMPTS),
            )?
            .try_into()
            .unwrap_or(u32::MAX),
            timeout: positive("timeout", values.timeout, defaults::TIMEOUT)?,
            connect_timeout: positive(
                "connect_timeout",
                values.connect_timeout,
                defaults::CONNECT_TIMEOUT,
            )?,
            rate: values.rate,
            project_rate: values.project_rate,
            envelope: yes(values.envelope),
            verify: yes(values.verify),
            kinds: values.kinds.clone().unwrap_or_default(),
            metrics_file: values.metrics_file.clone(),
            sign_key: values.sign_key.clone(),
            api_moved: yes(values.api_moved),
            new_input: yes(values.new_input),
            allow_own_credential: yes(values.allow_own_credential),
            exempt: values.exempt.clone(),
            max_revocations: values.max_revocations,
            plan: yes(values.plan),
            yes: yes(values.yes),
            forget_limits: yes(values.forget_limits),
            protect: std::sync::Arc::new(protect(values)?),
            plan_file: values.plan_file.clone(),
            plan_max_age: positive("plan_max_age", values.plan_max_age, defaults::PLAN_MAX_AGE)?,
            plan_public_key: values.plan_public_key.clone(),
            ledger: values
                .ledger
                .clone()
                .filter(|l| *l != super::job::LedgerSetting::On(false)),
            escalate_after: values
                .escalate_after
                .unwrap_or(crate::ledger::ESCALATE_AFTER),
            expired_exemptions: values.expired_exemptions.unwrap_or_default(),
        })
    }
}

/// The protections of the merged layers, and the name guard.
fn protect(values: &JobFile) -> Result<crate::guard::Protect, SettingsError> {
    let ids = values.protect.clone().unwrap_or_default();
    let mut protect = crate::guard::Protect::load(&[], &ids).map_err(SettingsError::Invalid)?;
    protect.guard_names = values.guard_names.clone().unwrap_or_default();
    Ok(protect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_once_and_zeros_are_refused_naming_their_origin() {
        let origin = |_: &str| "flag --x".to_string();
        let r = Resolved::of(&JobFile::default(), &origin).unwrap();
        assert_eq!(
            (r.concurrency, r.max_attempts, r.timeout),
            (
                defaults::CONCURRENCY,
                defaults::MAX_ATTEMPTS,
                defaults::TIMEOUT
            )
        );
        let zero = JobFile {
            concurrency: Some(0),
            ..JobFile::default()
        };
        let err = Resolved::of(&zero, &origin).unwrap_err().to_string();
        assert_eq!(err, "concurrency must be at least 1 (from flag --x)");
    }
}
