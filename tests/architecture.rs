//! The layers of ARCHITECTURE.md, enforced: every `crate::...` path in `src/`
//! names a module of a lower layer (or its own module), so imports point down
//! only and the module graph has no cycle. A new top-level module must be given
//! a layer here, and in ARCHITECTURE.md, before it compiles into the tool.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules by layer, lowest first. A module may name modules of
/// strictly lower layers only.
const LAYERS: &[(&str, u32)] = &[
    ("vocab", 0),
    ("secret", 1),
    ("knowledge", 2),
    ("net", 2),
    ("target", 3),
    ("oauth", 3),
    ("report", 4),
    ("sim", 4),
    ("discover", 4),
    ("diagnose", 5),
    ("checks", 5),
    ("signins", 5),
    ("explain", 6),
    ("runner", 7),
    ("progress", 7),
    ("cli", 8),
    ("serve", 8),
    ("commands", 9),
    ("lib", 10),
];

fn layer(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`lib` for the crate root).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src/");
    let first = rel
        .components()
        .next()
        .expect("a file name")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    match first.as_str() {
        "lib.rs" | "main.rs" => "lib".into(),
        f => f.trim_end_matches(".rs").into(),
    }
}

/// The top-level modules a line of code names through `crate::` (also in
/// grouped imports: `use crate::{a, b::c};`). Comments are ignored.
fn named_modules(line: &str) -> Vec<String> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let head = item.trim().split("::").next().unwrap_or("").trim();
                if !head.is_empty() && head != "self" {
                    out.push(head.to_string());
                }
            }
        } else {
            let head: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !head.is_empty() {
                out.push(head);
            }
        }
    }
    out
}

/// module -> modules it names, with one file and line per edge as the witness.
fn import_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        let text = std::fs::read_to_string(file).expect("a source file is UTF-8");
        let entry = graph.entry(from.clone()).or_default();
        for (no, line) in text.lines().enumerate() {
            for to in named_modules(line) {
                if to != from {
                    entry.entry(to).or_insert_with(|| {
                        format!(
                            "{}:{}",
                            file.strip_prefix(&src).expect("under src/").display(),
                            no + 1
                        )
                    });
                }
            }
        }
    }
    graph
}

#[test]
fn the_parser_sees_plain_grouped_and_inline_paths_but_not_comments() {
    assert_eq!(named_modules("use crate::vocab::Status;"), ["vocab"]);
    assert_eq!(
        named_modules("use crate::{net, report::model::Report};"),
        ["net", "report"]
    );
    assert_eq!(
        named_modules("    let r = crate::runner::check(crate::checks::CHECKS);"),
        ["runner", "checks"]
    );
    assert!(named_modules("/// see crate::runner::Spec").is_empty());
    assert!(named_modules("use mycrate::runner;").is_empty());
}

#[test]
fn every_module_has_a_layer() {
    let graph = import_graph();
    let unknown: BTreeSet<&String> = graph
        .iter()
        .flat_map(|(from, to)| std::iter::once(from).chain(to.keys()))
        .filter(|m| layer(m).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "modules without a layer (add them to LAYERS here and to ARCHITECTURE.md): {unknown:?}"
    );
}

#[test]
fn imports_point_down_only() {
    let graph = import_graph();
    let mut upward = Vec::new();
    for (from, targets) in &graph {
        for (to, witness) in targets {
            if let (Some(a), Some(b)) = (layer(from), layer(to)) {
                if b >= a {
                    upward.push(format!(
                        "{from} (layer {a}) names {to} (layer {b}) at {witness}"
                    ));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point sideways or up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = import_graph();
    // Kahn's algorithm: whatever cannot be ordered sits on a cycle.
    let mut indegree: BTreeMap<&str, usize> = BTreeMap::new();
    for (from, targets) in &graph {
        indegree.entry(from).or_default();
        for to in targets.keys() {
            *indegree.entry(to).or_default() += 1;
        }
    }
    let mut ready: Vec<&str> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(m, _)| *m)
        .collect();
    let mut ordered = 0;
    while let Some(m) = ready.pop() {
        ordered += 1;
        for to in graph.get(m).map(|t| t.keys()).into_iter().flatten() {
            let d = indegree.get_mut(to.as_str()).expect("counted");
            *d -= 1;
            if *d == 0 {
                ready.push(to);
            }
        }
    }
    let on_cycle: Vec<&str> = indegree
        .iter()
        .filter(|(_, d)| **d > 0)
        .map(|(m, _)| *m)
        .collect();
    assert_eq!(
        ordered,
        indegree.len(),
        "modules on an import cycle: {on_cycle:?}"
    );
}

#[test]
fn the_checks_context_takes_nothing_from_the_dns_check() {
    // The dns check reads and fills `Ctx`; `checks/ctx.rs` holds what it hands
    // on (`DomainRecords`, `Addresses`), so the two files form no cycle.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks");
    let ctx = std::fs::read_to_string(src.join("ctx.rs")).expect("ctx.rs");
    let named: Vec<&str> = ctx
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| l.contains("checks::dns") || l.contains("super::dns"))
        .collect();
    assert!(
        named.is_empty(),
        "checks/ctx.rs names the dns check: {named:?}"
    );
    let dns = std::fs::read_to_string(src.join("dns.rs")).expect("dns.rs");
    assert!(dns.contains("checks::ctx::"), "the dns check reads ctx");
}

#[test]
fn credentials_are_cleared_for_a_connection_in_the_gate_and_the_hve_path_only() {
    // `Conn::permit_credentials` is what lets a secret be written: the gate
    // (`checks/gate.rs`) clears every check's session, and `paths` clears the
    // HVE connection to Microsoft's published host after its own TLS rule.
    // A new caller must be reviewed against both rules and added here.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut callers: Vec<(String, usize)> = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable");
        let n = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .filter(|l| l.contains(".permit_credentials("))
            .count();
        if n > 0 {
            let rel = f.strip_prefix(&src).expect("under src/");
            callers.push((rel.to_string_lossy().replace('\\', "/"), n));
        }
    }
    callers.sort();
    assert_eq!(
        callers,
        vec![
            ("checks/gate.rs".to_string(), 1),
            ("runner/paths.rs".to_string(), 1)
        ],
        "who clears a connection for credentials"
    );
}
