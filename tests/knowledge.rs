//! The knowledge base checks itself: every signature recognizes its own quoted
//! example, every diagnosis is actionable, and the code list is a reviewed contract.

use mailbox_doctor::knowledge::matcher::{fingerprint, match_reply};
use mailbox_doctor::knowledge::{self, REQUIRED_CODES};
use mailbox_doctor::vocab::{Actor, Protocol};

fn kb() -> &'static knowledge::Knowledge {
    knowledge::get().expect("knowledge base loads")
}

#[test]
fn every_signature_matches_its_own_example() {
    let kb = kb();
    let mut failures = Vec::new();
    for sig in &kb.signatures {
        let def = &sig.def;
        // The standards' entries carry the RFC's meaning, not a reply: tests/vocabulary.rs
        // reads each with a reply built from its code.
        if def.standard {
            continue;
        }
        // A reply signature is read as its protocol's reply; a client-side one as pasted text.
        let matches = match_reply(
            kb,
            def.protocol.protocol(),
            &def.example,
            def.fingerprint.as_deref(),
        );
        // A fallback gives way when its own example also holds a more specific reply
        // (Outlook's 0x800CCC78 dialog quotes the server's reply): it must still match.
        let gave_way = def.fallback
            && !matches.is_empty()
            && sig.is_match(&mailbox_doctor::knowledge::normalize::normalize(
                &def.example,
            ));
        if !gave_way && !matches.iter().any(|m| m.signature.def.id == def.id) {
            failures.push(def.id.clone());
        }
    }
    assert!(
        failures.is_empty(),
        "signatures not matching their example: {failures:?}"
    );
}

#[test]
fn every_signature_cites_a_source_url() {
    for sig in &kb().signatures {
        assert!(
            sig.def.source.starts_with("https://"),
            "signature {} has no source URL",
            sig.def.id
        );
        assert!(
            !sig.def.example.trim().is_empty(),
            "signature {} has no example",
            sig.def.id
        );
    }
}

#[test]
fn every_diagnosis_has_a_fix_an_actor_and_sane_text() {
    for d in &kb().diagnoses {
        assert!(!d.title.trim().is_empty(), "{} has no title", d.code);
        assert!(
            !d.explanation.trim().is_empty(),
            "{} has no explanation",
            d.code
        );
        assert!(!d.fix.trim().is_empty(), "{} has no fix", d.code);
        assert!(
            matches!(
                d.actor,
                Actor::User | Actor::Admin | Actor::Vendor | Actor::Provider
            ),
            "{} has no valid actor",
            d.code
        );
        assert!(!d.title.contains('\n'), "{} title spans lines", d.code);
        assert!(
            (100..1000).contains(&d.rank),
            "{} rank {} outside the bands",
            d.code,
            d.rank
        );
        if let Some(docs) = &d.docs {
            assert!(
                docs.starts_with("https://"),
                "{} docs is not an https URL",
                d.code
            );
        }
    }
}

#[test]
fn microsoft_365_diagnoses_carry_confirm_steps() {
    for d in &kb().diagnoses {
        if d.code.starts_with("M365_") {
            assert!(!d.confirm.is_empty(), "{} has no confirm step", d.code);
        }
    }
}

#[test]
fn every_code_the_tool_emits_is_defined() {
    for code in REQUIRED_CODES {
        assert!(kb().diagnosis(code).is_some(), "{code} missing");
    }
}

#[test]
fn code_list_matches_the_reviewed_snapshot() {
    let mut codes: Vec<&str> = kb().diagnoses.iter().map(|d| d.code.as_str()).collect();
    codes.sort_unstable();
    let actual = codes.join("\n") + "\n";
    let expected = include_str!("snapshots/codes.txt");
    assert_eq!(
        actual, expected,
        "the diagnosis code list changed: codes are a monitoring contract; update tests/snapshots/codes.txt deliberately"
    );
}

#[test]
fn rank_bands_put_policy_before_formatting_before_wrong_password() {
    let rank = |c: &str| kb().diagnosis(c).map(|d| d.rank).unwrap_or(0);
    assert!(rank("DNS_NXDOMAIN") < rank("TCP_REFUSED"));
    assert!(rank("TCP_TIMEOUT") < rank("TLS_CERT_EXPIRED"));
    assert!(rank("TLS_UNTRUSTED") < rank("TLS_REQUIRED_BY_SERVER"));
    assert!(rank("M365_SMTP_AUTH_DISABLED_TENANT") < rank("CRED_WHITESPACE"));
    assert!(rank("CRED_WHITESPACE") < rank("BAD_CREDENTIALS"));
    assert!(rank("ACCOUNT_LOCKED") < rank("BAD_CREDENTIALS"));
    assert!(rank("BAD_CREDENTIALS") < rank("TEMPORARY_SERVER_ERROR"));
    assert!(rank("TEMPORARY_SERVER_ERROR") < rank("M365_SMTP_BASIC_AUTH_SUNSET"));
}

