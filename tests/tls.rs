//! Ops Manager behind a private CA: the simulator's TLS listener with a self-signed certificate is
//! refused until `--ca-cert` names it.

mod common;

use common::*;
use revoker::report::Outcome;
use revoker::sim::{SimConfig, TlsFiles};

#[test]
fn a_private_ca_is_trusted_only_through_ca_cert() {
    let d = dir();
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let (cert_pem, key_pem) = (path(&d, "cert.pem"), path(&d, "key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).unwrap();
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).unwrap();
    let keys = keys(3, 1);
    let sim = sim(
        SimConfig {
            tls: Some(TlsFiles {
                cert: cert_pem.clone(),
                key: key_pem,
            }),
            ..SimConfig::default()
        },
        &keys,
    );
    assert!(sim.base_url().starts_with("https://127.0.0.1:"));
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);

    let out = run(
        &sim,
        &input,
        &path(&d, "untrusted.csv"),
        &["--max-attempts", "1"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = records(&path(&d, "untrusted.csv"));
    assert_eq!(count(&rows, Outcome::Failed), 3);
    assert!(
        rows[0].message.starts_with("cannot connect") && rows[0].message.contains("certificate"),
        "{}",
        rows[0].message
    );
    assert_eq!(
        sim.stats().requests,
        0,
        "nothing reached the server over an untrusted connection"
    );

    let out = run(
        &sim,
        &input,
        &path(&d, "trusted.csv"),
        &["--ca-cert", cert_pem.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(count(&records(&path(&d, "trusted.csv")), Outcome::Done), 3);
    assert_eq!(sim.stats().deleted, 3);

    let garbage = path(&d, "garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let out = run(
        &sim,
        &input,
        &path(&d, "g.csv"),
        &["--ca-cert", garbage.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: CA certificate {}: no PEM certificate in the file",
            garbage.display()
        )
    );
}
