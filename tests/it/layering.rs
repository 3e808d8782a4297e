//! The crate's layers hold by construction: each layer (a folder under `src/` or a
//! single file) says on a `//! May import:` line of its `mod.rs` (or of the file) which
//! other layers it may use, and this test fails when any file of the layer names a
//! module of `crate::` that is not on that list, or when the files' imports form a
//! cycle. The lists are the layering: format < fs < cast < npy < npz < display, with
//! error at the bottom and compute standing alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
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

/// The layer a file belongs to: its first path component under `src/`, without `.rs`
/// (`src/npy/save.rs` -> `npy`, `src/cast.rs` -> `cast`).
fn layer_of(file: &Path) -> String {
    let rel = file.strip_prefix(src_dir()).expect("a file under src/");
    let first = rel.components().next().expect("a path component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// The text of a file with comments and string literals blanked, so that a doc
/// comment or a message mentioning `crate::x` is not taken for an import.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut code = String::new();
        let mut in_string = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if in_string => {
                    chars.next();
                }
                '"' => in_string = !in_string,
                '/' if !in_string && chars.peek() == Some(&'/') => break,
                c if !in_string => code.push(c),
                _ => {}
            }
        }
        out.push_str(&code);
        out.push('\n');
    }
    out
}

/// Every `crate::a::b::...` path a file names (as segment lists), with the paths
/// inside `use crate::{a::b, c}` groups spelled out.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    fn segments(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for part in text.split("::") {
            let ident: String = part
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if ident.is_empty() {
                break;
            }
            let whole = ident.len() == part.trim().len();
            out.push(ident);
            if !whole {
                break;
            }
        }
        out
    }
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let path = segments(item);
                if !path.is_empty() {
                    found.push(path);
                }
            }
        } else {
            let path = segments(after);
            if !path.is_empty() {
                found.push(path);
            }
        }
        rest = after;
    }
    found
}

/// The layers a file names: the first segment of each crate path; an item named
/// through a crate-root re-export (`crate::Error`) counts as its module's layer.
/// Names that are not layers (re-exported external crates such as `crate::ndarray`,
/// macros exported at the root) are left out.
fn referenced_layers(code: &str) -> BTreeSet<String> {
    let reexports = root_reexports();
    let is_layer = |name: &str| {
        let src = src_dir();
        src.join(format!("{name}.rs")).is_file() || src.join(name).join("mod.rs").is_file()
    };
    crate_paths(code)
        .into_iter()
        .filter_map(|path| {
            let head = path.first()?.clone();
            Some(reexports.get(&head).cloned().unwrap_or(head))
        })
        .filter(|layer| is_layer(layer))
        .collect()
}

/// What `src/lib.rs` re-exports (`pub use npz::{NpzReader, ...}`): name -> layer.
fn root_reexports() -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(src_dir().join("lib.rs")).expect("src/lib.rs");
    let lib = code_only(&lib);
    let mut map = BTreeMap::new();
    let mut rest = lib.as_str();
    while let Some(at) = rest.find("pub use ") {
        let after = &rest[at + "pub use ".len()..];
        let statement = &after[..after.find(';').unwrap_or(after.len())];
        let layer = statement
            .split("::")
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let names = match statement.find('{') {
            Some(open) => statement[open + 1..statement.rfind('}').unwrap_or(statement.len())]
                .split(',')
                .map(|n| n.rsplit("::").next().unwrap_or(n).to_string())
                .collect::<Vec<_>>(),
            None => vec![statement.rsplit("::").next().unwrap_or("").to_string()],
        };
        for name in names {
            let name = name
                .split(" as ")
                .last()
                .unwrap_or(&name)
                .trim()
                .to_string();
            if !name.is_empty() {
                map.insert(name, layer.clone());
            }
        }
        rest = after;
    }
    map
}

/// The module file a crate path leads to: the longest prefix of its segments that
/// names `src/a/b.rs` or `src/a/b/mod.rs`.
fn module_file(path: &[String]) -> Option<PathBuf> {
    let src = src_dir();
    (1..=path.len()).rev().find_map(|n| {
        let rel: PathBuf = path[..n].iter().collect();
        let file = src.join(&rel).with_extension("rs");
        let dir = src.join(&rel).join("mod.rs");
        [file, dir].into_iter().find(|p| p.is_file())
    })
}

