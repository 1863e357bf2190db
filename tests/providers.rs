//! Provider detection from the domain's MX (served by a local DNS server), the
//! NOT_MICROSOFT_365 warning, and the dated SMTP AUTH sunset verdict (`--now`).

mod util;

use mailbox_doctor::sim::dns::{DnsServer, Rec, Zone};
use util::{bin, validated};

const CASES: &[(&str, &str, &str)] = &[
    (
        "m365.test",
        "contoso-com.mail.protection.outlook.com",
        "microsoft365",
    ),
    (
        "m365new.test",
        "contoso-com.r-v1.mx.microsoft",
        "microsoft365",
    ),
    ("google.test", "aspmx.l.google.com", "gmail"),
    ("google2.test", "smtp.google.com", "gmail"),
    ("apple.test", "mx01.mail.icloud.com", "icloud"),
    ("fabrikam.test", "mta5.am0.yahoodns.net", "yahoo"),
    ("northwind.test", "mx.zoho.eu", "zoho"),
    ("fastmail.test", "in1-smtp.messagingengine.com", "fastmail"),
    (
        "agency.test",
        "agency-test.mail.protection.office365.us",
        "microsoft365-usgov",
    ),
    (
        "contoso-cn.test",
        "contoso-cn-test.mail.protection.partner.outlook.cn",
        "microsoft365-china",
    ),
];

fn zone() -> Zone {
    CASES.iter().fold(Zone::new(), |z, (domain, mx, _)| {
        z.add(domain, Rec::Mx(10, mx.to_string()))
    })
}

fn run(server: &DnsServer, user: &str, extra: &[&str]) -> serde_json::Value {
    let out = bin()
        .args([
            "check",
            user,
            "--no-password",
            "--only",
            "dns",
            "--json",
            "--timeout",
            "2",
        ])
        .arg("--dns-server")
        .arg(server.addr().to_string())
        .args(extra)
        .output()
        .expect("runs");
    validated(&out.stdout, "report.v1.json")
}

#[test]
fn auto_detection_picks_each_provider_from_its_mx() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt.block_on(DnsServer::start(zone())).expect("dns");
    for (domain, mx, want) in CASES {
        let v = run(&server, &format!("alice@{domain}"), &[]);
        assert_eq!(
            v["target"]["provider"], *want,
            "{domain} ({mx}): {}",
            v["target"]
        );
        assert_eq!(v["target"]["provider_source"], "mx", "{domain}");
        assert_eq!(
            v["checks"][0]["details"]["provider_from_mx"], *want,
            "{domain}"
        );
    }
}

#[test]
fn microsoft_365_endpoints_for_a_domain_hosted_elsewhere_are_flagged() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt.block_on(DnsServer::start(zone())).expect("dns");
    let v = run(
        &server,
        "alice@google.test",
        &["--provider", "microsoft365"],
    );
    let codes = util::codes(&v);
    assert!(codes.iter().any(|c| c == "NOT_MICROSOFT_365"), "{codes:?}");
    let msg = v["checks"][0]["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["code"] == "NOT_MICROSOFT_365"))
        .and_then(|f| f["message"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.contains("Gmail") && msg.contains("--provider gmail"),
        "{msg}"
    );
    let v = run(&server, "alice@m365.test", &["--provider", "microsoft365"]);
    assert!(!v.to_string().contains("NOT_MICROSOFT_365"));
}

#[test]
fn a_national_cloud_domain_tested_against_global_endpoints_is_flagged() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt.block_on(DnsServer::start(zone())).expect("dns");
    let v = run(
        &server,
        "alice@agency.test",
        &["--provider", "microsoft365"],
    );
    // (The global host names do not resolve in this test zone; in the world they do.)
    let d = v["diagnosis"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["code"] == "SOVEREIGN_CLOUD_ENDPOINT"))
        .cloned()
        .unwrap_or_default();
    let ev = d["evidence"].to_string();
    assert!(ev.contains("--provider microsoft365-usgov"), "{ev}");
    // Auto-detection uses the national cloud's endpoints.
    let v = run(&server, "alice@agency.test", &[]);
    let hosts: Vec<&str> = v["target"]["endpoints"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["host"].as_str()).collect())
        .unwrap_or_default();
    assert!(hosts.contains(&"outlook.office365.us"), "{hosts:?}");
}

#[test]
fn smtp_sunset_counts_the_days_before_and_speaks_of_the_past_after() {
    let out = bin()
        .args(["demo", "app-password-ok", "--json", "--now", "2026-12-01"])
        .output()
        .expect("runs");
    let v = validated(&out.stdout, "report.v1.json");
    let d = &v["diagnosis"][0];
    assert_eq!(d["code"], "M365_SMTP_BASIC_AUTH_SUNSET");
    assert_eq!(d["severity"], "warning");
    let ev = d["evidence"].to_string();
    assert!(ev.contains("30 days left"), "{ev}");
    assert_eq!(out.status.code(), Some(1));
    let out = bin()
        .args(["demo", "app-password-ok", "--json", "--now", "2027-02-01"])
        .output()
        .expect("runs");
    let v = validated(&out.stdout, "report.v1.json");
    let ev = v["diagnosis"][0]["evidence"].to_string();
    assert!(
        ev.contains("disabled it by default for existing tenants on 2026-12-31"),
        "{ev}"
    );
}

#[test]
fn batch_places_each_mailbox_by_its_domains_mx_as_check_does() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt.block_on(DnsServer::start(zone())).expect("dns");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("mailboxes.csv");
    let mut csv = String::from("email,password_env\n");
    for i in 0..3 {
        for (domain, _, _) in CASES {
            csv.push_str(&format!("user{i}@{domain},MD_PROVIDERS_PW\n"));
        }
    }
    std::fs::write(&file, csv).expect("write");
    let out = bin()
        .arg("batch")
        .arg(&file)
        .args(["--only", "dns", "--json", "--timeout", "2"])
        .arg("--dns-server")
        .arg(server.addr().to_string())
        .env("MD_PROVIDERS_PW", "Providers-Canary-1")
        .output()
        .expect("runs");
    let reports = util::json_lines(&out.stdout);
    assert_eq!(reports.len(), 3 * CASES.len());
    for r in &reports {
        let user = r["target"]["user"].as_str().unwrap_or_default();
        let (_, _, want) = CASES
            .iter()
            .find(|(d, _, _)| user.ends_with(&format!("@{d}")))
            .expect("a known domain");
        assert_eq!(r["target"]["provider"], *want, "{user}");
        assert_eq!(r["target"]["provider_source"], "mx", "{user}");
    }
}
