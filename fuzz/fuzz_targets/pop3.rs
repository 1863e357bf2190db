//! Server bytes, line by line, through the POP3 status, AUTH-step and
//! multi-line readers; every complete multi-line answer through CAPA.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailbox_doctor::net::pop_proto::{parse_auth_step, parse_status, Capa, MultiLineReader};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut reader = MultiLineReader::new();
    for line in text.split_inclusive('\n') {
        let _ = parse_status(line);
        let _ = parse_auth_step(line);
        if let Ok(Some(lines)) = reader.push(line) {
            let _ = Capa::parse(&lines);
        }
    }
});
