//! `paths` against the simulated tenant (an Exchange Online Protection MX, the
//! HVE endpoint, Exchange Online's submission endpoint), over real TCP and TLS
//! on 127.0.0.1: each recorded reply gives its path's verdict and code, port 25
//! blocked beside a working 587 is told within the timeout, the HVE password is
//! sent once and never shown, and no server ever receives DATA unless
//! --send-test-message asks for it.

mod util;

use mailbox_doctor::sim::paths::{Lab, Mx};
use std::time::{Duration, Instant};
use util::{assert_no_leak, bin};

const ADDRESS: &str = "scanner@contoso.com";
const EXTERNAL: &str = "partner@fabrikam.example";
const HVE_PW: &str = "Hve-Canary-Pw-5521!";

struct Run {
    json: serde_json::Value,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    code: Option<i32>,
    took: Duration,
    /// What the MX, HVE and submission servers saw.
    stats: [mailbox_doctor::sim::replay::Stats; 3],
}

impl Run {
    fn path(&self, name: &str) -> serde_json::Value {
        self.json["paths"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["path"] == name).cloned())
            .unwrap_or(serde_json::Value::Null)
    }
    fn verdict(&self, name: &str) -> (String, String) {
        let p = self.path(name);
        (
            p["verdict"].as_str().unwrap_or_default().to_string(),
            p["code"].as_str().unwrap_or_default().to_string(),
        )
    }
    /// Every server's count of a command.
    fn count(&self, verb: &str) -> usize {
        self.stats.iter().map(|s| s.count(verb)).sum()
    }
    fn mismatches(&self) -> Vec<String> {
        self.stats
            .iter()
            .flat_map(|s| s.mismatches.clone())
            .collect()
    }
}

fn run_lab(
    mx: Mx,
    hve: Option<&'static str>,
    submission: Option<&'static str>,
    extra: &[&str],
    format: &str,
) -> Run {
    run_lab_with(mx, hve, submission, extra, format, |_, _| Vec::new())
}

/// `run_lab`, with more arguments that `files` makes from the lab once it
/// runs, writing what they name into the directory it is given.
fn run_lab_with(
    mx: Mx,
    hve: Option<&'static str>,
    submission: Option<&'static str>,
    extra: &[&str],
    format: &str,
    files: impl FnOnce(&Lab, &std::path::Path) -> Vec<String>,
) -> Run {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let lab = rt
        .block_on(Lab::start(mx, hve, submission))
        .expect("lab starts");
    let dir = tempfile::tempdir().expect("dir");
    let more = files(&lab, dir.path());
    run_on(&lab, extra, format, &more, "")
}

