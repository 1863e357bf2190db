//! `explain` on the corpus (tests/corpus/explain.toml): real error texts people
//! posted publicly, each with its source and the root cause a correct reading names
//! first. Every entry is asserted; an entry marked `miss` must not send the user the
//! wrong way. Every explanation is valid against schema/explain.v1.json. The hit
//! rate per category is printed (run with `--nocapture`).

mod util;

use mailbox_doctor::explain::{explain, NOT_RECOGNISED};
use mailbox_doctor::knowledge;
use serde::Deserialize;
use std::collections::BTreeMap;

const CATEGORIES: &[&str] = &["client", "exo", "generic", "consumer", "entra", "network"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    category: String,
    text: String,
    source: String,
    expect: String,
    why: String,
    /// Why the tool cannot read this text yet.
    #[serde(default)]
    miss: Option<String>,
}

fn corpus() -> Vec<Entry> {
    let c: Corpus = toml::from_str(include_str!("corpus/explain.toml")).expect("corpus parses");
    c.entry
}

#[test]
fn corpus_entries_are_well_formed() {
    let kb = knowledge::get().expect("knowledge base loads");
    let entries = corpus();
    assert!(entries.len() >= 150, "{} entries", entries.len());
    let mut texts = std::collections::HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        let n = i + 1;
        assert!(CATEGORIES.contains(&e.category.as_str()), "#{n}: category");
        assert!(e.source.starts_with("https://"), "#{n}: source URL");
        assert!(
            !e.text.trim().is_empty() && !e.why.trim().is_empty(),
            "#{n}"
        );
        assert!(
            kb.diagnosis(&e.expect).is_some(),
            "#{n}: unknown code {}",
            e.expect
        );
        assert!(texts.insert(e.text.as_str()), "#{n}: the same text twice");
    }
}

#[test]
fn every_corpus_text_gets_its_root_cause_first() {
    let kb = knowledge::get().expect("knowledge base loads");
    let entries = corpus();
    let mut rate: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let n = i + 1;
        let x = explain(kb, &e.text);
        let json = serde_json::to_vec(&x).expect("serializes");
        util::validated(&json, "explain.v1.json");
        let codes: Vec<&str> = x.diagnosis.iter().map(|d| d.code.as_str()).collect();
        let first = codes.first().copied().unwrap_or("<none>");
        let hit = first == e.expect;
        let r = rate.entry(e.category.as_str()).or_default();
        r.0 += usize::from(hit);
        r.1 += 1;
        match (&e.miss, hit) {
            (None, true) => {}
            (None, false) => failures.push(format!(
                "#{n} ({}): want {} first, got {codes:?} (matched {:?})",
                e.category, e.expect, x.matched
            )),
            (Some(_), true) => failures.push(format!(
                "#{n}: now gets {} first; remove its `miss`",
                e.expect
            )),
            (Some(_), false) => {
                if first != NOT_RECOGNISED && !codes.contains(&e.expect.as_str()) {
                    failures.push(format!(
                        "#{n}: a known miss must not send the user the wrong way: got {codes:?}, want {} or {NOT_RECOGNISED}",
                        e.expect
                    ));
                }
            }
        }
    }
    let (hits, total) = rate
        .values()
        .fold((0, 0), |(h, t), (rh, rt)| (h + rh, t + rt));
    let mut report =
        String::from("| category | entries | first code right | rate |\n|---|---|---|---|\n");
    for cat in CATEGORIES {
        let (h, t) = rate.get(cat).copied().unwrap_or_default();
        report.push_str(&format!("| {cat} | {t} | {h} | {} |\n", percent(h, t)));
    }
    report.push_str(&format!(
        "| **all** | {total} | {hits} | {} |\n",
        percent(hits, total)
    ));
    #[allow(clippy::disallowed_macros)] // the hit rate per category is this test's report
    {
        println!("{report}");
    }
    assert!(failures.is_empty(), "{}\n\n{report}", failures.join("\n"));
    assert!(hits * 100 >= total * 95, "hit rate below 95%:\n{report}");
}

fn percent(hits: usize, total: usize) -> String {
    if total == 0 {
        "-".into()
    } else {
        format!("{:.0}%", 100.0 * hits as f64 / total as f64)
    }
}
