//! Servers that echo an access token back, over real TLS on 127.0.0.1, counted
//! at the server: a Gmail-style XOAUTH2 error challenge that quotes the token
//! with JSON string escapes (`\/`, `\u002b`...), and a 535 that echoes a huge,
//! repetitive token many times. The token must appear in no output in any form,
//! the run must end well within its deadline, and its peak memory (measured in
//! the spawned process) stays small.

#[path = "util/peak.rs"]
mod peak;
mod util;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::sync::atomic::Ordering;
use std::time::Duration;
use util::hostile::{pki, serve, Peer};

const USER: &str = "alice@gmail.example";
/// A token with `/` and `+`, which JSON may write as `\/` and `\u002b`.
const TOKEN: &str = "ya29.a0AfH6SMB/Canary+7734/Zz_escaped-TokenEnd";

/// The token of an `AUTH XOAUTH2 <base64>` line.
fn token_of(line: &str) -> String {
    let blob = line.split(' ').nth(2).unwrap_or_default();
    let payload = STANDARD.decode(blob.trim()).unwrap_or_default();
    let text = String::from_utf8_lossy(&payload).to_string();
    text.split("auth=Bearer ")
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches('\u{1}')
        .to_string()
}

/// `s` as a server's JSON writer may write it: `/` as `\/`, every third other
/// character as `\u00XX`, upper or lower case hex.
fn json_escaped(s: &str) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| match c {
            '/' => "\\/".to_string(),
            '+' => "\\u002B".to_string(),
            c if i % 3 == 0 => format!("\\u{:04x}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// An SMTP server over TLS that offers XOAUTH2 and refuses it with `refuse`.
fn smtp(p: &mut Peer, refuse: fn(&mut Peer, &str)) {
    p.send(b"220 echo.test ESMTP\r\n");
    while let Some(l) = p.line() {
        let upper = l.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            p.send(b"250-echo.test\r\n250 AUTH XOAUTH2\r\n");
        } else if upper.starts_with("AUTH XOAUTH2 ") {
            refuse(p, &token_of(&l));
        } else if upper.starts_with("QUIT") {
            p.send(b"221 bye\r\n");
            return;
        } else {
            p.send(b"250 ok\r\n");
        }
    }
}

/// The error challenge (RFC 7628 section 3.2.2, as Gmail sends it) with the
/// token quoted in it, JSON-escaped; then a 535 that quotes it the same way.
fn challenge_quotes_the_token(p: &mut Peer, token: &str) {
    let esc = json_escaped(token);
    let json = format!(
        "{{\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"https:\\/\\/mail.google.com\\/\",\"token\":\"{esc}\",\"twice\":\"{}\"}}",
        esc.replace('\\', "\\\\")
    );
    p.send(format!("334 {}\r\n", STANDARD.encode(&json)).as_bytes());
    let _ = p.line();
    p.send(
        format!("535-5.7.8 {json}\r\n535 5.7.8 Username and Password not accepted\r\n").as_bytes(),
    );
}

fn echo_huge(p: &mut Peer, token: &str) {
    let payload = STANDARD.encode(format!("user={USER}\x01auth=Bearer {token}\x01\x01"));
    let esc = json_escaped(token);
    for _ in 0..12 {
        let line = format!("535-5.7.8 {token} {token} {esc}\r\n535-5.7.8 {payload}\r\n");
        if !p.send(line.as_bytes()) {
            return;
        }
    }
    p.send(format!("535 5.7.8 {token}\r\n").as_bytes());
}

struct Run {
    m: peak::Measured,
    logins: usize,
}

/// Runs `check` with `--timeout timeout`: the run's deadline is 16 times that.
fn run(behave: fn(&mut Peer), token: &str, timeout: &str) -> Run {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dns = util::local_dns(&rt);
    let (port, seen) = serve(behave, true);
    let mut cmd = peak::command();
    cmd.args([
        "check",
        USER,
        "--json",
        "--transcript",
        "--timeout",
        timeout,
    ])
    .args(["--only", "smtp", "--provider", "generic", "--smtp"])
    .arg(format!("smtps://127.0.0.1:{port}"))
    .arg("--ca-file")
    .arg(pki().ca_file.path())
    .arg("--dns-server")
    .arg(dns.addr().to_string())
    .arg("--oauth-token-stdin");
    let m = peak::run(
        cmd,
        format!("{token}\n").as_bytes(),
        Duration::from_secs(60),
    );
    assert_ne!(m.code, Some(101), "panicked");
    Run {
        m,
        logins: seen.auth.load(Ordering::SeqCst),
    }
}

/// No piece of the token in `out`, whatever the escapes: the output as it is and
/// with its JSON escapes decoded (twice: a JSON string inside a JSON string).
fn assert_token_absent(token: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out).to_string();
    let unescape = |s: &str| -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("\\u") {
            out.push_str(&rest[..i]);
            let hex = rest.get(i + 2..i + 6).unwrap_or_default();
            match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                Some(c) => {
                    out.push(c);
                    rest = &rest[i + 6..];
                }
                None => {
                    out.push_str("\\u");
                    rest = &rest[i + 2..];
                }
            }
        }
        out.push_str(rest);
        out.replace("\\/", "/").replace("\\\\", "\\")
    };
    let decoded = unescape(&unescape(&text));
    // Every base64 run decoded too (a SASL challenge is base64 of a JSON
    // document), then its escapes.
    let runs: String = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || "+/-_=".contains(c)))
        .filter(|w| w.len() >= 16)
        .filter_map(|w| {
            let w = w.trim_end_matches('=');
            let w = &w[..w.len() - usize::from(w.len() % 4 == 1)];
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(w)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(w))
                .ok()
        })
        .map(|b| unescape(&unescape(&String::from_utf8_lossy(&b))))
        .collect::<Vec<_>>()
        .join("\n");
    let pieces: Vec<&str> = vec![&token[5..17], &token[token.len() - 12..]];
    for view in [&text, &decoded, &runs] {
        for piece in &pieces {
            assert!(
                !view
                    .to_ascii_lowercase()
                    .contains(&piece.to_ascii_lowercase()),
                "{piece:?} in:\n{view}"
            );
        }
    }
    util::assert_no_leak(USER, token, &[out]);
}

