//! `signins --graph` end to end against the simulated Microsoft Graph
//! (`sim::graph`) over HTTPS on 127.0.0.1, trusted through `--ca-file`: the same
//! tenant read from an export and from Graph gives the same report, through
//! paging, a 429, an expired skiptoken and timed-out wide windows; the beta-only
//! user agent; the licence, permission, role and audience refusals with their
//! codes and fixes; split client-app filters; the monitoring formats; --redact;
//! and the read's deadline.

#[path = "util/signins_gen.rs"]
mod gen;
mod util;

use base64::Engine as _;
use mailbox_doctor::sim::graph::{GraphServer, GraphTenant, TokenKind};
use mailbox_doctor::sim::pki::{Ca, Validity};
use std::time::Duration;
use util::{assert_no_leak, bin, validated};

const NOW: &str = "2026-12-01";
const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// A JWT-shaped token for `aud` (the signature is made up; Graph's check is simulated).
fn token(aud: &str, canary: &str) -> String {
    let e = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let claims = format!(
        r#"{{"aud":"{aud}","tid":"{TENANT_ID}","scp":"AuditLog.Read.All","canary":"{canary}"}}"#
    );
    format!(
        "{}.{}.{}",
        e(br#"{"alg":"RS256","typ":"JWT"}"#),
        e(claims.as_bytes()),
        e(canary.as_bytes())
    )
}

fn good() -> String {
    token("https://graph.microsoft.com", "GraphCanary5521")
}

struct Env {
    rt: tokio::runtime::Runtime,
    server: GraphServer,
    ca: tempfile::NamedTempFile,
}

fn env(mut tenant: GraphTenant) -> Env {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ca = Ca::new("mailbox-doctor test CA").expect("ca");
    let cert = ca.issue(&["127.0.0.1"], Validity::Valid).expect("cert");
    tenant.tokens.insert(good(), TokenKind::Good);
    let server = rt
        .block_on(GraphServer::start(&cert, tenant))
        .expect("server");
    let file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(file.path(), ca.pem()).expect("write ca");
    Env {
        rt,
        server,
        ca: file,
    }
}

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    took: Duration,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        validated(&self.stdout, "signins.v1.json")
    }
    fn err(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

fn graph(env: &Env, tok: &str, args: &[&str]) -> Run {
    let start = std::time::Instant::now();
    let out = bin()
        .args(["signins", "--graph", "--token-stdin", "--now", NOW])
        .arg("--graph-url")
        .arg(env.server.url())
        .arg("--ca-file")
        .arg(env.ca.path())
        .args(args)
        .write_stdin(format!("{tok}\n"))
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    let _ = &env.rt;
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
        took: start.elapsed(),
    }
}

/// The office's month, without the row older than the 30-day window (Graph's
/// own filter leaves it out; an export counts it as outside the window).
fn office() -> Vec<gen::Row> {
    gen::office()
        .into_iter()
        .filter(|r| r.time.as_str() >= "2026-11-01")
        .collect()
}

fn records(rows: &[gen::Row]) -> Vec<serde_json::Value> {
    rows.iter()
        .enumerate()
        .map(|(n, r)| gen::graph_object(r, n))
        .collect()
}

/// The sections a script reads, which must not depend on where the sign-ins came from.
const SAME: &[&str] = &[
    "status",
    "rows_read",
    "rows_malformed",
    "rows_analyzed",
    "legacy_rows",
    "first_seen",
    "last_seen",
    "legacy",
    "failures",
    "lockout_risk",
    "unexpected_locations",
    "not_covered_by_ca",
    "omitted",
];

#[test]
fn export_and_graph_give_the_same_report_through_paging_throttling_expiry_and_timeouts() {
    let rows = office();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("InteractiveSignIns.csv");
    std::fs::write(&file, gen::csv(&rows)).expect("write");
    let export = bin()
        .args([
            "signins",
            "--now",
            NOW,
            "--json",
            "--expected-country",
            "DE,AT",
        ])
        .arg(&file)
        .output()
        .expect("runs");
    let export_v = validated(&export.stdout, "signins.v1.json");

    let env = env(GraphTenant {
        interactive: records(&rows),
        page_size: 5,
        throttle: vec![2],
        expire: vec![2],
        max_window: Some(chrono::Duration::days(10)),
        hold: Duration::from_secs(3),
        ..Default::default()
    });
    let run = graph(
        &env,
        &good(),
        &[
            "--json",
            "--expected-country",
            "DE,AT",
            "--graph-timeout",
            "1",
        ],
    );
    assert_eq!(
        run.code,
        export.status.code().unwrap_or(-1),
        "{}",
        run.err()
    );
    let v = run.json();
    for key in SAME {
        assert_eq!(v[key], export_v[key], "{key} differs");
    }
    assert_eq!(v["rows_read"], rows.len());
    assert_eq!(v["inputs"][0]["format"], "graph-pages");
    let notes = v["notes"].to_string();
    assert!(notes.contains("/beta/auditLogs/signIns"), "{notes}");
    assert!(notes.contains("throttled 1 requests"), "{notes}");
    assert!(notes.contains("skiptokens had expired"), "{notes}");
    assert!(notes.contains("narrower time windows"), "{notes}");
    assert!(notes.contains("two hours"), "{notes}");

    let reqs = env.server.requests();
    assert!(reqs.iter().any(|r| r.starts_with("429 ")), "{reqs:?}");
    assert!(reqs.iter().any(|r| r.starts_with("400 ")), "{reqs:?}");
    assert!(reqs.iter().any(|r| r.starts_with("504 ")), "{reqs:?}");
    assert!(
        reqs.iter()
            .any(|r| r.contains("signInEventTypes/any(t: t eq 'nonInteractiveUser')")),
        "beta is asked for the non-interactive sign-ins: {reqs:?}"
    );
    assert!(reqs.iter().any(|r| r.contains("$skiptoken=")), "{reqs:?}");
}

