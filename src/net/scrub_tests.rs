use super::*;

const USER: &str = "alice@contoso.com";
const PW: &str = "Tr0ub4dor \"&\" 3\\x";
const TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJ1cG4iOiJhbGljZUBjb250b3NvLmNvbSIsImNhbmFyeSI6Ilp6In0.c2lnbmF0dXJlLWNhbmFyeQ";

fn b64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

fn scrubber() -> Scrubber {
    let pw = Secret::new(PW.into());
    let tok = Secret::new(TOKEN.into());
    Scrubber::new(&[
        Credential {
            user: USER,
            secret: &pw,
            token: false,
        },
        Credential {
            user: USER,
            secret: &tok,
            token: true,
        },
    ])
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

#[test]
fn every_form_of_the_password_is_redacted() {
    let s = scrubber();
    let pct: String = PW
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let forms = [
        PW.to_string(),
        PW.to_ascii_uppercase(),
        format!("  {PW}\t"),
        b64(PW.as_bytes()),
        b64(format!("x{PW}").as_bytes()),
        b64(format!("xy{PW}yz").as_bytes()),
        URL_SAFE.encode(format!("x{PW}")),
        b64(format!("\0{USER}\0{PW}").as_bytes()),
        b64(format!("{USER}\0{USER}\0{PW}").as_bytes()),
        hex(PW.as_bytes()),
        hex(PW.as_bytes()).to_ascii_lowercase(),
        pct,
        PW.replace('\\', "\\\\").replace('"', "\\\""),
        serde_json::to_string(PW).expect("json"),
        "Tr0ub4dor\"&\"3\\x".to_string(),
    ];
    for f in forms {
        let text = format!("535 5.7.8 you sent [{f}] go away");
        let got = s.scrub(&text);
        assert!(got.contains(REDACTED), "{f:?} -> {got:?}");
        assert!(got.starts_with("535 5.7.8 you sent ["), "{got:?}");
        assert!(got.ends_with("] go away"), "{got:?}");
        assert!(
            !got.contains("Tr0ub4dor") && !got.contains("tr0ub4dor"),
            "{got:?}"
        );
    }
}

#[test]
fn the_xoauth2_payload_and_its_decoded_form_are_redacted() {
    let s = scrubber();
    let payload = crate::net::sasl::xoauth2(USER, TOKEN);
    for text in [
        format!("334 {}", payload.as_str()),
        format!("334 {}", b64(payload.as_bytes())),
        format!("-ERR user={USER}\x01auth=Bearer {TOKEN}\x01\x01"),
        "NO claims {\"upn\":\"alice@contoso.com\",\"canary\":\"Zz\"}".to_string(),
        format!("BAD signature {}", &TOKEN[TOKEN.len() - 26..]),
    ] {
        let got = s.scrub(&text);
        assert!(!got.contains("c2lnbmF0dXJl"), "{got:?}");
        assert!(!got.contains("canary"), "{got:?}");
        assert!(!got.contains("Bearer eyJ"), "{got:?}");
        assert!(!got.chars().any(|c| c.is_control()), "{got:?}");
    }
    // A double encoding decodes to a form the scrubber knows.
    let double = b64(payload.as_bytes());
    let once = crate::net::sasl::decode_challenge(&double).expect("decodes");
    assert_eq!(s.scrub(&once), REDACTED);
}

#[test]
fn a_base64_match_takes_the_whole_run_and_text_without_secrets_is_untouched() {
    let s = scrubber();
    let blob = b64(format!("\0{USER}\0{PW}").as_bytes());
    assert_eq!(
        s.scrub(&format!("A1 BAD [{blob}]")),
        format!("A1 BAD [{REDACTED}]")
    );
    let clean = "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria";
    assert!(matches!(s.redact(clean), Cow::Borrowed(_)));
    assert_eq!(s.scrub(clean), clean);
}

#[test]
fn control_characters_are_shown_escaped() {
    let s = Scrubber::empty();
    assert_eq!(
        s.scrub("220 \u{1b}[2J\u{7}hi\0\r\u{9b}\u{202e}x\n"),
        "220 \\x1b[2J\\x07hi\\x00\\x0d\\u{9b}\\u{202e}x\\x0a"
    );
    assert_eq!(
        s.scrub_keeping_lines("a\u{1b}\nb\n"),
        "a\\x1b\nb\n".to_string()
    );
    assert_eq!(s.scrub("é ok"), "é ok");
    // Every format character, not only the bidirectional ones: the Arabic
    // letter mark, the soft hyphen, the Mongolian vowel separator, tag
    // characters, the paragraph separator.
    assert_eq!(
        s.scrub("a\u{61c}b\u{ad}c\u{180e}d\u{e0041}e\u{2029}f"),
        "a\\u{61c}b\\u{ad}c\\u{180e}d\\u{e0041}e\\u{2029}f"
    );
}

#[test]
fn json_values_are_scrubbed_keys_and_all() {
    let s = scrubber();
    let mut v = serde_json::json!({
        "xoauth2_challenge": format!("user={USER}\u{1}auth=Bearer {TOKEN}\u{1}\u{1}"),
        PW: [PW, 1, null],
    });
    s.scrub_json(&mut v);
    let text = v.to_string();
    assert!(
        !text.contains("Tr0ub4dor") && !text.contains("Bearer eyJ"),
        "{text}"
    );
    assert!(!text.contains("\\u0001"), "{text}");
}

#[test]
fn many_secrets_are_found_quickly() {
    // A batch of a thousand mailboxes: one index, not a scan per form.
    let secrets: Vec<Secret> = (0..1000)
        .map(|i| Secret::new(format!("batch-password-{i:04}")))
        .collect();
    let creds: Vec<Credential> = secrets
        .iter()
        .map(|s| Credential {
            user: USER,
            secret: s,
            token: false,
        })
        .collect();
    let s = Scrubber::new(&creds);
    let text = format!("535 {} no", "word ".repeat(200));
    assert_eq!(s.scrub(&text), text);
    assert_eq!(
        s.scrub("535 batch-password-0999 no"),
        format!("535 {REDACTED} no")
    );
}

#[test]
fn short_secrets_are_still_redacted_as_text() {
    let pw = Secret::new("ab".into());
    let s = Scrubber::new(&[Credential {
        user: USER,
        secret: &pw,
        token: false,
    }]);
    assert_eq!(s.scrub("x ab y"), format!("x {REDACTED} y"));
}

#[test]
fn a_quote_cut_short_or_split_over_lines_is_redacted_too() {
    let s = scrubber();
    let blob = b64(format!("\0{USER}\0{PW}").as_bytes());
    // A server that quotes the first 40 characters of the command.
    let line = format!("AUTH PLAIN {blob}");
    let cut = format!("500 5.5.2 bad command: {}", &line[..40]);
    let got = s.scrub(&cut);
    assert!(got.ends_with(REDACTED), "{got:?}");
    // Any ten characters of the password, wherever they are cut from.
    for at in 0..=PW.len() - 10 {
        let piece = &PW[at..at + 10];
        let got = s.scrub(&format!("535-5.7.8 [{piece}]"));
        assert_eq!(got, format!("535-5.7.8 [{REDACTED}]"), "{piece:?}");
    }
    // A token cut anywhere still loses every ten characters of it.
    let cut_token = &TOKEN[..TOKEN.len() / 2];
    let got = s.scrub(&format!("NO {cut_token}"));
    assert!(
        !got.contains(&TOKEN[TOKEN.len() / 2 - 10..TOKEN.len() / 2]),
        "{got:?}"
    );
}

#[test]
fn the_user_name_and_token_claims_a_report_names_are_not_redacted() {
    let s = scrubber();
    for text in [
        "access token for alice@contoso.com, audience https://outlook.office.com",
        "AUTH XOAUTH2 accepted for alice@contoso.com",
        "A1 NO [AUTHENTICATIONFAILED] user alice@contoso.com",
    ] {
        assert_eq!(s.scrub(text), text);
    }
}

fn token_scrubber(token: &str) -> Scrubber {
    let tok = Secret::new(token.into());
    Scrubber::new(&[Credential {
        user: USER,
        secret: &tok,
        token: true,
    }])
}

/// Every character of `s` as a JSON `\uXXXX` escape (surrogate pairs beyond the BMP).
fn u_escaped(s: &str) -> String {
    s.encode_utf16().map(|u| format!("\\u{u:04X}")).collect()
}

#[test]
fn json_escapes_of_every_kind_are_seen_through() {
    let token = "ya29.a0Af/Hj+x\"q\\Zz-0123456789/end";
    let s = token_scrubber(token);
    let slashed = token
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('/', "\\/");
    let mixed: String = token
        .chars()
        .enumerate()
        .map(|(i, c)| match (i % 3, c) {
            (_, '"') => "\\\"".to_string(),
            (_, '\\') => "\\\\".to_string(),
            (0, c) => u_escaped(&c.to_string()),
            (1, '/') => "\\/".to_string(),
            (_, c) => c.to_string(),
        })
        .collect();
    // Twice escaped: a JSON document quoted as a string inside another one.
    let twice = serde_json::to_string(&format!(
        "{{\"t\":{}}}",
        serde_json::to_string(token).expect("json")
    ))
    .expect("json");
    let payload = crate::net::sasl::xoauth2(USER, token);
    let b64_slashed = payload.replace('/', "\\/");
    for quoted in [slashed, mixed, u_escaped(token), twice, b64_slashed] {
        let text = format!("{{\"status\":\"400\",\"token\":\"{quoted}\",\"scope\":\"x\"}}");
        let got = s.scrub(&text);
        assert!(got.contains(REDACTED), "{text} -> {got}");
        assert!(
            !got.contains("a0Af") && !got.contains("0123456789"),
            "{text} -> {got}"
        );
        assert!(!got.contains("\\u0030\\u0031"), "{text} -> {got}");
        assert!(got.starts_with("{\"status\":\"400\",\"token\":\""), "{got}");
        // What the escapes decode to is not shown either.
        let decoded = crate::net::scrub::tests::decode_json_string(&got);
        assert!(!decoded.contains("0123456789"), "{decoded}");
    }
    // Surrogate pairs: a token with a character beyond the BMP.
    let astral = "pw-\u{1F600}-0123456789abc";
    let s = Scrubber::new(&[Credential {
        user: USER,
        secret: &Secret::new(astral.into()),
        token: false,
    }]);
    let got = s.scrub(&format!("NO \"{}\"", u_escaped(astral)));
    assert_eq!(got, format!("NO \"{REDACTED}\""));
}

#[test]
fn base64_of_a_document_that_quotes_a_secret_with_escapes_is_redacted_whole() {
    let token = "ya29.a0Af/Hj+xq-0123456789/end";
    let s = token_scrubber(token);
    let escaped: String = token
        .chars()
        .enumerate()
        .map(|(i, c)| match c {
            '/' => "\\/".to_string(),
            c if i % 3 == 0 => u_escaped(&c.to_string()),
            c => c.to_string(),
        })
        .collect();
    // An XOAUTH2 error challenge (RFC 7628, 3.2.2) that quotes the token with
    // JSON escapes: base64 of the document, standard and URL-safe, padded or
    // not, after a stray character, and encoded twice.
    let doc = format!("{{\"status\":\"400\",\"token\":\"{escaped}\",\"note\":\"???\"}}");
    let std = b64(doc.as_bytes());
    let url = URL_SAFE.encode(doc.as_bytes());
    let stray = format!("Q{std}");
    let twice = b64(std.as_bytes());
    // Standard base64 with URL-safe characters glued after it: one run.
    assert!(std.contains(['+', '/']), "{std}");
    let glued = format!("{}-_x", std.trim_end_matches('='));
    for blob in [
        &std,
        std.trim_end_matches('='),
        &url,
        &stray,
        &twice,
        &glued,
    ] {
        let got = s.scrub(&format!("334 {blob}"));
        assert_eq!(got, format!("334 {REDACTED}"), "{blob}");
    }
    // A challenge that quotes no secret is left as it is; so is a run that
    // only looks like base64, and text beside a redacted run.
    let clean = b64(br#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#);
    assert_eq!(s.scrub(&format!("334 {clean}")), format!("334 {clean}"));
    let words = "250-SN4PR0501CA0123.outlook.office365.com Hello [198.51.100.7] Authentication";
    assert!(matches!(s.redact(words), Cow::Borrowed(_)));
    assert_eq!(
        s.scrub(&format!("token={std} scope=mail")),
        format!("token={REDACTED} scope=mail")
    );
}

#[test]
fn base64_runs_end_at_padding_and_short_runs_are_not_decoded() {
    let runs: Vec<(usize, usize)> =
        b64_runs(b"a=bcdefghijklmnop== x short QUJDREVGR0hJSktM=").collect();
    assert_eq!(runs, vec![(2, 19), (28, 45)]);
    assert_eq!(b64_runs(b"abcdefghijk").count(), 0);
}

fn decode_json_string(s: &str) -> String {
    let (d, _) = super::json_unescape(s.as_bytes());
    String::from_utf8_lossy(&d).into_owned()
}

#[test]
fn a_huge_repetitive_token_echoed_many_times_is_scrubbed_in_linear_time() {
    let token = format!("ya29.{}", "A".repeat(4000));
    let s = token_scrubber(&token);
    let payload = crate::net::sasl::xoauth2(USER, &token);
    let mut text = String::from("535 5.7.8 ");
    for _ in 0..20 {
        text.push_str(&token);
        text.push(' ');
        text.push_str(&payload);
        text.push(' ');
        text.push_str(&b64(format!("x{token}").as_bytes()));
        text.push(' ');
        text.push_str(&"A".repeat(5000));
        text.push(' ');
    }
    let got = s.scrub(&text);
    assert!(
        !got.contains("AAAAAAAAAA") && !got.contains("QUFBQUFBQUFB"),
        "{}",
        &got[..200]
    );
    assert!(got.starts_with("535 5.7.8 <redacted>"), "{}", &got[..100]);
    // Linear: ten times the text is about ten times the matches, never squared
    // (counted, not timed).
    let mut n_small = 0;
    s.mark(
        &text.as_bytes()[..text.len() / 10],
        DECODE_LEVELS,
        &mut |_, _| n_small += 1,
    );
    let mut n_large = 0;
    s.mark(text.as_bytes(), DECODE_LEVELS, &mut |_, _| n_large += 1);
    assert!(n_large <= 12 * n_small.max(1) + 100, "{n_small} {n_large}");
    assert!(
        n_large <= 4 * text.len(),
        "{n_large} matches in {} bytes",
        text.len()
    );
}
