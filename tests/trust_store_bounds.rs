//! `SSL_CERT_DIR` under the same bounds as `SSL_CERT_FILE`, over real TLS on
//! 127.0.0.1, memory measured in the spawned process: a link to a 500 MB file
//! without a line break is not read, nor is a file over 16 MiB, and a skipped file
//! is named in the TLS finding, so a company CA that was never read explains an
//! untrusted server.

#[path = "util/peak.rs"]
mod peak;
mod util;

use mailbox_doctor::sim::pki::{CertKind, Pki};
use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

const USER: &str = "alice@example.test";
const PW: &str = "Canary-Pw-9183!";

const LOGIN_OK: &str = "# protocol: smtp
# tls: implicit
S: 220 mail.example.test ESMTP
C: EHLO *
S: 250-mail.example.test
S: 250 AUTH PLAIN LOGIN
C: AUTH PLAIN <auth>
S: 235 2.7.0 Authentication successful
C: QUIT
!close
";

/// A sparse file of `len` bytes that starts with `head` (no disk cost).
fn sparse(path: &Path, head: &[u8], len: u64) {
    let mut f = std::fs::File::create(path).expect("create");
    f.write_all(head).expect("write");
    f.set_len(len).expect("grow");
}

#[test]
fn oversized_files_in_ssl_cert_dir_are_skipped_and_named_in_the_finding() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new().expect("pki");
    let cfg = pki
        .server_config(CertKind::Valid, &["127.0.0.1", "localhost"])
        .expect("cert");
    let sc = Scenario::parse("login-ok", LOGIN_OK).expect("scenario");
    let server = rt
        .block_on(ReplayServer::start(sc, cfg, Duration::ZERO))
        .expect("server");
    let dns = util::local_dns(&rt);
    let dir = tempfile::tempdir().expect("dir");
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).expect("mkdir");
    // The company CA, in a file padded past 16 MiB: never read.
    sparse(
        &certs.join("company-ca.pem"),
        pki.ca.pem().as_bytes(),
        17 << 20,
    );
    // A link to a 500 MB file without a line break.
    let big = dir.path().join("big.bin");
    sparse(&big, b"x", 500 << 20);
    std::os::unix::fs::symlink(&big, certs.join("0123abcd.0")).expect("link");
    let mut cmd = peak::command();
    cmd.env_remove("SSL_CERT_FILE")
        .env("SSL_CERT_DIR", &certs)
        .args(["check", USER, "--timeout", "5", "--json", "--only", "smtp"])
        .args(["--provider", "generic", "--smtp"])
        .arg(format!("smtps://127.0.0.1:{}", server.addr().port()))
        .arg("--dns-server")
        .arg(dns.addr().to_string())
        .arg("--password-stdin");
    let m = peak::run(cmd, format!("{PW}\n").as_bytes(), Duration::from_secs(60));
    let v = util::validated(&m.stdout, "report.v1.json");
    assert_eq!(
        util::codes(&v).first().map(String::as_str),
        Some("TLS_UNTRUSTED"),
        "{v}"
    );
    assert_eq!(
        server.stats().auth_attempts,
        0,
        "no login over an untrusted connection"
    );
    let text = v.to_string();
    assert!(
        text.contains("company-ca.pem (larger than 16 MiB)"),
        "{text}"
    );
    assert!(text.contains("0123abcd.0 (larger than 16 MiB)"), "{text}");
    assert!(text.contains("2 trust store files were not read"), "{text}");
    // It once cost 508 MB to read the link; neither file is read now.
    assert!(m.peak_mib > 0, "VmHWM was read");
    assert!(m.peak_mib < 100, "peak {} MiB", m.peak_mib);
    util::assert_no_leak(USER, PW, &[&m.stdout, &m.stderr]);
}

#[test]
fn ssl_cert_dir_is_bounded_in_total_too() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new().expect("pki");
    let cfg = pki
        .server_config(CertKind::Valid, &["127.0.0.1", "localhost"])
        .expect("cert");
    let sc = Scenario::parse("login-ok", LOGIN_OK).expect("scenario");
    let server = rt
        .block_on(ReplayServer::start(sc, cfg, Duration::ZERO))
        .expect("server");
    let dns = util::local_dns(&rt);
    let dir = tempfile::tempdir().expect("dir");
    // Five files of 15 MiB each (each under the bound per file) come before the
    // company CA in name order: 75 MiB in all passes the 64 MiB bound.
    for i in 0..5 {
        sparse(&dir.path().join(format!("a{i}.pem")), b"filler", 15 << 20);
    }
    std::fs::write(dir.path().join("z-company-ca.pem"), pki.ca.pem()).expect("ca");
    let mut cmd = peak::command();
    cmd.env_remove("SSL_CERT_FILE")
        .env("SSL_CERT_DIR", dir.path())
        .args(["check", USER, "--timeout", "5", "--json", "--only", "smtp"])
        .args(["--provider", "generic", "--smtp"])
        .arg(format!("smtps://127.0.0.1:{}", server.addr().port()))
        .arg("--dns-server")
        .arg(dns.addr().to_string())
        .arg("--password-stdin");
    let m = peak::run(cmd, format!("{PW}\n").as_bytes(), Duration::from_secs(60));
    let v = util::validated(&m.stdout, "report.v1.json");
    let text = v.to_string();
    // 60 MiB read, the fifth filler skipped; the small CA still fits and is trusted.
    assert!(
        text.contains("a4.pem (the store would pass 64 MiB in all)"),
        "{text}"
    );
    assert_eq!(util::codes(&v), ["TLS_PRIVATE_ROOT"], "{v}");
    assert_eq!(server.stats().auth_attempts, 1);
    assert!(m.peak_mib < 160, "peak {} MiB", m.peak_mib);
}
