//! The machine's own trust store next to Mozilla's roots and `--ca-file`, over
//! real TLS on 127.0.0.1. The store is set for the spawned binary only, through
//! `SSL_CERT_FILE` / `SSL_CERT_DIR`: a private CA that only this "machine" trusts
//! is accepted and named; a CA nobody trusts is still refused; a store that is a
//! device or a FIFO is not read. The "publicly trusted but not here" verdict is
//! checked through the library's handshake with injected root sets (no public
//! CA's key is at hand to sign a test certificate).

mod util;

use mailbox_doctor::net::tls::{handshake, handshake_with};
use mailbox_doctor::net::trust::Trust;
use mailbox_doctor::sim::pki::{Ca, CertKind, Pki};
use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
use rustls::pki_types::CertificateDer;
use std::path::Path;
use std::time::{Duration, Instant};
use util::{assert_no_leak, bin, validated};

const USER: &str = "alice@example.test";
const PW: &str = "Canary-Pw-4412!";

/// A plain SMTP server on implicit TLS that accepts the login.
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

/// A root of its own name, in no store unless a test puts it there.
fn unrelated_root() -> Ca {
    Ca::new("Unrelated Root CA").expect("ca")
}

/// Where the spawned binary's system store comes from.
enum Store<'a> {
    File(&'a Path),
    Dir(&'a Path),
}

struct Outcome {
    json: serde_json::Value,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    auth_attempts: usize,
    took: Duration,
}

impl Outcome {
    fn codes(&self) -> Vec<String> {
        util::codes(&self.json)
    }
    fn tls(&self) -> serde_json::Value {
        self.json["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == "tls").cloned())
            .unwrap_or_default()
    }
}

/// Plays an SMTP login (a certificate of `kind` from the
/// simulation PKI) and runs the binary with `store` as its system store, and
/// `--ca-file` with the simulation CA when `ca_flag`.
fn login(kind: CertKind, store: &dyn Fn(&Pki, &Path) -> Store<'static>, ca_flag: bool) -> Outcome {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new().expect("pki");
    let cfg = pki
        .server_config(kind, &["127.0.0.1", "localhost"])
        .expect("cert");
    let sc = Scenario::parse("login-ok", LOGIN_OK).expect("scenario");
    let server = rt
        .block_on(ReplayServer::start(sc, cfg, Duration::ZERO))
        .expect("server");
    let dns = util::local_dns(&rt);
    let dir = tempfile::tempdir().expect("dir");
    let ca = dir.path().join("simulation-ca.pem");
    std::fs::write(&ca, pki.ca.pem()).expect("ca");
    let mut cmd = bin();
    cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
    match store(&pki, dir.path()) {
        Store::File(p) => cmd.env("SSL_CERT_FILE", p),
        Store::Dir(p) => cmd.env("SSL_CERT_DIR", p),
    };
    cmd.args(["check", USER, "--timeout", "5", "--json", "--only", "smtp"])
        .args(["--provider", "generic", "--smtp"])
        .arg(format!("smtps://127.0.0.1:{}", server.addr().port()))
        .arg("--dns-server")
        .arg(dns.addr().to_string())
        .arg("--password-stdin")
        .write_stdin(format!("{PW}\n"))
        .timeout(Duration::from_secs(60));
    if ca_flag {
        cmd.arg("--ca-file").arg(&ca);
    }
    let start = Instant::now();
    let out = cmd.output().expect("runs");
    let took = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(3);
    while server.stats().active > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    Outcome {
        json: validated(&out.stdout, "report.v1.json"),
        code: out.status.code(),
        auth_attempts: server.stats().auth_attempts,
        stdout: out.stdout,
        stderr: out.stderr,
        took,
    }
}

/// A file holding `ca`, leaked for the 'static borrow of `Store`.
fn pem_in(ca: &Ca, dir: &Path, name: &str) -> &'static Path {
    let p = dir.join(name);
    std::fs::write(&p, ca.pem()).expect("write");
    Box::leak(p.into_boxed_path())
}

/// A file holding the simulation CA.
fn ca_file_in(pki: &Pki, dir: &Path, name: &str) -> &'static Path {
    pem_in(&pki.ca, dir, name)
}

#[test]
fn a_private_ca_in_the_system_store_only_is_trusted_and_named() {
    let o = login(
        CertKind::Valid,
        &|pki, dir| Store::File(ca_file_in(pki, dir, "system-bundle.pem")),
        false,
    );
    assert_eq!(o.codes(), ["TLS_PRIVATE_ROOT"], "{}", o.json);
    assert_eq!(o.auth_attempts, 1, "the login went on");
    assert_eq!(o.code, Some(1), "a warning, not a failure");
    let smtp = &o.tls()["details"]["smtp"]["tls"];
    assert_eq!(
        smtp["trusted_by"],
        serde_json::json!({"public": false, "system": true, "ca_file": false})
    );
    let msg = o.tls()["findings"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("mailbox-doctor simulation CA"), "{msg}");
    assert!(msg.contains("printers"), "{msg}");
    assert_no_leak(USER, PW, &[&o.stdout, &o.stderr]);
}

#[test]
fn a_private_ca_in_the_system_store_directory_is_trusted_too() {
    let o = login(
        CertKind::Valid,
        &|pki, dir| {
            let certs = dir.join("certs");
            std::fs::create_dir(&certs).expect("mkdir");
            ca_file_in(pki, &certs, "company-root.pem");
            Store::Dir(Box::leak(certs.into_boxed_path()))
        },
        false,
    );
    assert_eq!(o.codes(), ["TLS_PRIVATE_ROOT"], "{}", o.json);
    assert_eq!(o.auth_attempts, 1);
    assert_eq!(
        o.tls()["details"]["smtp"]["tls"]["trusted_by"]["system"],
        true
    );
}

