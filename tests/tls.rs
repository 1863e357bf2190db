//! TLS facts and failures over real sockets: the negotiated version, cipher and
//! chain are reported; each certificate failure is named with its evidence; a
//! server that answers the hello with a protocol_version alert is TLS too old.

mod support;
mod util;

use mailbox_doctor::sim::replay::Scenario;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;
use support::{run, scenario};
use util::{bin, validated};

fn tls_message(r: &support::Run) -> String {
    r.check("tls")["findings"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_good_session_reports_version_cipher_and_chain() {
    let sc = scenario(
        "# protocol: smtp
# tls: implicit
S: 220 mail.example.test ESMTP
C: EHLO *
S: 250-mail.example.test
S: 250 AUTH PLAIN LOGIN
C: QUIT
!close
",
    );
    let r = run(&sc, None, &[]);
    let tls = &r.check("tls")["details"]["smtp"]["tls"];
    assert_eq!(tls["version"], "TLS 1.3", "{}", r.json);
    assert!(tls["cipher"]
        .as_str()
        .is_some_and(|c| c.starts_with("TLS13_")));
    let leaf = &tls["chain"][0];
    assert!(leaf["subject"]
        .as_str()
        .unwrap_or_default()
        .contains("127.0.0.1"));
    assert!(leaf["issuer"]
        .as_str()
        .unwrap_or_default()
        .contains("mailbox-doctor simulation CA"));
    assert!(leaf["days_left"].as_i64().unwrap_or_default() > 1000);
    assert_eq!(leaf["not_after"], "2099-01-01");
    assert_eq!(r.check("tls")["status"], "pass");
}

#[test]
fn an_expired_certificate_is_named_with_its_date_and_no_login_follows() {
    let r = run(
        &Scenario::named("tls-expired").expect("fixture"),
        Some("x-Canary-1"),
        &[],
    );
    assert_eq!(
        r.codes().first().map(String::as_str),
        Some("TLS_CERT_EXPIRED")
    );
    assert!(
        tls_message(&r).contains("expired on 2021-01-01"),
        "{}",
        tls_message(&r)
    );
    assert_eq!(r.auth_attempts, 0);
    assert_eq!(r.check("smtp")["status"], "skip");
}

#[test]
fn a_wrong_host_certificate_names_the_hosts_it_is_for() {
    let r = run(
        &Scenario::named("tls-wrong-host").expect("fixture"),
        Some("x-Canary-1"),
        &[],
    );
    assert_eq!(
        r.codes().first().map(String::as_str),
        Some("TLS_HOSTNAME_MISMATCH")
    );
    assert!(
        tls_message(&r).contains("mail.example.net"),
        "{}",
        tls_message(&r)
    );
    assert_eq!(r.auth_attempts, 0);
}

#[test]
fn a_not_yet_valid_certificate_points_at_the_clock() {
    let r = run(
        &Scenario::named("tls-not-yet-valid").expect("fixture"),
        Some("x-Canary-1"),
        &[],
    );
    assert_eq!(
        r.codes().first().map(String::as_str),
        Some("TLS_CERT_NOT_YET_VALID")
    );
    assert!(tls_message(&r).contains("clock"), "{}", tls_message(&r));
}

/// A server that answers any TLS hello with a fatal protocol_version alert, as a
/// TLS 1.0-only server does; `before` is sent first (a STARTTLS dialogue).
fn old_tls_server(before: &'static [&'static str]) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            // Each server line is answered by one client line; the last answer
            // is the TLS hello.
            for send in before {
                let _ = s.write_all(send.as_bytes());
                let _ = s.read(&mut buf);
            }
            if before.is_empty() {
                let _ = s.read(&mut buf);
            }
            let _ = s.write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]);
        }
    });
    port
}

fn check_json(flag: &str, url: String) -> serde_json::Value {
    let out = bin()
        .args([
            "check",
            "alice@contoso.com",
            "--no-password",
            "--json",
            "--timeout",
            "2",
        ])
        .args(["--only", &flag[2..]])
        .arg(flag)
        .arg(url)
        .timeout(Duration::from_secs(30))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    validated(&out.stdout, "report.v1.json")
}

#[test]
fn a_protocol_version_alert_on_implicit_tls_is_tls_too_old() {
    let port = old_tls_server(&[]);
    let v = check_json("--imap", format!("imaps://127.0.0.1:{port}"));
    assert_eq!(v["diagnosis"][0]["code"], "TLS_PROTOCOL_TOO_OLD", "{v}");
}

#[test]
fn a_protocol_version_alert_after_starttls_is_tls_too_old() {
    let port = old_tls_server(&[
        "220 old.example.test ESMTP\r\n",
        "250-old.example.test\r\n250 STARTTLS\r\n",
        "220 2.0.0 Ready to start TLS\r\n",
    ]);
    let v = check_json("--smtp", format!("smtp://127.0.0.1:{port}"));
    assert_eq!(v["diagnosis"][0]["code"], "TLS_PROTOCOL_TOO_OLD", "{v}");
}

