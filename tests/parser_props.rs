//! Property tests for the parsers that read what identity servers, HTTP peers,
//! DNS answers, tokens and files send: no panic and bounded work on arbitrary input.

use mailbox_doctor::checks::tenant::{cloud_of, parse_identity_url, parse_openid, parse_realm};
use mailbox_doctor::net::http::try_parse;
use mailbox_doctor::oauth::{decode_claims, review};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn realm_and_openid_bodies_never_panic(body in "\\PC{0,400}") {
        let r = parse_realm(&body);
        let o = parse_openid(&body);
        let _ = cloud_of(r.as_ref(), o.as_ref());
    }

    #[test]
    fn realm_like_xml_never_panics(inner in "[<>/A-Za-z &;]{0,200}") {
        let body = format!("<RealmInfo Success=\"true\">{inner}</RealmInfo>");
        let _ = parse_realm(&body);
    }

    #[test]
    fn identity_urls_never_panic(url in "\\PC{0,80}") {
        let _ = parse_identity_url(&url);
        let _ = parse_identity_url(&format!("https://{url}"));
    }

    #[test]
    fn http_answers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048), eof in any::<bool>()) {
        let _ = try_parse(&bytes, "h", eof);
        let mut framed = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = try_parse(&framed, "h", eof);
    }

    #[test]
    fn tokens_never_panic(a in "[A-Za-z0-9_=+/-]{0,60}", b in "[A-Za-z0-9_=+/-]{0,200}", c in "\\PC{0,40}") {
        let t = format!("{a}.{b}.{c}");
        if let Some(claims) = decode_claims(&t) {
            let _ = review(&claims, "alice@contoso.com", &[mailbox_doctor::vocab::Protocol::Imap], 0);
        }
        let _ = decode_claims(&c);
    }

    #[test]
    fn scenario_files_never_panic(text in "(# [a-z]{1,8}: [a-z-]{0,10}\n|S: [ -~]{0,30}\n|C: [ -~]{0,30}\n|!tls\n|!close\n|!delay [0-9x]{0,4}\n|[ -~]{0,20}\n){0,20}") {
        let _ = mailbox_doctor::sim::replay::Scenario::parse("prop", &text);
    }

    #[test]
    fn mx_answers_never_panic(mx in prop::collection::vec((any::<u16>(), "\\PC{0,80}"), 0..8)) {
        let kb = mailbox_doctor::knowledge::get().expect("knowledge base");
        let _ = mailbox_doctor::knowledge::provider_for_mx(kb, &mx);
    }

    #[test]
    fn mx_like_names_find_at_most_a_known_provider(
        label in "[a-z0-9-]{1,30}",
        tail in "(mail\\.protection\\.outlook\\.com|google\\.com|googlemail\\.com|[a-z.]{0,30})\\.?",
    ) {
        let kb = mailbox_doctor::knowledge::get().expect("knowledge base");
        if let Some(id) = mailbox_doctor::knowledge::provider_for_mx(kb, &[(10, format!("{label}.{tail}"))]) {
            prop_assert!(kb.provider(&id).is_some(), "{id}");
        }
    }

    #[test]
    fn endpoint_flags_never_panic(v in "\\PC{0,60}", scheme in "(smtps?|imaps?|pop3s?|)(://)?") {
        use mailbox_doctor::vocab::Protocol;
        for p in [Protocol::Smtp, Protocol::Imap, Protocol::Pop] {
            let _ = mailbox_doctor::target::parse_endpoint(p, "--smtp", &v);
            let _ = mailbox_doctor::target::parse_endpoint(p, "--smtp", &format!("{scheme}{v}"));
        }
    }

    #[test]
    fn batch_files_never_panic(text in "\\PC{0,300}") {
        let _ = mailbox_doctor::commands::batch::file::parse(std::path::Path::new("p.csv"), &text);
    }
}
