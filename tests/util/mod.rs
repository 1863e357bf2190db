//! Shared helpers for the CLI tests: run the binary, validate JSON against the
//! published schemas, and look for a secret in every form it could leak in.
#![allow(dead_code)]

pub mod hostile;
pub mod proxy;
pub mod signin_lab;

use base64::Engine as _;
use std::path::Path;

/// A DNS server on 127.0.0.1 that knows no name: the tests' look-ups stay on this
/// machine and are answered at once (NXDOMAIN), whatever the system's resolver is.
pub fn local_dns(rt: &tokio::runtime::Runtime) -> mailbox_doctor::sim::dns::DnsServer {
    rt.block_on(mailbox_doctor::sim::dns::DnsServer::start(
        mailbox_doctor::sim::dns::Zone::new(),
    ))
    .expect("dns server")
}

pub fn bin() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("mailbox-doctor").expect("binary built");
    c.env_remove("MAILBOX_DOCTOR_PASSWORD")
        .env_remove("MAILBOX_DOCTOR_TOKEN")
        .env("NO_COLOR", "1");
    // A proxy of the machine running the tests has no say; the proxy tests set their own.
    for var in ["HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"] {
        c.env_remove(var);
    }
    c
}

fn load_schema(name: &str) -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    let text = std::fs::read_to_string(&p).expect("schema file");
    serde_json::from_str(&text).expect("schema is JSON")
}

/// Parses `stdout` as JSON and validates it against `schema/<name>`.
pub fn validated(stdout: &[u8], name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(stdout)));
    let schema = load_schema(name);
    let compiled = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let msgs: Vec<String> = compiled
        .iter_errors(&v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if !msgs.is_empty() {
        panic!("{name} violated:\n{}\n{}", msgs.join("\n"), v);
    }
    v
}

/// A batch's JSON lines, each validated against the report schema.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| validated(l.as_bytes(), "report.v1.json"))
        .collect()
}

/// A canary access token shaped like Exchange Online's (a JWT whose claims fit
/// SMTP, IMAP and POP for `user`, valid for an hour).
pub fn canary_token(user: &str) -> String {
    let e = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() + 3600)
        .unwrap_or(0);
    let claims = format!(
        r#"{{"aud":"https://outlook.office.com","scp":"IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send","upn":"{user}","exp":{exp},"canary":"TokCanary7734"}}"#
    );
    format!(
        "{}.{}.{}",
        e(br#"{"alg":"RS256","typ":"JWT"}"#),
        e(claims.as_bytes()),
        e(b"TokCanarySig")
    )
}

/// The diagnosis codes of a report, root cause first.
pub fn codes(v: &serde_json::Value) -> Vec<String> {
    v["diagnosis"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A check's status by id, or "missing".
pub fn status(v: &serde_json::Value, id: &str) -> String {
    v["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == id))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("missing")
        .to_string()
}

/// The root cause's code, or "none".
pub fn first_code(v: &serde_json::Value) -> String {
    v["diagnosis"][0]["code"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

/// Every form in which `secret` could leak: itself (trimmed too), base64 of it at
/// each alignment inside a longer payload (standard and URL-safe), of SASL PLAIN
/// (`\0user\0secret`, with and without an authzid), of AUTH LOGIN and of XOAUTH2;
/// percent-encoded, hex, and escaped as in JSON or an IMAP quoted string.
pub fn leak_forms(user: &str, secret: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let b64 = |s: &str| STANDARD.encode(s.as_bytes());
    let mut forms = vec![
        secret.to_string(),
        b64(secret),
        b64(&format!("\0{user}\0{secret}")),
        b64(&format!("{user}\0{user}\0{secret}")),
        secret.trim().to_string(),
    ];
    let pct: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    forms.push(pct);
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    forms.push(hex.to_uppercase());
    forms.push(hex);
    let json = serde_json::to_string(secret).unwrap_or_default();
    forms.push(json.trim_matches('"').to_string());
    forms.push(secret.replace('\\', "\\\\").replace('"', "\\\""));
    // A base64 string embedded at an offset differs in its first characters; the
    // middle of it is stable, so look for a long inner slice too.
    let xoauth2 = b64(&format!("user={user}\x01auth=Bearer {secret}\x01\x01"));
    forms.push(xoauth2.clone());
    let mut inner = vec![b64(&format!("\0{user}\0{secret}")), xoauth2];
    for pre in ["", "x", "xy"] {
        inner.push(STANDARD.encode(format!("{pre}{secret}")));
        inner.push(URL_SAFE.encode(format!("{pre}{secret}")));
    }
    for i in inner {
        if i.len() > 12 {
            forms.push(i[4..i.len() - 4].to_string());
        }
    }
    forms.retain(|f| f.len() >= 6);
    forms.sort();
    forms.dedup();
    forms
}

/// Stretches of a password that a server quoting it cut short or in pieces
/// would show: every 12 characters of it, and every 16 characters of its base64
/// at each alignment (none for a long secret such as a token).
pub fn leak_fragments(secret: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    if secret.len() > 64 {
        return Vec::new();
    }
    let windows = |s: &str, w: usize| -> Vec<String> {
        let c: Vec<char> = s.chars().collect();
        c.windows(w).map(|x| x.iter().collect()).collect()
    };
    let mut out = windows(secret, 12);
    // As an IMAP quoted string or JSON escapes it.
    out.extend(windows(
        &secret.replace('\\', "\\\\").replace('"', "\\\""),
        12,
    ));
    for pre in ["", "x", "xy"] {
        for e in [
            STANDARD.encode(format!("{pre}{secret}")),
            URL_SAFE.encode(format!("{pre}{secret}")),
        ] {
            if e.len() > 8 {
                out.extend(windows(&e[4..e.len() - 4], 16));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The raw control characters in `out` (a line feed is the output's own), after
/// removing the colour sequences the tool writes itself when `colored`.
pub fn raw_controls(out: &[u8], colored: bool) -> Vec<char> {
    let mut text = String::from_utf8_lossy(out).to_string();
    if colored {
        let sgr = regex::Regex::new("\x1b\\[[0-9;]*m").expect("regex");
        text = sgr.replace_all(&text, "").into_owned();
    }
    text.chars()
        .filter(|c| (c.is_control() && *c != '\n') || format_character(*c))
        .collect()
}

/// Unicode's format characters (category Cf) and the line and paragraph
/// separators (Zl, Zp): invisible, or they reorder or break what follows.
pub fn format_character(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

pub fn assert_no_leak(user: &str, secret: &str, outputs: &[&[u8]]) {
    for out in outputs {
        let text = String::from_utf8_lossy(out);
        for form in leak_forms(user, secret) {
            assert!(
                !text.contains(&form),
                "secret leaked in the form {form:?}:\n{text}"
            );
        }
    }
}

/// A saved refresh token file after rotation: one token, not `old`, readable
/// by its owner only, and no temporary file left beside it.
pub fn assert_rotated(file: &std::path::Path, old: &str) {
    let now = std::fs::read_to_string(file).expect("token file");
    assert_ne!(now.trim(), old.trim(), "the token file was not rotated");
    assert_eq!(now.lines().count(), 1, "one token");
    assert!(now.trim().len() > 20);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(file).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let dir = file.parent().expect("dir");
    let stray: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}
