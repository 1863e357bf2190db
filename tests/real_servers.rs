//! Against real Dovecot (IMAP, POP3) and Postfix (submission with Dovecot SASL,
//! `smtpd_tls_auth_only`) from Debian's packages, started on 127.0.0.1 by
//! `scripts/real-servers.sh`. These tests are ignored by a plain `cargo test`;
//! `scripts/test.sh` starts the servers and runs them with `--ignored`, or says
//! loudly that it could not. They run one at a time (`--test-threads=1`) because
//! they count authentication attempts in the servers' shared logs.
//!
//! The servers' domain (example.test, host mail.example.test) publishes its SRV
//! records through a test DNS server, so `check` finds them from the address
//! alone.

mod util;

use mailbox_doctor::sim::dns::{DnsServer, Rec, Zone};
use util::{assert_no_leak, bin, codes, status, validated};

const HOST: &str = "mail.example.test";

fn port(addr: &str) -> u16 {
    addr.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {addr}"))
}

/// The domain's DNS as its owner publishes it: MX and address of the mail host,
/// SRV records for submission (STARTTLS; no implicit-TLS submission: `.`), IMAP
/// and POP3 (both modes).
fn published_dns(rt: &tokio::runtime::Runtime, r: &Real) -> DnsServer {
    let srv = |p: &str| Rec::Srv(0, 1, port(p), HOST.into());
    let zone = Zone::new()
        .add("example.test", Rec::Mx(10, HOST.into()))
        .add(HOST, Rec::Ip("127.0.0.1".parse().expect("ip")))
        .add(
            "_submissions._tcp.example.test",
            Rec::Srv(0, 0, 0, ".".into()),
        )
        .add("_submission._tcp.example.test", srv(&r.submission))
        .add("_imaps._tcp.example.test", srv(&r.imaps))
        .add("_imap._tcp.example.test", srv(&r.imap))
        .add("_pop3s._tcp.example.test", srv(&r.pops))
        .add("_pop3._tcp.example.test", srv(&r.pop));
    rt.block_on(DnsServer::start(zone)).expect("dns server")
}

struct Real {
    imap: String,
    imaps: String,
    pop: String,
    pops: String,
    submission: String,
    smtp_plain: String,
    ca: String,
    user: String,
    password: String,
    dovecot_log: String,
    postfix_log: String,
}

fn real() -> Real {
    let v = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: run scripts/test.sh"))
    };
    Real {
        imap: v("MD_REAL_IMAP"),
        imaps: v("MD_REAL_IMAPS"),
        pop: v("MD_REAL_POP"),
        pops: v("MD_REAL_POPS"),
        submission: v("MD_REAL_SUBMISSION"),
        smtp_plain: v("MD_REAL_SMTP_PLAIN"),
        ca: v("MD_REAL_CA"),
        user: v("MD_REAL_USER"),
        password: v("MD_REAL_PASSWORD"),
        dovecot_log: v("MD_REAL_DOVECOT_LOG"),
        postfix_log: v("MD_REAL_POSTFIX_LOG"),
    }
}

fn log_len(path: &str) -> usize {
    std::fs::read_to_string(path).map(|s| s.len()).unwrap_or(0)
}

/// Authentication attempts logged since `from` (Dovecot logs one line per login
/// or failed auth; Postfix's SASL failures and Dovecot's auth for Postfix too).
fn attempts_since(path: &str, from: usize, needle: &[&str]) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.get(from..)
        .unwrap_or_default()
        .lines()
        .filter(|l| needle.iter().any(|n| l.contains(n)))
        .count()
}

fn run(
    r: &Real,
    password: &str,
    extra: &[&str],
) -> (serde_json::Value, Option<i32>, Vec<u8>, Vec<u8>) {
    run_with(r, password, extra, false)
}

/// `check` against the real servers, through a DNS server that publishes the
/// domain's SRV records (`published`) or knows nothing.
fn run_with(
    r: &Real,
    password: &str,
    extra: &[&str],
    published: bool,
) -> (serde_json::Value, Option<i32>, Vec<u8>, Vec<u8>) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dns = if published {
        published_dns(&rt, r)
    } else {
        rt.block_on(DnsServer::start(Zone::new()))
            .expect("dns server")
    };
    let mut cmd = bin();
    cmd.args([
        "check",
        &r.user,
        "--password-stdin",
        "--json",
        "--timeout",
        "15",
    ])
    .args(["--ca-file", &r.ca])
    .args(["--dns-server", &dns.addr().to_string()])
    .args(extra);
    let out = cmd
        .write_stdin(format!("{password}\n"))
        .output()
        .expect("runs");
    let v = validated(&out.stdout, "report.v1.json");
    (v, out.status.code(), out.stdout, out.stderr)
}

