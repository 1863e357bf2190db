//! Server bytes, line by line, through the IMAP response, literal, capability,
//! response-code and Exchange-greeting readers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailbox_doctor::net::imap::capabilities_in;
use mailbox_doctor::net::imap_proto::{
    capabilities, check_literal, exchange_backend_host, literal_announcement, parse_response,
    split_code, Response,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for line in &lines {
        if let Ok(r) = parse_response(line) {
            let _ = r.code();
            match &r {
                Response::Untagged { text, .. } | Response::Tagged { text, .. } => {
                    let _ = split_code(text);
                    let _ = capabilities(text);
                }
                Response::Continuation(t) => {
                    let _ = split_code(t);
                }
            }
        }
        let _ = check_literal(line);
        let _ = literal_announcement(line);
        let _ = capabilities(line);
        let _ = split_code(line);
        let _ = exchange_backend_host(line);
    }
    let _ = capabilities_in(lines.iter().copied());
});
