//! No module of the core imports one that imports it back (ARCHITECTURE "Invariants").
//!
//! Reads the crate's source files and follows every `crate::` path (in `use` lines and inline):
//! `crate::payments::…` is an edge to `payments`; an item re-exported by `lib.rs`
//! (`crate::CoreError`) is an edge to the module that defines it; anything else `lib.rs` defines is
//! an edge to `lib`. `lib.rs` itself depends on the modules it names outside its `mod` and `pub use`
//! lines. A cycle among those edges fails the test and is printed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The crate's `src`, or the directory `FINEPAY_MODULE_GRAPH_SRC` names (to check another version:
/// `git archive <rev> crates/finepay-core/src | tar -x -C /tmp/old`).
fn sources() -> BTreeMap<String, String> {
    let dir = std::env::var_os("FINEPAY_MODULE_GRAPH_SRC")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("file name")
                .to_string();
            out.insert(name, std::fs::read_to_string(&path).expect("read file"));
        }
    }
    out
}

/// Source without `//` comments (doc links name modules without depending on them).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first segment of every path after `crate::` (both `crate::a::b` and `crate::{a, b::c}`).
fn crate_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if depth == 1 && item_start && (c.is_alphanumeric() || c == '_') => {
                        out.push(ident(&group[j..]).to_string());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest).to_string());
        }
    }
    out
}

/// Items `lib.rs` re-exports, by the module that defines them.
fn re_exports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in code(lib).lines() {
        let t = line.trim();
        let Some(path) = t
            .strip_prefix("pub use ")
            .or_else(|| t.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        let module = ident(path).to_string();
        let tail = &path[module.len()..];
        let items: Vec<&str> = match (tail.find('{'), tail.rfind('}')) {
            (Some(a), Some(b)) => tail[a + 1..b].split(',').collect(),
            _ => vec![tail.rsplit("::").next().unwrap_or_default()],
        };
        for item in items {
            let name = ident(item.trim().rsplit("::").next().unwrap_or_default());
            if !name.is_empty() {
                out.insert(name.to_string(), module.clone());
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = sources();
    let modules: BTreeSet<String> = files.keys().filter(|m| *m != "lib").cloned().collect();
    let exports = re_exports(&files["lib"]);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &files {
        let to = edges.entry(module.clone()).or_default();
        if module == "lib" {
            for line in code(text).lines() {
                let t = line.trim_start();
                let declaration = ["mod ", "pub mod ", "pub use ", "pub(crate) use "];
                if declaration.iter().any(|d| t.starts_with(d)) {
                    continue;
                }
                for m in &modules {
                    let used = t.match_indices(&format!("{m}::")).any(|(i, _)| {
                        i == 0 || !t[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    });
                    if used {
                        to.insert(m.clone());
                    }
                }
            }
            continue;
        }
        for name in crate_paths(&code(text)) {
            let target = if modules.contains(&name) {
                name
            } else if let Some(m) = exports.get(&name) {
                m.clone()
            } else {
                "lib".to_string()
            };
            if &target != module {
                to.insert(target);
            }
        }
    }
    edges
}

/// A cycle through `start`, if any (depth-first).
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut c = path[i..].to_vec();
            c.push(node.to_string());
            return Some(c);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(c) = visit(node, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_module_of_the_core_imports_one_that_imports_it_back() {
    let edges = graph();
    if let Some(c) = cycle(&edges) {
        let map: Vec<String> = edges
            .iter()
            .map(|(m, to)| {
                format!(
                    "{m} -> {}",
                    to.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        panic!(
            "modules import each other in a circle: {}\n\nthe whole graph:\n{}",
            c.join(" -> "),
            map.join("\n")
        );
    }
}

#[test]
fn the_checker_sees_a_circle_and_grouped_imports() {
    assert_eq!(
        crate_paths("use crate::{a::B, c, d::{e, f}};\nlet x = crate::g::h();"),
        ["a", "c", "d", "g"]
    );
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let exports = re_exports("pub use error::CoreError;\npub use wallet::{PaymentOption, X};");
    assert_eq!(exports["CoreError"], "error");
    assert_eq!(exports["X"], "wallet");
}
