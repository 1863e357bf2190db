//! `check --signin-log`: the replay server answers the recorded Exchange Online
//! `535 5.7.3 Authentication unsuccessful` (fixtures/exo-smtp-5-7-3.txt), and the
//! simulated Microsoft Graph holds the sign-in log's record of that very login:
//! AADSTS50126, then 53003 (with its Conditional Access policy), then 50076. The
//! ambiguous M365_AUTH_UNSUCCESSFUL becomes three different precise root causes;
//! a record that appears only after a while is waited for; with no record, the
//! report says what was looked up and that nothing was found. One AUTH per run,
//! and neither the password nor the Graph token is shown anywhere.

#[path = "util/signins_gen.rs"]
mod gen;
mod util;

use mailbox_doctor::sim::graph::{GraphServer, GraphTenant, TokenKind};
use mailbox_doctor::sim::pki::{CertKind, Pki, Validity};
use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
use std::time::Duration;
use util::{assert_no_leak, bin, codes, validated};

const USER: &str = "alice@contoso.com";
const PW: &str = "Canary-Pw-5190!";
const GRAPH_TOKEN: &str = "GraphTok.Canary-8841.sig";

struct Run {
    json: serde_json::Value,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    auth_attempts: usize,
}

impl Run {
    fn smtp(&self) -> serde_json::Value {
        self.json["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == "smtp").cloned())
            .unwrap_or_default()
    }
    fn finding(&self, code: &str) -> serde_json::Value {
        self.smtp()["findings"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["code"] == code).cloned())
            .unwrap_or_else(|| panic!("no {code} finding in {}", self.smtp()))
    }
}

/// The record of this run's refused SMTP AUTH, stamped now.
fn record(code: u32, reason: &str) -> serde_json::Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut row = gen::Row::new(&now, USER, "Authenticated SMTP", "203.0.113.45", "DE", code);
    row.reason = reason.into();
    gen::graph_object(&row, 1)
}

/// Other sign-ins around it, which must not be taken for it.
fn decoys() -> Vec<serde_json::Value> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    vec![
        gen::graph_object(
            &gen::Row::new(&now, USER, "IMAP4", "203.0.113.45", "DE", 50053),
            2,
        ),
        gen::graph_object(
            &gen::Row::new(
                &now,
                "bob@contoso.com",
                "Authenticated SMTP",
                "192.0.2.1",
                "DE",
                50057,
            ),
            3,
        ),
    ]
}

fn run(tenant: GraphTenant, wait: &str) -> Run {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new().expect("pki");
    let sc = Scenario::named("exo-smtp-5-7-3").expect("fixture");
    let cfg = pki
        .server_config(CertKind::Valid, &["127.0.0.1", "localhost"])
        .expect("cert");
    let replay = rt
        .block_on(ReplayServer::start(sc, cfg, Duration::ZERO))
        .expect("replay");
    let mut tenant = tenant;
    tenant.tokens.insert(GRAPH_TOKEN.into(), TokenKind::Good);
    let cert = pki.ca.issue(&["127.0.0.1"], Validity::Valid).expect("cert");
    let graph = rt
        .block_on(GraphServer::start(&cert, tenant))
        .expect("graph");
    let ca = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(ca.path(), pki.ca.pem()).expect("ca");
    let token = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(token.path(), format!("{GRAPH_TOKEN}\n")).expect("token");
    let dns = util::local_dns(&rt);
    let out = bin()
        .args(["check", USER, "--timeout", "5", "--json", "--only", "smtp"])
        .args(["--provider", "microsoft365", "--password-stdin"])
        .arg("--smtp")
        .arg(format!("smtp://127.0.0.1:{}", replay.addr().port()))
        .arg("--ca-file")
        .arg(ca.path())
        .arg("--dns-server")
        .arg(dns.addr().to_string())
        .arg("--signin-log")
        .arg("--graph-token-file")
        .arg(token.path())
        .arg("--signin-log-graph-url")
        .arg(graph.url())
        .args(["--signin-log-wait", wait, "--signin-log-poll", "1"])
        .write_stdin(format!("{PW}\n"))
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    std::thread::sleep(Duration::from_millis(50));
    Run {
        json: validated(&out.stdout, "report.v1.json"),
        stdout: out.stdout,
        stderr: out.stderr,
        auth_attempts: replay.stats().auth_attempts,
    }
}

