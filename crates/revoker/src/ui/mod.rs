//! What people and programs see: stderr (text or JSON lines) in [`console`], progress in
//! [`progress`], and the forms of output the commands share.

pub mod console;
pub mod progress;

use clap::ValueEnum;

pub use console::console;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    /// One JSON object per line.
    Json,
}

/// What a command prints on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people.
    #[default]
    Text,
    /// One JSON document (logs stay on stderr).
    Json,
}

/// What a run prints.
#[derive(Clone, Debug)]
pub struct Outputs {
    /// No progress, and no summary when every row finished.
    pub quiet: bool,
    /// Interval of the plain progress lines (when stderr is not a terminal).
    pub progress_every: std::time::Duration,
    pub output: Output,
    /// The command that continues this run (`None`: print no hint, the caller explains).
    pub resume_hint: Option<String>,
    /// The credential's public identity and where it came from, for a stop that is its fault.
    pub credential: String,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs {
            quiet: false,
            progress_every: std::time::Duration::from_secs(10),
            output: Output::Text,
            credential: String::new(),
            resume_hint: None,
        }
    }
}

/// Writes a line to stdout; a closed pipe (`| head -n1`) ends the program quietly instead of
/// panicking.
pub fn out(line: impl std::fmt::Display) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(crate::vocab::exit::OK);
    }
}
