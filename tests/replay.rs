//! Every fixture scenario, played by the replay server over real TCP and TLS on
//! 127.0.0.1, against the real binary: the expected diagnosis, at most one
//! authentication attempt, the client said what the scenario expects, and the
//! canary password never appears in any output (with and without --transcript).

mod support;
mod util;

use mailbox_doctor::sim::replay::{Scenario, FIXTURES};
use support::{Credential, Play, Run, USER};
use util::{assert_no_leak, codes};

const CANARY: &str = "Canary-Pw-7781!";

fn play(name: &str, format: &str, transcript: bool) -> Run {
    let sc = Scenario::named(name).expect("fixture");
    let token = util::canary_token(USER);
    let credential = if sc.token {
        Credential::Token(&token)
    } else {
        Credential::Password(CANARY)
    };
    support::play(
        &sc,
        &Play {
            credential,
            format,
            transcript,
            extra: &[],
            dir: None,
        },
    )
}

#[test]
fn every_fixture_gives_its_expected_diagnosis_with_one_auth_attempt_at_most() {
    let mut failures = Vec::new();
    for (name, text) in FIXTURES {
        let sc = Scenario::parse(name, text).expect("parses");
        let p = play(name, "json", true);
        let got = codes(&p.json);
        let ok = match &sc.expect {
            Some(code) => {
                let want_exit = if p.json["diagnosis"][0]["severity"] == "critical" {
                    2
                } else {
                    1
                };
                got.first() == Some(code) && p.code == Some(want_exit)
            }
            None => !p.json["diagnosis"]
                .as_array()
                .is_some_and(|a| a.iter().any(|d| d["severity"] == "critical")),
        };
        if !ok {
            failures.push(format!(
                "{name}: expected {:?}, got {got:?} (exit {:?})",
                sc.expect, p.code
            ));
        }
        if p.auth_attempts > 1 {
            failures.push(format!(
                "{name}: {} authentication attempts",
                p.auth_attempts
            ));
        }
        // A client that rightly gives up (bad certificate, wrong TLS mode) leaves the
        // script early; any other deviation is a failure.
        let gave_up = |m: &String| {
            m.starts_with("TLS accept") || m.starts_with("client closed") || m.starts_with("write:")
        };
        let expected_early = sc
            .expect
            .as_deref()
            .is_some_and(|c| c.starts_with("TLS_") || c == "WRONG_TLS_MODE");
        if !p.mismatches.iter().all(|m| expected_early && gave_up(m)) {
            failures.push(format!("{name}: client deviated: {:?}", p.mismatches));
        }
        let secret = if sc.token {
            util::canary_token(USER)
        } else {
            CANARY.to_string()
        };
        assert_no_leak(USER, &secret, &[&p.stdout, &p.stderr]);
        assert!(!String::from_utf8_lossy(&p.stdout).contains("TokCanary"));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn transcript_redacts_the_secret_and_keeps_the_server_reply_verbatim() {
    let p = play("exo-smtp-tenant-disabled", "json", true);
    let lines = p.json["transcript"].as_array().expect("transcript").clone();
    let text: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                l["dir"].as_str().unwrap_or_default(),
                l["line"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert!(text.iter().any(|l| l == "C <redacted>"), "{text:#?}");
    assert!(text.iter().any(|l| l.starts_with("S 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.")));
    assert!(
        text.iter().any(|l| l.starts_with("* TLS 1.3 established")),
        "{text:#?}"
    );
    for format in ["text", "nagios", "prometheus"] {
        let p = play("exo-smtp-tenant-disabled", format, true);
        assert_eq!(p.code, Some(2), "{format}");
        assert_no_leak(USER, CANARY, &[&p.stdout, &p.stderr]);
    }
}

#[test]
fn tls_facts_are_reported_for_a_good_session() {
    let p = play("exo-imap-ok", "json", false);
    let tls = &p.json["checks"][1];
    assert_eq!(tls["id"], "tls");
    assert_eq!(tls["details"]["imap"]["tls"]["version"], "TLS 1.3");
    assert!(tls["details"]["imap"]["tls"]["chain"][0]["sans"]
        .as_array()
        .is_some_and(|s| s.iter().any(|n| n == "127.0.0.1")));
    assert_eq!(p.json["checks"][2]["status"], "pass");
    assert_eq!(
        p.json["checks"][2]["details"]["backend"],
        "MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM"
    );
}

#[test]
fn untrusted_certificate_names_the_intercepting_issuer() {
    let p = play("tls-untrusted", "json", false);
    let msg = p.json["checks"][1]["findings"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.contains("Contoso Web Filter TLS Inspection CA"),
        "{msg}"
    );
    assert_eq!(
        p.auth_attempts, 0,
        "no credentials over an untrusted channel"
    );
}

#[test]
fn starttls_missing_means_no_credentials_are_sent() {
    let p = play("exo-smtp-starttls-missing", "json", false);
    assert_eq!(
        codes(&p.json).first().map(String::as_str),
        Some("STARTTLS_MISSING")
    );
    assert_eq!(p.auth_attempts, 0);
    assert_eq!(p.json["checks"][2]["status"], "skip");
}

#[test]
fn smtp_success_on_exchange_warns_of_the_dated_sunset() {
    let p = play("exo-smtp-ok", "json", false);
    assert_eq!(codes(&p.json), ["M365_SMTP_BASIC_AUTH_SUNSET"]);
    assert_eq!(p.code, Some(1));
}
