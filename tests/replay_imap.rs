//! IMAP over the replay server, beyond the recorded fixtures: LOGIN quoting and
//! literals, SASL-IR on a STARTTLS port whose greeting lists capabilities, no
//! password, and LOGOUT without waiting for the reply.

mod support;
mod util;

use support::{run, scenario, USER};
use util::assert_no_leak;

const NO_PLAIN: &str = "# protocol: imap
# tls: implicit
S: * OK IMAP4rev1 Service Ready
C: * CAPABILITY
S: * CAPABILITY IMAP4rev1 ID IDLE
S: {tag} OK CAPABILITY completed
";

#[test]
fn login_password_with_quote_and_backslash_is_sent_quoted_and_escaped() {
    let pw = r#"pa"ss\word-9931"#;
    let sc = scenario(&format!(
        "{NO_PLAIN}C: * LOGIN <auth>\nS: {{tag}} NO LOGIN failed.\nC: * LOGOUT\n!close\n"
    ));
    let r = run(&sc, Some(pw), &[]);
    let login: Vec<&String> = r
        .client_lines
        .iter()
        .filter(|l| l.contains(" LOGIN "))
        .collect();
    assert_eq!(login.len(), 1);
    assert!(
        login[0].ends_with(r#" LOGIN "alice@contoso.com" "pa\"ss\\word-9931""#),
        "LOGIN arguments not quoted as RFC 9051 wants"
    );
    assert_eq!(
        r.codes().first().map(String::as_str),
        Some("BAD_CREDENTIALS")
    );
    assert_eq!(r.auth_attempts, 1);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert!(r
        .transcript()
        .iter()
        .any(|l| l.ends_with(r#"LOGIN "alice@contoso.com" <redacted>"#)));
    assert_no_leak(USER, pw, &[&r.stdout, &r.stderr]);
}

#[test]
fn non_ascii_password_goes_as_a_synchronizing_literal() {
    let pw = "pässwörd-1"; // 12 bytes in UTF-8
    let sc = scenario(&format!(
        "{NO_PLAIN}C: * LOGIN \"alice@contoso.com\" {{12}}\nS: + Ready for additional command text\nC: <auth>\nS: {{tag}} NO [AUTHENTICATIONFAILED] Authentication failed.\nC: * LOGOUT\n!close\n"
    ));
    let r = run(&sc, Some(pw), &[]);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert!(
        r.client_lines.iter().any(|l| l == pw),
        "literal bytes not sent"
    );
    assert_eq!(r.auth_attempts, 1);
    assert_eq!(r.check("imap")["status"], "fail");
    assert_no_leak(USER, pw, &[&r.stdout, &r.stderr]);
}

#[test]
fn literal_plus_sends_the_password_without_waiting_for_a_continuation() {
    let pw = "pässwörd-1";
    let sc = scenario(
        "# protocol: imap
# tls: implicit
S: * OK IMAP4rev1 Service Ready
C: * CAPABILITY
S: * CAPABILITY IMAP4rev1 LITERAL+
S: {tag} OK CAPABILITY completed
C: * LOGIN \"alice@contoso.com\" {12+}
C: <auth>
S: {tag} NO [AUTHENTICATIONFAILED] Authentication failed.
C: * LOGOUT
!close
",
    );
    let r = run(&sc, Some(pw), &[]);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert_eq!(r.auth_attempts, 1);
    assert_no_leak(USER, pw, &[&r.stdout, &r.stderr]);
}

#[test]
fn starttls_port_with_capabilities_in_the_greeting_skips_capability_and_uses_sasl_ir() {
    let sc = scenario(
        "# protocol: imap
# tls: starttls
S: * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot ready.
C: * STARTTLS
S: {tag} OK Begin TLS negotiation now.
!tls
C: * CAPABILITY
S: * CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN
S: {tag} OK Pre-login capabilities listed, post-login capabilities have more.
C: * AUTHENTICATE PLAIN <auth>
S: {tag} OK Logged in
C: * EXAMINE INBOX
S: * 0 EXISTS
S: {tag} OK [READ-ONLY] Examine completed.
C: * LOGOUT
!close
",
    );
    let r = run(&sc, Some("Canary-Pw-7781!"), &[]);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert_eq!(r.check("imap")["status"], "pass", "{}", r.json);
    assert_eq!(
        r.check("imap")["details"]["auth_mechanism"],
        "AUTHENTICATE PLAIN"
    );
    assert_eq!(r.auth_attempts, 1);
    assert_eq!(r.connections, 1, "one connection for tls and imap");
    let t = r.transcript();
    assert!(
        t.iter().any(|l| l.starts_with("* TLS 1.3 established")),
        "{t:#?}"
    );
    assert!(
        t.iter().any(|l| l == "C A3 AUTHENTICATE PLAIN <redacted>"),
        "{t:#?}"
    );
    assert_no_leak(USER, "Canary-Pw-7781!", &[&r.stdout, &r.stderr]);
}

#[test]
fn without_a_password_nothing_is_sent_and_the_check_passes() {
    let sc = scenario(&format!("{NO_PLAIN}C: * LOGOUT\n!close\n"));
    let r = run(&sc, None, &[]);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert_eq!(r.auth_attempts, 0);
    let imap = r.check("imap");
    assert_eq!(imap["status"], "pass");
    assert!(imap["summary"]
        .as_str()
        .unwrap_or_default()
        .contains("no password"));
}

#[test]
fn logout_reply_is_not_awaited() {
    let sc = scenario(
        "# protocol: imap
# tls: implicit
S: * OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready
C: * AUTHENTICATE PLAIN <auth>
S: {tag} OK AUTHENTICATE completed.
C: * EXAMINE INBOX
S: {tag} OK [READ-ONLY] EXAMINE completed.
C: * LOGOUT
!delay 5000
S: * BYE signing off
S: {tag} OK LOGOUT completed.
",
    );
    let r = run(&sc, Some("Canary-Pw-7781!"), &[]);
    assert_eq!(r.check("imap")["status"], "pass", "{}", r.json);
    assert!(
        r.took.as_secs_f64() < 4.0,
        "waited for LOGOUT: {:?}",
        r.took
    );
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
}
