//! Embeds every `fixtures/*.txt` scenario in the binary (for `demo` and the tests),
//! so adding a scenario needs no Rust change; and turns the knowledge base
//! (`checks/*.toml`) into JSON, which the binary deserializes (strictly, into the
//! same types) much faster than TOML at every start. A TOML syntax error stops the
//! build with its file and line.

#![allow(clippy::disallowed_macros)] // cargo reads build-script instructions from stdout

use std::fmt::Write as _;

fn main() {
    embed_fixtures();
    knowledge_to_json();
}

const KNOWLEDGE: &[&str] = &[
    "diagnoses",
    "smtp",
    "imap",
    "pop",
    "client",
    "context",
    "providers",
    "facts",
    "credentials",
    "fingerprints",
    "entra",
    "signins",
    "standards",
    "vocab-tls",
    "vocab-network",
    "vocab-mail",
    "vocab-oauth",
    "questions",
];

fn knowledge_to_json() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("kb");
    let _ = std::fs::create_dir_all(&out);
    for name in KNOWLEDGE {
        let src = root.join("checks").join(format!("{name}.toml"));
        println!("cargo:rerun-if-changed={}", src.display());
        let text = std::fs::read_to_string(&src)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()));
        let mut value: toml::Value = toml::from_str(&text)
            .unwrap_or_else(|e| panic!("checks/{name}.toml is not valid TOML: {e}"));
        // A vocabulary's enumerated strings are test data (tests/vocabulary.rs
        // reads the TOML): the binary does not carry them.
        if name.starts_with("vocab-") {
            if let Some(t) = value.as_table_mut() {
                t.remove("string");
            }
        }
        if ["smtp", "imap", "pop", "client"].contains(name) || name.starts_with("vocab-") {
            compile_patterns(name, "signature", &value);
        }
        if *name == "context" {
            compile_patterns(name, "context", &value);
        }
        if *name == "fingerprints" {
            compile_patterns(name, "fingerprint", &value);
            compile_patterns(name, "hint", &value);
        }
        let json = serde_json::to_string(&value)
            .unwrap_or_else(|e| panic!("checks/{name}.toml cannot become JSON: {e}"));
        let _ = std::fs::write(out.join(format!("{name}.json")), json);
    }
}

/// Every signature's (or context's) pattern compiles (case-insensitive, as the
/// binary compiles it); a bad one stops the build with its id.
fn compile_patterns(file: &str, table: &str, value: &toml::Value) {
    let signatures = value
        .get(table)
        .and_then(|v| v.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    for sig in signatures {
        let id = sig.get("id").and_then(|v| v.as_str()).unwrap_or("?");
        let pattern = sig
            .get("pattern")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if let Err(e) = regex_lite::RegexBuilder::new(pattern)
            .case_insensitive(true)
            .build()
        {
            panic!("checks/{file}.toml: {table} `{id}` has a bad pattern `{pattern}`: {e}");
        }
    }
}

fn embed_fixtures() {
    println!("cargo:rerun-if-changed=fixtures");
    println!("cargo:rerun-if-changed=fixtures/paths");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out = String::new();
    // The `check` scenarios, and the `paths` ones (an MX on port 25, HVE, relays),
    // which `check` cannot play.
    for (konst, dir, what) in [
        ("FIXTURES", root.clone(), "Embedded fixtures"),
        (
            "PATH_FIXTURES",
            root.join("paths"),
            "Embedded `paths` fixtures",
        ),
    ] {
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let _ = writeln!(
            out,
            "/// {what}: (name, text).\npub const {konst}: &[(&str, &str)] = &["
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
    }
    let dest =
        std::path::Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("fixtures.rs");
    let _ = std::fs::write(dest, out);
}
