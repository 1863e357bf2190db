//! Embeds every `fixtures/*.txt` scenario in the binary (for `demo` and the tests),
//! so adding a scenario needs no Rust change.

#![allow(clippy::disallowed_macros)] // cargo reads build-script instructions from stdout

use std::fmt::Write as _;

fn main() {
    println!("cargo:rerun-if-changed=fixtures");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = String::from(
        "/// Embedded fixtures: (name, text).\npub const FIXTURES: &[(&str, &str)] = &[\n",
    );
    for p in names {
        println!("cargo:rerun-if-changed={}", p.display());
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let _ = writeln!(
            out,
            "    ({stem:?}, include_str!({:?})),",
            p.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest =
        std::path::Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("fixtures.rs");
    let _ = std::fs::write(dest, out);
}
