//! Tests of the SMTP line parser and encoders.

use super::*;

fn read_all(lines: &[&str]) -> Reply {
    let mut r = ReplyReader::new();
    let mut out = None;
    for (i, l) in lines.iter().enumerate() {
        let got = r.push(l).expect("valid line");
        if i + 1 < lines.len() {
            assert!(got.is_none(), "reply ended early at {l}");
        } else {
            out = got;
        }
    }
    out.expect("reply complete")
}

// Extension list: https://github.com/harishkrupo/oauth2ms/issues/5 (EHLO after STARTTLS);
// host name from the greeting in https://github.com/simonrob/email-oauth2-proxy/issues/297
const EXCHANGE_EHLO_TLS: &[&str] = &[
    "250-LO4P302CA0005.outlook.office365.com Hello [98.217.221.170]",
    "250-SIZE 157286400",
    "250-PIPELINING",
    "250-DSN",
    "250-ENHANCEDSTATUSCODES",
    "250-AUTH LOGIN XOAUTH2",
    "250-8BITMIME",
    "250-BINARYMIME",
    "250-CHUNKING",
    "250 SMTPUTF8",
];

#[test]
fn exchange_ehlo_after_tls_offers_login_and_xoauth2_only() {
    let reply = read_all(EXCHANGE_EHLO_TLS);
    assert_eq!(reply.code, 250);
    assert_eq!(reply.lines.len(), 10);
    let caps = Capabilities::from_ehlo(&reply);
    assert_eq!(caps.auth_mechanisms, vec!["LOGIN", "XOAUTH2"]);
    assert!(!caps.starttls);
    assert!(caps.pipelining);
    assert!(caps.enhanced_status_codes);
    assert_eq!(caps.size, Some(157_286_400));
    assert!(caps.has("chunking"));
    assert_eq!(caps.raw.len(), 9);
    assert_eq!(choose_auth(&caps, false), Some(Mechanism::Login));
    assert_eq!(choose_auth(&caps, true), Some(Mechanism::XOAuth2));
}

#[test]
fn exchange_ehlo_before_tls_has_starttls_and_no_auth() {
    let mut lines = EXCHANGE_EHLO_TLS.to_vec();
    lines[5] = "250-STARTTLS";
    let caps = Capabilities::from_ehlo(&read_all(&lines));
    assert!(caps.starttls);
    assert!(caps.auth_mechanisms.is_empty());
    assert_eq!(choose_auth(&caps, false), None);
}

#[test]
fn plain_is_preferred_and_old_auth_equals_form_is_read() {
    let reply = read_all(&[
        "250-mx.example Hello",
        "250-AUTH=LOGIN plain",
        "250-auth login PLAIN CRAM-MD5",
        "250 SIZE",
    ]);
    let caps = Capabilities::from_ehlo(&reply);
    assert_eq!(caps.auth_mechanisms, vec!["LOGIN", "PLAIN", "CRAM-MD5"]);
    assert_eq!(caps.size, Some(0));
    assert_eq!(choose_auth(&caps, false), Some(Mechanism::Plain));
    assert_eq!(choose_auth(&caps, true), None);
}

// https://github.com/simonrob/email-oauth2-proxy/issues/193
#[test]
fn exchange_535_5_7_139_carries_the_enhanced_code() {
    let line = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [MN2PR05CA0004.namprd05.prod.outlook.com 2023-09-12T20:59:57.214Z 08DBB276B7E699C4]\r\n";
    let reply = read_all(&[line]);
    assert_eq!(reply.code, 535);
    assert_eq!(reply.enhanced.as_deref(), Some("5.7.139"));
    assert!(reply.is_permanent());
    assert_eq!(reply.raw(), line.trim_end());
    assert!(reply
        .message()
        .starts_with("Authentication unsuccessful, SmtpClientAuthentication is disabled"));
}

// https://github.com/dawidd6/action-send-mail/issues/205 (Gmail, two lines)
#[test]
fn gmail_multi_line_535_is_joined() {
    let lines = [
        "535-5.7.8 Username and Password not accepted. For more information, go to",
        "535 5.7.8  https://support.google.com/mail/?p=BadCredentials af79cd13be357-794f3061475sm18893085a.74 - gsmtp",
    ];
    let reply = read_all(&lines);
    assert_eq!(reply.enhanced.as_deref(), Some("5.7.8"));
    assert_eq!(reply.lines.len(), 2);
    assert_eq!(reply.raw(), lines.join("\n"));
    assert!(reply.text().starts_with(
        "5.7.8 Username and Password not accepted. For more information, go to 5.7.8  https://"
    ));
    assert_eq!(
        reply.message(),
        "Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials af79cd13be357-794f3061475sm18893085a.74 - gsmtp"
    );
}

