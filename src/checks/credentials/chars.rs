//! Naming the characters a pasted value may hide: the tables come from
//! checks/credentials.toml.

use crate::knowledge::{parse_cp, Knowledge};

/// `U+200B ZERO WIDTH SPACE`, from the tables in checks/credentials.toml.
pub(super) fn char_name(kb: &Knowledge, c: char) -> Option<String> {
    kb.credentials
        .invisible
        .iter()
        .chain(&kb.credentials.spaces)
        .chain(&kb.credentials.quotes)
        .find(|d| parse_cp(&d.cp) == Some(c))
        .map(|d| format!("{} {}", d.cp, d.name))
}

pub(super) fn in_table(table: &[crate::knowledge::CharDef], c: char) -> bool {
    table.iter().any(|d| parse_cp(&d.cp) == Some(c))
}

pub(super) fn is_space(kb: &Knowledge, c: char) -> bool {
    in_table(&kb.credentials.spaces, c) || (c.is_whitespace() && !c.is_ascii_graphic())
}

pub(super) fn is_invisible(kb: &Knowledge, c: char) -> bool {
    in_table(&kb.credentials.invisible, c) || (c.is_control() && !c.is_whitespace())
}

pub(super) fn name_or_cp(kb: &Knowledge, c: char) -> String {
    char_name(kb, c).unwrap_or_else(|| format!("U+{:04X} (a control character)", c as u32))
}

/// Joins up to five items, then "and N more".
pub(super) fn list(items: &[String]) -> String {
    if items.len() <= 5 {
        items.join("; ")
    } else {
        format!("{}; and {} more", items[..5].join("; "), items.len() - 5)
    }
}
