//! What identity endpoints and token issuers send: HTTP answers, realm and
//! OpenID bodies, identity URLs and access tokens.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailbox_doctor::checks::tenant::{cloud_of, parse_identity_url, parse_openid, parse_realm};
use mailbox_doctor::vocab::Protocol;
use mailbox_doctor::net::http::try_parse;
use mailbox_doctor::oauth::{decode_claims, review};

fuzz_target!(|data: &[u8]| {
    let _ = try_parse(data, "h", false);
    let _ = try_parse(data, "h", true);
    let text = String::from_utf8_lossy(data);
    let realm = parse_realm(&text);
    let openid = parse_openid(&text);
    let _ = cloud_of(realm.as_ref(), openid.as_ref());
    for line in text.lines().take(16) {
        let _ = parse_identity_url(line);
    }
    if let Some(claims) = decode_claims(&text) {
        let all = [Protocol::Smtp, Protocol::Imap, Protocol::Pop];
        let _ = review(&claims, "alice@contoso.com", &all, 0);
        let _ = review(&claims, "alice@contoso.com", &all[1..], 1_900_000_000);
    }
});