/// Runs `paths` against a running lab; `more_ca`: another CA's PEM to trust.
fn run_on(lab: &Lab, extra: &[&str], format: &str, more: &[String], more_ca: &str) -> Run {
    let ca = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(ca.path(), format!("{}{more_ca}", lab.pki.ca.pem())).expect("ca");
    let pw = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(pw.path(), format!("{HVE_PW}\n")).expect("pw");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(pw.path(), std::fs::Permissions::from_mode(0o600)).expect("mode");
    }
    let mut cmd = bin();
    cmd.args(["paths", ADDRESS, "--timeout", "2", "--format", format])
        .arg("--ca-file")
        .arg(ca.path())
        .args(lab.flags())
        .timeout(Duration::from_secs(60));
    for a in extra {
        if *a == "HVE" {
            cmd.args([
                "--hve-account",
                "hve-scanner@contoso.com",
                "--hve-password-file",
            ])
            .arg(pw.path());
        } else {
            cmd.arg(a);
        }
    }
    cmd.args(more);
    let start = Instant::now();
    let out = cmd.output().expect("runs");
    let took = start.elapsed();
    // Let the servers finish counting what the client sent last.
    std::thread::sleep(Duration::from_millis(300));
    let json = if format == "json" {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    } else {
        serde_json::Value::Null
    };
    Run {
        json,
        stdout: out.stdout,
        stderr: out.stderr,
        code: out.status.code(),
        took,
        stats: lab.stats(),
    }
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn direct_send_accepted_at_rcpt_without_data() {
    let r = run_lab(
        Mx::Plays("eop-direct-send-ok"),
        Some("hve-reachable"),
        Some("exo-submission-reachable"),
        &[],
        "json",
    );
    assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
    assert_eq!(r.verdict("direct_send"), (s("works"), s("")));
    assert_eq!(
        r.verdict("connector_relay"),
        (s("unknown"), s("PATH_UNTESTED"))
    );
    assert_eq!(r.verdict("hve"), (s("unknown"), s("PATH_UNTESTED")));
    assert_eq!(r.verdict("smtp_auth"), (s("unknown"), s("PATH_UNTESTED")));
    assert_eq!(r.verdict("oauth"), (s("unknown"), s("PATH_UNTESTED")));
    assert_eq!(
        r.verdict("google_relay"),
        (s("not_applicable"), s("PATH_NOT_APPLICABLE"))
    );
    assert_eq!(r.json["provider"], "Microsoft 365 (Exchange Online)");
    assert!(r.json["evidence"]
        .as_str()
        .unwrap_or_default()
        .contains("contoso-com.mail.protection.outlook.com"));
    // The exchange is carried, and says what was asked.
    let lines: Vec<String> = r.path("direct_send")["exchange"]
        .as_array()
        .expect("exchange")
        .iter()
        .map(|l| l["line"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(lines.iter().any(|l| l == "RCPT TO:<scanner@contoso.com>"));
    assert!(lines.iter().any(|l| l.starts_with("250 2.1.5")));
    assert!(r.path("direct_send")["summary"]
        .as_str()
        .unwrap_or_default()
        .contains("after DATA"));
    assert_eq!(r.count("DATA"), 0);
    assert_eq!(r.count("AUTH"), 0);
    assert!(r.count("RSET") >= 1 && r.count("RCPT") == 1);
    assert_eq!(r.code, Some(0));
}

#[test]
fn direct_send_rejected_reads_5_7_68() {
    let r = run_lab(
        Mx::Plays("eop-direct-send-rejected"),
        Some("hve-reachable"),
        Some("exo-submission-reachable"),
        &[],
        "json",
    );
    assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
    assert_eq!(
        r.verdict("direct_send"),
        (s("blocked"), s("DIRECT_SEND_REJECTED"))
    );
    assert_eq!(r.count("DATA"), 0);
    // HVE and SMTP AUTH remain unknown: the best is unknown.
    assert_eq!(r.code, Some(1));
}

#[test]
fn connector_not_matched_reads_5_7_64_and_names_the_two_ways() {
    let r = run_lab(
        Mx::Plays("eop-connector-not-matched"),
        Some("hve-reachable"),
        Some("exo-submission-reachable"),
        &["--external-recipient", EXTERNAL],
        "json",
    );
    assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
    assert_eq!(r.verdict("direct_send"), (s("works"), s("")));
    assert_eq!(
        r.verdict("connector_relay"),
        (s("blocked"), s("CONNECTOR_NOT_MATCHED"))
    );
    let summary = r.path("connector_relay")["summary"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        summary.contains("IP") && summary.contains("certificate"),
        "{summary}"
    );
    assert_eq!(r.count("DATA"), 0);
    assert_eq!(r.count("RCPT"), 2);
}

#[test]
fn connector_relay_accepted() {
    let r = run_lab(
        Mx::Plays("eop-connector-ok"),
        Some("hve-reachable"),
        Some("exo-submission-reachable"),
        &["--external-recipient", EXTERNAL],
        "json",
    );
    assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
    assert_eq!(r.verdict("connector_relay"), (s("works"), s("")));
    assert_eq!(r.count("DATA"), 0);
    assert_eq!(r.code, Some(0));
    assert!(r.json["next_step"]
        .as_str()
        .unwrap_or_default()
        .contains("contoso-com.mail.protection.outlook.com"));
}

#[test]
fn an_mx_that_drops_the_connection_leaves_both_paths_untested_and_says_why() {
    let r = run_lab(
        Mx::Plays("eop-drops-mid-exchange"),
        Some("hve-reachable"),
        Some("exo-submission-reachable"),
        &["--external-recipient", EXTERNAL],
        "json",
    );
    let (verdict, code) = r.verdict("direct_send");
    assert_eq!(verdict, "unknown", "{}", r.json);
    assert!(!code.is_empty(), "{}", r.json);
    // The external recipient was given: the relay is untested for the same
    // reason as direct send, not for want of the flag.
    assert_eq!(
        r.verdict("connector_relay"),
        (s("unknown"), code),
        "{}",
        r.json
    );
    let summary = r.path("connector_relay")["summary"].to_string();
    assert!(!summary.contains("needs --external-recipient"), "{summary}");
    assert_eq!(r.count("RCPT"), 1);
    assert_eq!(r.count("DATA"), 0);
}

#[test]
fn banned_ip_and_throttling_have_their_own_codes() {
    let r = run_lab(
        Mx::Plays("eop-banned-ip"),
        Some("hve-reachable"),
        Some("exo-submission-reachable"),
        &[],
        "json",
    );
    assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
    assert_eq!(
        r.verdict("direct_send"),
        (s("blocked"), s("SENDING_IP_BLOCKED"))
    );
    assert_eq!(r.count("DATA"), 0);
    let r = run_lab(
        Mx::Plays("eop-throttled"),
        Some("hve-reachable"),
        Some("exo-submission-reachable"),
        &[],
        "json",
    );
    assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
    // A deferral decides nothing yet.
    assert_eq!(
        r.verdict("direct_send"),
        (s("unknown"), s("SENDING_IP_THROTTLED"))
    );
    assert_eq!(r.count("DATA"), 0);
}

fn assert_port_25_blocked(mx: Mx) {
    let r = run_lab(
        mx,
        Some("hve-reachable"),
        Some("exo-submission-reachable"),
        &["--external-recipient", EXTERNAL],
        "json",
    );
    assert_eq!(
        r.verdict("direct_send"),
        (s("blocked"), s("PORT_25_BLOCKED"))
    );
    assert_eq!(
        r.verdict("connector_relay"),
        (s("blocked"), s("PORT_25_BLOCKED"))
    );
    // Within the run's budget: connect, greeting and the TLS probe of a silent
    // port each have the 2 s step timeout; the margin is for the shared machine.
    assert!(r.took < Duration::from_secs(12), "took {:?}", r.took);
    assert_eq!(r.count("DATA"), 0);
}

#[test]
fn port_25_reset_beside_a_working_587_is_port_25_blocked() {
    assert_port_25_blocked(Mx::Closed);
}

#[test]
fn port_25_silent_beside_a_working_587_is_port_25_blocked() {
    assert_port_25_blocked(Mx::Silent);
}

#[test]
fn port_25_and_587_both_dead_is_not_called_a_port_25_block() {
    let r = run_lab(Mx::Closed, None, None, &[], "json");
    let (verdict, code) = r.verdict("direct_send");
    assert_eq!(verdict, "unknown");
    assert_ne!(code, "PORT_25_BLOCKED");
}

#[test]
fn hve_login_works_once_and_the_password_never_shows() {
    let r = run_lab(
        Mx::Plays("eop-direct-send-rejected"),
        Some("hve-ok"),
        Some("exo-submission-reachable"),
        &["HVE"],
        "json",
    );
    assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
    assert_eq!(r.verdict("hve"), (s("works"), s("")));
    assert_eq!(r.stats[1].auth_attempts, 1);
    assert_eq!(r.count("DATA"), 0);
    assert_eq!(r.code, Some(0));
    let needs = r.path("hve")["needs"].to_string();
    assert!(needs.contains("internal recipients only"), "{needs}");
    assert_no_leak("hve-scanner@contoso.com", HVE_PW, &[&r.stdout, &r.stderr]);
    // The text output too.
    let t = run_lab(
        Mx::Plays("eop-direct-send-rejected"),
        Some("hve-ok"),
        Some("exo-submission-reachable"),
        &["HVE"],
        "text",
    );
    assert_no_leak("hve-scanner@contoso.com", HVE_PW, &[&t.stdout, &t.stderr]);
    for line in String::from_utf8_lossy(&t.stdout).lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line}");
    }
}

