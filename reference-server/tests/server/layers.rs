//! The module graph of the server's source (`use crate::...` and `crate::...` paths): no cycle
//! between top-level modules, the lower layers import no endpoint, and endpoints never import
//! one another. Read from the source, so a new import that breaks the layering fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const ENDPOINTS: [&str; 7] = ["authorize", "token", "userinfo", "revocation", "logout", "discovery", "admin"];
/// Everything below the endpoints, lowest first.
const LOWER: [&str; 17] = [
    "error", "util", "totp", "faults", "variants", "config", "settings", "model", "web", "rules", "store", "keys", "entra", "provider",
    "tokens", "tls", "edge",
];

/// The top-level module a source file belongs to (`store/handles.rs` -> `store`).
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().and_then(|c| c.as_os_str().to_str()).unwrap_or("");
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules `text` names as `crate::NAME`.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let name: String = text[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() && name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            out.insert(name);
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let module = module_of(path.strip_prefix(&src).unwrap());
                if module == "lib" {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // Only the code the server runs: a module's tests may reach further.
                let code = text.split("#[cfg(test)]").next().unwrap_or("");
                let uses: Vec<String> = imports(code).into_iter().filter(|m| *m != module).collect();
                graph.entry(module).or_default().extend(uses);
            }
        }
    }
    graph
}

#[test]
fn the_lower_layers_import_no_endpoint_and_endpoints_not_one_another() {
    let graph = graph();
    for (module, uses) in &graph {
        for used in uses {
            let lower_uses_endpoint = LOWER.contains(&module.as_str()) && ENDPOINTS.contains(&used.as_str());
            let endpoint_uses_endpoint = ENDPOINTS.contains(&module.as_str()) && ENDPOINTS.contains(&used.as_str());
            assert!(!lower_uses_endpoint && !endpoint_uses_endpoint, "{module} imports {used}");
        }
        assert!(LOWER.contains(&module.as_str()) || ENDPOINTS.contains(&module.as_str()), "{module} has no layer: add it here");
    }
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = graph();
    // Depth-first search: a module met again while still on the path closes a cycle.
    fn visit<'a>(m: &'a str, graph: &'a BTreeMap<String, BTreeSet<String>>, path: &mut Vec<&'a str>, done: &mut BTreeSet<&'a str>) {
        if done.contains(m) {
            return;
        }
        if let Some(at) = path.iter().position(|p| *p == m) {
            panic!("import cycle: {} -> {m}", path[at..].join(" -> "));
        }
        path.push(m);
        for next in graph.get(m).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(m);
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done);
    }
}
