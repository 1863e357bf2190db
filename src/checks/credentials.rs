//! The `credentials` check: what was pasted, examined without ever echoing it.
//! Leading, trailing and inner whitespace, line breaks, invisible characters,
//! wrapping quotes, an app password pasted in its display groups, the provider's
//! app-password shape, and characters legacy apps mangle; and the username's form.
//! Every finding says where (character position) and names the character
//! (`U+200B ZERO WIDTH SPACE`), but never shows the password's own letters.
//!
//! The analysis is pure (`analyze_password`, `analyze_username`) so it can be
//! property-tested; the character tables and shapes come from `checks/`.

use super::{BoxFuture, Check, CheckId, CheckResult, Ctx, Finding, Status};
use crate::knowledge::{parse_cp, Knowledge, ProviderDef, Severity};

pub struct Credentials;

impl Check for Credentials {
    fn id(&self) -> CheckId {
        CheckId::Credentials
    }
    fn needs(&self) -> &'static [CheckId] {
        &[]
    }
    fn describe(&self) -> &'static str {
        "examine the pasted password and the username (offline, never echoed)"
    }
    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(async move { run(ctx) })
    }
}

fn run(ctx: &Ctx) -> CheckResult {
    let provider = ctx.kb.provider(&ctx.target.provider);
    let mut findings = analyze_username(ctx.kb, &ctx.target.user, provider);
    if let Some(token) = &ctx.token {
        let (f, summary) = review_token(ctx, token.expose());
        findings.extend(f);
        return CheckResult::new(CheckResult::status_from(&findings), summary)
            .with_findings(findings);
    }
    let Some(secret) = &ctx.secret else {
        let status = CheckResult::status_from(&findings);
        let summary = if findings.is_empty() {
            "no password given; username looks right".to_string()
        } else {
            "no password given; the username has a problem".to_string()
        };
        let status = if status == Status::Pass {
            Status::Skip
        } else {
            status
        };
        return CheckResult::new(status, summary).with_findings(findings);
    };
    let (pw_findings, summary) = analyze_password(ctx.kb, secret.expose(), provider);
    findings.extend(pw_findings);
    let status = CheckResult::status_from(&findings);
    CheckResult::new(status, summary).with_findings(findings)
}

/// What an OAuth access token's claims say (read, not verified) for the protocols
/// this run tests.
fn review_token(ctx: &Ctx, token: &str) -> (Vec<Finding>, String) {
    use crate::knowledge::Protocol;
    let mut protocols: Vec<Protocol> = [Protocol::Smtp, Protocol::Imap, Protocol::Pop]
        .into_iter()
        .filter(|p| ctx.selected.contains(&p.check_id()) && ctx.target.endpoint(*p).is_some())
        .collect();
    if protocols.is_empty() {
        protocols = ctx.target.endpoints.iter().map(|e| e.protocol).collect();
    }
    let Some(claims) = crate::oauth::decode_claims(token) else {
        return (
            Vec::new(),
            "an opaque access token (not a JWT): its claims cannot be read; it is sent as is"
                .into(),
        );
    };
    let now = chrono::Utc::now().timestamp();
    let findings = crate::oauth::review(&claims, &ctx.target.user, &protocols, now);
    let expiry = match claims.expires {
        Some(e) if e > now => format!("expires in {} min", (e - now) / 60),
        Some(_) => "expired".to_string(),
        None => "no expiry".to_string(),
    };
    let mut summary = format!(
        "access token for {}, audience {}, {expiry}",
        claims.user.as_deref().unwrap_or("an application"),
        claims
            .audience
            .first()
            .map(String::as_str)
            .unwrap_or("none")
    );
    if findings.is_empty() {
        summary.push_str("; scopes fit");
    }
    (findings, summary)
}

/// `U+200B ZERO WIDTH SPACE`, from the tables in checks/credentials.toml.
fn char_name(kb: &Knowledge, c: char) -> Option<String> {
    kb.credentials
        .invisible
        .iter()
        .chain(&kb.credentials.spaces)
        .chain(&kb.credentials.quotes)
        .find(|d| parse_cp(&d.cp) == Some(c))
        .map(|d| format!("{} {}", d.cp, d.name))
}