#[test]
fn greetings_are_fingerprinted_per_protocol() {
    let kb = kb();
    for f in &kb.fingerprints {
        assert_eq!(
            fingerprint(kb, f.def.protocol, &f.def.example),
            Some(f.def.id.as_str()),
            "greeting example of {} ({:?})",
            f.def.id,
            f.def.protocol
        );
    }
    let exo = "* OK The Microsoft Exchange IMAP4 service is ready. [TQBSADEAUAAyADYANABDAEEAMAAxADQANgAuAEYAUgBBAFAAMgA2ADQALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]";
    assert_eq!(
        fingerprint(kb, Protocol::Imap, exo),
        Some("exchange-online")
    );
    assert_eq!(
        fingerprint(kb, Protocol::Pop, exo),
        None,
        "an IMAP greeting is not a POP one"
    );
    assert_eq!(
        fingerprint(
            kb,
            Protocol::Imap,
            "* OK [CAPABILITY IMAP4rev1] Dovecot (Debian) ready."
        ),
        Some("dovecot")
    );
    assert_eq!(
        fingerprint(
            kb,
            Protocol::Smtp,
            "220 mail.example.org ESMTP Postfix (Debian/GNU)"
        ),
        Some("postfix")
    );
    assert_eq!(
        fingerprint(kb, Protocol::Smtp, "220 example.org ESMTP Exim 4.96"),
        None
    );
}

#[test]
fn facts_carry_the_dated_timeline() {
    let kb = kb();
    let date = |id: &str| kb.fact(id).map(|f| f.date.to_string());
    assert_eq!(
        date("exo-basic-auth-imap-pop-retired").as_deref(),
        Some("2022-10-01")
    );
    assert_eq!(
        date("exo-basic-auth-reenable-closed").as_deref(),
        Some("2022-12-31")
    );
    assert_eq!(
        date("outlook-com-basic-auth-ended").as_deref(),
        Some("2024-09-16")
    );
    assert_eq!(
        date("exo-smtp-basic-auth-default-off").as_deref(),
        Some("2026-12-31")
    );
    assert_eq!(kb.as_of.to_string(), include_str!("../checks/AS_OF").trim());
    for f in &kb.facts {
        assert!(
            f.source.starts_with("https://"),
            "fact {} has no source URL",
            f.id
        );
    }
}

#[test]
fn signatures_match_exactly_as_their_regex_would() {
    let kb = mailbox_doctor::knowledge::get().expect("knowledge base");
    for sig in &kb.signatures {
        let re = regex_lite::RegexBuilder::new(&sig.def.pattern)
            .case_insensitive(true)
            .build()
            .expect("compiles");
        let example = &sig.def.example;
        for text in [
            example.clone(),
            example.to_uppercase(),
            example.to_lowercase(),
            sig.def.pattern.clone(),
            format!(
                "535 5.7.8 {}",
                example
                    .chars()
                    .take(example.chars().count() / 2)
                    .collect::<String>()
            ),
            "unrelated text".to_string(),
        ] {
            let norm = mailbox_doctor::knowledge::normalize::normalize(&text);
            assert_eq!(
                sig.is_match(&norm),
                re.is_match(&norm),
                "{}: {norm:?}",
                sig.def.id
            );
        }
    }
}

/// Contexts, greeting fingerprints and hints compile on first use (build.rs
/// compiled each pattern once): here each matches its own example.
#[test]
fn every_context_fingerprint_and_hint_matches_its_own_example() {
    let kb = knowledge::get().expect("knowledge base loads");
    let mut failures = Vec::new();
    for c in &kb.contexts {
        let text = mailbox_doctor::knowledge::matcher::haystack(&c.def.example);
        if !c.is_match(&text) {
            failures.push(format!("context {}", c.def.id));
        }
    }
    for f in &kb.fingerprints {
        if !f.is_match(&f.def.example) {
            failures.push(format!("fingerprint {} ({:?})", f.def.id, f.def.protocol));
        }
    }
    for h in &kb.hints {
        if !h.is_match(&h.def.example) {
            failures.push(format!("hint {} for {}", h.def.pattern, h.def.fingerprint));
        }
    }
    assert!(!kb.contexts.is_empty() && !kb.fingerprints.is_empty() && !kb.hints.is_empty());
    assert!(
        failures.is_empty(),
        "not matching their example: {failures:?}"
    );
}
