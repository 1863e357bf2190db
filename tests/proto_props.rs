//! Property tests for the line-level protocol parsers and encoders: arbitrary
//! text and arbitrary bytes (lossy UTF-8) never make them panic, what they keep
//! stays within the caps, and encoders round-trip through a parser.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use mailbox_doctor::net::imap_proto::{self, LoginPlan, Response};
use mailbox_doctor::net::pop_proto::{self, Capa, MultiLineReader};
use mailbox_doctor::net::smtp_proto::{self, Capabilities, Reply, ReplyReader};
use mailbox_doctor::net::{excerpt, sasl, ProtoError, EXCERPT_CHARS};
use proptest::prelude::*;

/// Arbitrary bytes read as a server line would be (lossy UTF-8).
fn lossy_line() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..600)
        .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Text, arbitrary or lossy bytes, sometimes with a protocol-looking prefix so
/// that the deeper branches of the parsers are reached.
fn server_line() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "",
        "250-",
        "250 ",
        "535 5.7.8 ",
        "334 ",
        "* ",
        "* OK ",
        "* OK [",
        "A1 OK [",
        "A1 NO ",
        "+ ",
        "+OK ",
        "-ERR [",
        "-ERR ",
        ".",
        "..",
    ]);
    let body = prop_oneof![any::<String>(), lossy_line(), "[ -~]{0,80}"];
    (prefix, body).prop_map(|(p, b)| format!("{p}{b}"))
}

fn reply_total(r: &Reply) -> usize {
    r.lines.iter().map(String::len).sum()
}

