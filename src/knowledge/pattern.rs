//! What a pattern says about the texts it can match, decided once when the
//! knowledge base loads: whether it is plain text (matched without a regex), and
//! which text every match must contain (a text without it skips the regex). It
//! only reads patterns; it never compiles or runs one.

/// Whether a text may match, given the text every match contains (`needles`,
/// from `required_text`) and the text with ASCII lowercased: no needle, no match.
pub(super) fn may_match(needles: Option<&[String]>, lower: &str) -> bool {
    needles.is_none_or(|n| n.iter().any(|n| lower.contains(n.as_str())))
}

/// `a|b\.c` as ["a", "b.c"] (lowercased) when every alternative is plain text:
/// no metacharacter but `|` and backslash-escaped punctuation.
pub(super) fn plain_alternatives(pattern: &str) -> Option<Vec<String>> {
    if !pattern.is_ascii() {
        return None;
    }
    let mut out = vec![String::new()];
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let literal = match c {
            '\\' => chars.next().filter(|n| n.is_ascii_punctuation())?,
            '|' => {
                out.push(String::new());
                continue;
            }
            '.' | '^' | '$' | '?' | '*' | '+' | '(' | ')' | '[' | ']' | '{' | '}' => return None,
            c => c,
        };
        out.last_mut()?.push(literal.to_ascii_lowercase());
    }
    (!out.iter().any(String::is_empty)).then_some(out)
}

/// For each top-level alternative of `pattern`, the longest run of text every
/// match of it contains (lowercased), when each such run is at least 3 ASCII
/// characters long: `\bquery\w* EREFUSED\b` gives [" erefused"].
pub(super) fn required_text(pattern: &str) -> Option<Vec<String>> {
    if !pattern.is_ascii() {
        return None;
    }
    let mut out = Vec::new();
    for branch in top_level_alternatives(pattern) {
        // A branch that is one group, `\b(a|b)\b`: what the group requires.
        if let Some(inner) = whole_group(branch) {
            out.extend(required_text(inner)?);
            continue;
        }
        let mut best = String::new();
        let mut run = String::new();
        // What a group that must match requires, for a branch with no fixed text of its own.
        let mut group_needles: Option<Vec<String>> = None;
        let mut chars = branch.chars().peekable();
        let end_run = |run: &mut String, best: &mut String| {
            if run.len() > best.len() {
                *best = run.clone();
            }
            run.clear();
        };
        while let Some(c) = chars.next() {
            let literal = match c {
                '\\' => match chars.next() {
                    Some(n) if n.is_ascii_punctuation() => Some(n),
                    _ => None,
                },
                '(' | '[' => {
                    // Skip the group or class: what it matches is not fixed text.
                    let close = if c == '(' { ')' } else { ']' };
                    let mut depth = 1;
                    let mut inner = String::new();
                    while let Some(n) = chars.next() {
                        match n {
                            '\\' => {
                                inner.push(n);
                                inner.extend(chars.next());
                                continue;
                            }
                            n if n == c => depth += 1,
                            n if n == close => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        inner.push(n);
                    }
                    let optional = matches!(chars.peek(), Some('?' | '*' | '{'));
                    let inner = inner.strip_prefix("?:").unwrap_or(&inner);
                    if c == '(' && !optional && !inner.starts_with('?') && group_needles.is_none() {
                        group_needles = required_text(inner);
                    }
                    None
                }
                '.' | '^' | '$' | '|' | ')' | ']' => None,
                '?' | '*' | '{' => {
                    // (The character before it was already left out, by the peek below.)
                    if c == '{' {
                        for n in chars.by_ref() {
                            if n == '}' {
                                break;
                            }
                        }
                    }
                    None
                }
                '+' => None,
                c => Some(c),
            };
            // A character a quantifier may drop or repeat is not required text.
            match literal {
                Some(l) if !matches!(chars.peek(), Some('?' | '*' | '{')) => {
                    run.push(l.to_ascii_lowercase())
                }
                _ => end_run(&mut run, &mut best),
            }
        }
        end_run(&mut run, &mut best);
        if best.len() < 3 {
            out.extend(group_needles?);
            continue;
        }
        out.push(best);
    }
    Some(out)
}

/// The inside of `(...)` or `(?:...)` when that group, between word boundaries or
/// anchors, is all of `branch` and is not repeated or optional.
fn whole_group(branch: &str) -> Option<&str> {
    let inner = trim_anchors(branch).strip_prefix('(')?.strip_suffix(')')?;
    let inner = inner.strip_prefix("?:").unwrap_or(inner);
    // The first `(` must close at the very end, and no flag group like `(?i)`.
    let mut depth = 1usize;
    let mut escaped = false;
    for c in inner.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return None;
                }
            }
            _ => {}
        }
    }
    (!inner.starts_with('?') && !inner.contains('[')).then_some(inner)
}

