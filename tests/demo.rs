//! `demo`: every scenario runs the real pipeline against the in-process simulation
//! and names its expected root cause, in every format.

mod util;

use mailbox_doctor::commands::demo::SCENARIOS;
use util::{bin, validated};

#[test]
fn every_scenario_gives_its_root_cause_in_every_format() {
    for sc in SCENARIOS {
        let out = bin()
            .args(["demo", sc.name, "--json", "--transcript"])
            .output()
            .expect("runs");
        let v = validated(&out.stdout, "report.v1.json");
        if sc.expect.is_empty() {
            // The way out works: no diagnosis, and the sign-in is a check passed.
            assert_eq!(v["diagnosis"], serde_json::json!([]), "{}: {v}", sc.name);
            assert_eq!(out.status.code(), Some(0), "{}", sc.name);
            assert_eq!(v["checks"][0]["id"], "signin", "{v}");
            assert_eq!(v["checks"][0]["status"], "pass", "{v}");
            continue;
        }
        assert_eq!(v["diagnosis"][0]["code"], sc.expect, "{}: {v}", sc.name);
        let want = if v["status"] == "warning" { 1 } else { 2 };
        assert_eq!(out.status.code(), Some(want), "{}", sc.name);
        assert!(
            v["transcript"].as_array().is_some_and(|t| !t.is_empty()),
            "{}",
            sc.name
        );

        let out = bin().args(["demo", sc.name]).output().expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("Root cause: {}", sc.expect)),
            "{}: {text}",
            sc.name
        );
        assert!(text.contains("[simulated by `demo`]"));

        let out = bin()
            .args(["demo", sc.name, "--format", "nagios"])
            .output()
            .expect("runs");
        let first = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(
            first.contains(&format!(" - {}: ", sc.expect)),
            "{}: {first}",
            sc.name
        );

        let out = bin()
            .args(["demo", sc.name, "--format", "prometheus"])
            .output()
            .expect("runs");
        let prom = String::from_utf8_lossy(&out.stdout);
        assert!(
            prom.contains(&format!("code=\"{}\",severity", sc.expect)),
            "{}: {prom}",
            sc.name
        );
    }
}

#[test]
fn list_names_every_scenario_and_an_unknown_one_is_a_usage_error() {
    let out = bin().args(["demo", "--list"]).output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    for sc in SCENARIOS {
        assert!(text.contains(sc.name));
    }
    assert_eq!(out.status.code(), Some(0));
    let out = bin()
        .args(["demo", "no-such-scenario"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("demo --list"));
}

#[test]
fn the_default_scenario_is_a_realistic_failure() {
    let out = bin().args(["demo", "--json"]).output().expect("runs");
    let v = validated(&out.stdout, "report.v1.json");
    assert_eq!(v["diagnosis"][0]["code"], "M365_SMTP_AUTH_DISABLED_TENANT");
    assert_eq!(out.status.code(), Some(2));
}
