//! The pasted password: whitespace, invisible characters, quotes, display groups,
//! the provider's app-password shape and non-ASCII characters.

use super::chars::{is_invisible, is_space, list, name_or_cp};
use crate::knowledge::{Knowledge, ProviderDef};
use crate::vocab::{Finding, Severity};

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
    // The shape's pattern, compiled once for both uses below.
    let shape_re = shape.and_then(|sh| regex_lite::Regex::new(&sh.pattern).ok());
    let pname = provider.map(|p| p.name.as_str()).unwrap_or("the provider");

    // Quotes around the whole value.
    let quoted = n >= 3
        && crate::vocab::QUOTE_PAIRS
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
        if let (Some(size), Some(re)) = (sh.group_size, &shape_re) {
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
        let cleaned = shape_form(&core, sh);
        let fits = shape_re.as_ref().is_some_and(|re| re.is_match(&cleaned));
        let off_by_one = shape_re
            .as_ref()
            .filter(|_| !fits)
            .is_some_and(|re| one_off(&cleaned, re, sh.length));
        if fits {
            summary = Some(format!(
                "{n} characters, shaped like a {pname} app password"
            ));
        } else if off_by_one {
            let got = cleaned.chars().count();
            let how = if got < sh.length {
                "short of"
            } else {
                "more than"
            };
            let sev = match provider.map(|p| p.id.as_str()) {
                // Exchange Online takes account passwords too: only a refusal
                // makes this the cause (checks::corroborate).
                Some("microsoft365") => Severity::Info,
                _ => Severity::Warning,
            };
            let message = format!(
                "{got} characters, one {how} the {} of a {pname} app password ({}); the rest has its shape, so a character was probably lost or added in copying",
                sh.length, sh.description
            );
            summary = Some(format!(
                "{got} characters: one {how} a {pname} app password"
            ));
            findings.push(Finding::new("CRED_APP_PASSWORD_SHAPE", sev, message));
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

/// Whether `v` is one character off the shape: one character more (dropping one
/// fits) or one less (adding a letter, digit or hyphen somewhere fits).
pub fn one_off(v: &str, re: &regex_lite::Regex, length: usize) -> bool {
    let chars: Vec<char> = v.chars().collect();
    let n = chars.len();
    let fits = |c: &[char]| re.is_match(&c.iter().collect::<String>());
    if n == length + 1 {
        return (0..n).any(|i| {
            let mut c = chars.clone();
            c.remove(i);
            fits(&c)
        });
    }
    if n + 1 == length {
        return (0..=n).any(|i| {
            ['a', 'A', '0', '-'].iter().any(|x| {
                let mut c = chars.clone();
                c.insert(i, *x);
                fits(&c)
            })
        });
    }
    false
}

/// The pasted value as the provider's app-password shape reads it: spaces become
/// the hyphens that are part of it (Apple), or display separators are dropped.
fn shape_form(core: &str, sh: &crate::knowledge::AppPasswordShape) -> String {
    if sh.separators_are_part {
        core.replace(' ', "-")
    } else {
        core.chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{00A0}' | '\t'))
            .collect()
    }
}

/// A pasted value one character off the provider's app-password shape, once
/// quotes, surrounding whitespace and display-group separators are set aside:
/// (its length, the shape's length).
pub fn near_miss(
    kb: &Knowledge,
    pw: &str,
    provider: Option<&ProviderDef>,
) -> Option<(usize, usize)> {
    let sh = provider?.app_password.as_ref()?;
    let re = regex_lite::Regex::new(&sh.pattern).ok()?;
    let chars: Vec<char> = pw.chars().collect();
    let n = chars.len();
    let quoted = n >= 3
        && crate::vocab::QUOTE_PAIRS
            .iter()
            .any(|(a, b)| chars[0] == *a && chars[n - 1] == *b);
    let inner: String = if quoted {
        chars[1..n - 1].iter().collect()
    } else {
        pw.to_string()
    };
    let core = inner
        .trim_matches(|c: char| is_space(kb, c) || is_invisible(kb, c))
        .to_string();
    let cleaned = shape_form(&core, sh);
    (!re.is_match(&cleaned) && one_off(&cleaned, &re, sh.length))
        .then(|| (cleaned.chars().count(), sh.length))
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