#[test]
fn v1_lacks_the_beta_only_user_agent_and_the_non_interactive_sign_ins_and_says_so() {
    let rows = office();
    let mut non = gen::Row::new(
        "2026-11-28T10:00:00Z",
        "frank@contoso.com",
        "IMAP4",
        "192.0.2.77",
        "DE",
        0,
    );
    non.user_agent = "Thunderbird/128".into();
    let env = env(GraphTenant {
        interactive: records(&rows),
        non_interactive: vec![gen::graph_object(&non, 999)],
        ..Default::default()
    });
    let beta = graph(&env, &good(), &["--json"]).json();
    let v1 = graph(&env, &good(), &["--json", "--graph-version", "v1.0"]).json();
    let agents = |v: &serde_json::Value| {
        v["lockout_risk"][0]["user_agent"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(agents(&beta), "Printer-Firmware/2.1");
    assert_eq!(agents(&v1), "", "v1.0 has no userAgent");
    let users = |v: &serde_json::Value| v["legacy"].to_string().contains("frank@contoso.com");
    assert!(users(&beta), "beta reads the non-interactive sign-ins");
    assert!(!users(&v1));
    assert_eq!(beta["rows_read"], rows.len() + 1);
    assert!(v1["notes"].to_string().contains("/v1.0/auditLogs/signIns"));
    assert!(v1["notes"]
        .to_string()
        .contains("interactive sign-ins only"));
}

#[test]
fn refusals_have_their_own_codes_and_fixes_and_never_show_the_token() {
    let no_p1 = env(GraphTenant {
        premium: false,
        ..Default::default()
    });
    let run = graph(&no_p1, &good(), &["--json"]);
    assert_eq!(run.code, 3);
    let e = run.err();
    assert!(e.contains("GRAPH_LICENSE_REQUIRED"), "{e}");
    assert!(e.contains("P1"), "{e}");
    assert!(e.contains("Authentication_RequestFromNonPremiumTenantOrB2CTenant"));
    assert!(
        e.contains("mailbox-doctor signins FILE"),
        "export as fallback: {e}"
    );
    assert_no_leak("", &good(), &[&run.stdout, &run.stderr]);

    let mut t = GraphTenant::default();
    let no_perm = token("https://graph.microsoft.com", "NoPermCanary1");
    let no_role = token("https://graph.microsoft.com", "NoRoleCanary2");
    let exchange = token("https://outlook.office.com", "AudCanary3");
    t.tokens.insert(no_perm.clone(), TokenKind::NoPermission);
    t.tokens.insert(no_role.clone(), TokenKind::NoRole);
    t.tokens.insert(exchange.clone(), TokenKind::WrongAudience);
    let env = env(t);
    let run = graph(&env, &no_perm, &[]);
    assert_eq!(run.code, 3);
    assert!(
        run.err().contains("GRAPH_PERMISSION_MISSING"),
        "{}",
        run.err()
    );
    assert!(run.err().contains("AuditLog.Read.All"));
    assert_no_leak("", &no_perm, &[&run.stdout, &run.stderr]);

    let run = graph(&env, &no_role, &[]);
    assert_eq!(run.code, 3);
    let e = run.err();
    assert!(e.contains("GRAPH_ROLE_MISSING"), "{e}");
    for role in [
        "Reports Reader",
        "Security Reader",
        "Global Reader",
        "AuditLog.Read.All",
    ] {
        assert!(e.contains(role), "{role}: {e}");
    }
    assert_no_leak("", &no_role, &[&run.stdout, &run.stderr]);

    let run = graph(&env, &exchange, &[]);
    assert_eq!(run.code, 3);
    let e = run.err();
    assert!(e.contains("GRAPH_WRONG_AUDIENCE"), "{e}");
    assert!(
        e.contains("https://outlook.office.com"),
        "the token's audience: {e}"
    );
    assert!(e.contains("Invalid audience"), "{e}");
    assert_no_leak("", &exchange, &[&run.stdout, &run.stderr]);

    let before = env.server.requests().len();
    let run = graph(
        &env,
        &good(),
        &["--tenant", "00000000-0000-4000-8000-000000000001"],
    );
    assert_eq!(run.code, 3);
    assert!(run.err().contains("GRAPH_WRONG_TENANT"), "{}", run.err());
    assert_eq!(
        env.server.requests().len(),
        before,
        "a token of another tenant is not sent"
    );
}

#[test]
fn a_long_client_app_filter_is_split_into_short_queries() {
    let env = env(GraphTenant {
        interactive: records(&office()),
        max_apps: Some(4),
        ..Default::default()
    });
    let run = graph(&env, &good(), &["--json", "--legacy-only"]);
    assert_eq!(run.code, 2, "{}", run.err());
    let v = run.json();
    // Every legacy row of the export, and none of the modern ones.
    let legacy: usize = office()
        .iter()
        .filter(|r| {
            !matches!(
                r.client_app.as_str(),
                "Browser" | "Mobile Apps and Desktop clients"
            )
        })
        .count();
    assert_eq!(v["rows_read"], legacy);
    let reqs = env.server.requests();
    assert!(reqs.iter().all(|r| r.starts_with("200 ")), "{reqs:?}");
    let most = reqs
        .iter()
        .map(|r| r.matches("clientAppUsed eq").count())
        .max()
        .unwrap_or(0);
    assert!((1..=4).contains(&most), "{most}: {reqs:?}");
    assert!(v["notes"].to_string().contains("at most 4 apps"));
}

#[test]
fn prometheus_and_nagios_count_password_sign_ins_by_protocol_per_tenant() {
    let env = env(GraphTenant {
        interactive: records(&office()),
        ..Default::default()
    });
    let run = graph(
        &env,
        &good(),
        &["--format", "prometheus", "--tenant", "contoso.com"],
    );
    assert_eq!(run.code, 2, "{}", run.err());
    let text = run.out();
    for line in [
        "mailbox_doctor_signins_legacy_successes{tenant=\"contoso.com\",client_app=\"Authenticated SMTP\"} 12",
        "mailbox_doctor_signins_legacy_users{tenant=\"contoso.com\",client_app=\"Authenticated SMTP\"} 1",
        "mailbox_doctor_signins_legacy_devices{tenant=\"contoso.com\",client_app=\"Authenticated SMTP\"} 1",
        "mailbox_doctor_signins_legacy_successes{tenant=\"contoso.com\",client_app=\"IMAP4\"} 1",
        "mailbox_doctor_signins_legacy_successes{tenant=\"contoso.com\",client_app=\"POP3\"} 0",
        "mailbox_doctor_signins_legacy_successes{tenant=\"contoso.com\",client_app=\"Exchange ActiveSync\"} 3",
        "mailbox_doctor_signins_status{tenant=\"contoso.com\"} 2",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}\n{text}");
    }
    assert!(!text.contains("@contoso.com"), "no user names: {text}");
    assert!(!text.contains("203.0.113"), "no addresses: {text}");
    // The monitoring formats read the legacy client apps only.
    assert!(env
        .server
        .requests()
        .iter()
        .all(|r| r.contains("clientAppUsed eq")));

    let run = graph(&env, &good(), &["--format", "nagios"]);
    assert_eq!(run.code, 2);
    let line = run.out();
    assert!(
        line.starts_with(&format!(
            "SIGNINS CRITICAL - tenant {TENANT_ID}: password sign-ins: "
        )),
        "the tenant from the token: {line}"
    );
    assert!(line.contains("'authenticated_smtp_successes'=12"), "{line}");
    assert_eq!(line.lines().count(), 1);
}

#[test]
fn redact_leaves_no_user_name_address_or_token_of_a_graph_record() {
    let rows = office();
    let env = env(GraphTenant {
        interactive: records(&rows),
        ..Default::default()
    });
    for fmt in ["json", "text", "csv"] {
        let run = graph(&env, &good(), &["--redact", "--format", fmt]);
        assert_eq!(run.code, 2, "{}", run.err());
        let out = run.out();
        for r in &rows {
            assert!(!out.contains(&r.upn), "{fmt}: {} in\n{out}", r.upn);
            assert!(!out.contains(&r.ip), "{fmt}: {} in\n{out}", r.ip);
        }
        assert_no_leak("", &good(), &[&run.stdout, &run.stderr]);
    }
}

#[test]
fn the_whole_read_ends_at_its_deadline_whatever_graph_does() {
    // Every query spans too wide a window and is held: the reader narrows and
    // narrows, and the deadline ends it.
    let env = env(GraphTenant {
        interactive: records(&office()),
        max_window: Some(chrono::Duration::minutes(1)),
        hold: Duration::from_secs(30),
        ..Default::default()
    });
    let run = graph(
        &env,
        &good(),
        &["--graph-timeout", "1", "--graph-deadline", "4"],
    );
    assert_eq!(run.code, 3);
    assert!(run.err().contains("GRAPH_TIMEOUT"), "{}", run.err());
    // The deadline plus process start-up; the margin is for the shared machine.
    assert!(run.took < Duration::from_secs(12), "{:?}", run.took);
}