#[test]
#[ignore = "needs the real servers from scripts/real-servers.sh"]
fn right_password_passes_smtp_imap_pop_over_starttls_and_implicit_tls() {
    let r = real();
    let smtp = format!("smtp://{}", r.submission);
    let imap = format!("imap://{}", r.imap);
    let pop = format!("pop3://{}", r.pop);
    let (v, code, ..) = run(
        &r,
        &r.password,
        &["--smtp", &smtp, "--imap", &imap, "--pop", &pop],
    );
    for id in ["tls", "smtp", "imap", "pop"] {
        assert_eq!(status(&v, id), "pass", "{id}: {v}");
    }
    assert_eq!(code, Some(0), "{v}");
    let imaps = format!("imaps://{}", r.imaps);
    let pops = format!("pop3s://{}", r.pops);
    let (v, code, ..) = run(
        &r,
        &r.password,
        &["--only", "imap,pop", "--imap", &imaps, "--pop", &pops],
    );
    assert_eq!(
        (status(&v, "imap").as_str(), status(&v, "pop").as_str()),
        ("pass", "pass"),
        "{v}"
    );
    assert_eq!(code, Some(0));
}

#[test]
#[ignore = "needs the real servers from scripts/real-servers.sh"]
fn wrong_password_is_bad_credentials_once_per_protocol_and_never_echoed() {
    let r = real();
    let canary = "Wrong-Canary-4411";
    let smtp = format!("smtp://{}", r.submission);
    let imap = format!("imap://{}", r.imap);
    let pop = format!("pop3://{}", r.pop);
    let dl = log_len(&r.dovecot_log);
    let pl = log_len(&r.postfix_log);
    let (v, code, out, err) = run(
        &r,
        canary,
        &[
            "--smtp",
            &smtp,
            "--imap",
            &imap,
            "--pop",
            &pop,
            "--transcript",
        ],
    );
    for id in ["smtp", "imap", "pop"] {
        assert_eq!(status(&v, id), "fail", "{id}: {v}");
    }
    assert_eq!(
        codes(&v).first().map(String::as_str),
        Some("BAD_CREDENTIALS"),
        "{v}"
    );
    assert_eq!(code, Some(2));
    assert_no_leak(&r.user, canary, &[&out, &err]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Dovecot's auth process logs each failed password once ("Password mismatch"
    // with auth_verbose); Postfix's SASL goes through the same auth service.
    let failures = attempts_since(&r.dovecot_log, dl, &["Password mismatch", "unknown user"]);
    assert_eq!(
        failures, 3,
        "one failed attempt each for SMTP, IMAP and POP3"
    );
    let smtp_failures = attempts_since(&r.postfix_log, pl, &["authentication failed"]);
    assert_eq!(smtp_failures, 1, "Postfix saw one SMTP AUTH attempt");
}

#[test]
#[ignore = "needs the real servers from scripts/real-servers.sh"]
fn no_credentials_cross_a_connection_without_tls() {
    let r = real();
    let pl = log_len(&r.dovecot_log);
    // Postfix on this port offers neither STARTTLS nor (smtpd_tls_auth_only) AUTH.
    let smtp = format!("smtp://{}", r.smtp_plain);
    let (v, code, ..) = run(&r, &r.password, &["--only", "smtp", "--smtp", &smtp]);
    assert_eq!(
        codes(&v).first().map(String::as_str),
        Some("STARTTLS_MISSING"),
        "{v}"
    );
    assert_eq!(status(&v, "smtp"), "skip");
    assert_eq!(code, Some(2));
    // Even when the user allows plaintext, the server refuses AUTH without TLS.
    let (v, ..) = run(
        &r,
        &r.password,
        &["--only", "smtp", "--smtp", &smtp, "--allow-plaintext"],
    );
    assert_eq!(status(&v, "smtp"), "fail", "{v}");
    assert!(
        codes(&v).contains(&"SMTP_AUTH_NOT_OFFERED".to_string()),
        "{v}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        attempts_since(&r.dovecot_log, pl, &["Password mismatch", "Login: user="]),
        0
    );
}

#[test]
#[ignore = "needs the real servers from scripts/real-servers.sh"]
fn the_address_alone_finds_the_published_servers_and_logs_in_to_both() {
    let r = real();
    // The published host resolves to 127.0.0.1, an address on this computer:
    // on DNS's word alone it gets no login, only the connection and TLS.
    let dl = log_len(&r.dovecot_log);
    let (v, ..) = run_with(&r, &r.password, &[], true);
    for id in ["smtp", "imap", "pop"] {
        assert_eq!(status(&v, id), "warn", "{id}: {v}");
    }
    assert!(
        v["diagnosis"][0]["code"] == "DISCOVERED_HOST_NOT_TRUSTED",
        "{v}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        attempts_since(&r.dovecot_log, dl, &["Password mismatch", "Login: user="]),
        0,
        "no login reached Dovecot"
    );
    // Trusted by name, as a user who knows the host would.
    let (v, code, ..) = run_with(&r, &r.password, &["--trust-discovered", HOST], true);
    let eps: Vec<(String, u64, String)> = v["target"]["endpoints"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["protocol"].as_str().unwrap_or_default().to_string(),
                        e["port"].as_u64().unwrap_or_default(),
                        e["source"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        eps,
        vec![
            (
                "smtp".to_string(),
                u64::from(port(&r.submission)),
                "srv".to_string()
            ),
            (
                "imap".to_string(),
                u64::from(port(&r.imaps)),
                "srv".to_string()
            ),
            (
                "pop".to_string(),
                u64::from(port(&r.pops)),
                "srv".to_string()
            ),
        ],
        "{v}"
    );
    for id in ["smtp", "imap", "pop"] {
        assert_eq!(status(&v, id), "pass", "{id}: {v}");
    }
    assert_eq!(status(&v, "tenant"), "skip", "{v}");
    assert_eq!(v["target"]["provider_source"], "none");
    assert_eq!(code, Some(0), "{v}");
}

#[test]
#[ignore = "needs the real servers from scripts/real-servers.sh"]
fn the_wrong_port_is_named_against_the_published_one() {
    let r = real();
    let dl = log_len(&r.dovecot_log);
    // Postfix's port without TLS or AUTH, where the domain publishes submission.
    let wrong = format!("smtp://{HOST}:{}", port(&r.smtp_plain));
    let (v, code, ..) = run_with(&r, &r.password, &["--smtp", &wrong], true);
    assert_eq!(
        codes(&v).first().map(String::as_str),
        Some("SERVER_SETTINGS_DIFFER"),
        "{v}"
    );
    let d = &v["diagnosis"][0];
    let published = format!("port {}", port(&r.submission));
    assert!(d["fix"].to_string().contains(&published), "{d}");
    assert!(
        d["evidence"]
            .to_string()
            .contains("_submission._tcp.example.test"),
        "{d}"
    );
    // Only SMTP was named, so only SMTP was tested.
    assert_eq!(
        v["target"]["endpoints"].as_array().map(Vec::len),
        Some(1),
        "{v}"
    );
    assert_eq!(status(&v, "imap"), "skip", "{v}");
    assert_eq!(code, Some(2));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        attempts_since(&r.dovecot_log, dl, &["Password mismatch", "Login: user="]),
        0
    );
}

/// `paths` with a relay of the user's own: real Postfix with `mynetworks` and
/// `reject_unauth_destination` (no login), one port where loopback is allowed and
/// one where it is not. MAIL FROM and RCPT TO only: Postfix's log shows no
/// message queued.
fn paths_relay(relay: &str) -> (serde_json::Value, Option<i32>) {
    paths_relay_with(relay, &[])
}

fn paths_relay_with(relay: &str, extra: &[&str]) -> (serde_json::Value, Option<i32>) {
    let r = real();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dns = rt
        .block_on(DnsServer::start(Zone::new()))
        .expect("dns server");
    let out = bin()
        .args(["paths", "scanner@example.test", "--json", "--timeout", "15"])
        .args(["--relay", relay])
        .args(extra)
        .args(["--external-recipient", "bob@example.net"])
        .args(["--ca-file", &r.ca])
        .args(["--dns-server", &dns.addr().to_string()])
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let submission = v["paths"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["path"] == "submission").cloned())
        .unwrap_or_default();
    (submission, out.status.code())
}