#[test]
fn hve_refusals_read_with_their_own_meaning() {
    let r = run_lab(
        Mx::Plays("eop-direct-send-rejected"),
        Some("hve-auth-policy"),
        Some("exo-submission-reachable"),
        &["HVE"],
        "json",
    );
    assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
    assert_eq!(r.verdict("hve"), (s("blocked"), s("HVE_AUTH_POLICY")));
    assert!(r.path("hve")["summary"]
        .as_str()
        .unwrap_or_default()
        .contains("AllowBasicAuthSmtp"));
    assert_eq!(r.stats[1].auth_attempts, 1);
    let r = run_lab(
        Mx::Plays("eop-connector-not-matched"),
        Some("hve-external"),
        Some("exo-submission-reachable"),
        &["HVE", "--external-recipient", EXTERNAL],
        "json",
    );
    assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
    assert_eq!(
        r.verdict("hve"),
        (s("blocked"), s("HVE_EXTERNAL_NOT_SUPPORTED"))
    );
    assert_eq!(r.stats[1].auth_attempts, 1);
    assert_eq!(r.count("DATA"), 0);
}

#[test]
fn a_tls_1_0_device_is_blocked_where_tls_1_2_is_needed() {
    let r = run_lab(
        Mx::Plays("eop-direct-send-ok"),
        Some("hve-reachable"),
        Some("exo-submission-reachable"),
        &["--device-tls", "1.0"],
        "json",
    );
    assert_eq!(
        r.verdict("smtp_auth"),
        (s("blocked"), s("TLS_PROTOCOL_TOO_OLD"))
    );
    assert_eq!(r.verdict("hve"), (s("blocked"), s("TLS_PROTOCOL_TOO_OLD")));
    assert_eq!(r.json["device_tls"], "TLS 1.0");
    let needs = r.path("direct_send")["needs"].to_string();
    assert!(needs.contains("TLS 1.2"), "{needs}");
}

