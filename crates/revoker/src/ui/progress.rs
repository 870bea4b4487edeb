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

    /// The bar's line for a terminal `width` columns wide, at most `width - 1` characters: the
    /// counts first (this run's, then the report's earlier ones), the rate and ETA, then every
    /// problem count. When that does not fit, zero counts go, then the rate; the bar takes what
    /// room is left (none under 8 columns).
    fn line(&self, earlier: u64, width: usize, color: bool) -> String {
        let room = width.saturating_sub(1);
        let percent = (self.done * 100).checked_div(self.total).unwrap_or(0);
        let head = |short: bool| {
            let (rows, before) = if short {
                ("", "before")
            } else {
                (" rows", "finished before")
            };
            let mut head = format!("{percent:>3}% {}/{}{rows}", self.done, self.total);
            if earlier > 0 {
                head.push_str(&format!(" (+{earlier} {before})"));
            }
            head
        };
        let eta = format!(
            "ETA {}",
            self.eta
                .map_or("-".into(), |d| humantime::format_duration(d).to_string())
        );
        let counts = [
            ("failed", self.failed),
            ("rejected", self.rejected),
            ("invalid", self.invalid),
            ("429s", self.throttled),
        ];
        let fields = |zeros: bool, rate: bool, short: bool| {
            let mut f = vec![head(short)];
            if rate {
                f.push(format!("{:.0} rows/s", self.rate));
            }
            f.push(eta.clone());
            f.extend(
                counts
                    .iter()
                    .filter(|(_, n)| zeros || *n > 0)
                    .map(|(what, n)| format!("{what} {n}")),
            );
            f.join(" · ")
        };
        let levels = [
            (true, true, false),
            (false, true, false),
            (false, false, false),
            (false, false, true),
        ];
        let text = levels
            .into_iter()
            .map(|(zeros, rate, short)| fields(zeros, rate, short))
            .find(|t| t.chars().count() <= room)
            .unwrap_or_else(|| fields(false, false, true).chars().take(room).collect());
        let bar = room.saturating_sub(text.chars().count() + 1).min(24);
        // The percentage in colour, bar or not (the width is counted without the escapes).
        let text = match (color, text.split_at_checked(4)) {
            (true, Some((percent, rest))) => format!("\u{1b}[36m{percent}\u{1b}[0m{rest}"),
            _ => text,
        };
        if bar < 8 {
            return text;
        }
        let full = (bar as u64 * self.done.min(self.total))
            .checked_div(self.total)
            .unwrap_or(0) as usize;
        let (on, off, reset) = if color {
            ("\u{1b}[36m", "\u{1b}[34m", "\u{1b}[0m")
        } else {
            ("", "", "")
        };
        format!(
            "{on}{}{off}{}{reset} {text}",
            "█".repeat(full),
            "░".repeat(bar - full)
        )
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

/// The width of the terminal on stderr; 80 when it cannot be told.
fn stderr_columns() -> usize {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which outlives the call.
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        80
    }
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
            // The line is laid out for the terminal's width each time (a resize is followed);
            // `wide_msg` still cuts it should the width change between two draws.
            bar.set_style(
                ProgressStyle::with_template("{wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let shown = bar.clone();
            let color = color_allowed();
            let task = tokio::spawn(async move {
                loop {
                    let s = Snapshot::of(&figures, started);
                    shown.set_message(s.line(earlier, stderr_columns(), color));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(done: u64, total: u64, counts: [u64; 4]) -> Snapshot {
        Snapshot {
            done,
            total,
            rate: 451.0,
            eta: Some(Duration::from_secs(887)),
            failed: counts[0],
            rejected: counts[1],
            invalid: counts[2],
            throttled: counts[3],
        }
    }

    #[test]
    fn the_line_fits_80_and_120_columns_with_the_counts_first_and_every_problem_count() {
        let s = snapshot(123_456, 400_000, [0, 12, 0, 3_456]);
        let narrow = s.line(250_000, 80, false);
        assert_eq!(
            narrow,
            " 30% 123456/400000 (+250000 before) · ETA 14m 47s · rejected 12 · 429s 3456"
        );
        assert!(narrow.chars().count() <= 79, "{narrow}");
        assert_eq!(
            s.line(0, 80, false),
            " 30% 123456/400000 rows · 451 rows/s · ETA 14m 47s · rejected 12 · 429s 3456"
        );
        let wide = s.line(250_000, 120, false);
        assert!(wide.chars().count() <= 119, "{wide}");
        assert!(
            wide.ends_with(
                " 30% 123456/400000 rows (+250000 finished before) · 451 rows/s · ETA 14m 47s · rejected 12 · 429s 3456"
            ),
            "{wide}"
        );
        let all = snapshot(5, 160, [1, 2, 3, 4]).line(0, 120, false);
        assert!(
            all.ends_with("  3% 5/160 rows · 451 rows/s · ETA 14m 47s · failed 1 · rejected 2 · invalid 3 · 429s 4")
                && all.starts_with("░░░░"),
            "{all}"
        );
    }
}
