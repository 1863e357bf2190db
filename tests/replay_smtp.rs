//! SMTP over the replay server, beyond the recorded fixtures: credentials cross a
//! plaintext connection only with --allow-plaintext, no password means no AUTH,
//! both capability lists are reported, and QUIT is not waited for.

mod support;
mod util;

use support::{run, scenario, USER};
use util::assert_no_leak;

const PW: &str = "Canary-Pw-7781!";

const NO_STARTTLS: &str = "# protocol: smtp
# tls: starttls
S: 220 mail.example.test ESMTP
C: EHLO *
S: 250-mail.example.test
S: 250-AUTH PLAIN LOGIN
S: 250 8BITMIME
";

#[test]
fn no_starttls_means_no_credentials_without_allow_plaintext() {
    let sc = scenario(NO_STARTTLS);
    let r = run(&sc, Some(PW), &[]);
    assert_eq!(
        r.codes().first().map(String::as_str),
        Some("STARTTLS_MISSING")
    );
    assert_eq!(r.auth_attempts, 0);
    assert_eq!(r.check("smtp")["status"], "skip");
    assert!(r.check("smtp")["summary"]
        .as_str()
        .unwrap_or_default()
        .contains("STARTTLS is not offered"));
}

#[test]
fn allow_plaintext_sends_the_credential_once_and_still_reports_it() {
    let sc = scenario(&format!(
        "{NO_STARTTLS}C: EHLO *
S: 250-mail.example.test
S: 250-AUTH PLAIN LOGIN
S: 250 8BITMIME
C: AUTH PLAIN <auth>
S: 235 2.7.0 Authentication successful
C: QUIT
!close
"
    ));
    let r = run(&sc, Some(PW), &["--allow-plaintext"]);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert_eq!(r.auth_attempts, 1);
    assert!(
        r.codes().contains(&"STARTTLS_MISSING".to_string()),
        "{:?}",
        r.codes()
    );
    assert_eq!(r.code, Some(2));
    assert_no_leak(USER, PW, &[&r.stdout, &r.stderr]);
}

const STARTTLS_OK: &str = "# protocol: smtp
# tls: starttls
S: 220 mail.example.test ESMTP
C: EHLO *
S: 250-mail.example.test
S: 250-STARTTLS
S: 250 8BITMIME
C: STARTTLS
S: 220 2.0.0 Ready to start TLS
!tls
C: EHLO *
S: 250-mail.example.test
S: 250-AUTH PLAIN LOGIN
S: 250 8BITMIME
";

#[test]
fn without_a_password_smtp_stops_after_ehlo_and_lists_both_capability_sets() {
    let sc = scenario(&format!("{STARTTLS_OK}C: QUIT\n!close\n"));
    let r = run(&sc, None, &[]);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert_eq!(r.auth_attempts, 0);
    let smtp = r.check("smtp");
    assert_eq!(smtp["status"], "pass");
    assert!(smtp["summary"]
        .as_str()
        .unwrap_or_default()
        .contains("no password"));
    assert_eq!(smtp["details"]["capabilities_before_tls"][0], "STARTTLS");
    assert_eq!(smtp["details"]["capabilities"][0], "AUTH PLAIN LOGIN");
}

#[test]
fn plain_with_initial_response_is_one_round_trip_and_quit_is_not_awaited() {
    let sc = scenario(&format!(
        "{STARTTLS_OK}C: AUTH PLAIN <auth>
S: 235 2.7.0 Authentication successful
C: QUIT
!delay 5000
S: 221 2.0.0 Bye
"
    ));
    let r = run(&sc, Some(PW), &[]);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert_eq!(r.check("smtp")["details"]["auth_mechanism"], "PLAIN");
    assert_eq!(r.auth_attempts, 1);
    assert!(r.took.as_secs_f64() < 4.0, "waited for the QUIT reply");
    let t = r.transcript();
    assert!(t.iter().any(|l| l == "C AUTH PLAIN <redacted>"), "{t:#?}");
    assert_no_leak(USER, PW, &[&r.stdout, &r.stderr]);
}

#[test]
fn smtp_does_not_wait_for_a_slow_imap_handshake() {
    use mailbox_doctor::sim::pki::Pki;
    use mailbox_doctor::sim::replay::ReplayServer;
    use std::time::Duration;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new().expect("pki");
    let cfg = |sc: &mailbox_doctor::sim::replay::Scenario| {
        pki.server_config(sc.cert, &["127.0.0.1"]).expect("cert")
    };
    let smtp = scenario(&format!("{STARTTLS_OK}C: QUIT\n!close\n"));
    let imap = scenario(
        "# protocol: imap
# tls: implicit
!delay 2500
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] slow server ready
C: * LOGOUT
!close
",
    );
    let s1 = rt
        .block_on(ReplayServer::start(
            smtp.clone(),
            cfg(&smtp),
            Duration::ZERO,
        ))
        .expect("smtp server");
    let s2 = rt
        .block_on(ReplayServer::start(
            imap.clone(),
            cfg(&imap),
            Duration::ZERO,
        ))
        .expect("imap server");
    let ca = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(ca.path(), pki.ca.pem()).expect("ca");
    let out = util::bin()
        .args(["check", USER, "--no-password", "--json", "--timeout", "5"])
        .args(["--only", "smtp,imap"])
        .arg("--smtp")
        .arg(format!("smtp://127.0.0.1:{}", s1.addr().port()))
        .arg("--imap")
        .arg(format!("imaps://127.0.0.1:{}", s2.addr().port()))
        .arg("--ca-file")
        .arg(ca.path())
        .output()
        .expect("runs");
    let v = util::validated(&out.stdout, "report.v1.json");
    let ms = |id: &str| {
        v["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == id))
            .and_then(|c| c["duration_ms"].as_u64())
            .unwrap_or(u64::MAX)
    };
    assert!(ms("smtp") < 1500, "smtp waited: {} ms\n{v}", ms("smtp"));
    assert!(ms("imap") >= 2500, "imap: {} ms", ms("imap"));
}

#[test]
fn smtp_auth_off_for_the_tenant_says_turning_it_back_on_is_a_stopgap_for_a_password() {
    use mailbox_doctor::sim::replay::Scenario;
    let sc = Scenario::named("exo-smtp-tenant-disabled").expect("fixture");
    for (now, words) in [
        ("2026-12-07", "24 days left"),
        (
            "2027-01-15",
            "off by default for existing tenants since 2026-12-31",
        ),
    ] {
        let r = run(&sc, Some(PW), &["--now", now]);
        let codes = r.codes();
        assert_eq!(codes[0], "M365_SMTP_AUTH_DISABLED_TENANT", "{codes:?}");
        assert!(
            codes.contains(&"M365_SMTP_BASIC_AUTH_SUNSET".to_string()),
            "{codes:?}"
        );
        let msgs = r.check("smtp")["findings"].to_string();
        assert!(msgs.contains(words), "{now}: {msgs}");
        assert!(msgs.contains("--sign-in device"), "{msgs}");
        assert_eq!(r.auth_attempts, 1);
    }
}
