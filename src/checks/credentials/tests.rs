use super::*;
use crate::knowledge::Knowledge;
use crate::vocab::Severity;

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
        assert!(
            f.first()
                .is_some_and(|f| f.code == "CRED_USERNAME_FORMAT" && f.message.contains(needle)),
            "{u}: {f:?}"
        );
    };
    bad("CONTOSO\\alice", "DOMAIN\\user");
    bad("mailto:alice@contoso.com", "mailto:");
    bad("Alice <alice@contoso.com>", "angle brackets");
    bad("alice", "not a full e-mail address");
    bad("alice @contoso.com", "U+0020 SPACE");
    assert!(analyze_username(kb(), "Alice@Contoso.com", kb().provider("microsoft365")).is_empty());
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
