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