#[test]
fn a_private_ca_both_in_the_store_and_given_with_ca_file_is_still_named() {
    let o = login(
        CertKind::Valid,
        &|pki, dir| Store::File(ca_file_in(pki, dir, "system-bundle.pem")),
        true,
    );
    assert_eq!(o.codes(), ["TLS_PRIVATE_ROOT"], "{}", o.json);
    assert_eq!(
        o.tls()["details"]["smtp"]["tls"]["trusted_by"],
        serde_json::json!({"public": false, "system": true, "ca_file": true})
    );
}

#[test]
fn a_ca_only_the_ca_file_names_gives_no_trust_store_finding() {
    // An unrelated root in the system store: the simulation CA is trusted through
    // --ca-file alone, which the user chose, so nothing is said about it.
    let o = login(
        CertKind::Valid,
        &|_, dir| Store::File(pem_in(&unrelated_root(), dir, "unrelated.pem")),
        true,
    );
    assert!(o.codes().is_empty(), "{}", o.json);
    assert_eq!(o.code, Some(0));
    assert_eq!(
        o.tls()["details"]["smtp"]["tls"]["trusted_by"],
        serde_json::json!({"public": false, "system": false, "ca_file": true})
    );
}

#[test]
fn an_interceptor_root_that_no_store_holds_is_still_untrusted() {
    // The system store holds the simulation CA, but the server's certificate comes
    // from the "intercepting proxy" CA that neither store nor --ca-file knows.
    let o = login(
        CertKind::Untrusted,
        &|pki, dir| Store::File(ca_file_in(pki, dir, "system-bundle.pem")),
        true,
    );
    assert_eq!(o.codes().first().map(String::as_str), Some("TLS_UNTRUSTED"));
    assert_eq!(o.auth_attempts, 0, "no password over an untrusted channel");
    assert_eq!(o.code, Some(2));
}

#[test]
fn an_expired_certificate_of_a_root_in_the_system_store_is_expired() {
    let o = login(
        CertKind::Expired,
        &|pki, dir| Store::File(ca_file_in(pki, dir, "system-bundle.pem")),
        false,
    );
    assert_eq!(
        o.codes().first().map(String::as_str),
        Some("TLS_CERT_EXPIRED")
    );
    assert_eq!(o.auth_attempts, 0);
}

#[cfg(unix)] // /dev/zero and FIFOs are Unix
#[test]
fn a_store_that_is_a_device_or_a_fifo_is_not_read() {
    let fifo = |_: &Pki, dir: &Path| {
        let p = dir.join("store.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .is_ok_and(|s| s.success());
        let p: &'static Path = if made {
            Box::leak(p.into_boxed_path())
        } else {
            Path::new("/dev/zero")
        };
        Store::File(p)
    };
    for store in [
        &(|_: &Pki, _: &Path| Store::File(Path::new("/dev/zero")))
            as &dyn Fn(&Pki, &Path) -> Store<'static>,
        &fifo,
    ] {
        let o = login(CertKind::Valid, store, true);
        assert!(o.codes().is_empty(), "{}", o.json);
        assert_eq!(o.auth_attempts, 1);
        assert!(o.took < Duration::from_secs(15), "took {:?}", o.took);
    }
}

/// A TLS server on 127.0.0.1 presenting a certificate from `pki`'s CA, for one
/// handshake.
async fn one_tls_server(pki: &Pki) -> std::net::SocketAddr {
    let cfg = pki
        .server_config(CertKind::Valid, &["127.0.0.1"])
        .expect("cert");
    let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let _ = acceptor.accept(tcp).await;
        }
    });
    addr
}

#[tokio::test]
async fn publicly_trusted_but_not_here_is_told_apart_by_the_verdicts() {
    let pki = Pki::new().expect("pki");
    let addr = one_tls_server(&pki).await;
    let ca = CertificateDer::from(pki.ca.der());
    let unrelated = CertificateDer::from(unrelated_root().der());
    let cases = [
        // (public, system, expected public, expected system)
        (vec![ca.clone()], vec![unrelated.clone()], true, false),
        (vec![ca.clone()], vec![ca.clone()], true, true),
        (vec![unrelated.clone()], vec![ca.clone()], false, true),
    ];
    for (public, system, want_public, want_system) in cases {
        let trust = Trust::from_roots(&public, &system, &[]).expect("trust");
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (_, info) = handshake_with(tcp, "127.0.0.1", trust, Duration::from_secs(5))
            .await
            .map_err(|(f, why, _)| format!("{f:?}: {why}"))
            .expect("accepted");
        assert_eq!(
            (info.trusted_by.public, info.trusted_by.system),
            (want_public, want_system)
        );
        assert!(!info.trusted_by.ca_file);
    }
    // Neither set knows the CA: refused, with the chain kept for the report.
    let both = [unrelated];
    let trust = Trust::from_roots(&both, &both, &[]).expect("trust");
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let Err((failure, _, chain)) =
        handshake_with(tcp, "127.0.0.1", trust, Duration::from_secs(5)).await
    else {
        panic!("an unknown CA was accepted");
    };
    assert_eq!(failure.code(), "TLS_UNTRUSTED");
    assert!(chain[0].issuer.contains("mailbox-doctor simulation CA"));
    // The tool's own sets (Mozilla's roots, this machine's store) plus --ca-file.
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (_, info) = handshake(tcp, "127.0.0.1", &[pki.ca.der()], Duration::from_secs(5))
        .await
        .map_err(|(f, why, _)| format!("{f:?}: {why}"))
        .expect("accepted through --ca-file");
    assert!(info.trusted_by.ca_file && !info.trusted_by.public);
}
