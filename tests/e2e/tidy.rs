//! Checks on the code itself, in the style of rust-analyzer's tidy tests: invariants that
//! ARCHITECTURE.md states and a compiler does not enforce.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, by module path (`session::turns`; the crate root is "").
fn modules(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("source directory is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path
                    .strip_prefix(dir)
                    .expect("under dir")
                    .with_extension("");
                let parts: Vec<String> = relative
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .filter(|p| p != "mod" && p != "lib")
                    .collect();
                found.insert(parts.join("::"), path);
            }
        }
    }
    found
}

/// The modules a file's non-test code names through `crate::…` paths (longest known prefix).
fn imports(source: &str, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let mut out = BTreeSet::new();
    for line in code.lines().map(str::trim) {
        if line.starts_with("//") {
            continue;
        }
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            let path: Vec<&str> = rest
                .split("::")
                .map(|seg| {
                    let end = seg
                        .find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()))
                        .unwrap_or(seg.len());
                    &seg[..end]
                })
                .take_while(|seg| !seg.is_empty())
                .collect();
            if let Some(module) = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|m| known.contains_key(m))
            {
                out.insert(module);
            }
        }
    }
    out
}

/// A cycle in `graph`, if it has one, as the modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}

fn is_within(module: &str, ancestor: &str) -> bool {
    ancestor.is_empty() || module == ancestor || module.starts_with(&format!("{ancestor}::"))
}

#[test]
fn the_server_modules_import_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/understudy-server/src");
    let known = modules(&src);
    assert!(known.contains_key("session"), "found {known:?}");
    // A module and its own submodules may name each other; anything else is a circle.
    let graph: BTreeMap<String, BTreeSet<String>> = known
        .iter()
        .map(|(module, path)| {
            let source = std::fs::read_to_string(path).expect("source is readable");
            let edges = imports(&source, &known)
                .into_iter()
                .filter(|to| !is_within(module, to) && !is_within(to, module))
                .collect();
            (module.clone(), edges)
        })
        .collect();
    assert_eq!(find_cycle(&graph), None, "an import circle");
}

#[test]
fn the_cycle_finder_finds_a_circle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    let cycle = find_cycle(&graph).expect("a -> b -> c -> a");
    assert_eq!(cycle, ["a", "b", "c", "a"]);
}
