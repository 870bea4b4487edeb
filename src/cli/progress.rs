//! Progress while a run goes: a bar on a terminal; on anything else (cron, a pipe) one plain line
//! every 10 seconds with the same figures.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::api::{Client, Counters};
use crate::engine::Progress;
use crate::report::Outcome;

/// A running progress display; [`Display::finish`] ends it.
pub struct Display {
    task: Option<tokio::task::JoinHandle<()>>,
    bar: Option<ProgressBar>,
}

fn figures(progress: &Progress, client: &Client, started: Instant) -> (u64, u64, String) {
    let done = progress.finished();
    let total = progress.total.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64().max(0.001);
    let rate = done as f64 / elapsed;
    let eta = if rate > 0.0 && total > done {
        humantime::format_duration(Duration::from_secs(((total - done) as f64 / rate) as u64))
            .to_string()
    } else {
        "-".into()
    };
    let text = format!(
        "{rate:.0} rows/s · ETA {eta} · failed {} · rejected {} · invalid {} · 429s {}",
        progress.count(Outcome::Failed),
        progress.count(Outcome::Rejected),
        progress.count(Outcome::Invalid),
        Counters::get(&client.counters.throttled),
    );
    (done, total, text)
}

impl Display {
    /// Starts the display that suits stderr; nothing at all when `quiet`.
    pub fn start(progress: Arc<Progress>, client: Arc<Client>, out: super::Outputs) -> Display {
        if out.quiet {
            return Display {
                task: None,
                bar: None,
            };
        }
        let started = Instant::now();
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} rows · {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let shown = bar.clone();
            let task = tokio::spawn(async move {
                loop {
                    let (done, total, text) = figures(&progress, &client, started);
                    shown.set_length(total);
                    shown.set_position(done);
                    shown.set_message(text);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
            return Display {
                task: Some(task),
                bar: Some(bar),
            };
        }
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(out.progress_every).await;
                let (done, total, text) = figures(&progress, &client, started);
                let percent = if total == 0 {
                    100.0
                } else {
                    done as f64 * 100.0 / total as f64
                };
                eprintln!(
                    "{} progress: {done}/{total} rows ({percent:.0}%) · {text}",
                    crate::report::timestamp()
                );
            }
        });
        Display {
            task: Some(task),
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
