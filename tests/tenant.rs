//! The tenant check against a local HTTPS identity server (real TLS on 127.0.0.1)
//! answering like Microsoft's user-realm and OpenID endpoints.

mod util;

use mailbox_doctor::sim::identity::{IdentityServer, TenantKind};
use mailbox_doctor::sim::pki::{Ca, Validity};
use std::collections::HashMap;
use util::{bin, codes, validated};

struct Env {
    _rt: tokio::runtime::Runtime,
    server: IdentityServer,
    ca: tempfile::NamedTempFile,
}

fn env() -> Env {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ca = Ca::new("mailbox-doctor test CA").expect("ca");
    let cert = ca.issue(&["127.0.0.1"], Validity::Valid).expect("cert");
    let mut tenants = HashMap::new();
    tenants.insert(
        "contoso.com".to_string(),
        TenantKind::Managed {
            brand: "Contoso".into(),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
        },
    );
    tenants.insert(
        "fabrikam.com".to_string(),
        TenantKind::Federated {
            brand: "Fabrikam".into(),
            tenant_id: "11111111-2222-3333-4444-555555555555".into(),
            auth_url: "https://sts.fabrikam.com/adfs/ls/".into(),
        },
    );
    tenants.insert(
        "agency.gov".to_string(),
        TenantKind::Sovereign {
            brand: "Agency".into(),
            tenant_id: "99999999-2222-3333-4444-555555555555".into(),
            cloud: "microsoftonline.us".into(),
            scope: "USGov".into(),
        },
    );
    let server = rt
        .block_on(IdentityServer::start(&cert, tenants))
        .expect("server");
    let file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(file.path(), ca.pem()).expect("write ca");
    Env {
        _rt: rt,
        server,
        ca: file,
    }
}

fn tenant_json(env: &Env, user: &str) -> (serde_json::Value, Option<i32>) {
    let out = bin()
        .args([
            "check",
            user,
            "--no-password",
            "--only",
            "tenant",
            "--provider",
            "microsoft365",
            "--json",
            "--timeout",
            "3",
        ])
        .arg("--identity-url")
        .arg(format!("https://127.0.0.1:{}", env.server.addr().port()))
        .arg("--ca-file")
        .arg(env.ca.path())
        .output()
        .expect("runs");
    (validated(&out.stdout, "report.v1.json"), out.status.code())
}

#[test]
fn managed_tenant_passes_with_tenant_id() {
    let env = env();
    let (v, code) = tenant_json(&env, "alice@contoso.com");
    assert_eq!(v["checks"][0]["status"], "pass", "{v}");
    assert_eq!(
        v["checks"][0]["details"]["tenant_id"],
        "72f988bf-86f1-41af-91ab-2d7cd011db47"
    );
    assert_eq!(code, Some(0));
    assert_eq!(env.server.requests(), 2, "one realm and one OpenID request");
}

#[test]
fn unknown_domain_is_tenant_not_found() {
    let env = env();
    let (v, code) = tenant_json(&env, "bob@nosuch.example");
    assert_eq!(codes(&v), ["TENANT_NOT_FOUND"]);
    assert_eq!(code, Some(2));
}

#[test]
fn federated_domain_names_the_identity_provider() {
    let env = env();
    let (v, code) = tenant_json(&env, "carol@fabrikam.com");
    assert_eq!(codes(&v), ["FEDERATED_DOMAIN"]);
    let msg = v["checks"][0]["findings"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.contains("Fabrikam") && msg.contains("sts.fabrikam.com"),
        "{msg}"
    );
    assert_eq!(code, Some(1));
}

#[test]
fn sovereign_tenant_against_global_endpoints_is_flagged_with_the_right_endpoints() {
    let env = env();
    let (v, code) = tenant_json(&env, "dave@agency.gov");
    assert_eq!(codes(&v), ["SOVEREIGN_CLOUD_ENDPOINT"]);
    let msg = v["checks"][0]["findings"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("office365.us"), "{msg}");
    assert_eq!(code, Some(2));
}

#[test]
fn an_untrusted_identity_certificate_is_not_believed() {
    let env = env();
    let out = bin()
        .args([
            "check",
            "alice@contoso.com",
            "--no-password",
            "--only",
            "tenant",
            "--provider",
            "microsoft365",
            "--json",
            "--timeout",
            "3",
        ])
        .arg("--identity-url")
        .arg(format!("https://127.0.0.1:{}", env.server.addr().port()))
        .output()
        .expect("runs");
    let v = validated(&out.stdout, "report.v1.json");
    assert_eq!(v["checks"][0]["status"], "warn");
    assert!(
        v["checks"][0]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("TLS"),
        "{v}"
    );
}

#[test]
fn batch_asks_about_each_tenant_once_for_all_its_mailboxes() {
    let env = env();
    let mut file = tempfile::NamedTempFile::new().expect("temp");
    let mut csv = String::from("email,provider,password_env\n");
    for i in 0..40 {
        let domain = if i % 2 == 0 {
            "contoso.com"
        } else {
            "fabrikam.com"
        };
        csv.push_str(&format!("user{i}@{domain},microsoft365,MD_TENANT_PW\n"));
    }
    std::io::Write::write_all(&mut file, csv.as_bytes()).expect("write");
    let out = bin()
        .arg("batch")
        .arg(file.path())
        .args(["--only", "tenant", "--json", "--timeout", "3"])
        .args(["--concurrency", "10", "--per-domain", "5"])
        .arg("--identity-url")
        .arg(format!("https://127.0.0.1:{}", env.server.addr().port()))
        .arg("--ca-file")
        .arg(env.ca.path())
        .env("MD_TENANT_PW", "Tenant-Canary-1")
        .output()
        .expect("runs");
    let reports = util::json_lines(&out.stdout);
    assert_eq!(reports.len(), 40);
    for r in &reports {
        let user = r["target"]["user"].as_str().unwrap_or_default();
        let tenant = r["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == "tenant"))
            .cloned()
            .unwrap_or_default();
        if user.ends_with("@fabrikam.com") {
            assert!(codes(r).contains(&"FEDERATED_DOMAIN".to_string()), "{r}");
        } else {
            assert_eq!(tenant["status"], "pass", "{r}");
            assert!(tenant["summary"]
                .as_str()
                .is_some_and(|s| s.starts_with("contoso.com: Managed")));
        }
    }
    // The realm and the OpenID configuration, once per domain.
    assert_eq!(env.server.requests(), 4);
}
