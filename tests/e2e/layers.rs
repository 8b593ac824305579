//! The layer rules of ARCHITECTURE.md, checked by reading the source: every
//! path a file names (`use` trees and inline `crate::…`, `super::…`,
//! `sajja_hub::…` paths, and a parent's paths into its own children) is
//! resolved to the file it points into. The test fails when a file imports
//! another that imports it back (directly or through others), when a layer
//! imports one it may not, when a folder appears that no table names, or
//! when a layer names a crate its invariant excludes ("store knows nothing
//! of tonic").
//!
//! Test code (`#[cfg(test)]` onwards) and comments are not read: a test may
//! reach across layers, and a doc link is not a dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One layer: a top-level module file or folder (`main` is the binary's
/// `main.rs` with the modules it declares), what it may use, and the
/// external crates it must never name.
struct Layer {
    name: &'static str,
    may_use: &'static [&'static str],
    never: &'static [&'static str],
}

const PURE: &[&str] = &["rusqlite", "tonic", "tokio", "axum", "hyper"];
const NO_NET: &[&str] = &["tonic", "axum", "hyper"];

/// The hub, lowest layer first (ARCHITECTURE.md, `hub`).
const HUB: &[Layer] = &[
    Layer {
        name: "values",
        may_use: &[],
        never: PURE,
    },
    Layer {
        name: "config",
        may_use: &["values"],
        never: PURE,
    },
    Layer {
        name: "pki",
        may_use: &["values"],
        never: PURE,
    },
    Layer {
        name: "store",
        may_use: &["values"],
        never: NO_NET,
    },
    Layer {
        name: "read",
        may_use: &["values", "config", "store"],
        never: NO_NET,
    },
    Layer {
        name: "ingest",
        may_use: &["values", "config", "pki", "store", "read"],
        never: NO_NET,
    },
    Layer {
        name: "render",
        may_use: &["values", "read"],
        never: &["rusqlite", "tonic", "tokio", "axum", "hyper"],
    },
    Layer {
        name: "net",
        may_use: &[
            "values", "config", "pki", "store", "read", "ingest", "render",
        ],
        never: &["axum"],
    },
    Layer {
        name: "rpc",
        may_use: &[
            "values", "config", "pki", "store", "read", "ingest", "render", "net",
        ],
        never: &["axum"],
    },
    Layer {
        name: "relay",
        may_use: &["values", "config", "store", "ingest", "net"],
        never: &["axum"],
    },
    Layer {
        name: "web",
        may_use: &[
            "values", "config", "pki", "store", "read", "ingest", "render", "net",
        ],
        never: &["tonic"],
    },
    Layer {
        name: "app",
        may_use: &[
            "values", "config", "pki", "store", "read", "ingest", "render", "net", "rpc", "relay",
            "web",
        ],
        never: &[],
    },
    Layer {
        name: "main",
        may_use: &[
            "values", "config", "pki", "store", "read", "ingest", "render", "net", "rpc", "relay",
            "web", "app",
        ],
        never: &[],
    },
];

/// The node, lowest layer first (ARCHITECTURE.md, `node`).
const NODE: &[Layer] = &[
    Layer {
        name: "vocab",
        may_use: &[],
        never: PURE,
    },
    Layer {
        name: "link",
        may_use: &[],
        never: NO_NET,
    },
    Layer {
        name: "rules_file",
        may_use: &["vocab"],
        never: PURE,
    },
    Layer {
        name: "config",
        may_use: &["link"],
        never: NO_NET,
    },
    Layer {
        name: "store",
        may_use: &["link", "vocab"],
        never: NO_NET,
    },
    Layer {
        name: "exchange",
        may_use: &["link"],
        never: NO_NET,
    },
    Layer {
        name: "compose",
        may_use: &["vocab"],
        never: PURE,
    },
    Layer {
        name: "import",
        may_use: &["compose", "store", "vocab"],
        never: NO_NET,
    },
    Layer {
        name: "report",
        may_use: &["store", "vocab"],
        never: NO_NET,
    },
    Layer {
        name: "sync",
        may_use: &["exchange", "link", "store"],
        never: &["axum"],
    },
    Layer {
        name: "daemon",
        may_use: &["config", "exchange", "store", "sync"],
        never: &["axum"],
    },
    Layer {
        name: "web",
        may_use: &["compose", "exchange", "report", "store", "vocab"],
        never: &["tonic"],
    },
    Layer {
        name: "main",
        may_use: &[
            "vocab",
            "link",
            "rules_file",
            "config",
            "store",
            "exchange",
            "compose",
            "import",
            "report",
            "sync",
            "daemon",
            "web",
        ],
        never: &[],
    },
];

