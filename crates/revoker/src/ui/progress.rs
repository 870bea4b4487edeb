//! Progress while a run goes: a bar on a terminal; on anything else (cron, a pipe) one plain line
//! (or one JSON object with `--log-format json`) every `--progress-every` with the same figures.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Outputs;
use super::console::{color_allowed, console};
use crate::figures::Figures;
use crate::report::Outcome;

/// A running progress display; [`Display::finish`] ends it.
pub struct Display {
    task: Option<tokio::task::JoinHandle<()>>,
    bar: Option<ProgressBar>,
}

/// No ETA before this much of the run: the first seconds' rate (a burst, a 429's pause) says little.
const ETA_AFTER: Duration = Duration::from_secs(3);

struct Snapshot {
    done: u64,
    total: u64,
    rate: f64,
    eta: Option<Duration>,
    failed: u64,
    rejected: u64,
    invalid: u64,
    throttled: u64,
}

impl Snapshot {
    fn of(figures: &Figures, started: Instant) -> Snapshot {
        let done = figures.written();
        let total = Figures::get(&figures.total).max(done);
        let elapsed = started.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / elapsed;
        let eta = (rate > 0.0 && total > done && started.elapsed() >= ETA_AFTER)
            .then(|| Duration::from_secs(((total - done) as f64 / rate) as u64));
        Snapshot {
            done,
            total,
            rate,
            eta,
            failed: figures.count(Outcome::Failed),
            rejected: figures.count(Outcome::Rejected),
            invalid: figures.count(Outcome::Invalid),
            throttled: Figures::get(&figures.throttled),
        }
    }

    fn text(&self) -> String {
        format!(
            "{:.0} rows/s · ETA {} · failed {} · rejected {} · invalid {} · 429s {}",
            self.rate,
            self.eta
                .map_or("-".into(), |d| humantime::format_duration(d).to_string()),
            self.failed,
            self.rejected,
            self.invalid,
            self.throttled
        )
    }
}

/// One plain line (or JSON object) of progress every `every`, for stderr that is not a terminal.
fn plain_lines(
    figures: Arc<Figures>,
    started: Instant,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    let c = console();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let s = Snapshot::of(&figures, started);
            let percent = if s.total == 0 {
                100.0
            } else {
                s.done as f64 * 100.0 / s.total as f64
            };
            c.emit(
                "INFO",
                "revoker::progress",
                &format!(
                    "{} progress: {}/{} rows ({percent:.0}%) · {}",
                    crate::report::timestamp(),
                    s.done,
                    s.total,
                    s.text()
                ),
                serde_json::json!({
                    "done": s.done,
                    "total": s.total,
                    "rows_per_second": (s.rate * 10.0).round() / 10.0,
                    "eta_seconds": s.eta.map(|d| d.as_secs()),
                    "failed": s.failed,
                    "rejected": s.rejected,
                    "invalid": s.invalid,
                    "throttled": s.throttled,
                }),
            );
        }
    })
}

impl Display {
    /// Starts the display that suits stderr; nothing at all when `quiet`. `pacing` says what
    /// paces the run; `earlier` counts the rows earlier runs of the report finished.
    pub fn start(figures: Arc<Figures>, out: &Outputs, pacing: &str, earlier: u64) -> Display {
        if out.quiet {
            return Display {
                task: None,
                bar: None,
            };
        }
        let started = Instant::now();
        let c = console();
        if std::io::stderr().is_terminal() && !c.json {
            c.note("revoker::progress", &format!("revoker: {pacing}"));
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            // `wide_msg` is cut to the terminal's width: one line, however narrow the terminal.
            let template = if color_allowed() {
                "{bar:24.cyan/blue} {percent:>3}% {pos}/{len} rows · {wide_msg}"
            } else {
                "{bar:24} {percent:>3}% {pos}/{len} rows · {wide_msg}"
            };
            let earlier = if earlier > 0 {
                format!(" · {earlier} finished before")
            } else {
                String::new()
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let shown = bar.clone();
            let task = tokio::spawn(async move {
                loop {
                    let s = Snapshot::of(&figures, started);
                    // Before the engine has counted its rows there is no length: not "100%".
                    if s.total > 0 {
                        shown.set_length(s.total);
                    }
                    shown.set_position(s.done);
                    shown.set_message(format!("{}{earlier}", s.text()));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
            return Display {
                task: Some(task),
                bar: Some(bar),
            };
        }
        Display {
            task: Some(plain_lines(figures, started, out.progress_every)),
            bar: None,
        }
    }

    pub fn finish(self) {
        if let Some(task) = self.task {
            task.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