#[test]
fn auth_login_prompts_are_intermediate() {
    let reply = read_all(&["334 VXNlcm5hbWU6"]);
    assert!(reply.is_intermediate());
    assert_eq!(reply.enhanced, None);
    assert_eq!(reply.lines, vec!["VXNlcm5hbWU6"]);
}

#[test]
fn bare_code_is_a_complete_reply() {
    let reply = read_all(&["250"]);
    assert_eq!(reply.lines, vec![""]);
    assert_eq!(reply.raw(), "250");
}

#[test]
fn garbage_and_bad_separators_are_malformed() {
    for bad in [
        "",
        "25",
        "abc def",
        "250x",
        "2500 ok",
        "099 x",
        "650 x",
        "\u{e9}50 x",
        "25\u{e9}",
    ] {
        let mut r = ReplyReader::new();
        assert!(
            matches!(r.push(bad), Err(ProtoError::Malformed { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn continuation_with_other_code_is_rejected() {
    let mut r = ReplyReader::new();
    assert_eq!(r.push("250-a"), Ok(None));
    assert_eq!(
        r.push("251 b"),
        Err(ProtoError::CodeMismatch {
            first: 250,
            got: 251
        })
    );
    assert!(r.is_idle());
}

#[test]
fn endless_continuation_stops_at_the_line_cap() {
    let mut r = ReplyReader::new();
    let mut err = None;
    for _ in 0..10_000 {
        match r.push("250-x") {
            Ok(None) => {}
            Ok(Some(_)) => panic!("no reply expected"),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    assert!(matches!(
        err,
        Some(ProtoError::TooLong { unit: "lines", .. })
    ));
}

#[test]
fn huge_reply_stops_at_the_byte_cap() {
    let mut r = ReplyReader::new();
    let line = format!("250-{}", "y".repeat(1000));
    let mut n = 0;
    let err = loop {
        match r.push(&line) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert!(matches!(err, ProtoError::TooLong { unit: "bytes", .. }));
    assert!(n * line.len() <= MAX_REPLY_BYTES);
    let one_huge = format!("250 {}", "z".repeat(MAX_REPLY_BYTES));
    assert!(ReplyReader::new().push(&one_huge).is_err());
}

#[test]
fn enhanced_code_needs_three_numeric_parts() {
    assert_eq!(enhanced_code("2.7.0 ok").as_deref(), Some("2.7.0"));
    assert_eq!(enhanced_code("4.7.66 TLS").as_deref(), Some("4.7.66"));
    for no in ["", "5.7", "5.7.1.2", "3.1.1", "5.7.1234", "5.x.1", "Hello"] {
        assert_eq!(enhanced_code(no), None, "{no}");
    }
}

#[test]
fn auth_command_forms_and_redaction() {
    assert_eq!(
        auth_command(Mechanism::Plain, Some("AGEAYg==")).as_str(),
        "AUTH PLAIN AGEAYg=="
    );
    assert_eq!(auth_command(Mechanism::Login, None).as_str(), "AUTH LOGIN");
    assert_eq!(
        auth_command(Mechanism::XOAuth2, Some("")).as_str(),
        "AUTH XOAUTH2 ="
    );
    assert_eq!(
        auth_command_redacted(Mechanism::Plain, true),
        "AUTH PLAIN <redacted>"
    );
}

#[test]
fn ehlo_refuses_line_breaks() {
    assert_eq!(ehlo("client.example").as_deref(), Ok("EHLO client.example"));
    assert!(ehlo("a\r\nMAIL FROM:<x>").is_err());
}

#[test]
fn auth_login_opens_with_the_username_and_falls_back_once_on_a_syntax_error() {
    // The password prompt after the initial response: send the password.
    assert_eq!(
        login_step(334, Some("Password:"), true, true),
        LoginStep::Password
    );
    // A syntax error to `AUTH LOGIN <user>` is no login attempt: the plain form once.
    for code in [500, 501, 504] {
        assert_eq!(
            login_step(code, None, true, true),
            LoginStep::WithoutInitialResponse
        );
        // The plain form refused too: that reply is the answer, nothing more is tried.
        assert_eq!(login_step(code, None, false, false), LoginStep::Done);
    }
    // The plain form: the username prompt, then the password prompt.
    assert_eq!(
        login_step(334, Some("Username:"), false, false),
        LoginStep::User
    );
    assert_eq!(
        login_step(334, Some("Password:"), false, true),
        LoginStep::Password
    );
    // A server that ignored the initial response and asks for the username gets
    // the username, never the password.
    assert_eq!(
        login_step(334, Some("Username:"), true, true),
        LoginStep::User
    );
    // A prompt that cannot be read, before the username has gone: the username.
    assert_eq!(login_step(334, None, false, false), LoginStep::User);
    // Any other reply ends the exchange (535, 454, 421...): no retry of AUTH.
    for code in [235, 421, 454, 535, 530] {
        assert_eq!(login_step(code, None, true, true), LoginStep::Done);
    }
}
