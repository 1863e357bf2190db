//! A pasted password and username through the credentials analysis, with no
//! provider and with each provider of the knowledge base.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailbox_doctor::checks::credentials::{analyze_password, analyze_username};
use mailbox_doctor::knowledge;

fuzz_target!(|data: &[u8]| {
    let kb = knowledge::get().expect("the knowledge base loads");
    let text = String::from_utf8_lossy(data);
    let providers = std::iter::once(None).chain(kb.providers.iter().map(Some));
    for provider in providers {
        let _ = analyze_password(kb, &text, provider);
        let _ = analyze_username(kb, &text, provider);
    }
});
