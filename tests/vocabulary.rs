//! The stacks' vocabularies (checks/vocab-*.toml): every string enumerated from a
//! stack's own source reads as the code written next to it, or is listed as not
//! about logging in, with the reason. The coverage per stack is printed (run with
//! `--nocapture`). The standards table (checks/standards.toml) is checked the same
//! way: each entry reads its own reply, in `explain` and through the live checks'
//! matcher.

use mailbox_doctor::explain::explain;
use mailbox_doctor::knowledge::{self, matcher::match_reply};
use mailbox_doctor::vocab::Protocol;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
struct Vocabulary {
    #[serde(default)]
    string: Vec<VocabString>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VocabString {
    stack: String,
    text: String,
    source: String,
    #[serde(default)]
    reads_as: Option<String>,
    #[serde(default)]
    not_login: Option<String>,
}

const FILES: &[(&str, &str)] = &[
    ("vocab-tls.toml", include_str!("../checks/vocab-tls.toml")),
    (
        "vocab-network.toml",
        include_str!("../checks/vocab-network.toml"),
    ),
    ("vocab-mail.toml", include_str!("../checks/vocab-mail.toml")),
    (
        "vocab-oauth.toml",
        include_str!("../checks/vocab-oauth.toml"),
    ),
];

#[test]
fn every_enumerated_string_reads_as_its_code_or_says_why_not() {
    let kb = knowledge::get().expect("knowledge base loads");
    // stack -> (strings that read right, strings about logging in, all strings)
    let mut coverage: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (file, text) in FILES {
        let v: Vocabulary = toml::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!v.string.is_empty(), "{file} enumerates no strings");
        for s in v.string {
            assert!(
                s.source.starts_with("https://"),
                "{file}: {}: source",
                s.text
            );
            let c = coverage.entry(s.stack.clone()).or_default();
            c.2 += 1;
            match (&s.reads_as, &s.not_login) {
                (Some(code), None) => {
                    c.1 += 1;
                    assert!(kb.diagnosis(code).is_some(), "{file}: unknown code {code}");
                    let x = explain(kb, &s.text);
                    let first = x.diagnosis.first().map(|d| d.code.as_str());
                    if first == Some(code.as_str()) {
                        c.0 += 1;
                    } else {
                        failures.push(format!(
                            "{file} [{}] {:?}: want {code}, got {:?}",
                            s.stack,
                            s.text,
                            x.diagnosis.iter().map(|d| &d.code).collect::<Vec<_>>()
                        ));
                    }
                }
                (None, Some(why)) => {
                    assert!(
                        why.len() > 20,
                        "{file}: {:?}: say why it is not about logging in",
                        s.text
                    )
                }
                _ => panic!(
                    "{file}: {:?}: exactly one of reads_as and not_login",
                    s.text
                ),
            }
        }
    }
    let mut report = String::from(
        "| stack | strings | about logging in | read right | coverage |\n|---|---|---|---|---|\n",
    );
    for (stack, (ok, login, all)) in &coverage {
        report.push_str(&format!(
            "| {stack} | {all} | {login} | {ok} | {:.0}% |\n",
            100.0 * *ok as f64 / (*login).max(1) as f64
        ));
    }
    #[allow(clippy::disallowed_macros)] // the coverage per stack is this test's report
    {
        println!("{report}");
    }
    assert!(failures.is_empty(), "{}\n\n{report}", failures.join("\n"));
}

#[derive(Debug, Deserialize)]
struct Standards {
    standard: Vec<Standard>,
}

#[derive(Debug, Deserialize)]
struct Standard {
    id: String,
    protocol: String,
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    enhanced: Option<String>,
    #[serde(default)]
    response: Option<String>,
    diagnosis: String,
    meaning: String,
}

/// A reply in the entry's own shape, built from its code and its meaning.
fn reply(s: &Standard) -> String {
    if let Some(code) = s.code {
        let meaning = s.meaning.trim_start_matches(char::is_numeric).trim_start();
        return format!("{code} {meaning}");
    }
    if let Some(e) = &s.enhanced {
        let e = e.replace('X', "5").replace('*', "1");
        let (_, meaning) = s.meaning.split_once(' ').unwrap_or_default();
        return format!("{e} {meaning}");
    }
    let r = s.response.as_deref().unwrap_or_default();
    match s.protocol.as_str() {
        "pop" => format!("-ERR [{r}] {}", s.meaning),
        _ => format!("A1 NO [ {r} ] {}", s.meaning),
    }
}

#[test]
fn each_standard_reads_its_own_reply() {
    let kb = knowledge::get().expect("knowledge base loads");
    let f: Standards =
        toml::from_str(include_str!("../checks/standards.toml")).expect("standards.toml parses");
    assert!(f.standard.len() >= 30);
    for s in &f.standard {
        let text = reply(s);
        let sig = kb
            .signatures
            .iter()
            .find(|g| g.def.id == s.id)
            .unwrap_or_else(|| panic!("{} is not loaded", s.id));
        assert!(sig.is_match(&text), "{}: its pattern misses {text:?}", s.id);
        assert_eq!(sig.def.diagnosis, s.diagnosis);
    }
}

#[test]
fn the_live_matcher_reads_replies_no_provider_knows_by_the_standards() {
    let kb = knowledge::get().expect("knowledge base loads");
    let cases: &[(Protocol, &str, &str)] = &[
        (
            Protocol::Smtp,
            "538 5.7.11 Encryption required for requested authentication mechanism",
            "TLS_REQUIRED_BY_SERVER",
        ),
        (
            Protocol::Smtp,
            "432 4.7.12 A password transition is needed",
            "AUTH_MECHANISM_FAILED",
        ),
        (
            Protocol::Smtp,
            "454 4.7.0 Temporary authentication failure",
            "TEMPORARY_SERVER_ERROR",
        ),
        (
            Protocol::Smtp,
            "503 5.5.1 Error: authentication not enabled",
            "SMTP_AUTH_NOT_OFFERED",
        ),
        (
            Protocol::Smtp,
            "535 5.7.13 Account disabled",
            "ACCOUNT_DISABLED",
        ),
        (
            Protocol::Imap,
            "a2 NO [ EXPIRED ] Passphrase expired",
            "PASSWORD_EXPIRED",
        ),
        (
            Protocol::Imap,
            "a2 NO [PRIVACYREQUIRED] Use TLS first",
            "TLS_REQUIRED_BY_SERVER",
        ),
        (
            Protocol::Imap,
            "a2 NO [CONTACTADMIN] Ask the help desk",
            "ACCOUNT_DISABLED",
        ),
        (
            Protocol::Pop,
            "-ERR [IN-USE] Mailbox locked by another session",
            "TOO_MANY_CONNECTIONS",
        ),
        (
            Protocol::Pop,
            "-ERR [LOGIN-DELAY] Wait 5 minutes between logins",
            "RATE_LIMITED",
        ),
        (
            Protocol::Pop,
            "-ERR [SYS/TEMP] Backend unavailable",
            "TEMPORARY_SERVER_ERROR",
        ),
    ];
    for (protocol, text, want) in cases {
        let m = match_reply(kb, Some(*protocol), text, Some("unknown-server"));
        let got = m.first().map(|m| m.signature.def.diagnosis.as_str());
        assert_eq!(got, Some(*want), "{text}");
    }
}
