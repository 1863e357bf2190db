//! Evidence that narrows a vague refusal ranks before it: Exchange Online's bare
//! `535 5.7.3 Authentication unsuccessful` (M365_AUTH_UNSUCCESSFUL) says nothing of
//! why, while the tenant check's FEDERATED_DOMAIN says who checks the password.

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
