//! Ops Manager behind a private CA, and behind a proxy: the simulator's TLS listener with a
//! self-signed certificate is refused until `--ca-cert` (or mongocli's
//! `MCLI_OPS_MANAGER_CA_CERTIFICATE`) names it, and `HTTPS_PROXY` / `NO_PROXY` are honoured.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use revoker::report::Outcome;
use revoker_testkit::simulator::{SimConfig, SimHandle, TlsFiles};
use revoker_testkit::*;

/// A simulator serving HTTPS with a self-signed certificate for `names`; answers it and the PEM.
fn tls_sim(
    d: &tempfile::TempDir,
    names: &[&str],
    keys: &[revoker::input::Target],
) -> (SimHandle, std::path::PathBuf) {
    let cert =
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    let (cert_pem, key_pem) = (path(d, "cert.pem"), path(d, "key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).unwrap();
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).unwrap();
    let sim = sim(
        SimConfig {
            tls: Some(TlsFiles {
                cert: cert_pem.clone(),
                key: key_pem,
            }),
            ..SimConfig::default()
        },
        keys,
    );
    (sim, cert_pem)
}

#[test]
fn a_private_ca_is_trusted_only_through_ca_cert() {
    let d = dir();
    let keys = keys(3, 1);
    let (sim, cert_pem) = tls_sim(&d, &["127.0.0.1", "localhost"], &keys);
    assert!(sim.base_url().starts_with("https://127.0.0.1:"));
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);

    // Untrusted: the first row cannot connect at all, so the run stops saying why.
    let out = run(
        &sim,
        &input,
        &path(&d, "untrusted.csv"),
        &["--max-attempts", "1"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no answer from 127.0.0.1:"),
        "{}",
        stderr(&out)
    );
    let rows = records(&path(&d, "untrusted.csv"));
    assert_eq!(count(&rows, Outcome::Failed), 1);
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
            "revoker: CA certificate {}: no -----BEGIN CERTIFICATE----- block in the file",
            garbage.display()
        )
    );
}

#[test]
fn mongocli_s_ca_certificate_variable_works_like_ca_cert() {
    let d = dir();
    let keys = keys(3, 1);
    let (sim, cert_pem) = tls_sim(&d, &["127.0.0.1"], &keys);
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);
    let out = run(&sim, &input, &path(&d, "r.csv"), &[])
        .env("MCLI_OPS_MANAGER_CA_CERTIFICATE", &cert_pem)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 3);
    let out = run(&sim, &input, &path(&d, "r2.csv"), &["--print-config"])
        .env("MCLI_OPS_MANAGER_CA_CERTIFICATE", &cert_pem)
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains(&format!(
            "ca_cert = \"{}\"   # environment (MCLI_OPS_MANAGER_CA_CERTIFICATE)",
            cert_pem.display()
        )),
        "{}",
        stdout(&out)
    );
}

/// An HTTP CONNECT proxy on loopback that sends every tunnel to `target` and notes what it was
/// asked for.
fn connect_proxy(target: std::net::SocketAddr) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut request = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    request.push_str(&line);
                }
                seen.lock()
                    .unwrap()
                    .push(request.lines().next().unwrap_or("").to_string());
                let Ok(upstream) = TcpStream::connect(target) else {
                    return;
                };
                let mut client_w = client.try_clone().unwrap();
                client_w
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .unwrap();
                let mut upstream_r = upstream.try_clone().unwrap();
                let mut upstream_w = upstream;
                let up = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut reader, &mut upstream_w);
                    let _ = upstream_w.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut upstream_r, &mut client_w);
                let _ = client_w.shutdown(std::net::Shutdown::Write);
                let _ = up.join();
            });
        }
    });
    (port, asked)
}

#[test]
fn https_proxy_and_no_proxy_are_honoured() {
    let d = dir();
    let keys = keys(4, 1);
    let (sim, cert_pem) = tls_sim(&d, &["sim.test"], &keys);
    let port = sim
        .base_url()
        .trim_start_matches("https://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let target: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (proxy_port, asked) = connect_proxy(target);
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);
    // sim.test resolves nowhere: only the proxy can reach it.
    let base = format!("https://sim.test:{port}/api/public/v1.0");
    let mut cmd = revoker();
    cmd.args(["run", "--base-url", &base, "--ca-cert"])
        .arg(&cert_pem)
        .arg("--input")
        .arg(&input)
        .arg("--report")
        .arg(path(&d, "r.csv"))
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{proxy_port}"));
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 4);
    assert!(
        asked
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with(&format!("CONNECT sim.test:{port} "))),
        "{:?}",
        asked.lock().unwrap()
    );

    // NO_PROXY sends it direct, where sim.test does not resolve.
    let mut cmd = revoker();
    cmd.args([
        "run",
        "--base-url",
        &base,
        "--max-attempts",
        "1",
        "--ca-cert",
    ])
    .arg(&cert_pem)
    .arg("--input")
    .arg(&input)
    .arg("--report")
    .arg(path(&d, "r2.csv"))
    .env("HTTPS_PROXY", format!("http://127.0.0.1:{proxy_port}"))
    .env("NO_PROXY", "sim.test");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no answer from sim.test:"),
        "{}",
        stderr(&out)
    );
}
