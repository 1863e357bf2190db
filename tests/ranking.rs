//! Evidence that narrows a vague refusal ranks before it: Exchange Online's bare
//! `535 5.7.3 Authentication unsuccessful` (M365_AUTH_UNSUCCESSFUL) says nothing of
//! why, while the tenant check's FEDERATED_DOMAIN says who checks the password.

mod util;

use mailbox_doctor::diagnose::diagnose;
use mailbox_doctor::knowledge;
use mailbox_doctor::vocab::{CheckId, Finding, Severity};

#[test]
fn a_federated_domain_ranks_before_exchanges_vague_refusal() {
    let kb = knowledge::get().expect("knowledge base loads");
    let refused = Finding::new(
        "M365_AUTH_UNSUCCESSFUL",
        Severity::Critical,
        "535 5.7.3 Authentication unsuccessful",
    );
    let federated = Finding::new(
        "FEDERATED_DOMAIN",
        Severity::Warning,
        "passwords for fabrikam.com are checked by Fabrikam's own identity provider",
    );
    let d = diagnose(
        kb,
        &[(CheckId::Smtp, &refused), (CheckId::Tenant, &federated)],
        "jdoe@fabrikam.com",
        Some("fabrikam.com"),
        &[],
    );
    let codes: Vec<&str> = d.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["FEDERATED_DOMAIN", "M365_AUTH_UNSUCCESSFUL"]);
    // A specific policy reading still comes before it.
    let disabled = Finding::new(
        "M365_SMTP_AUTH_DISABLED_TENANT",
        Severity::Critical,
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
    );
    let d = diagnose(
        kb,
        &[(CheckId::Smtp, &disabled), (CheckId::Tenant, &federated)],
        "jdoe@fabrikam.com",
        Some("fabrikam.com"),
        &[],
    );
    assert_eq!(d[0].code, "M365_SMTP_AUTH_DISABLED_TENANT");
}

/// A live run: the replay server plays `fixture`, the identity server knows
/// `tenants`, the DNS server `zone`; `check user` logs in once with a password.
struct Live {
    json: serde_json::Value,
    auth_attempts: usize,
}

fn live(
    sc: mailbox_doctor::sim::replay::Scenario,
    scheme: &str,
    user: &str,
    tenants: std::collections::HashMap<String, mailbox_doctor::sim::identity::TenantKind>,
    zone: mailbox_doctor::sim::dns::Zone,
    only: &str,
) -> Live {
    use mailbox_doctor::sim::identity::IdentityServer;
    use mailbox_doctor::sim::pki::{Pki, Validity};
    use mailbox_doctor::sim::replay::ReplayServer;
    use std::time::Duration;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new().expect("pki");
    let smtp = rt
        .block_on(ReplayServer::start(
            sc.clone(),
            pki.server_config(sc.cert, &["127.0.0.1"]).expect("cert"),
            Duration::ZERO,
        ))
        .expect("replay server");
    let cert = pki.ca.issue(&["127.0.0.1"], Validity::Valid).expect("cert");
    let identity = rt
        .block_on(IdentityServer::start(&cert, tenants))
        .expect("identity server");
    let dns = rt
        .block_on(mailbox_doctor::sim::dns::DnsServer::start(zone))
        .expect("dns server");
    let ca = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(ca.path(), pki.ca.pem()).expect("ca");
    let out = util::bin()
        .args(["check", user, "--format", "json", "--timeout", "5"])
        .args(["--only", only, "--password-stdin"])
        .arg("--smtp")
        .arg(format!("{scheme}://127.0.0.1:{}", smtp.addr().port()))
        .arg("--identity-url")
        .arg(format!("https://127.0.0.1:{}", identity.addr().port()))
        .arg("--ca-file")
        .arg(ca.path())
        .arg("--dns-server")
        .arg(dns.addr().to_string())
        .write_stdin("Canary-Pw-5512!\n")
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    util::assert_no_leak(user, "Canary-Pw-5512!", &[&out.stdout, &out.stderr]);
    Live {
        json: util::validated(&out.stdout, "report.v1.json"),
        auth_attempts: smtp.stats().auth_attempts,
    }
}

/// `first` is the root cause and `second` the next reading, and the report asks
/// the question that tells the two apart.
fn assert_two_readings(v: &serde_json::Value, first: &str, second: &str) {
    let codes = util::codes(v);
    assert_eq!(codes[..2], [first, second], "{v}");
    assert_eq!(v["question"]["between"][0], first, "{v}");
    assert_eq!(v["question"]["between"][1], second, "{v}");
}

/// The MX that says the domain's mail is at Microsoft 365.
fn microsoft_mx(domain: &str) -> mailbox_doctor::sim::dns::Zone {
    use mailbox_doctor::sim::dns::{Rec, Zone};
    let mx = format!("{}.mail.protection.outlook.com", domain.replace('.', "-"));
    Zone::new()
        .add(domain, Rec::Mx(0, mx.clone()))
        .add(&mx, Rec::Ip("127.0.0.1".parse().expect("ip")))
}

#[test]
fn live_a_federated_domain_comes_before_exchanges_bare_5_7_3() {
    use mailbox_doctor::sim::identity::TenantKind;
    let mut tenants = std::collections::HashMap::new();
    tenants.insert(
        "fabrikam.com".to_string(),
        TenantKind::Federated {
            brand: "Fabrikam".into(),
            tenant_id: "11111111-2222-3333-4444-555555555555".into(),
            auth_url: "https://sts.fabrikam.com/adfs/ls/".into(),
        },
    );
    let run = live(
        fixture("exo-smtp-5-7-3"),
        "smtp",
        "jdoe@fabrikam.com",
        tenants,
        microsoft_mx("fabrikam.com"),
        "dns,tenant,smtp",
    );
    // Both readings stand: the question that tells them apart comes with them.
    assert_two_readings(&run.json, "FEDERATED_DOMAIN", "M365_AUTH_UNSUCCESSFUL");
    assert_eq!(run.auth_attempts, 1);
}

#[test]
fn live_an_on_premises_server_on_tls_1_0_is_the_cause_and_the_cloud_settings_a_second_reading() {
    let run = live(
        fixture("exchange-onprem-tls10"),
        "smtp",
        "alice@contoso.com",
        Default::default(),
        microsoft_mx("contoso.com"),
        "dns,tls,smtp",
    );
    assert_two_readings(&run.json, "TLS_PROTOCOL_TOO_OLD", "SERVER_SETTINGS_DIFFER");
    assert_eq!(run.auth_attempts, 0, "no login over a failed handshake");
}

#[test]
fn live_without_a_greeting_nothing_shows_whose_server_it_is_and_the_settings_come_first() {
    // Implicit TLS: the handshake comes before any greeting, so nothing says the
    // named server holds mailboxes of its own.
    let sc = mailbox_doctor::sim::replay::Scenario::parse(
        "inline",
        "# protocol: smtp\n# tls: none\n# client: implicit\n!tls 1.0\n",
    )
    .expect("scenario");
    let run = live(
        sc,
        "smtps",
        "alice@contoso.com",
        Default::default(),
        microsoft_mx("contoso.com"),
        "dns,tls,smtp",
    );
    let codes = util::codes(&run.json);
    assert_eq!(
        codes[..2],
        ["SERVER_SETTINGS_DIFFER", "TLS_PROTOCOL_TOO_OLD"],
        "{}",
        run.json
    );
    assert_eq!(run.auth_attempts, 0);
}

fn fixture(name: &str) -> mailbox_doctor::sim::replay::Scenario {
    mailbox_doctor::sim::replay::Scenario::named(name).expect("fixture")
}
