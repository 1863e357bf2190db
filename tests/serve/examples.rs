//! The README's serve config is accepted by `serve` as written (with its secret
//! file put somewhere this test may write), and the Grafana dashboard and the
//! alert rules of examples/prometheus/ name only metrics that serve writes.

use crate::harness::{Env, Serve, USER};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The first ```toml block of the README section on monitoring many mailboxes.
fn readme_config() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let section = readme
        .split("### Monitoring many mailboxes")
        .nth(1)
        .expect("the README has the section");
    let block = section.split("```toml\n").nth(1).expect("a toml block");
    block.split("```").next().expect("closed").to_string()
}

#[test]
fn the_readme_config_is_accepted_as_written() {
    let env = Env::new();
    let secret = env.secret("scanner.secret", "unused");
    let text = readme_config().replace(
        "/etc/mailbox-doctor/scanner.secret",
        &secret.display().to_string(),
    );
    assert!(text.contains("min_interval = \"5m\""), "{text}");
    let serve = Serve::start(&env.write_config(&text), &[]);
    assert_eq!(serve.get("/-/healthy").status, 200);
    let m = serve.get("/metrics");
    assert_eq!(m.value("mailbox_doctor_serve_targets", &[]), Some(1.0));
}

/// Names of metrics in a PromQL-bearing text: words that start with `probe_` or
/// `mailbox_doctor_`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"\b(probe_[a-z_]+|mailbox_doctor_[a-z_]+)").expect("regex");
    re.find_iter(text).map(|m| m.as_str().to_string()).collect()
}

#[test]
fn the_dashboard_and_the_rules_name_only_metrics_serve_writes() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::ZERO);
    let text = env.smtp_module("smtp", server.addr().port(), "") + &env.target(USER, "smtp", "");
    let serve = Serve::start(&env.write_config(&text), &[]);
    let mut written: BTreeSet<String> = BTreeSet::new();
    for body in [serve.probe(USER).body, serve.get("/metrics").body] {
        for line in body.lines().filter(|l| l.starts_with("# TYPE ")) {
            written.insert(line.split_whitespace().nth(2).unwrap_or("").to_string());
        }
    }
    let dir = root().join("examples/prometheus");
    let dash_text = std::fs::read_to_string(dir.join("grafana-dashboard.json")).expect("dashboard");
    let dash: serde_json::Value = serde_json::from_str(&dash_text).expect("dashboard is JSON");
    let mut exprs = String::new();
    for p in dash["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().expect("targets") {
            exprs.push_str(t["expr"].as_str().expect("expr"));
            exprs.push('\n');
        }
    }
    assert!(
        exprs.contains("mailbox_doctor_root_cause_info"),
        "root causes over time"
    );
    let rules = std::fs::read_to_string(dir.join("alerts.yml")).expect("rules");
    for (what, text) in [("dashboard", &exprs), ("alerts.yml", &rules)] {
        let used = metric_names(text);
        assert!(!used.is_empty());
        for name in used {
            assert!(
                written.contains(&name),
                "{what} names {name}, which serve does not write"
            );
        }
    }
}
