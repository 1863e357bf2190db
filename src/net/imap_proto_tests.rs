use super::*;

// https://github.com/simonrob/email-oauth2-proxy/issues/68
const EXCHANGE_GREETING: &str = "* OK The Microsoft Exchange IMAP4 service is ready. [TQBSADEAUAAyADYANABDAEEAMAAxADQANgAuAEYAUgBBAFAAMgA2ADQALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]";

#[test]
fn exchange_greeting_is_untagged_ok_and_names_the_backend() {
    let r = parse_response(&format!("{EXCHANGE_GREETING}\r\n")).expect("parses");
    match &r {
        Response::Untagged {
            keyword_or_number,
            text,
        } => {
            assert_eq!(keyword_or_number, "OK");
            assert!(text.starts_with("The Microsoft Exchange IMAP4 service is ready."));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(r.code(), None);
    assert_eq!(
        exchange_backend_host(EXCHANGE_GREETING).as_deref(),
        Some("MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM")
    );
}

// https://github.com/simonrob/email-oauth2-proxy/issues/238
#[test]
fn exchange_pop_greeting_names_the_backend_too() {
    let g = "+OK The Microsoft Exchange POP3 service is ready. [UABBADcAUAAyADYANABDAEEAMAAxADMANwAuAEYAUgBBAFAAMgA2ADQALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]";
    assert_eq!(
        exchange_backend_host(g).as_deref(),
        Some("PA7P264CA0137.FRAP264.PROD.OUTLOOK.COM")
    );
}

#[test]
fn other_greetings_name_no_backend() {
    for g in [
        "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot (Debian) ready.",
        "* OK Gimap ready for requests from 192.0.2.1 a1mb12345",
        "* OK [ALERT] x [",
        "* OK [////]",
        "* OK [AAA=]",
    ] {
        assert_eq!(exchange_backend_host(g), None, "{g}");
    }
}

// https://github.com/home-assistant/core/issues/122468
#[test]
fn exchange_capability_list_is_read() {
    let line = "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+";
    let Response::Untagged {
        keyword_or_number,
        text,
    } = parse_response(line).expect("parses")
    else {
        panic!("untagged expected")
    };
    assert_eq!(keyword_or_number, "CAPABILITY");
    let from_text = capabilities(&text);
    assert_eq!(from_text, capabilities(line));
    assert_eq!(from_text.len(), 12);
    assert!(from_text.contains(&"SASL-IR".to_string()));
    assert!(from_text.contains(&"LITERAL+".to_string()));
    assert!(from_text.contains(&"AUTH=XOAUTH2".to_string()));
}

#[test]
fn capability_code_in_greeting_and_tagged_ok_is_read() {
    let greeting = "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED AUTH=PLAIN] Dovecot (Debian) ready.";
    let caps = capabilities(greeting);
    assert!(caps.contains(&"LOGINDISABLED".to_string()));
    assert!(!caps.iter().any(|c| c.contains("DOVECOT")));
    let r = parse_response(greeting).expect("parses");
    assert!(r.code().is_some_and(|c| c.starts_with("CAPABILITY ")));
    let tagged = parse_response("A1 OK [CAPABILITY IMAP4rev1 idle] Logged in").expect("parses");
    let code = tagged.code().expect("code");
    assert_eq!(capabilities(code), vec!["IMAP4REV1", "IDLE"]);
}

// https://github.com/jstedfast/MailKit/issues/460 and mscdex/node-imap#523
#[test]
fn exchange_failures_are_tagged_no_and_bad() {
    assert_eq!(
        parse_response("A00000002 NO LOGIN failed.\r\n"),
        Ok(Response::Tagged {
            tag: "A00000002".into(),
            status: Status::No,
            code: None,
            text: "LOGIN failed.".into()
        })
    );
    assert_eq!(
        parse_response("A3 BAD User is authenticated but not connected."),
        Ok(Response::Tagged {
            tag: "A3".into(),
            status: Status::Bad,
            code: None,
            text: "User is authenticated but not connected.".into()
        })
    );
}

#[test]
fn dovecot_authenticationfailed_code_is_split_off() {
    let r = parse_response("a NO [AUTHENTICATIONFAILED] Authentication failed.").expect("parses");
    assert_eq!(r.code(), Some("AUTHENTICATIONFAILED"));
    let Response::Tagged { text, .. } = r else {
        panic!("tagged expected")
    };
    assert_eq!(text, "Authentication failed.");
}

#[test]
fn continuations_bye_and_numbers() {
    assert_eq!(
        parse_response("+"),
        Ok(Response::Continuation(String::new()))
    );
    assert_eq!(
        parse_response("+ "),
        Ok(Response::Continuation(String::new()))
    );
    assert_eq!(
        parse_response("+ eyJzdGF0dXMiOiI0MDEifQ=="),
        Ok(Response::Continuation("eyJzdGF0dXMiOiI0MDEifQ==".into()))
    );
    assert_eq!(
        parse_response("* BYE Connection closed. 14"),
        Ok(Response::Untagged {
            keyword_or_number: "BYE".into(),
            text: "Connection closed. 14".into()
        })
    );
    assert_eq!(
        parse_response("* 3 EXISTS"),
        Ok(Response::Untagged {
            keyword_or_number: "3".into(),
            text: "EXISTS".into()
        })
    );
    assert!(matches!(
        parse_response("* PREAUTH [ALERT] hi").map(|r| r.code().map(str::to_string)),
        Ok(Some(c)) if c == "ALERT"
    ));
}

#[test]
fn garbage_is_malformed() {
    for bad in [
        "",
        "*",
        "* ",
        "A1",
        "A1 MAYBE done",
        "A(1 OK x",
        "\u{0}\u{1} OK",
        "*  OK",
    ] {
        assert!(
            matches!(parse_response(bad), Err(ProtoError::Malformed { .. })),
            "{bad:?}"
        );
    }
    let huge = format!("* OK {}", "x".repeat(MAX_LINE_BYTES));
    assert!(matches!(
        parse_response(&huge),
        Err(ProtoError::TooLong { .. })
    ));
}

#[test]
fn literal_announcements() {
    assert_eq!(
        literal_announcement("* 1 FETCH (BODY[] {12}\r\n"),
        Some((12, false))
    );
    assert_eq!(literal_announcement("A1 LOGIN {5+}"), Some((5, true)));
    assert_eq!(literal_announcement("* OK {x}"), None);
    assert_eq!(literal_announcement("* OK {}"), None);
    assert_eq!(literal_announcement("* OK done"), None);
    assert_eq!(literal_announcement("* OK {99999999999999999999999}"), None);
    assert!(matches!(
        check_literal("* OK {99999999999999999999999}"),
        Err(ProtoError::TooLong { .. })
    ));
    assert!(check_literal(&format!("x {{{}}}", MAX_LITERAL + 1)).is_err());
    assert_eq!(
        check_literal(&format!("x {{{MAX_LITERAL}}}")),
        Ok(Some((MAX_LITERAL, false)))
    );
}

fn plan_text(plan: &LoginPlan) -> Vec<String> {
    plan.lines
        .iter()
        .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
        .collect()
}

#[test]
fn simple_login_is_one_quoted_line() {
    let plan = login_args("user@example.com", "pa\"ss\\word", false).prefixed("A1 LOGIN ");
    assert_eq!(
        plan_text(&plan),
        vec!["A1 LOGIN \"user@example.com\" \"pa\\\"ss\\\\word\"\r\n"]
    );
    assert_eq!(plan.waits(), 0);
    assert_eq!(
        plan.lines[0].redacted,
        "A1 LOGIN \"user@example.com\" <redacted>"
    );
}

#[test]
fn non_ascii_password_goes_as_a_synchronizing_literal() {
    let plan = login_args("u", "pässwörd", false).prefixed("A2 LOGIN ");
    assert_eq!(
        plan_text(&plan),
        vec!["A2 LOGIN \"u\" {10}\r\n", "pässwörd\r\n"]
    );
    assert!(plan.lines[0].wait_continuation);
    assert!(!plan.lines[1].wait_continuation);
    assert_eq!(plan.lines[0].redacted, "A2 LOGIN \"u\" <redacted>");
    assert_eq!(plan.lines[1].redacted, "<redacted>");
}

#[test]
fn literal_plus_avoids_waits_and_user_literal_comes_first() {
    let plan = login_args("ü", "a\r\nb", true);
    assert_eq!(
        plan_text(&plan),
        vec!["{2+}\r\n", "ü {4+}\r\n", "a\r\nb\r\n"]
    );
    assert_eq!(plan.waits(), 0);
    let long = "x".repeat(MAX_QUOTED + 1);
    let plan = login_args("u", &long, false);
    assert_eq!(plan.lines.len(), 2);
    assert_eq!(plan.waits(), 1);
}

#[test]
fn plan_debug_never_shows_the_password() {
    let plan = login_args("u", "canary-secret", false);
    assert!(!format!("{plan:?}").contains("canary"));
    assert!(plan.lines.iter().all(|l| !l.redacted.contains("canary")));
}

#[test]
fn authenticate_forms() {
    assert_eq!(
        authenticate_command("A1", "PLAIN", Some("AHUAcA==")).as_str(),
        "A1 AUTHENTICATE PLAIN AHUAcA=="
    );
    assert_eq!(
        authenticate_command("A1", "PLAIN", Some("")).as_str(),
        "A1 AUTHENTICATE PLAIN ="
    );
    assert_eq!(
        authenticate_redacted("A1", "PLAIN", true),
        "A1 AUTHENTICATE PLAIN <redacted>"
    );
}

#[test]
fn tags_count_up() {
    let mut t = Tags::new();
    assert_eq!(t.next().as_deref(), Some("A1"));
    assert_eq!(t.next().as_deref(), Some("A2"));
}