#[test]
fn send_test_message_sends_exactly_one_labelled_message() {
    let r = run_lab(
        Mx::Plays("eop-direct-send-data"),
        Some("hve-reachable"),
        Some("exo-submission-reachable"),
        &["--send-test-message"],
        "json",
    );
    assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
    assert_eq!(r.count("DATA"), 1);
    assert!(r.stats[0]
        .client_lines
        .iter()
        .any(|l| l.starts_with("Subject: mailbox-doctor test message")));
    assert!(r.json["test_message"]
        .as_str()
        .unwrap_or_default()
        .contains("scanner@contoso.com"));
    assert_eq!(r.verdict("direct_send"), (s("works"), s("")));
}

#[test]
fn nagios_is_one_line_with_the_status() {
    let r = run_lab(
        Mx::Plays("eop-direct-send-rejected"),
        Some("hve-reachable"),
        Some("exo-submission-reachable"),
        &[],
        "nagios",
    );
    let out = String::from_utf8_lossy(&r.stdout).to_string();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("PATHS WARNING - "), "{out}");
    assert!(
        out.contains("direct_send blocked (DIRECT_SEND_REJECTED)"),
        "{out}"
    );
    assert_eq!(r.code, Some(1));
}

#[test]
fn bad_input_is_exit_3() {
    for args in [
        vec!["paths", "not-an-address"],
        vec![
            "paths",
            "a@contoso.com",
            "--recipient",
            "b@x.example>\r\nDATA",
        ],
        vec![
            "paths",
            "a@contoso.com",
            "--external-recipient",
            "b@contoso.com",
        ],
        vec!["paths", "a@contoso.com", "--device-tls", "0.9"],
        vec!["paths", "a@contoso.com", "--format", "prometheus"],
    ] {
        let out = bin()
            .args(&args)
            .timeout(Duration::from_secs(30))
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(3), "{args:?}");
    }
}

#[test]
fn demo_scenarios_show_their_code() {
    for (name, path, code, exit) in [
        (
            "direct-send-rejected",
            "direct_send",
            "DIRECT_SEND_REJECTED",
            1,
        ),
        (
            "connector-not-matched",
            "connector_relay",
            "CONNECTOR_NOT_MATCHED",
            0,
        ),
        ("port-25-blocked", "direct_send", "PORT_25_BLOCKED", 1),
        ("hve-works", "hve", "", 0),
    ] {
        let out = bin()
            .args(["demo", name, "--format", "json"])
            .timeout(Duration::from_secs(60))
            .output()
            .expect("runs");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let p = v["paths"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["path"] == path).cloned())
            .unwrap_or_default();
        assert_eq!(p["code"].as_str().unwrap_or_default(), code, "{name}");
        assert_eq!(out.status.code(), Some(exit), "{name}");
    }
    let list = bin().args(["demo", "--list"]).output().expect("runs");
    let list = String::from_utf8_lossy(&list.stdout).to_string();
    for name in [
        "direct-send-rejected",
        "connector-not-matched",
        "port-25-blocked",
        "hve-works",
    ] {
        assert!(list.contains(name), "{list}");
    }
}

#[test]
fn google_workspace_relay_reads_its_own_refusal() {
    use mailbox_doctor::sim::dns::{DnsServer, Rec, Zone};
    use mailbox_doctor::sim::pki::Pki;
    use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new().expect("pki");
    let sc = Scenario::named("google-relay-denied").expect("fixture");
    let cfg = pki
        .server_config(sc.cert, &["smtp-relay.gmail.com"])
        .expect("cert");
    let relay = rt
        .block_on(ReplayServer::start(sc, cfg, Duration::ZERO))
        .expect("server");
    let local = Rec::Ip("127.0.0.1".parse().expect("ip"));
    let zone = Zone::new()
        .add("fabrikam.example", Rec::Mx(1, "aspmx.l.google.com".into()))
        .add("smtp-relay.gmail.com", local.clone())
        .add("smtp.gmail.com", local);
    let dns = rt.block_on(DnsServer::start(zone)).expect("dns");
    let ca = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(ca.path(), pki.ca.pem()).expect("ca");
    let out = bin()
        .args([
            "paths",
            "printer@fabrikam.example",
            "--json",
            "--timeout",
            "2",
        ])
        .args(["--external-recipient", "someone@contoso.example"])
        .arg("--ca-file")
        .arg(ca.path())
        .args(["--dns-server", &dns.addr().to_string()])
        .args(["--submission-port", &relay.addr().port().to_string()])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    std::thread::sleep(Duration::from_millis(300));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let p = v["paths"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["path"] == "google_relay").cloned())
        .unwrap_or_default();
    assert_eq!(p["verdict"], "blocked", "{p}");
    assert_eq!(p["code"], "RELAY_DENIED", "{p}");
    let st = relay.stats();
    assert!(st.mismatches.is_empty(), "{:?}", st.mismatches);
    assert_eq!(st.count("DATA"), 0);
    assert_eq!(st.auth_attempts, 0);
    for k in ["hve", "direct_send", "connector_relay"] {
        let p = v["paths"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["path"] == k).cloned())
            .unwrap_or_default();
        assert_eq!(p["verdict"], "not_applicable", "{k}");
    }
    // smtp.gmail.com:465 does not answer in this lab: SMTP AUTH stays unknown.
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_domain_with_no_path_says_so() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dns = util::local_dns(&rt);
    let out = bin()
        .args(["paths", "printer@nowhere.example", "--timeout", "2"])
        .args(["--dns-server", &dns.addr().to_string()])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("no MX record found"), "{text}");
    assert!(text.contains("publishes no submission service"), "{text}");
    assert_eq!(out.status.code(), Some(2), "{text}");
}

