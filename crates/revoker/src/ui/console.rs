//! Everything revoker writes to stderr goes through here or through `tracing`, in one of two forms:
//! plain text (for a terminal or a cron mail) or one JSON object per line (`--log-format json`, for
//! log pipelines), progress and summary included. Colour only on a terminal, and never with
//! `NO_COLOR`. Results meant for programs go to stdout (`-o json`).

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use super::LogFormat;

/// How stderr is written.
#[derive(Clone, Copy, Debug)]
pub struct Console {
    pub json: bool,
    pub color: bool,
}

static CONSOLE: OnceLock<Console> = OnceLock::new();

/// Whether colour may be used on stderr: a terminal, and `NO_COLOR` unset or empty.
pub fn color_allowed() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Sets up stderr: the console and the `tracing` subscriber, with the same format.
pub fn init(format: LogFormat, verbose: u8) {
    let json = matches!(format, LogFormat::Json);
    let color = color_allowed() && !json;
    let _ = CONSOLE.set(Console { json, color });
    let default = match verbose {
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
        .with_ansi(color)
        .with_target(false);
    // A second initialisation (tests calling in twice) is harmless: the first subscriber stays.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        // One style on a terminal: `revoker: warning: …`, as the summary's own lines read.
        builder.event_format(Terse).try_init()
    } else {
        builder.try_init()
    };
}

/// Log lines for a person at a terminal: no timestamp, the level in words, revoker's prefix.
struct Terse;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Terse
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => "error: ",
            tracing::Level::WARN => "warning: ",
            tracing::Level::INFO => "",
            tracing::Level::DEBUG => "debug: ",
            tracing::Level::TRACE => "trace: ",
        };
        write!(writer, "revoker: {level}")?;
        tracing_subscriber::fmt::FormatFields::format_fields(ctx, writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// The console set up by [`init`] (plain text if it was not).
pub fn console() -> Console {
    CONSOLE.get().copied().unwrap_or(Console {
        json: false,
        color: false,
    })
}

impl Console {
    /// One message: in text, `text` as it is; in JSON, an object with the level, a target naming
    /// what it is (`revoker::summary`, `revoker::progress`, …), the text, and `fields`.
    pub fn emit(&self, level: &str, target: &str, text: &str, fields: serde_json::Value) {
        let mut err = std::io::stderr().lock();
        if self.json {
            let mut object = serde_json::Map::new();
            object.insert(
                "timestamp".into(),
                jiff::Timestamp::now().to_string().into(),
            );
            object.insert("level".into(), level.into());
            object.insert("message".into(), text.into());
            object.insert("target".into(), target.into());
            if let serde_json::Value::Object(extra) = fields {
                object.extend(extra);
            }
            let _ = writeln!(err, "{}", serde_json::Value::Object(object));
        } else {
            let _ = writeln!(err, "{text}");
        }
    }

    /// An error that ends the command: `revoker: …` in text.
    pub fn error(&self, text: &str) {
        let shown = if self.color {
            format!("\x1b[31mrevoker:\x1b[0m {text}")
        } else {
            format!("revoker: {text}")
        };
        if self.json {
            self.emit("ERROR", "revoker", text, serde_json::Value::Null);
        } else {
            self.emit("ERROR", "revoker", &shown, serde_json::Value::Null);
        }
    }

    /// A note for the person running the command.
    pub fn note(&self, target: &str, text: &str) {
        self.emit("INFO", target, text, serde_json::Value::Null);
    }
}