#[test]
fn a_token_quoted_with_json_escapes_in_the_xoauth2_challenge_is_redacted() {
    let r = run(|p| smtp(p, challenge_quotes_the_token), TOKEN, "4");
    assert_eq!(r.logins, 1, "one login, never retried");
    assert_eq!(
        r.m.code,
        Some(2),
        "{}",
        String::from_utf8_lossy(&r.m.stdout)
    );
    let v = util::validated(&r.m.stdout, "report.v1.json");
    // The challenge's base64 decodes to the token: the whole of it is
    // redacted where the transcript shows it, and no decoded challenge is
    // kept. The 535 that quotes the same document is read, the token not kept.
    let smtp = v["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "smtp"))
        .cloned()
        .unwrap_or_default();
    assert!(smtp["details"]["xoauth2_challenge"].is_null(), "{smtp}");
    let lines: Vec<String> = v["transcript"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["dir"] == "S")
        .filter_map(|l| l["line"].as_str().map(str::to_string))
        .collect();
    assert!(lines.iter().any(|l| l == "334 <redacted>"), "{lines:?}");
    let evidence = smtp["findings"][0]["evidence"].as_str().unwrap_or_default();
    assert!(evidence.contains("\"status\":\"400\""), "{smtp}");
    assert!(evidence.contains("\"token\":\"<redacted>\""), "{evidence}");
    assert_token_absent(TOKEN, &r.m.stdout);
    assert_token_absent(TOKEN, &r.m.stderr);
}

#[test]
fn a_huge_repetitive_token_echoed_in_a_535_is_scrubbed_within_the_deadline() {
    let token = format!("ya29.{}", "A".repeat(4000));
    // --timeout 2: the run's deadline is 32 s, as where the quadratic scrub was seen.
    let r = run(|p| smtp(p, echo_huge), &token, "2");
    assert_eq!(r.logins, 1);
    assert_eq!(
        r.m.code,
        Some(2),
        "{}",
        String::from_utf8_lossy(&r.m.stderr)
    );
    // Within the run's deadline (32 s), and the smtp check was not cut by it.
    // The time taken is bounded by the deadline only, since the machine running
    // the tests may be loaded many times over; the processor time the run used
    // is what shows the scrub linear: the quadratic one used more than 60 s of
    // it. A debug build needs about 3 s for the whole run.
    assert!(r.m.took < Duration::from_secs(32), "took {:?}", r.m.took);
    assert!(
        r.m.cpu < Duration::from_secs(8),
        "processor time {:?}",
        r.m.cpu
    );
    assert!(
        !String::from_utf8_lossy(&r.m.stdout).contains("the run's deadline"),
        "{}",
        String::from_utf8_lossy(&r.m.stdout)
    );
    // It once peaked at 647 MB; a debug build of the whole run stays far below.
    assert!(r.m.peak_mib > 0, "VmHWM was read");
    assert!(r.m.peak_mib < 160, "peak {} MiB", r.m.peak_mib);
    let text = String::from_utf8_lossy(&r.m.stdout);
    assert!(!text.contains("AAAAAAAAAA"), "{text}");
    assert!(!text.contains("QUFBQUFBQUFB"), "{text}");
    assert!(text.contains("<redacted>"));
}
