//! Server bytes through the IMAP response reader as the client feeds it: a line
//! when it needs a line, exactly N bytes when a literal was announced. Every push
//! must consume input or end the response (no loop on `{0}`), and every piece,
//! scrubbed as the client scrubs it, must hold neither the canary password nor a
//! raw control character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailbox_doctor::net::imap_reader::{Need, ResponseReader};
use mailbox_doctor::net::scrub::{is_unsafe_char, Credential, Scrubber};
use mailbox_doctor::secret::Secret;
use std::sync::OnceLock;

const CANARY: &str = "Fuzz-Canary-2718";

fn scrubber() -> &'static Scrubber {
    static S: OnceLock<Scrubber> = OnceLock::new();
    S.get_or_init(|| {
        let pw = Secret::new(CANARY.into());
        Scrubber::new(&[Credential {
            user: "alice@contoso.com",
            secret: &pw,
            token: false,
        }])
    })
}

fn clean(raw: &[u8]) -> String {
    let s = scrubber().scrub(&String::from_utf8_lossy(raw));
    assert!(!s.contains(CANARY), "{s:?}");
    assert!(!s.chars().any(is_unsafe_char), "{s:?}");
    s
}

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    let mut reader = ResponseReader::new("A1");
    // Each step either consumes a byte (a line has its line feed) or is a literal
    // (possibly of zero bytes) that is followed by a line: at most 2 steps a byte.
    let mut steps = 0usize;
    loop {
        steps += 1;
        assert!(steps <= 2 * data.len() + 2, "no progress");
        match reader.need() {
            Need::Line => {
                let Some(pos) = input.iter().position(|b| *b == b'\n') else {
                    return;
                };
                let mut line = &input[..pos];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                input = &input[pos + 1..];
                match reader.push_line(&clean(line)) {
                    Ok(Some(_)) | Err(_) => return,
                    Ok(None) => {}
                }
            }
            Need::Literal(n) => {
                if input.len() < n {
                    return;
                }
                let text = clean(&input[..n]);
                input = &input[n..];
                if reader.push_literal(n, &text).is_err() {
                    return;
                }
            }
        }
    }
});