#[test]
fn a_server_echoing_the_hve_password_never_gets_it_into_any_output() {
    for format in ["json", "text", "nagios"] {
        let r = run_lab(
            Mx::Plays("eop-direct-send-rejected"),
            Some("hve-hostile-echo"),
            Some("exo-submission-reachable"),
            &["HVE"],
            format,
        );
        assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
        assert_eq!(r.stats[1].auth_attempts, 1);
        assert_no_leak("hve-scanner@contoso.com", HVE_PW, &[&r.stdout, &r.stderr]);
        if format == "json" {
            assert_eq!(r.verdict("hve"), (s("blocked"), s("HVE_AUTH_POLICY")));
        }
    }
}

/// Writes `text` to `dir/name` with `mode`; its path as an argument.
fn file(dir: &std::path::Path, name: &str, text: &str, mode: u32) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("mode");
    }
    #[cfg(not(unix))]
    let _ = mode;
    p.display().to_string()
}

/// The base64 body of a PEM key: what must never show in any output.
fn key_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
}

/// A client certificate of the lab's device CA ending on `not_after`, in one
/// owner-only file (`split`: the key in a file of its own); the arguments,
/// and the key's PEM.
fn client_cert(
    lab: &Lab,
    dir: &std::path::Path,
    not_after: (i32, u8, u8),
    split: bool,
    keep: &std::sync::Mutex<String>,
) -> Vec<String> {
    let c = lab
        .clients
        .issue_client("scanner.contoso.com", not_after)
        .expect("client cert");
    *keep.lock().expect("lock") = c.key.clone();
    if split {
        vec![
            "--client-certificate".into(),
            file(dir, "scanner.crt", &c.cert, 0o644),
            "--client-key".into(),
            file(dir, "scanner.key", &c.key, 0o600),
        ]
    } else {
        let both = format!("{}{}", c.cert, c.key);
        vec![
            "--client-certificate".into(),
            file(dir, "scanner.pem", &both, 0o600),
        ]
    }
}

/// `paths --external-recipient` against an MX that asks for (and requires) a
/// client certificate of the lab's devices CA when `requires` names its TLS
/// (Some(true): TLS 1.2 only), else plays `eop-connector-not-matched`;
/// with a certificate ending on `cert`'s date (its key apart when `cert`'s
/// flag is set) or none. The run, and the key's PEM (empty: none).
fn run_cert_lab(
    requires: Option<bool>,
    cert: Option<((i32, u8, u8), bool)>,
) -> (Run, std::sync::Mutex<String>) {
    let key = std::sync::Mutex::new(String::new());
    let mx = match requires {
        Some(tls12) => Mx::RequiresClientCert("eop-connector-ok", tls12),
        None => Mx::Plays("eop-connector-not-matched"),
    };
    let r = run_lab_with(
        mx,
        Some("hve-reachable"),
        Some("exo-submission-reachable"),
        &["--external-recipient", EXTERNAL],
        "json",
        |lab, dir| match cert {
            Some((end, split)) => client_cert(lab, dir, end, split, &key),
            None => Vec::new(),
        },
    );
    (r, key)
}

fn no_key_in(r: &Run, key: &std::sync::Mutex<String>) {
    let key = key.lock().expect("lock").clone();
    assert!(!key.is_empty());
    for out in [&r.stdout, &r.stderr] {
        let text = String::from_utf8_lossy(out);
        assert!(!text.contains("PRIVATE KEY"), "{text}");
        assert!(!text.contains(&key_body(&key)), "{text}");
        for l in key.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(l), "a line of the key shows: {text}");
        }
    }
}

