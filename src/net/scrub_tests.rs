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