#[test]
fn a_refusal_before_tls_is_read_through_the_knowledge_base() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            // Exchange's reply to a client on legacy TLS, sent where the tool reads a reply.
            let _ = s.write_all(b"421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. Visit https://aka.ms/smtp_auth_tls. [SA9P221CA0019.NAMP221.PROD.OUTLOOK.COM]\r\n");
        }
    });
    let v = check_json("--smtp", format!("smtp://127.0.0.1:{port}"));
    assert_eq!(v["diagnosis"][0]["code"], "TLS_PROTOCOL_TOO_OLD", "{v}");
    assert!(v["checks"][1]["findings"][0]["evidence"]
        .as_str()
        .is_some_and(|e| e.starts_with("421 4.7.66 TLS 1.0 and 1.1 are not supported.")));
}

#[test]
fn a_self_signed_ca_certificate_used_as_the_servers_own_is_untrusted_in_words() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (pem, cert) = mailbox_doctor::sim::pki::ca_as_server(&["127.0.0.1"]).expect("cert");
    let sc = scenario(
        "# protocol: smtp
# tls: implicit
S: 220 mail.example.test ESMTP
C: EHLO *
S: 250 mail.example.test
C: QUIT
!close
",
    );
    let server = rt
        .block_on(mailbox_doctor::sim::replay::ReplayServer::start(
            sc,
            cert.server_config().expect("config"),
            Duration::ZERO,
        ))
        .expect("server");
    let ca = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(ca.path(), pem).expect("pem");
    let dns = util::local_dns(&rt);
    for trusted in [false, true] {
        let mut cmd = bin();
        cmd.args(["check", "alice@contoso.com", "--no-password", "--json"])
            .args(["--only", "smtp", "--timeout", "5", "--dns-server"])
            .arg(dns.addr().to_string())
            .arg("--smtp")
            .arg(format!("smtps://127.0.0.1:{}", server.addr().port()));
        if trusted {
            cmd.arg("--ca-file").arg(ca.path());
        }
        let out = cmd.timeout(Duration::from_secs(30)).output().expect("runs");
        let v = validated(&out.stdout, "report.v1.json");
        assert_eq!(v["diagnosis"][0]["code"], "TLS_UNTRUSTED", "{v}");
        let text = v.to_string();
        assert!(
            !text.contains("CaUsedAsEndEntity") && !text.contains("Other("),
            "{v}"
        );
        let msg = v["checks"][1]["summary"].as_str().unwrap_or_default();
        assert!(
            msg.contains("CA certificate (") && msg.contains("CA:TRUE"),
            "{msg}"
        );
        assert_eq!(out.status.code(), Some(2));
    }
}

#[test]
fn a_chain_is_verified_once_per_name_roots_and_validity_window() {
    use mailbox_doctor::net::trust::{Trust, Verifier};
    use mailbox_doctor::net::verdicts::hits;
    use mailbox_doctor::sim::pki::{Ca, Validity};
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    let ca = Ca::new("Verdict Test CA").expect("ca");
    let other = Ca::new("Another CA").expect("ca");
    let cert = ca
        .issue(&["mail.verdict.test"], Validity::Valid)
        .expect("cert");
    let root = CertificateDer::from(ca.der());
    let trust = Trust::from_roots(&[root], &[], &[]).expect("trust");
    let verify = |trust: &Trust, name: &str, now: UnixTime| {
        let v = Verifier::new(trust.clone());
        let r = v.verify_server_cert(
            &cert.chain[0],
            &cert.chain[1..],
            &ServerName::try_from(name.to_string()).expect("name"),
            &[],
            now,
        );
        (r.is_ok(), v.verdicts())
    };
    let now = UnixTime::now();
    let before = hits();
    let first = verify(&trust, "mail.verdict.test", now);
    assert!(first.0 && first.1.public, "{first:?}");
    // The same chain, name and roots: the kept verdict, and the same one.
    let second = verify(&trust, "mail.verdict.test", now);
    assert_eq!(second, first);
    assert!(hits() > before);
    // Another name: verified afresh, and refused, then refused again from the cache.
    let wrong = verify(&trust, "other.verdict.test", now);
    assert!(!wrong.0 && !wrong.1.public, "{wrong:?}");
    assert_eq!(verify(&trust, "other.verdict.test", now), wrong);
    // Other roots: never the first roots' verdict.
    let elsewhere = Trust::from_roots(&[CertificateDer::from(other.der())], &[], &[]).expect("t");
    assert!(!verify(&elsewhere, "mail.verdict.test", now).0);
    // Past the certificate's end: refused, though an accepting verdict for the
    // same inputs is kept (it is kept only inside the chain's validity).
    let later = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        now.as_secs() + 200 * 365 * 86400,
    ));
    assert!(!verify(&trust, "mail.verdict.test", later).0);
    assert!(verify(&trust, "mail.verdict.test", now).0);
}