/// A module file of one crate: lib-side or binary-side, and its module path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Module {
    bin: bool,
    path: Vec<String>,
}

impl Module {
    fn layer(&self) -> &str {
        if self.bin {
            "main"
        } else {
            self.path.first().map_or("", String::as_str)
        }
    }

    fn name(&self) -> String {
        let side = if self.bin { "bin" } else { "lib" };
        format!("{side}::{}", self.path.join("::"))
    }
}

struct Source {
    file: PathBuf,
    /// Code without comments and without the tests at the end.
    code: String,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Code as the compiler reads it, minus comments and `#[cfg(test)]` onwards.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        // A trailing comment; `//` inside a string (a URL) is rare enough in
        // paths that cutting it loses nothing this test reads.
        let line = match line.find(" // ") {
            Some(at) => &line[..at],
            None => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The modules of a crate's `src`, lib-side and bin-side (the files `main.rs`
/// declares with `mod x;`, and everything under them).
fn modules(src: &Path) -> BTreeMap<Module, Source> {
    fn walk(dir: &Path, prefix: &[String], out: &mut Vec<(Vec<String>, PathBuf)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("")
                .to_string();
            if path.is_dir() {
                let mut next = prefix.to_vec();
                next.push(name);
                walk(&path, &next, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut module = prefix.to_vec();
                if name != "mod" {
                    module.push(name);
                }
                out.push((module, path));
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &[], &mut files);
    let main_text = std::fs::read_to_string(src.join("main.rs")).unwrap_or_default();
    let bin_roots: BTreeSet<String> = code_of(&main_text)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            l.strip_prefix("mod ")
                .and_then(|r| r.strip_suffix(';'))
                .map(str::to_string)
        })
        .collect();
    let mut out = BTreeMap::new();
    for (path, file) in files {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let root = path.first().cloned().unwrap_or_default();
        let (bin, path) = match path.as_slice() {
            [one] if one == "main" => (true, Vec::new()),
            [one] if one == "lib" => (false, Vec::new()),
            _ => (bin_roots.contains(&root), path),
        };
        out.insert(
            Module { bin, path },
            Source {
                file,
                code: code_of(&text),
            },
        );
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its full paths.
fn expand_use(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    fn go(prefix: &str, tree: &str, out: &mut Vec<String>) {
        match tree.find('{') {
            None => out.push(format!("{prefix}{tree}")),
            Some(open) => {
                let head = &tree[..open];
                let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in inner.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            go(&format!("{prefix}{head}"), &inner[start..i], out);
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                if start < inner.len() {
                    go(&format!("{prefix}{head}"), &inner[start..], out);
                }
            }
        }
    }
    let mut out = Vec::new();
    go("", &tree, &mut out);
    out.into_iter()
        .map(|p| p.split(" as ").next().unwrap_or("").to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Every path the code names: `use` trees expanded, and inline paths.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    let mut without_uses = String::new();
    while let Some(at) = find_use(rest) {
        without_uses.push_str(&rest[..at]);
        let after = &rest[at..];
        let start = after.find("use ").map_or(0, |i| i + 4);
        let end = after.find(';').unwrap_or(after.len());
        for path in expand_use(&after[start..end]) {
            paths.push(path.split("::").map(str::to_string).collect());
        }
        rest = &after[(end + 1).min(after.len())..];
    }
    without_uses.push_str(rest);
    let bytes = without_uses.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let is_start = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':');
        if is_start && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
            let mut j = i;
            let mut segments = Vec::new();
            loop {
                let s = j;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                segments.push(without_uses[s..j].to_string());
                if without_uses[j..].starts_with("::")
                    && bytes
                        .get(j + 2)
                        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
                {
                    j += 2;
                } else {
                    break;
                }
            }
            if segments.len() > 1 {
                paths.push(segments);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    paths
}

/// The next `use` statement at the start of a line (`pub use`, `pub(crate) use` too).
fn find_use(code: &str) -> Option<usize> {
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let t = line.trim_start();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub(super) "))
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        if t.starts_with("use ") {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// The module file a path points into, seen from `from`: the longest prefix
/// of the resolved path that is a module of the crate.
fn resolve(
    from: &Module,
    path: &[String],
    crate_name: &str,
    all: &BTreeMap<Module, Source>,
) -> Option<Module> {
    let (bin, mut absolute): (bool, Vec<String>) = match path.first().map(String::as_str) {
        Some("crate") => (from.bin, path[1..].to_vec()),
        Some(name) if name == crate_name => (false, path[1..].to_vec()),
        Some("self") => (from.bin, [from.path.clone(), path[1..].to_vec()].concat()),
        Some("super") => {
            let mut base = from.path.clone();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            (from.bin, [base, rest.to_vec()].concat())
        }
        Some(first) => {
            // A relative path into one of this module's own children.
            let mut child = from.path.clone();
            child.push(first.to_string());
            if all.contains_key(&Module {
                bin: from.bin,
                path: child,
            }) {
                (from.bin, [from.path.clone(), path.to_vec()].concat())
            } else {
                return None;
            }
        }
        None => return None,
    };
    while !absolute.is_empty() {
        let module = Module {
            bin,
            path: absolute.clone(),
        };
        if all.contains_key(&module) {
            return Some(module);
        }
        absolute.pop();
    }
    None
}

/// Every cycle among the files, as strongly connected components (Tarjan).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        next: usize,
        out: Vec<Vec<Module>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(targets) = s.edges.get(v) {
            for w in targets {
                let Some((w, _)) = s.edges.get_key_value(w) else {
                    continue;
                };
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[w].min(s.low[v]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.index[w].min(s.low[v]);
                    s.low.insert(v, low);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// Every breach of the rules in one crate, one line each.
fn breaches(crate_dir: &str, crate_name: &str, layers: &[Layer]) -> Vec<String> {
    breaches_in(&workspace().join(crate_dir).join("src"), crate_name, layers)
}

fn breaches_in(src: &Path, crate_name: &str, layers: &[Layer]) -> Vec<String> {
    let crate_dir = src.parent().unwrap_or(src).display().to_string();
    let all = modules(src);
    let mut problems = Vec::new();
    let by_name: BTreeMap<&str, &Layer> = layers.iter().map(|l| (l.name, l)).collect();
    for (i, layer) in layers.iter().enumerate() {
        for used in layer.may_use {
            if !layers[..i].iter().any(|l| l.name == *used) {
                problems.push(format!(
                    "{crate_dir}: layer {} may use {used}, which is not a layer below it",
                    layer.name
                ));
            }
        }
    }
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, source) in &all {
        let layer_name = module.layer();
        if module.path.is_empty() && !module.bin {
            continue; // lib.rs declares the layers
        }
        let Some(layer) = by_name.get(layer_name) else {
            problems.push(format!(
                "{}: layer `{layer_name}` is not in the table of ARCHITECTURE.md",
                source.file.display()
            ));
            continue;
        };
        let targets = edges.entry(module.clone()).or_default();
        for path in paths_in(&source.code) {
            if let Some(first) = path.first()
                && layer.never.contains(&first.as_str())
            {
                problems.push(format!(
                    "{}: layer {layer_name} names `{first}`",
                    source.file.display()
                ));
            }
            let Some(target) = resolve(module, &path, crate_name, &all) else {
                continue;
            };
            if target == *module || (target.path.is_empty() && !target.bin) {
                continue;
            }
            let target_layer = target.layer();
            if target_layer != layer_name && !layer.may_use.contains(&target_layer) {
                problems.push(format!(
                    "{}: layer {layer_name} may not use {target_layer} ({})",
                    source.file.display(),
                    path.join("::")
                ));
            }
            targets.insert(target);
        }
    }
    for cycle in cycles(&edges) {
        let names: Vec<String> = cycle.iter().map(Module::name).collect();
        problems.push(format!(
            "{crate_dir}: import circle among {}",
            names.join(", ")
        ));
    }
    problems.sort();
    problems.dedup();
    problems
}

#[test]
fn the_hub_imports_point_one_way() {
    let problems = breaches("hub", "sajja_hub", HUB);
    assert!(
        problems.is_empty(),
        "{} breaches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_node_imports_point_one_way() {
    let problems = breaches("node", "sajja_node", NODE);
    assert!(
        problems.is_empty(),
        "{} breaches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn a_circle_and_a_forbidden_import_are_caught() {
    // Proves the checker can fail: two files that import each other, and a
    // store that names tonic, in a scratch crate.
    let dir = tempfile::tempdir().expect("a scratch directory");
    let src = dir.path().join("scratch").join("src");
    std::fs::create_dir_all(src.join("store")).expect("folders");
    std::fs::write(src.join("lib.rs"), "pub mod values;\npub mod store;\n").expect("lib");
    std::fs::write(src.join("values.rs"), "use crate::store::logs::Log;\n").expect("values");
    std::fs::write(src.join("store").join("mod.rs"), "pub mod logs;\n").expect("mod");
    std::fs::write(
        src.join("store").join("logs.rs"),
        "use crate::values::Thing;\nfn f() { tonic::Status::ok(); }\n",
    )
    .expect("logs");
    const SCRATCH: &[Layer] = &[
        Layer {
            name: "values",
            may_use: &[],
            never: PURE,
        },
        Layer {
            name: "store",
            may_use: &["values"],
            never: NO_NET,
        },
    ];
    let problems = breaches_in(&src, "scratch", SCRATCH);
    let text = problems.join("\n");
    assert!(text.contains("layer values may not use store"), "{text}");
    assert!(
        text.contains("import circle among lib::store::logs, lib::values"),
        "{text}"
    );
    assert!(text.contains("layer store names `tonic`"), "{text}");
}

/// The crates a crate's `[dependencies]` name (not its dev- or build-).
fn dependencies_of(crate_dir: &str) -> BTreeSet<String> {
    let path = workspace().join(crate_dir).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut names = BTreeSet::new();
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == "[dependencies]";
        } else if inside && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
            names.insert(name.to_string());
        }
    }
    names
}

#[test]
fn the_crates_depend_one_way() {
    // ARCHITECTURE.md's codemap: the domain and the generator do no I/O, the
    // generator needs nothing but the domain, and the node and the hub never
    // depend on each other.
    let io = [
        "tokio",
        "rusqlite",
        "tonic",
        "axum",
        "hyper",
        "sajja-proto",
        "sajja-edge",
    ];
    let rules: &[(&str, &[&str])] = &[
        ("common", &io),
        ("activity", &io),
        (
            "proto",
            &["rusqlite", "axum", "sajja-edge", "sajja-node", "sajja-hub"],
        ),
        ("edge", &["sajja-node", "sajja-hub", "sajja-activity"]),
        ("node", &["sajja-hub", "sajja-activity"]),
        ("hub", &["sajja-node"]),
    ];
    let mut problems = Vec::new();
    for (crate_dir, never) in rules {
        let deps = dependencies_of(crate_dir);
        assert!(
            !deps.is_empty() || *crate_dir == "activity",
            "{crate_dir}: no dependencies read"
        );
        for name in deps.iter().filter(|d| never.contains(&d.as_str())) {
            problems.push(format!("{crate_dir} depends on {name}"));
        }
    }
    // The test kit is a dev-dependency only.
    for crate_dir in [
        "common", "activity", "proto", "edge", "node", "hub", "bench",
    ] {
        if dependencies_of(crate_dir).contains("sajja-testkit") {
            problems.push(format!("{crate_dir} depends on sajja-testkit"));
        }
    }
    let generator = dependencies_of("activity");
    let allowed: BTreeSet<String> = ["sajja-common", "thiserror"].map(String::from).into();
    assert!(
        generator.is_subset(&allowed),
        "activity depends on {generator:?}"
    );
    assert!(generator.contains("sajja-common"), "{generator:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
