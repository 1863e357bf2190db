//! One login per account and protocol: a row whose address (in any letter case)
//! an earlier row already tests loses the protocols that row claimed, and a row
//! left with nothing to test is not run. What was dropped is said in words, for
//! the report; nothing here reads a secret or touches the network.

use crate::target;
use std::collections::{BTreeSet, HashMap};

/// What `dedupe` says about a row that repeats an account.
pub struct Duplicate {
    pub text: String,
    /// Every protocol it would test is tested by an earlier row: it is not run.
    pub skipped: bool,
}

/// Addresses seen (in lower case): the first line of each, and the line that
/// tests each of its protocols.
pub type Claimed = HashMap<String, (usize, HashMap<crate::vocab::Protocol, usize>)>;

/// Claims the row's protocols for its address; those an earlier row of the same
/// address claimed leave this row's selection, so an account logs in once per
/// protocol and run.
pub fn dedupe(
    target: &target::Target,
    line: usize,
    selected: &mut BTreeSet<crate::vocab::CheckId>,
    claimed: &mut Claimed,
) -> Option<Duplicate> {
    let (first, protocols) = claimed
        .entry(target.user.trim().to_lowercase())
        .or_insert_with(|| (line, HashMap::new()));
    let mut repeated: Vec<String> = Vec::new();
    let mut fresh = 0;
    // A row that names no server has its servers discovered later: it may test
    // every protocol, so it claims them all.
    use crate::vocab::Protocol;
    let mut wanted: Vec<Protocol> = target.endpoints.iter().map(|e| e.protocol).collect();
    if wanted.is_empty() {
        wanted = vec![Protocol::Smtp, Protocol::Imap, Protocol::Pop];
    }
    wanted.dedup();
    for protocol in wanted {
        let id = protocol.check_id();
        if !selected.contains(&id) {
            continue;
        }
        match protocols.get(&protocol) {
            Some(l) => {
                repeated.push(format!("{} (line {l})", protocol.as_str()));
                selected.remove(&id);
            }
            None => {
                protocols.insert(protocol, line);
                fresh += 1;
            }
        }
    }
    if *first == line {
        return None;
    }
    let user = &target.user;
    Some(match (fresh, repeated.is_empty()) {
        (0, true) => Duplicate {
            text: format!("line {line}: {user} repeats line {first}; tested once"),
            skipped: true,
        },
        (0, false) => Duplicate {
            text: format!(
                "line {line}: {user} repeats {}; tested once, not again",
                repeated.join(", ")
            ),
            skipped: true,
        },
        (_, true) => return None,
        (_, false) => Duplicate {
            text: format!(
                "line {line}: {user} is already tested for {}; only its other protocols are tested here",
                repeated.join(", ")
            ),
            skipped: false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(user: &str, smtp: Option<&str>) -> target::Target {
        with_servers(user, smtp, None)
    }

    fn with_servers(user: &str, smtp: Option<&str>, imap: Option<&str>) -> target::Target {
        let kb = crate::knowledge::get().expect("kb");
        let o = target::Overrides {
            smtp: smtp.map(str::to_string),
            imap: imap.map(str::to_string),
            ..Default::default()
        };
        target::Target::build(kb, user, "auto", &o).expect("target")
    }

    #[test]
    fn the_same_address_in_any_case_is_tested_once_per_protocol() {
        let all = crate::runner::select(&[], &[]);
        let mut claimed = Claimed::new();
        let mut first = all.clone();
        assert!(dedupe(
            &target("Alice@Contoso.com", None),
            2,
            &mut first,
            &mut claimed
        )
        .is_none());
        assert_eq!(first, all);
        for (line, user) in [(3, "alice@contoso.com"), (4, "ALICE@CONTOSO.COM ")] {
            let mut sel = all.clone();
            let d = dedupe(&target(user, None), line, &mut sel, &mut claimed).expect("duplicate");
            assert!(d.skipped, "{}", d.text);
            assert!(
                d.text.contains(&format!("line {line}:")) && d.text.contains("line 2"),
                "{}",
                d.text
            );
        }
        // Another address is not a duplicate.
        let mut sel = all.clone();
        assert!(dedupe(&target("bob@contoso.com", None), 5, &mut sel, &mut claimed).is_none());
    }

    #[test]
    fn a_row_that_adds_a_protocol_runs_only_that_protocol() {
        use crate::vocab::CheckId;
        let mut claimed = Claimed::new();
        let mut only_smtp = crate::runner::select(&[CheckId::Smtp], &[]);
        assert!(dedupe(
            &target("a@x.test", Some("smtp.x.test")),
            2,
            &mut only_smtp,
            &mut claimed
        )
        .is_none());
        let mut all = crate::runner::select(&[], &[]);
        let d = dedupe(
            &with_servers("A@x.test", Some("smtp.x.test"), Some("imap.x.test")),
            3,
            &mut all,
            &mut claimed,
        )
        .expect("partly a duplicate");
        assert!(!d.skipped && d.text.contains("smtp (line 2)"), "{}", d.text);
        assert!(!all.contains(&CheckId::Smtp) && all.contains(&CheckId::Imap));
    }

    #[test]
    fn a_row_to_be_discovered_claims_every_protocol() {
        // The first row names no server (discovery may find all three); a later
        // row of the same account that names its SMTP server adds nothing.
        let mut claimed = Claimed::new();
        let mut sel = crate::runner::select(&[], &[]);
        assert!(dedupe(&target("a@x.test", None), 2, &mut sel, &mut claimed).is_none());
        let mut sel = crate::runner::select(&[], &[]);
        let d = dedupe(
            &target("a@x.test", Some("smtp.x.test")),
            3,
            &mut sel,
            &mut claimed,
        )
        .expect("a duplicate");
        assert!(d.skipped && d.text.contains("smtp (line 2)"), "{}", d.text);
    }
}
