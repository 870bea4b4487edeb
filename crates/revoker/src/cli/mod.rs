//! The command line: one file per command (`run`, `validate`, `verify`, `report`, `demo`, `man`),
//! the grammar in [`args`], stderr in [`console`], progress in [`progress`].

mod args;
mod console;
#[cfg(feature = "demo")]
mod demo;
mod man;
mod progress;
mod report;
mod run;
mod validate;
mod verify;

use std::io::Write;

use clap::Parser;

pub use args::{Cli, Command, DemoArgs, LogFormat, Output, RunArgs};

/// Exit codes (see DESIGN.md).
pub mod exit {
    /// Every row done or not_found.
    pub const OK: i32 = 0;
    /// Some rows not finished.
    pub const UNFINISHED: i32 = 1;
    /// Usage, configuration, unreadable or changed input, wrong base URL, report conflict.
    pub const USAGE: i32 = 2;
    /// Aborted: credentials refused, IP not on the access list, every project refusing, no answer.
    pub const ABORTED: i32 = 3;
    /// Another run holds the report.
    pub const LOCKED: i32 = 4;
    pub const SIGINT: i32 = 130;
    pub const SIGTERM: i32 = 143;
}

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
    crate::settings::SettingsError,
    crate::settings::JobFileError,
    crate::settings::CredentialError,
    crate::api::ApiError,
    std::io::Error,
    anyhow::Error
);

impl From<crate::report::ReportError> for Failure {
    fn from(e: crate::report::ReportError) -> Failure {
        Failure::new(e.exit_code(), e)
    }
}

impl From<crate::engine::EngineError> for Failure {
    fn from(e: crate::engine::EngineError) -> Failure {
        match e {
            crate::engine::EngineError::Report(e) => e.into(),
            crate::engine::EngineError::Input(e) => e.into(),
        }
    }
}

/// Writes a line to stdout; a closed pipe (`| head -n1`) ends the program quietly instead of
/// panicking.
pub fn out(line: impl std::fmt::Display) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(exit::OK);
    }
}

/// Parses the command line, runs the command, and answers the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    console::init(cli.log_format, cli.verbose);
    let result = match cli.command {
        Command::Run(args) => runtime().and_then(|rt| rt.block_on(run::command(*args))),
        Command::Validate(args) => validate::command(args),
        Command::Verify(args) => runtime().and_then(|rt| rt.block_on(verify::command(*args))),
        Command::Report(args) => report::command(args),
        #[cfg(feature = "demo")]
        Command::Demo(args) => runtime().and_then(|rt| rt.block_on(demo::command(args))),
        Command::Man(args) => man::command(args),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "revoker",
                &mut buf,
            );
            out(String::from_utf8_lossy(&buf).trim_end());
            Ok(exit::OK)
        }
    };
    match result {
        Ok(code) => code,
        Err(Failure { code, error }) => {
            console::console().error(&format!("{error:#}"));
            code
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::from)
}
