//! Pasted text through the signature matcher and `explain`; its lines as MX
//! host names and as endpoint flags.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailbox_doctor::explain::explain;
use mailbox_doctor::knowledge::matcher::{fingerprint, fingerprints_in_text, match_reply};
use mailbox_doctor::knowledge::normalize::{extract_reply, normalize};
use mailbox_doctor::knowledge::{self, provider_for_mx};
use mailbox_doctor::vocab::Protocol;
use mailbox_doctor::target::parse_endpoint;

fuzz_target!(|data: &[u8]| {
    let kb = knowledge::get().expect("the knowledge base loads");
    let text = String::from_utf8_lossy(data);
    let _ = explain(kb, &text);
    let _ = normalize(&text);
    let _ = extract_reply(&text);
    let _ = fingerprints_in_text(kb, &text);
    let protocols = [Protocol::Smtp, Protocol::Imap, Protocol::Pop];
    let p = protocols[usize::from(data.first().copied().unwrap_or(0)) % 3];
    let _ = match_reply(kb, Some(p), &text, fingerprint(kb, p, &text));
    for p in protocols {
        let _ = parse_endpoint(p, "--endpoint", &text);
    }
    let mx: Vec<(u16, String)> = text
        .lines()
        .take(8)
        .enumerate()
        .map(|(i, l)| (u16::from(data.get(i).copied().unwrap_or(0)), l.to_string()))
        .collect();
    let _ = provider_for_mx(kb, &mx);
});
