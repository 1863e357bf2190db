//! Prometheus exposition (checked with a real parser), shell completions and the
//! man page.

mod util;
use util::bin;

#[test]
fn prometheus_output_parses_and_carries_status_and_check_gauges() {
    let out = bin()
        .args([
            "check",
            "alice@contoso.com",
            "--password-stdin",
            "--only",
            "credentials",
            "--format",
            "prometheus",
        ])
        .write_stdin("abcd efgh ijkl mnop\n")
        .output()
        .expect("runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("parses as exposition format");
    let status = scrape
        .samples
        .iter()
        .find(|s| s.metric == "mailbox_doctor_status")
        .expect("status gauge");
    assert_eq!(status.labels.get("mailbox"), Some("alice@contoso.com"));
    let want = match status.value {
        prometheus_parse::Value::Gauge(v) => v as i32,
        ref other => panic!("not a gauge: {other:?}"),
    };
    assert_eq!(out.status.code(), Some(want));
    assert!(scrape
        .samples
        .iter()
        .any(|s| s.metric == "mailbox_doctor_check_status"
            && s.labels.get("check") == Some("credentials")));
    assert!(scrape
        .docs
        .contains_key("mailbox_doctor_check_duration_seconds"));
}

#[test]
fn completions_for_every_shell_and_a_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = bin().args(["completions", shell]).output().expect("runs");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(
            s.contains("mailbox-doctor") && s.contains("explain"),
            "{shell}"
        );
    }
    let out = bin().arg("manpage").output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.starts_with(".ie") || s.contains(".TH"), "not roff");
    assert!(s.contains("mailbox\\-doctor"));
}

mod monitoring {
    use super::util::{bin, codes, validated};
    use mailbox_doctor::sim::pki::Pki;
    use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
    use std::time::Duration;

    fn run_against_ok_smtp(extra: &[&str], format: &str) -> std::process::Output {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let pki = Pki::new().expect("pki");
        let sc = Scenario::named("exo-smtp-ok").expect("fixture");
        let cfg = pki.server_config(sc.cert, &["127.0.0.1"]).expect("cert");
        let server = rt
            .block_on(ReplayServer::start(sc, cfg, Duration::ZERO))
            .expect("server");
        let ca = tempfile::NamedTempFile::new().expect("temp");
        std::fs::write(ca.path(), pki.ca.pem()).expect("ca");
        bin()
            .args([
                "check",
                "alice@contoso.com",
                "--password-stdin",
                "--only",
                "smtp",
                "--format",
                format,
            ])
            .arg("--smtp")
            .arg(format!("smtp://127.0.0.1:{}", server.addr().port()))
            .arg("--ca-file")
            .arg(ca.path())
            .args(extra)
            .write_stdin("abcdefghijklmnop\n")
            .output()
            .expect("runs")
    }

    #[test]
    fn certificate_days_left_become_perfdata_and_thresholds_raise_the_status() {
        let out = run_against_ok_smtp(&[], "nagios");
        let first = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(
            first.contains("'cert_days'=") && first.contains(";30:;7:"),
            "{first}"
        );
        assert!(first.contains("'deadline_days'="), "{first}");

        // The simulation's certificates run to 2099: thresholds beyond that fire.
        let out = run_against_ok_smtp(&["--warning-days", "40000"], "json");
        let v = validated(&out.stdout, "report.v1.json");
        assert!(codes(&v).contains(&"TLS_CERT_EXPIRING".to_string()), "{v}");
        assert_eq!(out.status.code(), Some(1));
        let out = run_against_ok_smtp(
            &["--warning-days", "40000", "--critical-days", "40000"],
            "json",
        );
        let v = validated(&out.stdout, "report.v1.json");
        assert_eq!(v["status"], "critical");
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(v["metrics"]["warning_days"], 40000);
    }

    #[test]
    fn the_sunset_turns_critical_inside_the_critical_days() {
        let out = bin()
            .args(["demo", "app-password-ok", "--json", "--now", "2026-12-28"])
            .output()
            .expect("runs");
        let v = validated(&out.stdout, "report.v1.json");
        assert_eq!(v["diagnosis"][0]["code"], "M365_SMTP_BASIC_AUTH_SUNSET");
        assert_eq!(v["diagnosis"][0]["severity"], "critical");
        assert_eq!(v["metrics"]["deadline_days_left"], 3);
        assert_eq!(out.status.code(), Some(2));
    }
}