fn in_table(table: &[crate::knowledge::CharDef], c: char) -> bool {
    table.iter().any(|d| parse_cp(&d.cp) == Some(c))
}

fn is_space(kb: &Knowledge, c: char) -> bool {
    in_table(&kb.credentials.spaces, c) || (c.is_whitespace() && !c.is_ascii_graphic())
}

fn is_invisible(kb: &Knowledge, c: char) -> bool {
    in_table(&kb.credentials.invisible, c) || (c.is_control() && !c.is_whitespace())
}

fn name_or_cp(kb: &Knowledge, c: char) -> String {
    char_name(kb, c).unwrap_or_else(|| format!("U+{:04X} (a control character)", c as u32))
}

/// Joins up to five items, then "and N more".
fn list(items: &[String]) -> String {
    if items.len() <= 5 {
        items.join("; ")
    } else {
        format!("{}; and {} more", items[..5].join("; "), items.len() - 5)
    }
}

const QUOTE_PAIRS: &[(char, char)] = &[
    ('"', '"'),
    ('\'', '\''),
    ('`', '`'),
    ('\u{201C}', '\u{201D}'),
    ('\u{201D}', '\u{201D}'),
    ('\u{2018}', '\u{2019}'),
    ('\u{2019}', '\u{2019}'),
    ('\u{00AB}', '\u{00BB}'),
    ('\u{201E}', '\u{201C}'),
];