/// `branch` without the word boundaries and anchors around it.
fn trim_anchors(mut b: &str) -> &str {
    loop {
        let before = b;
        b = b
            .strip_prefix("\\b")
            .or_else(|| b.strip_prefix('^'))
            .unwrap_or(b);
        b = b
            .strip_suffix("\\b")
            .or_else(|| b.strip_suffix('$'))
            .unwrap_or(b);
        if b == before {
            return b;
        }
    }
}

/// `a|b(c|d)|e` as ["a", "b(c|d)", "e"].
fn top_level_alternatives(pattern: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut in_class, mut escaped, mut start) = (0usize, false, false, 0);
    for (i, c) in pattern.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth = depth.saturating_sub(1),
            '|' if !in_class && depth == 0 => {
                out.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&pattern[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_alternatives_are_found_and_others_are_regexes() {
        assert_eq!(
            plain_alternatives(r"wrong version number|WRONG_VERSION_NUMBER"),
            Some(vec![
                "wrong version number".into(),
                "wrong_version_number".into()
            ])
        );
        assert_eq!(
            plain_alternatives(r"Outlook cannot connect \(SMTP\)"),
            Some(vec!["outlook cannot connect (smtp)".into()])
        );
        assert_eq!(plain_alternatives(r"\bLOGIN failed"), None);
        assert_eq!(plain_alternatives(r"a|"), None);
        assert_eq!(plain_alternatives(r"(a|b)"), None);
    }

    #[test]
    fn required_text_is_what_every_match_contains() {
        let req = |p: &str| required_text(p);
        assert_eq!(
            req(r"\bquery\w* EREFUSED\b"),
            Some(vec![" erefused".into()])
        );
        assert_eq!(
            req(r"No subject alternative names (matching|present)|No name matching \S+ found"),
            Some(vec![
                "no subject alternative names ".into(),
                "no name matching ".into()
            ])
        );
        // An optional or repeated last character is left out.
        assert_eq!(req(r"domains? blocked"), Some(vec![" blocked".into()]));
        assert_eq!(
            req(r"authenticators?\. X"),
            Some(vec!["authenticator".into()])
        );
        assert_eq!(
            req(r"4\.7\.[56][0-9][0-9] Server busy"),
            Some(vec![" server busy".into()])
        );
        // A branch that is one group gives the group's alternatives.
        assert_eq!(
            req(r"\b(outlook\.office365\.com|smtp-mail\.outlook\.com)\b|Microsoft Exchange"),
            Some(vec![
                "outlook.office365.com".into(),
                "smtp-mail.outlook.com".into(),
                "microsoft exchange".into()
            ])
        );
        assert_eq!(req(r"\b(ab|cd)"), None);
        // No fixed text of its own, but a group that must match has some.
        assert_eq!(
            req(r"@(hotmail|outlook)\.(com|[a-z]{2})\b"),
            Some(vec!["hotmail".into(), "outlook".into()])
        );
        assert_eq!(req(r"@(hotmail|outlook)?\.x"), None);
        assert_eq!(req(r"(abc)+"), Some(vec!["abc".into()]));
        assert_eq!(req(r"(abc)*"), None);
        // One alternative without enough fixed text: no prefilter at all.
        assert_eq!(req(r"abc|[0-9]+"), None);
        assert_eq!(req(r"é"), None);
    }
}
