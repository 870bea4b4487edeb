//! Hostile and broken answers: each is classified with a readable message, none panics, memory stays
//! bounded, and a run through all of them at once ends with every row finished.

use std::time::Duration;

use revoker::api::{self, Answer};
use revoker::report::Outcome;
use revoker_testkit::simulator::{DEFAULT_PRIVATE_KEY, Fault, RetryAfterStyle, SimConfig};
use revoker_testkit::*;

fn answer_to(config: SimConfig, envelope: bool) -> (Answer, revoker_testkit::simulator::Stats) {
    let keys = keys(1, 1);
    let sim = sim(config, &keys);
    let (client, _) = api_client(
        sim.base_url(),
        api_key(DEFAULT_PRIVATE_KEY),
        envelope,
        Duration::from_millis(500),
    );
    let answer = block(client.revoke(&keys[0])).answer;
    (answer, sim.stats())
}

fn fault(fault: Fault) -> SimConfig {
    SimConfig {
        faults: vec![(fault, 1.0)],
        ..SimConfig::default()
    }
}

#[test]
fn each_fault_is_classified_with_a_readable_message() {
    let transient = |a: &Answer| match a {
        Answer::Transient {
            status,
            detail,
            ambiguous,
            ..
        } => (*status, detail.clone(), *ambiguous),
        other => panic!("expected a transient answer, got {other:?}"),
    };

    let (a, stats) = answer_to(fault(Fault::LostAnswer), false);
    let (status, detail, ambiguous) = transient(&a);
    assert_eq!(status, None);
    assert!(detail.starts_with("connection error"), "{detail}");
    assert!(ambiguous, "the key may be gone");
    assert_eq!((stats.deleted, stats.resets), (1, 1));

    let (a, _) = answer_to(
        SimConfig {
            reset_rate: 1.0,
            ..SimConfig::default()
        },
        false,
    );
    assert!(transient(&a).1.starts_with("connection error"), "{a:?}");

    let (a, _) = answer_to(fault(Fault::Stall), false);
    assert_eq!(
        transient(&a),
        (
            Some(200),
            "HTTP 200, then the body failed: no answer before the timeout".into(),
            true
        )
    );

    let (a, _) = answer_to(fault(Fault::Truncate), false);
    let (status, detail, ambiguous) = transient(&a);
    assert_eq!(status, Some(500));
    assert!(
        detail.starts_with("HTTP 500, then the body failed: connection error"),
        "{detail}"
    );
    assert!(ambiguous);

    let (a, _) = answer_to(fault(Fault::Html500), false);
    assert_eq!(
        transient(&a),
        (
            Some(500),
            "HTTP 500 (an HTML body of 102 bytes)".into(),
            false
        )
    );

    let (a, stats) = answer_to(fault(Fault::BadEnvelope), true);
    assert_eq!(
        transient(&a),
        (
            Some(200),
            "envelope answer is not JSON (an HTML body of 44 bytes)".into(),
            true
        )
    );
    assert_eq!(stats.deleted, 0);

    // A body that never ends: only the first 64 KiB are read and the status decides. Reading on
    // could only end in the 500 ms timeout (a transient answer), or with memory exhausted.
    let (a, stats) = answer_to(fault(Fault::HugeBody), false);
    assert_eq!(a, Answer::Done { status: 200 });
    assert_eq!(stats.deleted, 1);

    let (a, _) = answer_to(fault(Fault::Redirect), false);
    assert!(matches!(a, Answer::Rejected { status: 302, .. }), "{a:?}");

    for (style, expected) in [
        (RetryAfterStyle::Seconds, Some(Duration::from_secs(2))),
        (RetryAfterStyle::Huge, Some(api::MAX_RETRY_AFTER)),
        (RetryAfterStyle::Garbage, None),
    ] {
        let config = SimConfig {
            retry_after: Some(2),
            retry_after_style: style,
            ..fault(Fault::Throttle)
        };
        let (a, _) = answer_to(config, false);
        assert!(
            matches!(&a, Answer::Transient { status: Some(429), retry_after, .. } if *retry_after == expected),
            "{style:?}: {a:?}"
        );
    }
    let config = SimConfig {
        retry_after: Some(2),
        retry_after_style: RetryAfterStyle::Date,
        ..fault(Fault::Throttle)
    };
    let (a, _) = answer_to(config, false);
    assert!(
        matches!(&a, Answer::Transient { retry_after: Some(d), .. } if *d <= Duration::from_secs(2) && *d >= Duration::from_secs(1)),
        "{a:?}"
    );
}

/// Every fault at once over many rows: all end done. CI runs it small; the size of #7 is
/// `REVOKER_SOAK_ROWS=10000 cargo test --release --test faults`.
#[test]
fn a_soak_through_every_fault_ends_with_every_row_done() {
    let rows: u64 = std::env::var("REVOKER_SOAK_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let keys = keys(rows, 40);
    let config = SimConfig {
        error_rate: 0.15,
        reset_rate: 0.05,
        retry_after: Some(1),
        retry_after_style: RetryAfterStyle::Date,
        faults: vec![
            (Fault::LostAnswer, 0.04),
            (Fault::Stall, 0.005),
            (Fault::Truncate, 0.03),
            (Fault::Html500, 0.03),
            (Fault::BadEnvelope, 0.03),
            (Fault::HugeBody, 0.01),
            (Fault::Throttle, 0.005),
        ],
        ..SimConfig::default()
    };
    let sim = sim(config, &keys);
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let out = run(
        &sim,
        &path(&d, "in.csv"),
        &path(&d, "r.csv"),
        &[
            "--envelope",
            "--timeout",
            "1s",
            "--max-attempts",
            "20",
            "--concurrency",
            "32",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!(stats.remaining, 0);
    let records = records(&path(&d, "r.csv"));
    assert_eq!(
        count(&records, Outcome::Done) as u64,
        rows,
        "lost answers end done too, not not_found"
    );
    // Rows whose answer was lost were revoked by that attempt and said so (a row can draw the
    // "not there" of its gone key more than once, when that answer is lost too).
    let revoked_earlier = records
        .iter()
        .filter(|r| {
            r.message
                .contains("not found now, after an earlier attempt that got no answer")
        })
        .count() as u64;
    assert!(
        revoked_earlier > 0 && revoked_earlier <= stats.repeat_deletes,
        "{revoked_earlier} {stats:?}"
    );
    let requests_per_row = stats.requests as f64 / rows as f64;
    assert!(requests_per_row < 2.0, "{requests_per_row}");
}

// Issue 34 (wave 7): a list that always answers 500 while the server answers otherwise is
// unreadable, not an outage: it ends after its attempts, named, instead of the outage patience.
#[test]
fn a_list_that_always_answers_500_ends_as_unreadable_not_as_an_outage() {
    use revoker_testkit::simulator::ListFault;
    let rows = keys(30, 10);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(
        SimConfig {
            list_fault: Some(ListFault::ServerError),
            ..SimConfig::default()
        },
        &rows,
    );
    let started = std::time::Instant::now();
    let out = revoker()
        .args([
            "plan",
            "-o",
            "json",
            "--max-attempts",
            "4",
            "--timeout",
            "2s",
        ])
        .args(["--base-url", sim.base_url(), "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!err.contains("no answer from"), "{err}");
    assert!(
        err.contains("such a list is unreadable, and its attempts are spent rather than waited on as an outage"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(50), "{err}");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["plan"]["fates"]["cannot"], 30, "{plan}");
    assert_eq!(sim.stats().deletes, 0);
}