proptest! {
    #[test]
    fn excerpt_is_bounded_and_printable(s in server_line()) {
        let e = excerpt(&s);
        prop_assert!(e.chars().count() <= EXCERPT_CHARS);
        prop_assert!(!e.chars().any(char::is_control));
    }

    #[test]
    fn smtp_reader_never_panics_and_respects_caps(lines in prop::collection::vec(server_line(), 0..40)) {
        let mut small = ReplyReader::with_limits(4, 200);
        let mut normal = ReplyReader::new();
        for l in &lines {
            if let Ok(Some(r)) = small.push(l) {
                prop_assert!(r.lines.len() <= 4 && reply_total(&r) <= 200);
                prop_assert!((200..600).contains(&r.code));
            }
            if let Ok(Some(r)) = normal.push(l) {
                prop_assert!(r.lines.len() <= smtp_proto::MAX_REPLY_LINES);
                prop_assert!(reply_total(&r) <= smtp_proto::MAX_REPLY_BYTES);
                let caps = Capabilities::from_ehlo(&r);
                prop_assert!(caps.raw.len() < r.lines.len().max(1));
                for m in &caps.auth_mechanisms {
                    prop_assert!(!m.is_empty() && m.len() <= 20);
                    prop_assert!(m.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_'));
                }
                let _ = smtp_proto::choose_auth(&caps, false);
                prop_assert!(r.message().len() <= r.text().len());
                prop_assert!(r.raw().len() >= r.text().len());
                if let Some(e) = &r.enhanced {
                    prop_assert!(e.len() <= 9);
                }
            }
        }
    }

    #[test]
    fn smtp_valid_replies_round_trip(
        code in 200u16..600,
        texts in prop::collection::vec("[ -~]{1,60}", 1..8),
    ) {
        let n = texts.len();
        let sent: Vec<String> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{code}{}{t}", if i + 1 == n { ' ' } else { '-' }))
            .collect();
        let mut r = ReplyReader::new();
        let mut got = None;
        for (i, l) in sent.iter().enumerate() {
            let out = r.push(&format!("{l}\r\n")).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(out.is_some(), i + 1 == n);
            got = got.or(out);
        }
        let reply = got.ok_or_else(|| TestCaseError::fail("no reply"))?;
        prop_assert_eq!(reply.code, code);
        prop_assert_eq!(&reply.lines, &texts);
        prop_assert_eq!(reply.raw(), sent.join("\n"));
        prop_assert_eq!(reply.text(), texts.join(" "));
    }

    #[test]
    fn smtp_continuation_with_another_code_is_refused(a in 200u16..600, b in 200u16..600) {
        prop_assume!(a != b);
        let mut r = ReplyReader::new();
        prop_assert_eq!(r.push(&format!("{a}-x")), Ok(None));
        prop_assert_eq!(r.push(&format!("{b} y")), Err(ProtoError::CodeMismatch { first: a, got: b }));
    }

    #[test]
    fn sasl_payloads_decode_back(user in any::<String>(), secret in any::<String>()) {
        let plain = STANDARD.decode(sasl::plain_initial(&user, &secret).as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(plain, [b"\0".as_slice(), user.as_bytes(), b"\0", secret.as_bytes()].concat());
        let xo = STANDARD.decode(sasl::xoauth2(&user, &secret).as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(xo, format!("user={user}\x01auth=Bearer {secret}\x01\x01").into_bytes());
        prop_assert_eq!(sasl::decode_challenge(&sasl::login_user(&user)), Some(user.clone()));
        prop_assert_eq!(sasl::decode_challenge(&sasl::login_password(&secret)), Some(secret.clone()));
    }

    #[test]
    fn sasl_challenge_decoding_never_panics(s in server_line()) {
        if let Some(d) = sasl::decode_challenge(&s) {
            prop_assert!(d.len() <= s.len() * 3);
        }
    }

    #[test]
    fn imap_parser_never_panics_and_output_is_bounded(s in server_line()) {
        match imap_proto::parse_response(&s) {
            Ok(Response::Untagged { keyword_or_number, text }) => {
                prop_assert!(keyword_or_number.len() + text.len() <= s.len());
            }
            Ok(Response::Tagged { tag, code, text, .. }) => {
                prop_assert!(!tag.is_empty() && tag.len() <= 64);
                prop_assert!(tag.len() + code.map_or(0, |c| c.len()) + text.len() <= s.len());
            }
            Ok(Response::Continuation(t)) => prop_assert!(t.len() < s.len()),
            Err(ProtoError::Malformed { line_excerpt, .. }) => {
                prop_assert!(line_excerpt.chars().count() <= EXCERPT_CHARS);
            }
            Err(_) => {}
        }
        if let Some((n, _)) = imap_proto::literal_announcement(&s) {
            prop_assert!(n <= imap_proto::MAX_LITERAL);
        }
        let caps = imap_proto::capabilities(&s);
        prop_assert!(caps.len() <= imap_proto::MAX_CAPABILITIES);
        prop_assert!(caps.iter().all(|c| !c.is_empty() && c.is_ascii()));
        if let Some(h) = imap_proto::exchange_backend_host(&s) {
            prop_assert!(h.len() <= 253 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
        }
    }

    #[test]
    fn imap_literal_announcements_round_trip(n in 0usize..=imap_proto::MAX_LITERAL, plus in any::<bool>(), head in "[ -z|~]{0,40}") {
        let line = format!("{head}{{{n}{}}}\r\n", if plus { "+" } else { "" });
        prop_assert_eq!(imap_proto::literal_announcement(&line), Some((n, plus)));
    }

    #[test]
    fn exchange_backend_tag_round_trips(host in "[A-Z0-9]{1,20}(\\.[A-Z0-9-]{1,20}){1,5}") {
        let utf16: Vec<u8> = host.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let greeting = format!("* OK The Microsoft Exchange IMAP4 service is ready. [{}]", STANDARD.encode(utf16));
        prop_assert_eq!(imap_proto::exchange_backend_host(&greeting), Some(host));
    }

    #[test]
    fn imap_login_plan_parses_back(user in any::<String>(), tail in any::<String>(), literal_plus in any::<bool>()) {
        prop_assume!(!user.contains("CANARY"));
        let pass = format!("CANARY{tail}");
        let plan = imap_proto::login_args(&user, &pass, literal_plus).prefixed("A1 LOGIN ");
        let (u, p, literals) = parse_login(&plan).map_err(TestCaseError::fail)?;
        prop_assert_eq!(u, user.as_bytes());
        prop_assert_eq!(p, pass.as_bytes());
        let expected_waits = if literal_plus { 0 } else { literals };
        prop_assert_eq!(plan.waits(), expected_waits);
        prop_assert!(plan.lines.last().is_some_and(|l| !l.wait_continuation));
        for l in &plan.lines {
            prop_assert!(!l.redacted.contains("CANARY"));
            prop_assert!(!l.redacted.contains(['\r', '\n']));
        }
        let shown = format!("{plan:?}");
        prop_assert!(!shown.contains("CANARY"));
    }

    #[test]
    fn pop_parsers_never_panic(s in server_line()) {
        if let Ok(st) = pop_proto::parse_status(&s) {
            prop_assert!(st.text.len() + st.code.map_or(0, |c| c.len()) <= s.len());
        }
        let _ = pop_proto::parse_auth_step(&s);
    }

    #[test]
    fn pop_multi_line_reader_respects_caps(lines in prop::collection::vec(server_line(), 0..60)) {
        let mut r = MultiLineReader::with_limits(8, 300);
        for l in &lines {
            if let Ok(Some(done)) = r.push(l) {
                prop_assert!(done.len() <= 8);
                prop_assert!(done.iter().map(String::len).sum::<usize>() <= 300);
                let capa = Capa::parse(&done);
                prop_assert!(capa.sasl.iter().all(|m| m.len() <= 20));
                prop_assert_eq!(capa.raw.len(), done.len());
            }
        }
    }

    #[test]
    fn pop_dot_stuffing_round_trips(lines in prop::collection::vec("[ -~]{0,40}", 0..30)) {
        let mut r = MultiLineReader::new();
        for l in &lines {
            let stuffed = if l.starts_with('.') { format!(".{l}") } else { l.clone() };
            prop_assert_eq!(r.push(&format!("{stuffed}\r\n")), Ok(None));
        }
        prop_assert_eq!(r.push(".\r\n"), Ok(Some(lines)));
    }
}

/// Reads `TAG LOGIN astring SP astring CRLF` back from what the plan sends:
/// (user, password, number of literals).
fn parse_login(plan: &LoginPlan) -> Result<(Vec<u8>, Vec<u8>, usize), String> {
    let wire: Vec<u8> = plan
        .lines
        .iter()
        .flat_map(|l| l.bytes.iter().copied())
        .collect();
    let rest = wire
        .strip_prefix(b"A1 LOGIN ".as_slice())
        .ok_or("no prefix")?;
    let mut literals = 0;
    let (user, rest) = parse_astring(rest, &mut literals)?;
    let rest = rest.strip_prefix(b" ".as_slice()).ok_or("no space")?;
    let (pass, rest) = parse_astring(rest, &mut literals)?;
    if rest != b"\r\n" {
        return Err(format!("trailing {rest:?}"));
    }
    Ok((user, pass, literals))
}

fn parse_astring<'a>(s: &'a [u8], literals: &mut usize) -> Result<(Vec<u8>, &'a [u8]), String> {
    match s.first() {
        Some(b'"') => {
            let mut out = Vec::new();
            let mut i = 1;
            loop {
                match s.get(i) {
                    Some(b'\\') => {
                        let c = *s.get(i + 1).ok_or("dangling escape")?;
                        if c != b'\\' && c != b'"' {
                            return Err("bad escape".into());
                        }
                        out.push(c);
                        i += 2;
                    }
                    Some(b'"') => return Ok((out, &s[i + 1..])),
                    Some(b'\r' | b'\n' | 0) => return Err("CR, LF or NUL in quoted".into()),
                    Some(&c) if c >= 0x80 => return Err("8-bit in quoted".into()),
                    Some(&c) => {
                        out.push(c);
                        i += 1;
                    }
                    None => return Err("unterminated quoted".into()),
                }
            }
        }
        Some(b'{') => {
            let end = s.iter().position(|&b| b == b'}').ok_or("no }")?;
            let inner = std::str::from_utf8(&s[1..end]).map_err(|e| e.to_string())?;
            let n: usize = inner
                .trim_end_matches('+')
                .parse()
                .map_err(|_| "bad size")?;
            let body = s[end + 1..]
                .strip_prefix(b"\r\n".as_slice())
                .ok_or("no CRLF after literal")?;
            if body.len() < n {
                return Err("short literal".into());
            }
            *literals += 1;
            Ok((body[..n].to_vec(), &body[n..]))
        }
        _ => Err("not a string".into()),
    }
}