#[test]
fn the_sign_in_log_turns_one_ambiguous_refusal_into_three_precise_root_causes() {
    let mut causes = Vec::new();

    // 50126: the password is wrong.
    let mut interactive = decoys();
    interactive.push(record(
        50126,
        "Error validating credentials due to invalid username or password.",
    ));
    let r = run(
        GraphTenant {
            interactive,
            ..Default::default()
        },
        "20",
    );
    let c = codes(&r.json);
    assert_eq!(
        c.first().map(String::as_str),
        Some("BAD_CREDENTIALS"),
        "{c:?}"
    );
    assert!(!c.contains(&"M365_AUTH_UNSUCCESSFUL".to_string()), "{c:?}");
    let f = r.finding("BAD_CREDENTIALS");
    assert!(f["message"]
        .as_str()
        .unwrap_or_default()
        .contains("AADSTS50126"));
    assert!(f["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Error validating credentials"));
    let looked = r.finding("SIGNIN_LOG_RECORD")["message"].to_string();
    assert!(looked.contains("user alice@contoso.com"), "{looked}");
    assert!(looked.contains("'Authenticated SMTP'"), "{looked}");
    assert!(looked.contains("/beta/auditLogs/signIns"), "{looked}");
    assert_eq!(r.auth_attempts, 1, "one AUTH, never retried");
    assert_no_leak(USER, PW, &[&r.stdout, &r.stderr]);
    assert_no_leak(USER, GRAPH_TOKEN, &[&r.stdout, &r.stderr]);
    causes.push(c[0].clone());

    // 53003: Conditional Access blocked it; the record appears only after 2 s.
    let mut blocked = record(
        53003,
        "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
    );
    blocked["conditionalAccessStatus"] = "failure".into();
    blocked["appliedConditionalAccessPolicies"] = serde_json::json!([
        {"id": "p1", "displayName": "Block legacy authentication", "result": "failure"},
        {"id": "p2", "displayName": "Require MFA for admins", "result": "notApplied"}
    ]);
    let r = run(
        GraphTenant {
            interactive: decoys(),
            delayed: vec![(Duration::from_secs(2), blocked)],
            ..Default::default()
        },
        "30",
    );
    let c = codes(&r.json);
    assert_eq!(
        c.first().map(String::as_str),
        Some("M365_CONDITIONAL_ACCESS"),
        "{c:?}"
    );
    let f = r.finding("M365_CONDITIONAL_ACCESS");
    let msg = f["message"].as_str().unwrap_or_default();
    assert!(msg.contains("Conditional Access: failure"), "{msg}");
    assert!(
        msg.contains("Block legacy authentication (failure)"),
        "{msg}"
    );
    assert!(
        !msg.contains("Require MFA for admins"),
        "not applied: {msg}"
    );
    let looked = r.finding("SIGNIN_LOG_RECORD")["message"].to_string();
    assert!(
        !looked.contains("after 1 look-ups"),
        "waited for it: {looked}"
    );
    assert_eq!(r.auth_attempts, 1);
    causes.push(c[0].clone());

    // 50076: multifactor authentication is required.
    let mut interactive = decoys();
    interactive.push(record(
        50076,
        "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access.",
    ));
    let r = run(
        GraphTenant {
            interactive,
            ..Default::default()
        },
        "20",
    );
    let c = codes(&r.json);
    assert_eq!(c.first().map(String::as_str), Some("MFA_REQUIRED"), "{c:?}");
    assert!(r.finding("MFA_REQUIRED")["message"]
        .as_str()
        .unwrap_or_default()
        .contains("AADSTS50076 UserStrongAuthClientAuthNRequired"));
    causes.push(c[0].clone());

    causes.dedup();
    assert_eq!(causes.len(), 3, "{causes:?}");
}

#[test]
fn without_a_record_the_report_says_what_was_looked_up_and_keeps_the_ambiguous_cause() {
    let r = run(
        GraphTenant {
            interactive: decoys(),
            ..Default::default()
        },
        "2",
    );
    let c = codes(&r.json);
    assert_eq!(
        c.first().map(String::as_str),
        Some("M365_AUTH_UNSUCCESSFUL"),
        "{c:?}"
    );
    let f = r.finding("SIGNIN_LOG_NOT_FOUND");
    let msg = f["message"].as_str().unwrap_or_default();
    assert!(msg.contains("user alice@contoso.com"), "{msg}");
    assert!(msg.contains("no record of this login"), "{msg}");
    assert!(msg.contains("two hours"), "the logs lag: {msg}");
    assert_eq!(r.auth_attempts, 1);
}

#[test]
fn a_tenant_without_p1_is_named_and_the_check_still_reports() {
    let r = run(
        GraphTenant {
            premium: false,
            ..Default::default()
        },
        "5",
    );
    let c = codes(&r.json);
    assert_eq!(
        c.first().map(String::as_str),
        Some("M365_AUTH_UNSUCCESSFUL"),
        "{c:?}"
    );
    let msg = r.finding("SIGNIN_LOG_UNAVAILABLE")["message"].to_string();
    assert!(msg.contains("GRAPH_LICENSE_REQUIRED"), "{msg}");
    assert_no_leak(USER, GRAPH_TOKEN, &[&r.stdout, &r.stderr]);
}