/// Findings about a pasted password and a one-line summary. Never includes the
/// password's letters: only positions, counts and the names of whitespace,
/// invisible and quote characters.
pub fn analyze_password(
    kb: &Knowledge,
    pw: &str,
    provider: Option<&ProviderDef>,
) -> (Vec<Finding>, String) {
    let chars: Vec<char> = pw.chars().collect();
    let n = chars.len();
    let mut findings = Vec::new();
    if n == 0 {
        findings.push(Finding::new(
            "CRED_WHITESPACE",
            Severity::Critical,
            "the password is empty",
        ));
        return (findings, "the password is empty".into());
    }
    let at = |i: usize| format!("character {} of {n}", i + 1);
    let shape = provider.and_then(|p| p.app_password.as_ref());
    let pname = provider.map(|p| p.name.as_str()).unwrap_or("the provider");

    // Quotes around the whole value.
    let quoted = n >= 3
        && QUOTE_PAIRS
            .iter()
            .any(|(a, b)| chars[0] == *a && chars[n - 1] == *b);
    if quoted {
        findings.push(Finding::new(
            "CRED_QUOTED",
            Severity::Critical,
            format!(
                "the password starts with {} and ends with {}; the quotes were probably copied with it",
                name_or_cp(kb, chars[0]),
                name_or_cp(kb, chars[n - 1])
            ),
        ));
    }

    // What is left once quotes and surrounding whitespace are gone.
    let core: String = {
        let s: String = if quoted {
            chars[1..n - 1].iter().collect()
        } else {
            pw.to_string()
        };
        s.trim_matches(|c: char| is_space(kb, c) || is_invisible(kb, c))
            .to_string()
    };

    // Display groups: `abcd efgh ijkl mnop` / `abcd-efgh-ijkl-mnop`.
    let mut grouped_handled = false;
    if let Some(sh) = shape {
        if let (Some(size), Ok(re)) = (sh.group_size, regex::Regex::new(&sh.pattern)) {
            let groups: Vec<&str> = core.split([' ', '-', '\u{00A0}', '\t']).collect();
            let seps: Vec<char> = core
                .chars()
                .filter(|c| [' ', '-', '\u{00A0}', '\t'].contains(c))
                .collect();
            let even = groups.len() > 1 && groups.iter().all(|g| g.chars().count() == size);
            if even {
                if sh.separators_are_part {
                    let joined = groups.join("-");
                    if seps.iter().any(|c| *c != '-') && re.is_match(&joined) {
                        findings.push(Finding::new(
                            "CRED_GROUPED_APP_PASSWORD",
                            Severity::Critical,
                            format!("{pname} app passwords are {}; this one has spaces where the hyphens belong", sh.description),
                        ));
                        grouped_handled = true;
                    } else if re.is_match(&core) {
                        grouped_handled = true;
                    }
                } else {
                    let joined: String = groups.concat();
                    if re.is_match(&joined) {
                        let sep = match seps.first() {
                            Some('-') => "hyphens",
                            _ => "spaces",
                        };
                        let sev = if provider.is_some_and(|p| p.id == "gmail") {
                            Severity::Warning
                        } else {
                            Severity::Critical
                        };
                        findings.push(Finding::new(
                            "CRED_GROUPED_APP_PASSWORD",
                            sev,
                            format!(
                                "this is a {pname} app password pasted in {} groups separated by {sep}; type the {} letters without the {sep}",
                                groups.len(),
                                sh.length
                            ),
                        ));
                        grouped_handled = true;
                    }
                }
            }
        }
    }

    // Whitespace, by place.
    let first_visible = chars
        .iter()
        .position(|c| !is_space(kb, *c) && !is_invisible(kb, *c));
    let last_visible = chars
        .iter()
        .rposition(|c| !is_space(kb, *c) && !is_invisible(kb, *c));
    let mut edge = Vec::new();
    let mut breaks = Vec::new();
    let mut inner_ascii = Vec::new();
    let mut inner_unicode = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        if !is_space(kb, c) {
            continue;
        }
        let place = match (first_visible, last_visible) {
            (Some(f), _) if i < f => Some("leading"),
            (_, Some(l)) if i > l => Some("trailing"),
            (None, _) => Some("only whitespace"),
            _ => None,
        };
        let d = format!("{} is {}", at(i), name_or_cp(kb, c));
        if matches!(c, '\n' | '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}') {
            breaks.push(format!("{d} (a line break)"));
        } else if let Some(p) = place {
            edge.push(format!("{d} ({p})"));
        } else if c == ' ' || c == '\t' {
            inner_ascii.push(d);
        } else {
            inner_unicode.push(d);
        }
    }
    if !edge.is_empty() {
        findings.push(Finding::new(
            "CRED_WHITESPACE",
            Severity::Critical,
            format!(
                "{}: whitespace at the start or end is almost never part of a password",
                list(&edge)
            ),
        ));
    }
    if !breaks.is_empty() {
        findings.push(Finding::new(
            "CRED_WHITESPACE",
            Severity::Critical,
            format!(
                "{}: a line break was pasted with the password",
                list(&breaks)
            ),
        ));
    }
    if !inner_unicode.is_empty() {
        findings.push(Finding::new(
            "CRED_WHITESPACE",
            Severity::Critical,
            format!("{}: a special space that looks like a normal one (pasted from a web page or document)", list(&inner_unicode)),
        ));
    }
    if !inner_ascii.is_empty() && !grouped_handled {
        findings.push(Finding::new(
            "CRED_WHITESPACE",
            Severity::Warning,
            format!(
                "{}: a space inside the password; correct only if the password really has one",
                list(&inner_ascii)
            ),
        ));
    }

    // Invisible characters.
    let invisible: Vec<String> = chars
        .iter()
        .enumerate()
        .filter(|(_, c)| is_invisible(kb, **c) && !is_space(kb, **c))
        .map(|(i, c)| format!("{} is {}", at(i), name_or_cp(kb, *c)))
        .collect();
    if !invisible.is_empty() {
        findings.push(Finding::new(
            "CRED_INVISIBLE_CHAR",
            Severity::Critical,
            format!(
                "{}: an invisible character that the server will compare too",
                list(&invisible)
            ),
        ));
    }

    // Non-ASCII characters that are not spaces, quotes or invisible ones.
    let non_ascii: Vec<String> = chars
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !c.is_ascii()
                && !is_space(kb, **c)
                && !is_invisible(kb, **c)
                && !(quoted && (*i == 0 || *i == n - 1))
        })
        .map(|(i, c)| {
            let kind = if c.is_alphabetic() {
                "a non-ASCII letter"
            } else {
                "a non-ASCII symbol"
            };
            format!("{} is {kind}", at(i))
        })
        .collect();
    if !non_ascii.is_empty() {
        findings.push(Finding::new(
            "CRED_NON_ASCII",
            Severity::Warning,
            format!(
                "{}: older devices and apps often send such characters in another encoding",
                list(&non_ascii)
            ),
        ));
    }

    // The provider's app-password shape, on the cleaned value.
    let mut summary = None;
    if let Some(sh) = shape {
        let cleaned: String = if sh.separators_are_part {
            core.replace(' ', "-")
        } else {
            core.chars()
                .filter(|c| !matches!(c, ' ' | '-' | '\u{00A0}' | '\t'))
                .collect()
        };
        let fits = regex::Regex::new(&sh.pattern).is_ok_and(|re| re.is_match(&cleaned));
        if fits {
            summary = Some(format!(
                "{n} characters, shaped like a {pname} app password"
            ));
        } else {
            let likely = if sh.confidence == "documented" {
                ""
            } else {
                "likely "
            };
            let looks_human = cleaned
                .chars()
                .any(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c.is_ascii_punctuation());
            let why = if looks_human {
                "it has capitals, digits or symbols, so it looks like the account password"
            } else {
                "its length or letters differ"
            };
            let (sev, advice) = match provider.map(|p| p.id.as_str()) {
                Some("microsoft365") => (
                    Severity::Info,
                    "that is fine for an account without MFA; with per-user MFA, SMTP AUTH needs an app password",
                ),
                _ => (Severity::Warning, "this provider refuses the account password in mail apps"),
            };
            findings.push(Finding::new(
                "CRED_APP_PASSWORD_SHAPE",
                sev,
                format!(
                    "not {likely}a {pname} app password ({}): {why}; {advice}",
                    sh.description
                ),
            ));
        }
    }
    let problems = findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .count();
    let summary = match (problems, summary) {
        (0, Some(s)) => s,
        (0, None) => format!("{n} characters; no pasting problems found"),
        (k, _) => {
            let codes: Vec<&str> = findings
                .iter()
                .filter(|f| f.severity != Severity::Info)
                .map(|f| short(&f.code))
                .collect();
            format!(
                "{k} problem{} in the pasted password: {}",
                if k == 1 { "" } else { "s" },
                codes.join(", ")
            )
        }
    };
    (findings, summary)
}

