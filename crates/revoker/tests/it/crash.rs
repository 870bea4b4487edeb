//! Crashes and signals: nothing finished is lost, nothing done is sent again.

use std::collections::{HashMap, HashSet};
use std::process::Child;
use std::time::{Duration, Instant};

use rand::Rng;
use revoker::report::Outcome;
use revoker_testkit::simulator::SimConfig;
use revoker_testkit::*;

fn run_args(resume: bool) -> Vec<&'static str> {
    let mut args = vec!["--concurrency", "16"];
    if resume {
        args.push("--resume");
    }
    args
}

fn wait(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return (status.code(), err);
        }
        assert!(
            started.elapsed() < limit,
            "revoker did not finish within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Kills a run with SIGKILL at random moments, resuming each time, then checks that every key is
/// gone, every row finished, and no row recorded done was sent again. CI runs it small; the full
/// size of #7 is `REVOKER_CRASH_ROWS=5000 REVOKER_CRASH_KILLS=10 cargo test --test crash`.
#[test]
fn sigkill_at_random_moments_then_resume_loses_nothing() {
    let rows = env_number("REVOKER_CRASH_ROWS", 1500);
    let kills = env_number("REVOKER_CRASH_KILLS", 4);
    let keys = keys(rows, 25);
    let sim = sim(
        SimConfig {
            latency: Duration::from_millis(15),
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    // The seed is printed so that a failure can be replayed with REVOKER_CRASH_SEED.
    let seed: u64 = std::env::var("REVOKER_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("crash test seed: {seed} (REVOKER_CRASH_SEED={seed} replays it)");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let mut resume = false;
    for _ in 0..kills {
        // Kill at a random moment after the run has revoked something, however slow the machine.
        let before = records_or_none(&report);
        let mut child = spawn_run(&sim, &input, &report, &run_args(resume));
        wait_for_rows(&report, before, &mut child);
        std::thread::sleep(Duration::from_millis(rng.random_range(0..250)));
        let _ = child.kill();
        let _ = child.wait();
        resume = true;
    }
    let (code, err) = wait(
        spawn_run(&sim, &input, &report, &run_args(resume)),
        Duration::from_secs(120),
    );
    assert_eq!(code, Some(0), "{err}");

    let stats = sim.stats();
    assert_eq!(stats.remaining, 0, "every key is gone");
    assert_eq!(stats.deleted, rows);

    // Latest outcome per row, and no row sent again after a run recorded it done.
    let records = records(&report);
    let mut latest: HashMap<(String, String, String), Outcome> = HashMap::new();
    let mut done_in: HashMap<(String, String, String), String> = HashMap::new();
    for r in &records {
        let id = (r.kind.clone(), r.project.clone(), r.key.clone());
        if let Some(run) = done_in.get(&id) {
            assert_eq!(
                run, &r.run_id,
                "row {id:?} was reported again after being done"
            );
        }
        if r.outcome == Outcome::Done {
            done_in.insert(id.clone(), r.run_id.clone());
        }
        latest.insert(id, r.outcome);
    }
    assert_eq!(latest.len() as u64, rows);
    assert!(
        latest.values().all(|o| o.is_finished()),
        "every row ends done or not_found"
    );
    // Rows in flight at a kill were deleted without a record; their retry saw 404, and only they.
    let runs = records
        .iter()
        .map(|r| &r.run_id)
        .collect::<HashSet<_>>()
        .len() as u64;
    let runs_that_revoked = records
        .iter()
        .filter(|r| r.outcome == Outcome::Done)
        .map(|r| &r.run_id)
        .collect::<HashSet<_>>();
    assert!(runs_that_revoked.len() >= 2, "the kills landed mid-run");
    assert!(stats.repeat_deletes <= 16 * runs, "{stats:?}");
    // Each of them is reported done with its explanation; a row whose 404 was itself cut off by a
    // later kill draws more than one repeat, so the report can have fewer such rows than repeats.
    let explained = records
        .iter()
        .filter(|r| {
            r.message
                .contains("not found now, after an earlier attempt that got no answer")
        })
        .count() as u64;
    assert!(explained <= stats.repeat_deletes, "{explained} {stats:?}");
    assert_eq!(
        explained > 0,
        stats.repeat_deletes > 0,
        "{explained} {stats:?}"
    );

    // A plain CSV reader accepts the whole file too.
    let mut plain = csv::Reader::from_path(&report).unwrap();
    assert_eq!(
        plain
            .records()
            .map(|r| r.unwrap().len())
            .filter(|n| *n == revoker::report::HEADER.len())
            .count(),
        records.len()
    );
}

#[test]
fn sigint_drains_in_flight_requests_and_exits_130_with_a_valid_report() {
    let keys = keys(300, 5);
    let sim = sim(
        SimConfig {
            latency: Duration::from_millis(30),
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let mut child = spawn_run(&sim, &input, &report, &run_args(false));
    wait_for_rows(&report, 19, &mut child);
    interrupt(&child);
    let (code, err) = wait(child, Duration::from_secs(60));
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains("stopping: finishing the requests in flight"),
        "{err}"
    );
    assert!(err.contains("stopped: run interrupted (SIGINT)"), "{err}");
    // One row per row attempted; the rows never attempted are not written, and the summary counts
    // them.
    let records = records(&report);
    let done = count(&records, Outcome::Done);
    assert_eq!(records.len(), done, "{records:?}");
    assert_eq!(
        sim.stats().deleted as usize,
        done,
        "every request sent was recorded"
    );
    assert!(done < 300);
    assert!(
        err.contains(&format!(
            "not attempted (the run stopped; not in the report, --resume sends them): {}",
            300 - done
        )),
        "{err}"
    );
    // The hint to continue is the same command with --resume, and it can be pasted.
    let hint = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("to continue: "))
        .expect("a hint");
    assert!(
        hint.ends_with(" --resume") && hint.contains(" run "),
        "{hint}"
    );
}

/// Waits until the report holds more than `rows` rows, or the run has ended.
#[test]
fn a_second_sigint_quits_at_once_and_the_report_still_reads() {
    let keys = keys(200, 4);
    let sim = sim(
        SimConfig {
            latency: Duration::from_millis(400),
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let mut child = spawn_run(&sim, &input, &report, &run_args(false));
    wait_for_rows(&report, 0, &mut child);
    for _ in 0..2 {
        interrupt(&child);
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, err) = wait(child, Duration::from_secs(5));
    assert_eq!(code, Some(130), "{err}");
    // A graceful stop exits 130 too: the line only a second signal prints tells them apart, and no
    // summary follows it.
    assert!(err.contains(revoker::job::signals::QUIT_AT_ONCE), "{err}");
    assert!(!err.contains("report chain digest"), "{err}");
    // Requests were still in flight (400 ms each): the run did not wait for them, so their rows
    // are missing, and every row it did report is whole.
    let records = records(&report);
    assert!(records.len() < 200, "it quit before reporting every row");
    assert!(
        records
            .iter()
            .all(|r| r.outcome == Outcome::Done || r.outcome == Outcome::Skipped)
    );
}
