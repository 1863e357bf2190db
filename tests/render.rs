//! Snapshot tests for the renderers: a fixed report (durations fixed, no clock)
//! rendered in every format and compared with the files in tests/snapshots/.
//! Regenerate with `UPDATE_SNAPSHOTS=1 cargo test --test render` and review the diff.

mod util;

use mailbox_doctor::net::transcript::{Dir, Line};
use mailbox_doctor::report::model::{CheckReport, Diagnosis, Report, Tool};
use mailbox_doctor::report::{json, nagios, text};
use mailbox_doctor::target::Target;
use mailbox_doctor::vocab::Endpoint;
use mailbox_doctor::vocab::OverallStatus;
use mailbox_doctor::vocab::{Actor, Protocol, Severity, TlsMode};
use mailbox_doctor::vocab::{CheckId, Finding, Status};
use std::path::Path;

fn sample() -> Report {
    let check = |id, status, summary: &str, ms, findings| CheckReport {
        id,
        status,
        summary: summary.into(),
        duration_ms: ms,
        findings,
        details: serde_json::Value::Null,
    };
    let reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [MN2PR05CA0004.namprd05.prod.outlook.com 2023-09-12T20:59:57.214Z 08DBB276B7E699C4]";
    let finding = Finding::new(
        "M365_SMTP_AUTH_DISABLED_TENANT",
        Severity::Critical,
        "the server refused SMTP AUTH for the whole organisation",
    )
    .with_evidence(reply);
    Report {
        question: None,
        schema_version: 1,
        tool: Tool {
            name: "mailbox-doctor",
            version: "0.1.0",
            knowledge_as_of: "2026-11-24".into(),
        },
        target: Target {
            user: "alice@contoso.com".into(),
            domain: Some("contoso.com".into()),
            provider: "microsoft365".into(),
            provider_name: "Microsoft 365 (Exchange Online)".into(),
            provider_source: "mx",
            endpoints: vec![
                Endpoint { protocol: Protocol::Smtp, host: "smtp.office365.com".into(), port: 587, tls: TlsMode::Starttls, source: "profile" },
                Endpoint { protocol: Protocol::Imap, host: "outlook.office365.com".into(), port: 993, tls: TlsMode::Implicit, source: "profile" },
            ],
            discovery: None,
        },
        status: OverallStatus::Critical,
        duration_ms: 812,
        checks: vec![
            check(CheckId::Credentials, Status::Pass, "16 characters, shaped like a Microsoft 365 app password", 0, vec![]),
            check(CheckId::Dns, Status::Pass, "2 hosts resolved in 14 ms; MX contoso-com.mail.protection.outlook.com", 14, vec![]),
            check(CheckId::Tls, Status::Pass, "TLS 1.3 on both endpoints; certificates valid for 212 days or more", 96, vec![]),
            check(CheckId::Smtp, Status::Fail, "535 5.7.139: SMTP AUTH is disabled for the tenant", 688, vec![finding]),
            check(CheckId::Imap, Status::Skip, "needs the dns check, which was not run", 0, vec![]),
        ],
        diagnosis: vec![Diagnosis {
            code: "M365_SMTP_AUTH_DISABLED_TENANT".into(),
            severity: Severity::Critical,
            summary: "SMTP AUTH is turned off for the whole Microsoft 365 organisation".into(),
            explanation: "The tenant-wide setting SmtpClientAuthenticationDisabled is on, so every mailbox that does not override it is refused.".into(),
            fix: "An admin enables SMTP AUTH for this mailbox only (preferred) or for the tenant.".into(),
            actor: Actor::Admin,
            confirm: vec![
                "Get-TransportConfig | Format-List SmtpClientAuthenticationDisabled".into(),
                "Set-CASMailbox -Identity alice@contoso.com -SmtpClientAuthenticationDisabled $false".into(),
            ],
            docs: Some("https://aka.ms/smtp_auth_disabled".into()),
            checks: vec!["smtp".into()],
            evidence: vec![format!("smtp: {reply}")],
        }],
        metrics: mailbox_doctor::report::model::Metrics {
            cert_days_left: Some(212),
            deadline: Some("2026-12-31".into()),
            deadline_days_left: Some(36),
            warning_days: 30,
            critical_days: 7,
        },
        transcript: Some(vec![
            Line { t_ms: 15, protocol: "smtp".into(), dir: Dir::S, line: "220 LO4P302CA0005.outlook.office365.com Microsoft ESMTP MAIL Service ready".into() },
            Line { t_ms: 16, protocol: "smtp".into(), dir: Dir::C, line: "AUTH PLAIN <redacted>".into() },
            Line { t_ms: 700, protocol: "smtp".into(), dir: Dir::S, line: reply.into() },
        ]),
    }
}

fn snapshot(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, got).expect("write snapshot");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing snapshot {name}; run with UPDATE_SNAPSHOTS=1"));
    assert_eq!(
        got, want,
        "snapshot {name} differs; rerun with UPDATE_SNAPSHOTS=1 and review"
    );
}

fn render(f: impl Fn(&Report, &mut Vec<u8>)) -> String {
    let mut buf = Vec::new();
    f(&sample(), &mut buf);
    String::from_utf8(buf).expect("utf-8")
}

#[test]
fn text_report_snapshot_without_color_fits_80_columns() {
    let out = render(|r, b| text::render(r, b, &text::Style { color: false }).expect("renders"));
    let mut in_confirm = false;
    for line in out.lines() {
        // Admin commands are never wrapped (they are copied and pasted).
        in_confirm =
            line.starts_with("  Confirm") || (in_confirm && line.starts_with("              "));
        // Unbreakable words (URLs, server tags) may run over; prose may not.
        if !in_confirm && line.chars().count() > 80 {
            let last = line.split_whitespace().last().unwrap_or_default();
            assert!(
                line.chars().count() - last.chars().count() <= 80,
                "line over 80 columns: {line:?}"
            );
        }
    }
    assert!(!out.contains('\u{1b}'));
    snapshot("report.txt", &out);
}

#[test]
fn text_report_with_color_has_the_same_words() {
    let plain = render(|r, b| text::render(r, b, &text::Style { color: false }).expect("renders"));
    colored::control::set_override(true);
    let colored_out =
        render(|r, b| text::render(r, b, &text::Style { color: true }).expect("renders"));
    assert!(colored_out.contains('\u{1b}'));
    let stripped = regex::Regex::new("\u{1b}\\[[0-9;]*m")
        .expect("re")
        .replace_all(&colored_out, "");
    assert_eq!(stripped, plain);
}

#[test]
fn json_report_snapshot_is_schema_valid() {
    let out = render(|r, b| json::render(r, b).expect("renders"));
    util::validated(out.as_bytes(), "report.v1.json");
    snapshot("report.json", &out);
}

#[test]
#[should_panic(expected = "report.v1.json violated")]
fn the_schema_check_rejects_a_report_with_an_unknown_field() {
    let out = render(|r, b| json::render(r, b).expect("renders"));
    let mut v: serde_json::Value = serde_json::from_str(&out).expect("json");
    v["not_in_the_schema"] = serde_json::json!(true);
    util::validated(v.to_string().as_bytes(), "report.v1.json");
}

#[test]
fn nagios_report_snapshot() {
    let out = render(|r, b| nagios::render(r, b).expect("renders"));
    assert!(out.starts_with("MAILBOX-DOCTOR CRITICAL - M365_SMTP_AUTH_DISABLED_TENANT: "));
    snapshot("report.nagios", &out);
}
