//! The Entra knowledge (checks/entra.toml, checks/signins.toml) holds what the
//! contract says: every AADSTS code of the sign-in log research, each with
//! Microsoft's text, its source and the agreed diagnosis, and the client apps of
//! the sign-in logs with their dated end.

use mailbox_doctor::knowledge::{self, Knowledge};
use mailbox_doctor::vocab::Severity;

fn kb() -> &'static Knowledge {
    knowledge::get().expect("knowledge base loads")
}

/// The agreed AADSTS number -> diagnosis code table.
const CONTRACT: &[(&str, &[u32])] = &[
    ("BAD_CREDENTIALS", &[50126, 50064, 50056]),
    ("ACCOUNT_LOCKED", &[50053]),
    ("ACCOUNT_DISABLED", &[50057, 135011]),
    ("PASSWORD_EXPIRED", &[50055, 50144]),
    ("USER_NOT_FOUND", &[50034, 50059]),
    ("TENANT_NOT_FOUND", &[50128, 90002]),
    ("MFA_REQUIRED", &[50076, 50074, 500121, 50072]),
    ("MFA_REGISTRATION_REQUIRED", &[50079]),
    (
        "M365_CONDITIONAL_ACCESS",
        &[53003, 530032, 53000, 53001, 530002, 530003, 50097, 50158],
    ),
    ("M365_SECURITY_DEFAULTS", &[530035]),
    ("OAUTH_CONSENT_MISSING", &[65001, 90094]),
    ("OAUTH_APP_NOT_FOUND", &[700016, 500011]),
    (
        "OAUTH_CLIENT_MISCONFIGURED",
        &[7000218, 7000112, 50011, 50105, 70011, 9002313],
    ),
    (
        "OAUTH_GRANT_EXPIRED",
        &[50173, 700082, 50132, 50133, 50089, 70046, 54005, 70043],
    ),
    ("ACCOUNT_NOT_IN_TENANT", &[50020, 16000, 90072]),
    ("ENTRA_INTERRUPT", &[50058, 50140, 50199, 50125, 81010]),
    ("TEMPORARY_SERVER_ERROR", &[90025]),
    ("OAUTH_SIGN_IN_DECLINED", &[65004]),
    ("OAUTH_CLIENT_SECRET_INVALID", &[7000215]),
    ("OAUTH_CLIENT_SECRET_EXPIRED", &[7000222]),
];

#[test]
fn every_contract_code_maps_to_its_agreed_diagnosis() {
    let mut n = 0;
    for (diagnosis, codes) in CONTRACT {
        assert!(
            kb().diagnosis(diagnosis).is_some(),
            "{diagnosis} is defined"
        );
        for code in *codes {
            let e = kb()
                .entra(*code)
                .unwrap_or_else(|| panic!("AADSTS{code} missing"));
            assert_eq!(&e.diagnosis, diagnosis, "AADSTS{code}");
            n += 1;
        }
    }
    assert_eq!(
        n,
        kb().entra.codes.len(),
        "entra.toml holds exactly the researched codes"
    );
}

#[test]
fn every_code_quotes_microsoft_with_a_microsoft_source() {
    for e in &kb().entra.codes {
        assert!(
            e.source.starts_with("https://learn.microsoft.com/"),
            "AADSTS{}",
            e.code
        );
        assert!(
            !e.text.trim().is_empty() && !e.text.contains('\n'),
            "AADSTS{}",
            e.code
        );
        assert!(
            !e.text.contains("…"),
            "AADSTS{}: quoted whole, not cut",
            e.code
        );
    }
    let e = kb().entra(50126).expect("50126");
    assert_eq!(e.name.as_deref(), Some("InvalidUserNameOrPassword"));
    assert!(e
        .text
        .starts_with("Error validating credentials due to invalid username or password."));
    assert!(kb()
        .entra(50053)
        .expect("50053")
        .text
        .contains("check the Failure reason"));
    assert!(kb().entra(12345).is_none());
}

#[test]
fn new_codes_rank_between_their_neighbours_and_interrupts_are_info() {
    let d = |c: &str| kb().diagnosis(c).unwrap_or_else(|| panic!("{c}"));
    let rank = |c: &str| d(c).rank;
    assert!(rank("TENANT_NOT_FOUND") < rank("USER_NOT_FOUND"));
    assert!(rank("USER_NOT_FOUND") < rank("ACCOUNT_DISABLED"));
    assert!(rank("ACCOUNT_DISABLED") < rank("M365_SECURITY_DEFAULTS"));
    assert!(rank("M365_CONDITIONAL_ACCESS") < rank("MFA_REQUIRED"));
    assert!(rank("MFA_REQUIRED") < rank("CRED_WHITESPACE"));
    assert!(rank("OAUTH_APP_NOT_FOUND") < rank("OAUTH_TOKEN_EXPIRED"));
    assert!(rank("PASSWORD_EXPIRED") < rank("ACCOUNT_LOCKED"));
    assert!(rank("ACCOUNT_LOCKED") < rank("BAD_CREDENTIALS"));
    assert!(rank("M365_SMTP_BASIC_AUTH_SUNSET") < rank("ENTRA_INTERRUPT"));
    assert_eq!(d("ENTRA_INTERRUPT").severity, Severity::Info);
}

#[test]
fn client_apps_are_found_by_any_spelling_and_carry_their_dated_end() {
    let e = &kb().entra;
    let smtp = e.client_app("authenticated smtp").expect("smtp");
    assert!(smtp.legacy);
    assert_eq!(
        smtp.fact.as_deref(),
        Some("exo-smtp-basic-auth-default-off")
    );
    assert_eq!(
        e.client_app("AutoDiscover").map(|a| a.name.as_str()),
        Some("Autodiscover")
    );
    assert_eq!(e.client_app("IMAP").map(|a| a.name.as_str()), Some("IMAP4"));
    assert!(!e.client_app("Browser").expect("browser").legacy);
    assert!(
        !e.client_app("Mobile Apps and Desktop clients")
            .expect("modern")
            .legacy
    );
    assert!(e.client_app("Teleprinter").is_none());
    for app in &e.client_apps {
        if let Some(f) = &app.fact {
            assert!(kb().fact(f).is_some(), "{}: {f}", app.name);
        }
        assert!(app.source.starts_with("https://"), "{}", app.name);
    }
    assert_eq!(e.lockout.threshold, 10);
    assert!(e.lockout.statement.contains("10 failed attempts"));
}