#[test]
fn a_connector_that_requires_a_client_certificate_accepts_the_one_presented() {
    for tls12 in [false, true] {
        let (r, key) = run_cert_lab(Some(tls12), Some(((2099, 1, 1), false)));
        assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
        assert_eq!(
            r.verdict("connector_relay"),
            (s("works"), s("")),
            "{}",
            r.json
        );
        assert_eq!(r.verdict("direct_send"), (s("works"), s("")));
        let c = &r.path("connector_relay")["client_certificate"];
        assert_eq!(c["presented"], true, "{c}");
        assert_eq!(c["subject"], "CN=scanner.contoso.com", "{c}");
        assert_eq!(c["not_after"], "2099-01-01", "{c}");
        assert_eq!(c["expired"], false);
        assert_eq!(c["expiring"], false);
        let summary = r.path("connector_relay")["summary"].to_string();
        assert!(
            summary.contains("Client certificate presented: CN=scanner.contoso.com"),
            "{summary}"
        );
        let exchange = r.path("connector_relay")["exchange"].to_string();
        assert!(
            exchange.contains("asked for a client certificate: presented CN=scanner.contoso.com"),
            "{exchange}"
        );
        assert_eq!(r.count("DATA"), 0);
        assert_eq!(r.code, Some(0));
        no_key_in(&r, &key);
    }
}

#[test]
fn without_the_certificate_the_same_connector_refuses_and_says_why() {
    for tls12 in [false, true] {
        let (r, _) = run_cert_lab(Some(tls12), None);
        for p in ["direct_send", "connector_relay"] {
            assert_eq!(
                r.verdict(p),
                (s("blocked"), s("CLIENT_CERTIFICATE_REQUIRED")),
                "TLS 1.2 only: {tls12}: {}",
                r.json
            );
        }
        assert!(r.path("connector_relay")["client_certificate"].is_null());
        // Refused at TLS: not a command after it.
        assert_eq!(r.stats[0].count("MAIL"), 0);
        assert_eq!(r.count("DATA"), 0);
        // Within the step timeout (2 s), with room for a loaded machine.
        assert!(r.took < Duration::from_secs(20), "{:?}", r.took);
    }
}

#[test]
fn an_expired_client_certificate_is_refused_and_called_expired() {
    let (r, key) = run_cert_lab(Some(false), Some(((2021, 1, 1), true)));
    assert_eq!(
        r.verdict("connector_relay"),
        (s("blocked"), s("CLIENT_CERTIFICATE_REFUSED")),
        "{}",
        r.json
    );
    let c = &r.path("connector_relay")["client_certificate"];
    assert_eq!(c["expired"], true, "{c}");
    assert!(r.path("connector_relay")["summary"]
        .to_string()
        .contains("It EXPIRED on 2021-01-01"));
    assert_eq!(r.stats[0].count("MAIL"), 0);
    no_key_in(&r, &key);
}

#[test]
fn a_client_certificate_ending_within_30_days_is_called_expiring() {
    let end = chrono::Utc::now().date_naive() + chrono::Days::new(12);
    let ymd = {
        use chrono::Datelike as _;
        (end.year(), end.month() as u8, end.day() as u8)
    };
    let (r, key) = run_cert_lab(Some(false), Some((ymd, true)));
    assert_eq!(r.code, Some(0), "{}", r.json);
    let c = &r.path("connector_relay")["client_certificate"];
    assert_eq!(c["expiring"], true, "{c}");
    assert_eq!(c["presented"], true, "{c}");
    let summary = r.path("connector_relay")["summary"].to_string();
    assert!(
        summary.contains("Client certificate presented"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("It expires in 11 days ({end})"))
            || summary.contains(&format!("It expires in 12 days ({end})")),
        "{summary}"
    );
    no_key_in(&r, &key);
}

#[test]
fn a_server_that_does_not_ask_is_not_shown_the_certificate() {
    let (r, key) = run_cert_lab(None, Some(((2099, 1, 1), false)));
    assert_eq!(
        r.verdict("connector_relay"),
        (s("blocked"), s("CONNECTOR_NOT_MATCHED"))
    );
    let c = &r.path("connector_relay")["client_certificate"];
    assert_eq!(c["presented"], false, "{c}");
    assert!(r.path("connector_relay")["summary"]
        .to_string()
        .contains("did not ask for a client certificate"));
    no_key_in(&r, &key);
}