#[test]
#[ignore = "needs the real servers from scripts/real-servers.sh"]
fn a_relay_by_client_address_accepts_an_allowed_network_and_denies_another() {
    let r = real();
    let before = log_len(&r.postfix_log);
    let open = std::env::var("MD_REAL_RELAY_OPEN").expect("MD_REAL_RELAY_OPEN");
    let (p, code) = paths_relay(&open);
    assert_eq!(p["verdict"], "works", "{p}");
    assert_eq!(code, Some(0));
    let closed = std::env::var("MD_REAL_RELAY_CLOSED").expect("MD_REAL_RELAY_CLOSED");
    let (p, code) = paths_relay(&closed);
    assert_eq!(p["verdict"], "blocked", "{p}");
    assert_eq!(p["code"], "RELAY_DENIED", "{p}");
    assert!(p["summary"]
        .as_str()
        .unwrap_or_default()
        .contains("Relay access denied"));
    assert_eq!(code, Some(2));
    // Nothing was queued: no message ever went past RCPT TO.
    let log = std::fs::read_to_string(&r.postfix_log).unwrap_or_default();
    let since = log.get(before..).unwrap_or_default();
    assert!(!since.contains("message-id="), "{since}");
    assert!(!since.contains("qmgr"), "{since}");
}

/// `paths --client-certificate` with a real Postfix relay that recognises its
/// clients by certificate (`smtpd_tls_ask_ccert`, `permit_tls_all_clientcerts`
/// with a devices CA of its own; loopback is not in its `mynetworks`): the
/// certificate presented is accepted at RCPT TO, and without it the same relay
/// denies. Postfix's log shows a verified client signature, then none, and no
/// message queued.
#[test]
#[ignore = "needs the real servers from scripts/real-servers.sh"]
fn a_relay_by_client_certificate_accepts_the_certificate_and_denies_without_it() {
    let r = real();
    let before = log_len(&r.postfix_log);
    let relay = std::env::var("MD_REAL_RELAY_CERT").expect("MD_REAL_RELAY_CERT");
    let cert = std::env::var("MD_REAL_CLIENT_CERT").expect("MD_REAL_CLIENT_CERT");
    let key = std::env::var("MD_REAL_CLIENT_KEY").expect("MD_REAL_CLIENT_KEY");
    let (p, code) = paths_relay_with(
        &relay,
        &["--client-certificate", &cert, "--client-key", &key],
    );
    assert_eq!(p["verdict"], "works", "{p}");
    assert_eq!(code, Some(0));
    assert_eq!(p["client_certificate"]["presented"], true, "{p}");
    assert_eq!(
        p["client_certificate"]["subject"], "CN=scanner.example.test",
        "{p}"
    );
    let (p, code) = paths_relay(&relay);
    assert_eq!(p["verdict"], "blocked", "{p}");
    assert_eq!(p["code"], "RELAY_DENIED", "{p}");
    assert_eq!(code, Some(2));
    let log = std::fs::read_to_string(&r.postfix_log).unwrap_or_default();
    let since = log.get(before..).unwrap_or_default();
    // Postfix's own word: the first connection signed with a client certificate
    // it verified, the second had none.
    assert!(
        since.contains("Trusted TLS connection established") && since.contains("client-signature"),
        "{since}"
    );
    assert!(
        since.contains("Anonymous TLS connection established"),
        "{since}"
    );
    assert!(!since.contains("message-id="), "{since}");
    // The key's text is not in the path's report.
    let key_text = std::fs::read_to_string(&key).unwrap_or_default();
    let body: String = key_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(!p.to_string().contains(&body));
}

