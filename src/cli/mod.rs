//! The command line: `run`, `validate`, `report`, `sim`, `demo`, `completions`.

mod args;
mod progress;
mod run;
mod tools;

use std::io::IsTerminal;

use clap::Parser;

pub use args::{Cli, Command, DemoArgs, LogFormat, RunArgs};
pub use run::{Outputs, PreparedJob, execute_job};
pub use tools::{generate_keys, load_keys, write_keys};

/// Exit codes (see DESIGN.md).
pub mod exit {
    /// Every row done or not_found.
    pub const OK: i32 = 0;
    /// Some rows not finished.
    pub const UNFINISHED: i32 = 1;
    /// Usage, configuration, unreadable input, report conflict.
    pub const USAGE: i32 = 2;
    /// Credentials rejected.
    pub const CREDENTIALS: i32 = 3;
    pub const SIGINT: i32 = 130;
    pub const SIGTERM: i32 = 143;
}

/// An error that ends the program with `code`; the message goes to stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: exit::USAGE,
            error: e.into(),
        }
    }
}

/// Parses the command line, runs the command, and answers the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    // The demo explains its rejected rows itself; their per-row warnings would drown the story.
    let quiet_logs = matches!(cli.command, Command::Demo(_)) && cli.verbose == 0;
    init_logging(cli.verbose, cli.log_format, quiet_logs);
    let result = match cli.command {
        Command::Run(args) => runtime().and_then(|rt| rt.block_on(run::run_command(*args))),
        Command::Validate(args) => tools::validate(args),
        Command::Report(args) => tools::report(args),
        Command::Sim(args) => runtime().and_then(|rt| rt.block_on(tools::sim(*args))),
        Command::Demo(args) => runtime().and_then(|rt| rt.block_on(crate::demo::run(args))),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "revoker",
                &mut std::io::stdout(),
            );
            Ok(exit::OK)
        }
    };
    match result {
        Ok(code) => code,
        Err(Failure { code, error }) => {
            eprintln!("revoker: {error:#}");
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

fn init_logging(verbose: u8, format: LogFormat, quiet: bool) {
    let default = match verbose {
        0 if quiet => "error",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() && verbose == 0 => tracing_subscriber::EnvFilter::new(spec),
        _ => tracing_subscriber::EnvFilter::new(format!("revoker={default},warn")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second initialisation (tests calling in twice) is harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
