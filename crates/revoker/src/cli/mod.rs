//! The command line: one file per command (`run`, `validate`, `verify`, `report`, `demo`, `man`),
//! the grammar in [`args`], stderr in [`console`], progress in [`progress`].

mod args;
mod census;
#[cfg(feature = "demo")]
mod demo;
mod ledger;
mod man;
mod plan;
mod report;
mod resolve;
mod rotate;
mod run;
mod select;
mod sweep;
mod validate;
mod verify;

use clap::Parser;

pub use args::{Cli, Command, DemoArgs, LogFormat, Output, RunArgs};

pub use crate::vocab::exit;

pub use crate::job::Failure;
use crate::ui::console;
pub use crate::ui::out;

/// Atlas CLI's flags that revoker does another way, with the way: clap alone would only say they
/// are unknown.
fn atlas_cli_habit(args: impl Iterator<Item = String>) -> Option<String> {
    for arg in args {
        let flag = arg.split('=').next().unwrap_or_default().to_string();
        let message = match flag.as_str() {
            "--orgId" | "--org-id" => {
                "--orgId is Atlas CLI's: revoker takes each row's organization from the input's org column; to choose credentials from an organization's live state, use revoker select --org ID"
            }
            "--projectId" | "--project-id" => {
                "--projectId is Atlas CLI's: revoker takes each row's project from the input's project column; to choose from a project's live state, use revoker select --project ID"
            }
            "--apiKeyId" | "--clientId" => {
                "revoker reads the keys to revoke from an input file (--input FILE, CSV or JSON), not from flags: one row per key"
            }
            _ => continue,
        };
        return Some(message.to_string());
    }
    None
}

/// Parses the command line, runs the command, and answers the exit code.
pub fn main() -> i32 {
    // Before anything holds a secret.
    crate::fsx::no_core_dumps();
    if let Some(message) = atlas_cli_habit(std::env::args().skip(1)) {
        eprintln!("revoker: {message}");
        return exit::USAGE;
    }
    let cli = Cli::parse();
    console::init(cli.log_format, cli.verbose);
    let result = match cli.command {
        Command::Run(args) => runtime().and_then(|rt| rt.block_on(run::command(*args))),
        Command::Plan(args) => runtime().and_then(|rt| rt.block_on(plan::command(*args))),
        Command::Select(args) => runtime().and_then(|rt| rt.block_on(select::command(*args))),
        Command::Sweep(args) => runtime().and_then(|rt| rt.block_on(sweep::command(*args))),
        Command::Census(args) => runtime().and_then(|rt| rt.block_on(census::command(*args))),
        Command::Resolve(args) => runtime().and_then(|rt| rt.block_on(resolve::command(*args))),
        Command::Validate(args) => validate::command(args),
        Command::Verify(args) => runtime().and_then(|rt| rt.block_on(verify::command(*args))),
        Command::Rotate(args) => runtime().and_then(|rt| rt.block_on(rotate::command(*args))),
        Command::Report(args) => report::command(args),
        Command::Ledger(args) => ledger::command(args),
        #[cfg(feature = "demo")]
        Command::Demo(args) => runtime().and_then(|rt| rt.block_on(demo::command(args))),
        Command::Man(args) => man::command(args),
        Command::Keygen(args) => keygen(&args),
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
            console().error(&format!("{error:#}"));
            code
        }
    }
}

/// `revoker keygen`: the pair made, and how an auditor checks what it signs.
fn keygen(args: &args::KeygenArgs) -> Result<i32, Failure> {
    let public = crate::report::signature::keygen(&args.secret_key, &args.public_key)
        .map_err(Failure::usage)?;
    out(format!(
        "secret key {} (owner-only), public key {}: {public}\nan auditor checks a signed report, in its folder: {}",
        args.secret_key.display(),
        args.public_key.display(),
        crate::report::signature::stock_check("REPORT", &args.public_key.display().to_string())
    ));
    Ok(exit::OK)
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::from)
}