/// Dovecot's token introspection, served on `MD_REAL_INTROSPECTION` while a test
/// runs: a token the simulated identity platform issued and has not revoked is
/// active, for the user it was issued to.
fn serve_introspection(
    rt: &tokio::runtime::Runtime,
    addr: &str,
    platform: std::sync::Arc<mailbox_doctor::sim::oauth::Platform>,
    user: String,
) -> tokio::task::JoinHandle<()> {
    use tokio::io::AsyncWriteExt as _;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(addr))
        .expect("the introspection port is free");
    rt.spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let platform = platform.clone();
            let user = user.clone();
            tokio::spawn(async move {
                let Some((_, body)) = mailbox_doctor::sim::oauth::read_request(&mut tcp).await
                else {
                    return;
                };
                let form = mailbox_doctor::oauth::endpoint::decode_form(&body);
                let token = form
                    .iter()
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default();
                let answer = if platform.accepts(&token) {
                    serde_json::json!({"active": "true", "username": user})
                } else {
                    serde_json::json!({"active": "false"})
                }
                .to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = tcp.write_all(resp.as_bytes()).await;
                let _ = tcp.shutdown().await;
            });
        }
    })
}

/// `check --sign-in device` against the simulated identity platform, then
/// XOAUTH2 to the real Dovecot (IMAP) and Postfix (submission, SASL through
/// Dovecot), whose oauth2 passdb asks the test's introspection endpoint.
fn sign_in_and_check(r: &Real, revoke_at_once: bool) -> (serde_json::Value, Option<i32>) {
    use mailbox_doctor::sim::oauth::Script;
    use mailbox_doctor::sim::pki::{Ca, Validity};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ca = Ca::new("mailbox-doctor identity test CA").expect("ca");
    let cert = ca.issue(&["127.0.0.1"], Validity::Valid).expect("cert");
    let script = Script {
        pending: 1,
        user: r.user.clone(),
        revoke_at_once,
        ..Script::default()
    };
    let identity = rt
        .block_on(
            mailbox_doctor::sim::identity::IdentityServer::start_scripted(
                &cert,
                Default::default(),
                script,
            ),
        )
        .expect("identity");
    let introspection = std::env::var("MD_REAL_INTROSPECTION")
        .unwrap_or_else(|_| panic!("MD_REAL_INTROSPECTION is not set: run scripts/test.sh"));
    let served = serve_introspection(
        &rt,
        &introspection,
        identity.platform.clone(),
        r.user.clone(),
    );
    // One --ca-file: the real servers' CA and the identity platform's.
    let cas = tempfile::NamedTempFile::new().expect("temp");
    let real_ca = std::fs::read_to_string(&r.ca).expect("real CA");
    std::fs::write(cas.path(), format!("{real_ca}\n{}", ca.pem())).expect("write");
    let dns = rt
        .block_on(DnsServer::start(Zone::new()))
        .expect("dns server");
    let out = bin()
        .args(["check", &r.user, "--json", "--transcript", "--timeout", "5"])
        .args([
            "--sign-in",
            "device",
            "--client-id",
            "11111111-2222-3333-4444-555555555555",
        ])
        .args(["--tenant", "example.test"])
        .arg("--identity-url")
        .arg(format!("https://127.0.0.1:{}", identity.addr().port()))
        .arg("--ca-file")
        .arg(cas.path())
        .arg("--dns-server")
        .arg(dns.addr().to_string())
        .arg("--imap")
        .arg(format!("imap://{}", r.imap))
        .arg("--smtp")
        .arg(format!("smtp://{}", r.submission))
        .args(["--only", "imap,smtp"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    served.abort();
    for secret in identity.platform.secrets() {
        assert_no_leak(&r.user, &secret, &[&out.stdout, &out.stderr]);
    }
    assert_eq!(identity.platform.issued(), 1, "one sign-in");
    (validated(&out.stdout, "report.v1.json"), out.status.code())
}

#[test]
#[ignore = "needs the real servers from scripts/real-servers.sh"]
fn a_device_code_token_logs_in_to_real_dovecot_and_postfix() {
    let r = real();
    let (v, code) = sign_in_and_check(&r, false);
    assert_eq!(status(&v, "signin"), "pass", "{v}");
    assert_eq!(status(&v, "imap"), "pass", "{v}");
    assert_eq!(status(&v, "smtp"), "pass", "{v}");
    assert_eq!(code, Some(0), "{v}");
    let t = v["transcript"].to_string();
    assert!(t.contains("XOAUTH2"), "{t}");
}

#[test]
#[ignore = "needs the real servers from scripts/real-servers.sh"]
fn a_revoked_token_is_refused_by_real_dovecot_and_postfix_and_diagnosed() {
    let r = real();
    let (v, code) = sign_in_and_check(&r, true);
    assert_eq!(status(&v, "signin"), "pass", "{v}");
    assert_eq!(status(&v, "imap"), "fail", "{v}");
    assert_eq!(status(&v, "smtp"), "fail", "{v}");
    assert!(codes(&v).iter().any(|c| c == "OAUTH_TOKEN_REJECTED"), "{v}");
    assert_eq!(code, Some(2));
}
