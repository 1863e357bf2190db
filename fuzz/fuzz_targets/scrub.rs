//! The scrubber on server text that quotes a secret in any form: the fuzzer's
//! bytes choose a secret (a repetitive token among them), how to write it (raw,
//! each character as a JSON escape or not, `\/`, twice escaped, base64 at an
//! alignment, hex, URL-encoded, base64 of a JSON document that quotes it escaped)
//! and the text around it. The scrubbed text must hold neither the secret nor,
//! once its JSON escapes are decoded, the secret, nor in any base64 run once
//! decoded and unescaped; nor any raw control character. libFuzzer's timeout catches a scrub that is
//! not linear in the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailbox_doctor::net::scrub::{is_unsafe_char, Credential, Scrubber};
use mailbox_doctor::secret::Secret;
use std::sync::OnceLock;

const USER: &str = "alice@contoso.com";

fn secrets() -> &'static [String] {
    static S: OnceLock<Vec<String>> = OnceLock::new();
    S.get_or_init(|| {
        vec![
            "Fuzz-Canary-2718".to_string(),
            format!("ya29.{}", "A".repeat(300)),
            "pa/ss\"w\u{f6}rd\u{20ac}-0123+end".to_string(),
            format!("ya29.{}", "AbAb".repeat(40)),
        ]
    })
}

fn scrubbers() -> &'static [Scrubber] {
    static S: OnceLock<Vec<Scrubber>> = OnceLock::new();
    S.get_or_init(|| {
        secrets()
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let secret = Secret::new(s.clone());
                Scrubber::new(&[Credential {
                    user: USER,
                    secret: &secret,
                    token: i % 2 == 1,
                }])
            })
            .collect()
    })
}

fn b64(bytes: &[u8], url: bool) -> String {
    let table: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..=c.len() {
            out.push(table[((n >> (18 - 6 * k)) & 63) as usize] as char);
        }
    }
    out
}

/// The secret written with some of its characters JSON-escaped (by `mask`).
fn json_escaped(secret: &str, mask: &[u8]) -> String {
    let mut out = String::new();
    for (i, c) in secret.chars().enumerate() {
        let bit = mask.get(i / 8).is_some_and(|m| m >> (i % 8) & 1 == 1);
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if bit => out.push_str("\\/"),
            c if bit => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Every run of base64 characters (either alphabet) of `s`, decoded at each of
/// the four alignments, then JSON-unescaped: what a reader could recover.
fn decoded_runs(s: &str) -> Vec<String> {
    let val = |b: u8| -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    for run in s.as_bytes().split(|b| val(*b).is_none()) {
        for off in 0..4.min(run.len()) {
            let mut bytes = Vec::new();
            for q in run[off..].chunks(4) {
                let n = q.iter().fold(0u32, |n, b| n << 6 | val(*b).unwrap_or(0))
                    << (6 * (4 - q.len()));
                bytes.extend_from_slice(&n.to_be_bytes()[1..1 + q.len() * 3 / 4]);
            }
            out.push(unescape(&String::from_utf8_lossy(&bytes)));
        }
    }
    out
}

/// JSON string escapes decoded (only what the oracle needs).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut units: Vec<u16> = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let hex = tail
            .get(2..6)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        if tail.starts_with("\\u") && hex.is_some() {
            units.clear();
            let mut t = tail;
            while let Some(h) = t
                .get(2..6)
                .filter(|h| t.starts_with("\\u") && h.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                units.push(u16::from_str_radix(h, 16).unwrap_or(0));
                t = &t[6..];
            }
            out.extend(char::decode_utf16(units.iter().copied()).map(|r| r.unwrap_or('\u{fffd}')));
            rest = t;
        } else if let Some(c) = tail[1..].chars().next() {
            match c {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '"' | '\\' | '/' => out.push(c),
                // Not a JSON escape: kept as written.
                c => {
                    out.push('\\');
                    out.push(c);
                }
            }
            rest = &tail[1 + c.len_utf8()..];
        } else {
            out.push('\\');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let which = usize::from(data[0]) % secrets().len();
    let secret = &secrets()[which];
    let form = data[1] % 10;
    let cut = usize::from(data[2]);
    let body = String::from_utf8_lossy(&data[3..]);
    let split = body
        .char_indices()
        .map(|(i, _)| i)
        .nth(cut)
        .unwrap_or(body.len());
    let (before, after) = body.split_at(split);
    let quoted = match form {
        0 => secret.clone(),
        1 => json_escaped(secret, &data[3..]),
        2 => json_escaped(&json_escaped(secret, &data[3..]), &data[4..]),
        3 | 4 | 5 => {
            let pad = &b"xyz"[..usize::from(form - 3)];
            b64(&[pad, secret.as_bytes()].concat(), data[3] & 1 == 1)
        }
        6 => secret.bytes().map(|b| format!("{b:02X}")).collect(),
        7 => secret.bytes().map(|b| format!("%{b:02x}")).collect(),
        8 => json_escaped(&b64(secret.as_bytes(), false).replace('/', "\\/"), &[]),
        // An XOAUTH2 error challenge (RFC 7628, 3.2.2) that quotes the secret
        // with JSON escapes.
        _ => b64(
            format!(
                "{{\"status\":\"400\",\"token\":\"{}\"}}",
                json_escaped(secret, &data[3..])
            )
            .as_bytes(),
            data[3] & 1 == 1,
        ),
    };
    let text = format!("{before}{quoted}{after}");
    let got = scrubbers()[which].scrub(&text);
    assert!(!got.chars().any(is_unsafe_char), "{got:?}");
    // The scrubber folds ASCII letter case only.
    let low = got.to_ascii_lowercase();
    let needle = secret.to_ascii_lowercase();
    assert!(!low.contains(&needle), "{got:?}");
    assert!(
        !unescape(&got).to_ascii_lowercase().contains(&needle),
        "{got:?}"
    );
    if form == 9 {
        for d in decoded_runs(&got) {
            assert!(
                !d.to_ascii_lowercase().contains(&needle),
                "{text:?} -> {got:?}"
            );
        }
    }
    // Written plainly or escaped (not after a backslash that would make the
    // first escape a literal one), the secret is always found.
    if form <= 2 && !before.ends_with('\\') {
        assert!(got.contains("<redacted>"), "{text:?} -> {got:?}");
    }
});
