//! Server bytes, line by line, through the SMTP reply reader; every complete
//! reply through the EHLO, AUTH, enhanced-code, SASL and excerpt readers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailbox_doctor::net::smtp_proto::{choose_auth, enhanced_code, Capabilities, ReplyReader};
use mailbox_doctor::net::{excerpt, sasl};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut reader = ReplyReader::new();
    for line in text.split_inclusive('\n') {
        let _ = excerpt(line);
        let Ok(Some(reply)) = reader.push(line) else {
            continue;
        };
        let caps = Capabilities::from_ehlo(&reply);
        let _ = choose_auth(&caps, false);
        let _ = choose_auth(&caps, true);
        let (message, joined, raw) = (reply.message(), reply.text(), reply.raw());
        let _ = enhanced_code(&joined);
        let _ = excerpt(&message);
        let _ = excerpt(&raw);
        for l in &reply.lines {
            let _ = enhanced_code(l);
            let _ = sasl::decode_challenge(l);
        }
        let _ = sasl::decode_challenge(&joined);
    }
});