#[test]
fn client_certificate_files_are_checked_before_anything_is_sent() {
    let ca = mailbox_doctor::sim::pki::Ca::new("devices").expect("ca");
    let c = ca.issue_client("scanner", (2099, 1, 1)).expect("cert");
    let other = ca.issue_client("other", (2099, 1, 1)).expect("cert");
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let both_open = file(d, "open.pem", &format!("{}{}", c.cert, c.key), 0o644);
    let cert = file(d, "c.crt", &c.cert, 0o644);
    let key_open = file(d, "open.key", &c.key, 0o644);
    let key = file(d, "c.key", &c.key, 0o600);
    let wrong_key = file(d, "wrong.key", &other.key, 0o600);
    let no_key = file(d, "nokey.pem", &c.cert, 0o600);
    let not_pem = file(d, "junk.pem", "not a certificate", 0o600);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--client-certificate", &both_open], "open.pem"),
        (
            vec!["--client-certificate", &cert, "--client-key", &key_open],
            "open.key",
        ),
        (
            vec!["--client-certificate", &cert, "--client-key", &wrong_key],
            "not the certificate's",
        ),
        (vec!["--client-certificate", &no_key], "--client-key"),
        (
            vec!["--client-certificate", &both_open, "--client-key", &key],
            "open.pem",
        ),
        (vec!["--client-certificate", &not_pem], "no certificate"),
    ];
    for (args, says) in cases {
        let err = refused_as_bad_input(&args, says);
        for k in [&c.key, &other.key] {
            assert!(!err.contains(&key_body(k)), "{err}");
            assert!(!err.contains("PRIVATE KEY"), "{err}");
        }
    }
}

/// The simulated identity platform (HTTPS on 127.0.0.1, scripted) beside the
/// lab, whose submission server accepts only the tokens the platform issued.
struct OauthLab {
    lab: Lab,
    identity: mailbox_doctor::sim::identity::IdentityServer,
    /// The CA of the platform's certificate.
    pki: mailbox_doctor::sim::pki::Pki,
    rt: tokio::runtime::Runtime,
}

impl OauthLab {
    fn start(script: mailbox_doctor::sim::oauth::Script, submission: &'static str) -> OauthLab {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let (pki, identity, check) = util::signin_lab::contoso_platform(&rt, script);
        let lab = rt
            .block_on(Lab::start_checked(
                Mx::Plays("eop-direct-send-ok"),
                Some("hve-reachable"),
                Some(submission),
                Some(check),
            ))
            .expect("lab starts");
        OauthLab {
            lab,
            identity,
            pki,
            rt,
        }
    }

    fn sign_in(&self, flow: &str) -> Vec<String> {
        vec![
            "--identity-url".to_string(),
            format!("https://127.0.0.1:{}", self.identity.addr().port()),
            "--sign-in".into(),
            flow.into(),
            "--client-id".into(),
            "11111111-2222-3333-4444-555555555555".into(),
        ]
    }

    /// No secret the platform handed out or received, in any form, anywhere.
    fn no_leak(&self, outputs: &[&[u8]]) {
        for secret in self.identity.platform.secrets() {
            assert_no_leak(ADDRESS, &secret, outputs);
        }
    }
}

/// `paths --sign-in device` against an `OauthLab`: the platform, and the run.
fn run_signed_in(
    script: mailbox_doctor::sim::oauth::Script,
    submission: &'static str,
    extra: &[&str],
) -> (std::sync::Arc<mailbox_doctor::sim::oauth::Platform>, Run) {
    let o = OauthLab::start(script, submission);
    let mut args = o.sign_in("device");
    args.extend(extra.iter().map(|a| a.to_string()));
    let r = run_on(&o.lab, &[], "json", &args, &o.pki.ca.pem());
    o.no_leak(&[&r.stdout, &r.stderr]);
    (o.identity.platform.clone(), r)
}

fn script() -> mailbox_doctor::sim::oauth::Script {
    mailbox_doctor::sim::oauth::Script {
        pending: 0,
        user: ADDRESS.into(),
        ..Default::default()
    }
}

#[test]
fn sign_in_then_one_xoauth2_login_makes_the_oauth_path_work() {
    let (platform, r) = run_signed_in(script(), "exo-smtp-xoauth2-ok", &[]);
    assert_eq!(r.verdict("oauth"), (s("works"), s("")), "{}", r.json);
    let summary = r.path("oauth")["summary"].to_string();
    assert!(summary.contains("signed in with device code"), "{summary}");
    assert!(summary.contains("AUTH XOAUTH2 accepted"), "{summary}");
    assert_eq!(platform.issued(), 1);
    // One login in all: the reachability probe of smtp_auth sends no AUTH.
    assert_eq!(r.stats[2].auth_attempts, 1);
    // The submission server saw the reachability probe's QUIT where this
    // fixture has the login (it hides what it got there): the only line it
    // did not expect.
    assert_eq!(
        r.stats[2].mismatches.len(),
        1,
        "{:?}",
        r.stats[2].mismatches
    );
    assert!(r.stats[2].mismatches[0].starts_with("expected `AUTH XOAUTH2 <auth>`"));
    assert_eq!(r.stats[2].count("QUIT"), 2);
    let exchange = r.path("oauth")["exchange"].to_string();
    assert!(exchange.contains("AUTH XOAUTH2 <redacted>"), "{exchange}");
    assert!(exchange.contains("sign-in tenant"), "{exchange}");
    // The code and where to enter it, on standard error.
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("enter the code"), "{err}");
    assert_eq!(r.count("DATA"), 0);
    // OAuth does not suit a device without it: the exit code is the others'.
    assert_eq!(r.code, Some(0));
}

