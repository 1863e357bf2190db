//! POP3 over the replay server: STLS on 110, USER/PASS when SASL PLAIN is not
//! offered, STLS missing, and QUIT without waiting for the reply.

mod support;
mod util;

use support::{run, scenario, USER};
use util::assert_no_leak;

const PW: &str = "Canary-Pw-7781!";

fn stls_then(after_tls: &str) -> String {
    format!(
        "# protocol: pop
# tls: starttls
S: +OK POP3 server ready
C: CAPA
S: +OK Capability list follows
S: TOP
S: UIDL
S: USER
S: STLS
S: .
C: STLS
S: +OK Begin TLS negotiation
!tls
{after_tls}"
    )
}

#[test]
fn stls_then_user_pass_refused_is_bad_credentials_with_pass_redacted() {
    let sc = scenario(&stls_then(
        "C: CAPA
S: +OK Capability list follows
S: TOP
S: UIDL
S: USER
S: .
C: USER alice@contoso.com
S: +OK
C: PASS <auth>
S: -ERR Authentication failure: unknown user name or bad password.
C: QUIT
!close
",
    ));
    let r = run(&sc, Some(PW), &[]);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert_eq!(r.auth_attempts, 1);
    assert_eq!(r.check("pop")["status"], "fail");
    assert_eq!(r.check("pop")["details"]["auth_mechanism"], "USER/PASS");
    let t = r.transcript();
    assert!(t.iter().any(|l| l == "C PASS <redacted>"), "{t:#?}");
    assert!(t
        .iter()
        .any(|l| l == "S -ERR Authentication failure: unknown user name or bad password."));
    assert_no_leak(USER, PW, &[&r.stdout, &r.stderr]);
}

#[test]
fn stat_after_login_proves_access() {
    let sc = scenario(&stls_then(
        "C: CAPA
S: +OK
S: USER
S: SASL PLAIN
S: .
C: AUTH PLAIN
S: +
C: <auth>
S: +OK Logged in.
C: STAT
S: +OK 2 320
C: QUIT
!delay 5000
S: +OK Bye
",
    ));
    let r = run(&sc, Some(PW), &[]);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert_eq!(r.check("pop")["status"], "pass", "{}", r.json);
    assert_eq!(r.auth_attempts, 1);
    assert!(r.took.as_secs_f64() < 4.0, "waited for the QUIT reply");
    assert_no_leak(USER, PW, &[&r.stdout, &r.stderr]);
}

#[test]
fn stls_missing_sends_no_credentials() {
    let sc = scenario(
        "# protocol: pop
# tls: starttls
S: +OK POP3 server ready
C: CAPA
S: +OK
S: USER
S: .
!close
",
    );
    let r = run(&sc, Some(PW), &[]);
    assert_eq!(
        r.codes().first().map(String::as_str),
        Some("STARTTLS_MISSING")
    );
    assert_eq!(r.auth_attempts, 0);
    assert_eq!(r.check("pop")["status"], "skip");
}