fn short(code: &str) -> &'static str {
    match code {
        "CRED_WHITESPACE" => "whitespace",
        "CRED_INVISIBLE_CHAR" => "invisible character",
        "CRED_QUOTED" => "quotes",
        "CRED_GROUPED_APP_PASSWORD" => "display groups",
        "CRED_NON_ASCII" => "non-ASCII",
        "CRED_APP_PASSWORD_SHAPE" => "not an app password",
        _ => "other",
    }
}

/// Findings about the username (it is not secret, so it may be quoted).
pub fn analyze_username(
    kb: &Knowledge,
    user: &str,
    provider: Option<&ProviderDef>,
) -> Vec<Finding> {
    let mut problems = Vec::new();
    let lower = user.to_ascii_lowercase();
    if lower.starts_with("mailto:") {
        problems.push("it starts with `mailto:`; use only the address".to_string());
    }
    if user.contains('<') || user.contains('>') {
        problems.push(
            "it has angle brackets (a display name was copied); use only the address inside them"
                .into(),
        );
    }
    if user.contains('\\') {
        problems.push(
            "it is in DOMAIN\\user form; cloud mail wants the full address, user@domain".into(),
        );
    }
    if let Some(i) = user.chars().position(|c| is_space(kb, c)) {
        problems.push(format!(
            "character {} of {} is {}",
            i + 1,
            user.chars().count(),
            name_or_cp(kb, user.chars().nth(i).unwrap_or(' '))
        ));
    }
    if let Some(i) = user.chars().position(|c| is_invisible(kb, c)) {
        problems.push(format!(
            "character {} of {} is {}",
            i + 1,
            user.chars().count(),
            name_or_cp(kb, user.chars().nth(i).unwrap_or(' '))
        ));
    }
    let wants_address = provider.is_none_or(|p| p.username == "address");
    if wants_address && !user.contains('@') && !user.contains('\\') {
        problems.push(
            "it is not a full e-mail address (user@domain), which this provider needs".into(),
        );
    }
    if user.trim_end().ends_with('.') {
        problems.push("it ends with a dot".into());
    }
    if user.matches('@').count() > 1 && !lower.starts_with("mailto:") {
        problems.push("it has more than one @".into());
    }
    if problems.is_empty() {
        return Vec::new();
    }
    vec![Finding::new(
        "CRED_USERNAME_FORMAT",
        Severity::Critical,
        format!("the username `{user}` looks wrong: {}", problems.join("; ")),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb() -> &'static Knowledge {
        crate::knowledge::get().expect("knowledge base")
    }

    fn codes(pw: &str, provider: &str) -> Vec<(String, String)> {
        let (f, _) = analyze_password(kb(), pw, kb().provider(provider));
        f.into_iter().map(|f| (f.code, f.message)).collect()
    }

    fn has(pw: &str, provider: &str, code: &str, needle: &str) {
        let got = codes(pw, provider);
        assert!(
            got.iter().any(|(c, m)| c == code && m.contains(needle)),
            "{pw:?} on {provider}: want {code} containing {needle:?}, got {got:#?}"
        );
    }

    #[test]
    fn a_clean_app_password_passes_with_its_shape_named() {
        let (f, s) = analyze_password(kb(), "abcdefghijklmnop", kb().provider("microsoft365"));
        assert!(f.is_empty(), "{f:?}");
        assert!(s.contains("shaped like a Microsoft 365"), "{s}");
        let (f, _) = analyze_password(kb(), "dksi-umcn-pqcz-kdit", kb().provider("icloud"));
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn leading_trailing_and_line_breaks_are_found_with_positions() {
        has(
            "abcdefghijklmnop ",
            "microsoft365",
            "CRED_WHITESPACE",
            "character 17 of 17 is U+0020 SPACE (trailing)",
        );
        has(
            " abcdefghijklmnop",
            "microsoft365",
            "CRED_WHITESPACE",
            "character 1 of 17 is U+0020 SPACE (leading)",
        );
        has(
            "abcdefghijklmnop\t",
            "microsoft365",
            "CRED_WHITESPACE",
            "U+0009 CHARACTER TABULATION (TAB) (trailing)",
        );
        has(
            "abcdefghijklmnop\r",
            "microsoft365",
            "CRED_WHITESPACE",
            "character 17 of 17 is U+000D CARRIAGE RETURN (a line break)",
        );
        has(
            "pass word",
            "generic",
            "CRED_WHITESPACE",
            "character 5 of 9 is U+0020 SPACE",
        );
    }

    #[test]
    fn unicode_spaces_and_invisible_characters_are_named() {
        has(
            "abcdefgh\u{00A0}ijklmnop",
            "generic",
            "CRED_WHITESPACE",
            "character 9 of 17 is U+00A0 NO-BREAK SPACE",
        );
        has(
            "abcdefgh\u{202F}x",
            "generic",
            "CRED_WHITESPACE",
            "U+202F NARROW NO-BREAK SPACE",
        );
        has(
            "abcd\u{200B}efghijklmnop",
            "microsoft365",
            "CRED_INVISIBLE_CHAR",
            "character 5 of 17 is U+200B ZERO WIDTH SPACE",
        );
        has(
            "\u{FEFF}abcdefghijklmnop",
            "microsoft365",
            "CRED_INVISIBLE_CHAR",
            "character 1 of 17 is U+FEFF",
        );
        has(
            "abc\u{00AD}def",
            "generic",
            "CRED_INVISIBLE_CHAR",
            "U+00AD SOFT HYPHEN",
        );
        has(
            "abc\u{2060}def",
            "generic",
            "CRED_INVISIBLE_CHAR",
            "U+2060 WORD JOINER",
        );
        has(
            "abc\u{200D}def",
            "generic",
            "CRED_INVISIBLE_CHAR",
            "U+200D ZERO WIDTH JOINER",
        );
    }

    #[test]
    fn quotes_straight_and_smart() {
        has(
            "\"abcdefghijklmnop\"",
            "microsoft365",
            "CRED_QUOTED",
            "U+0022 QUOTATION MARK",
        );
        has(
            "\u{201C}abcdefghijklmnop\u{201D}",
            "microsoft365",
            "CRED_QUOTED",
            "U+201C LEFT DOUBLE QUOTATION MARK",
        );
        has("'secret'", "generic", "CRED_QUOTED", "U+0027 APOSTROPHE");
    }

    #[test]
    fn display_groups_are_recognised_per_provider() {
        has(
            "abcd efgh ijkl mnop",
            "microsoft365",
            "CRED_GROUPED_APP_PASSWORD",
            "4 groups separated by spaces",
        );
        has(
            "abcd-efgh-ijkl-mnop",
            "microsoft365",
            "CRED_GROUPED_APP_PASSWORD",
            "separated by hyphens",
        );
        has(
            "abcd efgh ijkl mnop",
            "gmail",
            "CRED_GROUPED_APP_PASSWORD",
            "Gmail",
        );
        has(
            "dksi umcn pqcz kdit",
            "icloud",
            "CRED_GROUPED_APP_PASSWORD",
            "spaces where the hyphens belong",
        );
        // A grouped app password is not also reported as inner whitespace.
        assert!(!codes("abcd efgh ijkl mnop", "microsoft365")
            .iter()
            .any(|(c, _)| c == "CRED_WHITESPACE"));
    }

    #[test]
    fn an_account_password_where_an_app_password_is_expected() {
        has(
            "Summer2026!",
            "gmail",
            "CRED_APP_PASSWORD_SHAPE",
            "looks like the account password",
        );
        has(
            "Summer2026!",
            "microsoft365",
            "CRED_APP_PASSWORD_SHAPE",
            "likely",
        );
        let (f, _) = analyze_password(kb(), "Summer2026!", kb().provider("microsoft365"));
        assert!(
            f.iter().all(|f| f.severity == Severity::Info),
            "M365 without MFA may use it"
        );
    }

    #[test]
    fn non_ascii_is_flagged_without_revealing_it() {
        let got = codes("pässword", "generic");
        let (_, m) = got
            .iter()
            .find(|(c, _)| c == "CRED_NON_ASCII")
            .expect("finding");
        assert!(m.contains("character 2 of 8 is a non-ASCII letter"), "{m}");
        assert!(!m.contains('ä'));
    }

    #[test]
    fn usernames() {
        let bad = |u: &str, needle: &str| {
            let f = analyze_username(kb(), u, kb().provider("microsoft365"));
            assert!(f.first().is_some_and(|f| f.code == "CRED_USERNAME_FORMAT" && f.message.contains(needle)), "{u}: {f:?}");
        };
        bad("CONTOSO\\alice", "DOMAIN\\user");
        bad("mailto:alice@contoso.com", "mailto:");
        bad("Alice <alice@contoso.com>", "angle brackets");
        bad("alice", "not a full e-mail address");
        bad("alice @contoso.com", "U+0020 SPACE");
        assert!(
            analyze_username(kb(), "Alice@Contoso.com", kb().provider("microsoft365")).is_empty()
        );
    }

    #[test]
    fn messages_never_contain_the_password_letters() {
        for pw in [
            "QXZQXZQXZQ ",
            "\"QXZQXZQXZQ\"",
            "QXZ QXZ QXZ",
            "QX\u{200B}ZQXZQXZ",
            "QXZQ\u{00E9}XZQ",
        ] {
            for p in ["microsoft365", "gmail", "icloud", "generic"] {
                let (f, s) = analyze_password(kb(), pw, kb().provider(p));
                for text in f.iter().map(|f| f.message.clone()).chain([s]) {
                    assert!(
                        !text.contains("QX") && !text.contains("XZ") && !text.contains("ZQ"),
                        "{text}"
                    );
                }
            }
        }
    }
}