/// The layers named on the `//! May import:` line of a layer's root file.
fn allowed_imports(root: &Path) -> Option<BTreeSet<String>> {
    let text = std::fs::read_to_string(root).ok()?;
    let line = text
        .lines()
        .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
        .find_map(|l| l.strip_prefix("//! May import:"))?;
    let list = line.split('.').next().unwrap_or("");
    Some(
        list.split(',')
            .map(|s| s.trim().trim_matches('`').trim_start_matches("crate::"))
            .filter(|s| !s.is_empty() && *s != "nothing else of the crate")
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn no_module_imports_a_higher_layer_and_imports_form_no_cycle() {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut layer_edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let layer = layer_of(file);
        if layer == "lib" {
            continue; // the crate root: module declarations and re-exports only
        }
        let root = if file.parent() == Some(src.as_path()) {
            file.clone()
        } else {
            src.join(&layer).join("mod.rs")
        };
        let Some(allowed) = allowed_imports(&root) else {
            problems.push(format!(
                "{}: no `//! May import:` line stating the layer's imports",
                root.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for name in referenced_layers(&code_only(&text)) {
            let target = name;
            if target == layer {
                continue;
            }
            layer_edges
                .entry(layer.clone())
                .or_default()
                .insert(target.clone());
            if !allowed.contains(&target) {
                problems.push(format!(
                    "{}: uses crate::{target}, which layer `{layer}` may not import (allowed: {allowed:?})",
                    file.strip_prefix(&src).unwrap_or(file).display()
                ));
            }
        }
    }
    // No cycle between layers: a depth-first search finds no back edge.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        problems: &mut Vec<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = path.iter().position(|n| n == node) {
            problems.push(format!(
                "import cycle: {} -> {node}",
                path[at..].join(" -> ")
            ));
            return;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, path, done, problems);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let mut done = BTreeSet::new();
    for node in layer_edges.keys() {
        visit(
            node,
            &layer_edges,
            &mut Vec::new(),
            &mut done,
            &mut problems,
        );
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_scan_sees_imports_and_ignores_comments_and_strings() {
    let code = code_only(
        "use crate::format::dtype::DType;\n\
         use crate::{error::Error, fs};\n\
         let s = \"crate::npz in a string\"; // crate::compute in a comment\n\
         crate::cast::bytes(x);\n",
    );
    let found: Vec<String> = referenced_layers(&code).into_iter().collect();
    assert_eq!(found, ["cast", "error", "format", "fs"]);
}

/// A file's module path: `src/npy/save.rs` -> `[npy, save]`, `src/npy/mod.rs` -> `[npy]`.
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src_dir()).expect("a file under src/");
    let mut path: Vec<String> = rel
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    if path.last().is_some_and(|l| l == "mod" || l == "lib") {
        path.pop();
    }
    path
}

/// The module files a file's code names through `crate::` and `super::` paths.
fn referenced_files(file: &Path, code: &str) -> BTreeSet<PathBuf> {
    let mut paths = crate_paths(code);
    let own = module_path(file);
    let parent = &own[..own.len().saturating_sub(1)];
    for line in code.split(';') {
        let mut rest = line;
        while let Some(at) = rest.find("super::") {
            let after = &rest[at + "super::".len()..];
            let tail: Vec<String> = crate_paths(&format!("crate::{after}"))
                .into_iter()
                .next()
                .unwrap_or_default();
            let mut full = parent.to_vec();
            full.extend(tail);
            paths.push(full);
            rest = after;
        }
    }
    paths
        .iter()
        .filter_map(|p| module_file(p))
        .filter(|target| target != file)
        .collect()
}

#[test]
fn source_files_import_each_other_without_cycles() {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a readable source file");
        let own = module_path(file);
        let targets = referenced_files(file, &code_only(&text))
            .into_iter()
            // A module naming its own submodules declares or re-exports them.
            .filter(|t| {
                let target = module_path(t);
                !(target.len() > own.len() && target[..own.len()] == own[..])
            })
            .collect();
        edges.insert(file.clone(), targets);
    }
    let mut cycles = Vec::new();
    for (file, targets) in &edges {
        for target in targets {
            if edges
                .get(target)
                .is_some_and(|back| reaches(back, file, &edges))
            {
                cycles.push(format!(
                    "{} -> {} -> ... -> back",
                    file.strip_prefix(&src).unwrap_or(file).display(),
                    target.strip_prefix(&src).unwrap_or(target).display()
                ));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles between files:\n{}",
        cycles.join("\n")
    );
}

/// Whether `goal` is reachable from any of `from` along `edges`.
fn reaches(
    from: &BTreeSet<PathBuf>,
    goal: &Path,
    edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&PathBuf> = from.iter().collect();
    while let Some(node) = stack.pop() {
        if node == goal {
            return true;
        }
        if seen.insert(node) {
            stack.extend(edges.get(node).into_iter().flatten());
        }
    }
    false
}
