//! The username's form (it is not secret, so it may be quoted).

use super::chars::{is_invisible, is_space, name_or_cp};
use crate::knowledge::{Knowledge, ProviderDef};
use crate::vocab::{Finding, Severity};

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
