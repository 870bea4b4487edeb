//! The error a command ends with: a message for stderr and the exit code it means.

use crate::vocab::{ExitCode, exit};

/// An error that ends the program with `code`; its message goes to stderr once.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn new(code: i32, error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            code,
            error: error.into(),
        }
    }

    /// A usage or configuration error (exit 2).
    pub fn usage(message: impl std::fmt::Display) -> Failure {
        Failure::new(exit::USAGE, anyhow::anyhow!("{message}"))
    }
}

macro_rules! usage_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Failure {
                Failure::new(exit::USAGE, e)
            }
        }
    )*};
}
usage_errors!(
    crate::input::InputError,
    crate::input::exempt::ExemptError,
    crate::settings::SettingsError,
    crate::settings::JobFileError,
    crate::settings::CredentialError,
    crate::api::ApiError,
    std::io::Error,
    anyhow::Error
);

/// Errors that know their own exit code (a locked ledger is 4, not a usage error).
macro_rules! coded_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Failure {
                Failure::new(e.exit_code(), e)
            }
        }
    )*};
}
coded_errors!(
    crate::report::ReportError,
    crate::ledger::LedgerError,
    crate::findings::formats::FindingsError,
    crate::plan::file::PlanFileError
);

impl From<crate::engine::EngineError> for Failure {
    fn from(e: crate::engine::EngineError) -> Failure {
        match e {
            crate::engine::EngineError::Report(e) => e.into(),
            crate::engine::EngineError::Input(e) => e.into(),
        }
    }
}