#[test]
fn a_refused_xoauth2_login_blocks_the_oauth_path_with_its_diagnosis() {
    let (_, r) = run_signed_in(script(), "exo-smtp-xoauth2-smtp-auth-disabled", &[]);
    let (verdict, code) = r.verdict("oauth");
    assert_eq!(verdict, "blocked", "{}", r.json);
    assert_eq!(code, "M365_SMTP_AUTH_DISABLED_TENANT", "{}", r.json);
    assert!(r.path("oauth")["summary"]
        .to_string()
        .contains("signed in with device code"));
    assert_eq!(r.stats[2].auth_attempts, 1);
}

#[test]
fn a_sign_in_blocked_by_conditional_access_tries_no_login() {
    let (platform, r) = run_signed_in(
        mailbox_doctor::sim::oauth::Script {
            blocker: Some(53003),
            ..script()
        },
        "exo-smtp-xoauth2-ok",
        &[],
    );
    assert_eq!(
        r.verdict("oauth"),
        (s("blocked"), s("OAUTH_BLOCKED_BY_CONDITIONAL_ACCESS")),
        "{}",
        r.json
    );
    assert_eq!(platform.issued(), 0);
    assert_eq!(r.stats[2].auth_attempts, 0);
    assert!(r.path("oauth")["summary"]
        .to_string()
        .contains("no login was tried"));
}

#[test]
fn identity_url_must_be_https_and_sign_in_app_is_not_offered() {
    for (args, says) in [
        (
            vec!["--identity-url", "http://127.0.0.1:1"],
            "is not an https:// URL",
        ),
        (
            vec!["--sign-in", "app", "--client-id", "x"],
            "invalid value 'app'",
        ),
        (vec!["--client-id", "x"], "--sign-in"),
        (vec!["--sign-in", "device"], "--sign-in needs --client-id"),
    ] {
        refused_as_bad_input(&args, says);
    }
}

/// `paths` with `args` ends with exit 3, says `says` on standard error and
/// writes nothing else; its standard error.
fn refused_as_bad_input(args: &[&str], says: &str) -> String {
    let out = bin()
        .args(["paths", ADDRESS, "--timeout", "1"])
        .args(["--dns-server", "127.0.0.1:9"])
        .args(args)
        .timeout(Duration::from_secs(30))
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
    err
}

#[test]
fn a_platform_echoing_the_flow_s_secrets_never_gets_them_into_any_output() {
    // Every error it sends (the pending answers) quotes the device code back;
    // run_signed_in sweeps every output for every secret in every form.
    let (platform, r) = run_signed_in(
        mailbox_doctor::sim::oauth::Script {
            echo: true,
            pending: 2,
            ..script()
        },
        "exo-smtp-xoauth2-ok",
        &[],
    );
    assert!(!platform.secrets().is_empty());
    assert_eq!(r.verdict("oauth"), (s("works"), s("")), "{}", r.json);
    assert_eq!(r.stats[2].auth_attempts, 1);
}

#[test]
fn browser_sign_in_on_the_loopback_then_one_xoauth2_login() {
    use std::io::BufRead as _;
    let o = OauthLab::start(script(), "exo-smtp-xoauth2-ok");
    let ca = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(
        ca.path(),
        format!("{}{}", o.lab.pki.ca.pem(), o.pki.ca.pem()),
    )
    .expect("ca");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mailbox-doctor"))
        .env("NO_COLOR", "1")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .args(["paths", ADDRESS, "--timeout", "2", "--format", "json"])
        .arg("--ca-file")
        .arg(ca.path())
        .args(o.lab.flags())
        .args(o.sign_in("browser"))
        .args(["--no-browser", "--sign-in-timeout", "20"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut shown = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).expect("read") > 0, "{shown}");
        shown.push_str(&line);
        if line.starts_with("https://") {
            break line.trim().to_string();
        }
    };
    // The browser: the authorize address (verified TLS), then its redirect to
    // the loopback address the run listens on.
    let location = util::signin_lab::authorize_on(&o.rt, &o.pki.ca.der(), &url);
    let status = util::signin_lab::follow_on(&o.rt, &location);
    assert_eq!(status, 200);
    let mut rest_err = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest_err);
    let out = child.wait_with_output().expect("ends");
    o.no_leak(&[&out.stdout, rest_err.as_bytes(), shown.as_bytes()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let p = v["paths"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["path"] == "oauth").cloned())
        .unwrap_or_default();
    assert_eq!(p["verdict"], "works", "{p}");
    assert!(p["summary"]
        .to_string()
        .contains("signed in with browser (authorization code with PKCE)"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(o.lab.stats()[2].auth_attempts, 1);
    assert_eq!(o.identity.platform.issued(), 1);
}
