//! The shape of the code, checked: dependencies between the files of `src/`
//! point one way (no import cycles), and the layers keep to themselves.
//!
//! README's "Architecture" promises that protocol (`http/`), meaning
//! (`api/`), storage (`store/`) and plumbing (`server/`, `config`, `main`)
//! stay apart, with the parser knowing nothing of keys and the store nothing
//! of HTTP. A promise like that erodes one convenient `use` at a time, so
//! this test reads every file of the library and fails on the first `use`
//! (or path) that breaks it.
//!
//! A file depends on another when it names an item of that file's module:
//! `use super::error::HttpError` makes `http/request.rs` depend on
//! `http/error.rs`; `use super::HttpError`, through the re-export in
//! `http/mod.rs`, would make it depend on `http/mod.rs`, which depends on
//! every file it declares: a cycle. So a file names its siblings directly,
//! and a `mod.rs` is only the front door of its directory.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Which top-level modules each layer must not use.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "http",
        &[
            "api", "store", "server", "config", "stats", "client", "cluster",
        ],
    ),
    (
        "store",
        &[
            "http", "api", "server", "config", "stats", "client", "cluster",
        ],
    ),
    ("api", &["server", "config", "client", "cluster"]),
    (
        "stats",
        &["api", "store", "server", "config", "client", "cluster"],
    ),
    // The client is the tests' client too: sharing the server's parser
    // would let a bug agree with itself.
    (
        "client",
        &[
            "http", "api", "store", "server", "config", "stats", "cluster",
        ],
    ),
];

/// One file of the library, as a module path (`["http", "request"]`).
struct Source {
    path: PathBuf,
    module: Vec<String>,
    code: String,
}

fn library_sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files
        .into_iter()
        .filter(|path| {
            // main.rs is the binary, a client of the library like any other;
            // tests.rs files are unit tests.
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name != "main.rs" && name != "tests.rs"
        })
        .map(|path| {
            let relative = path.strip_prefix(&root).expect("under src");
            let mut module: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = fs::read_to_string(&path).expect("read a source file");
            Source {
                path: relative.to_path_buf(),
                module,
                code: code_of(&text),
            }
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// The code without comments, string and character literals, and its
/// `#[cfg(test)]` module, which may use anything.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    let without_comments: Vec<&str> = text
        .lines()
        .map(|line| match line.trim_start().starts_with("//") {
            true => "",
            false => line,
        })
        .collect();
    without_literals(&without_comments.join("\n"))
}

/// Blanks out what is inside string and character literals, so that a
/// message saying "in use" or a `'{'` is not read as code.
fn without_literals(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '"' => {
                // A raw string's hashes were already copied; r#"..."# ends at
                // a quote followed by as many hashes.
                let hashes = chars[..i].iter().rev().take_while(|&&c| c == '#').count();
                let raw = chars[..i - hashes.min(i)].last() == Some(&'r');
                i += 1;
                while i < chars.len() {
                    if !raw && chars[i] == '\\' {
                        i += 2;
                        continue;
                    }
                    if chars[i] == '"' && chars[i + 1..].iter().take(hashes).all(|&c| c == '#') {
                        break;
                    }
                    i += 1;
                }
                out.push_str("\"\"");
                i += 1;
            }
            // A character literal ('x', '\n'); a lifetime ('a) is left alone.
            '\'' if chars.get(i + 1) == Some(&'\\') => {
                // Past the quote, the backslash and the escaped character.
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                out.push_str("' '");
                i += 1;
            }
            '\'' if chars.get(i + 2) == Some(&'\'') => {
                out.push_str("' '");
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Every path the code names that starts at `crate`, `super`, `self` or a
/// child module: `use` trees expanded, and paths inside expressions.
fn named_paths(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_ident(bytes[i - 1]);
        if starts_word && bytes[i..].starts_with(b"use ") {
            let end = code[i..].find(';').map_or(code.len(), |at| i + at);
            expand_use(&code[i + 4..end], &mut Vec::new(), &mut paths);
            i = end;
            continue;
        }
        if starts_word && is_ident(bytes[i]) {
            let mut end = i;
            while end < bytes.len() && (is_ident(bytes[end]) || bytes[end..].starts_with(b"::")) {
                end += if bytes[end] == b':' { 2 } else { 1 };
            }
            let segments: Vec<String> = code[i..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if segments.len() > 1 {
                paths.push(segments);
            }
            i = end.max(i + 1);
            continue;
        }
        i += 1;
    }
    paths.retain(|path| {
        matches!(path[0].as_str(), "crate" | "super" | "self") || children.contains(&path[0])
    });
    paths
}

/// `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand_use(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim().trim_start_matches("pub ").trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or("").trim();
        let mut full = prefix.clone();
        full.extend(
            path.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
        if !full.is_empty() {
            out.push(full);
        }
        return;
    };
    let head: Vec<String> = tree[..open]
        .split("::")
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().to_string())
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let depth_before = prefix.len();
    prefix.extend(head);
    let mut depth = 0;
    let mut start = 0;
    for (at, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand_use(&inner[start..at], prefix, out);
                start = at + 1;
            }
            _ => {}
        }
    }
    expand_use(&inner[start..], prefix, out);
    prefix.truncate(depth_before);
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The file-level dependency graph: for each file, the files it names.
fn dependencies(sources: &[Source]) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let by_module: BTreeMap<&[String], &PathBuf> = sources
        .iter()
        .map(|source| (source.module.as_slice(), &source.path))
        .collect();
    // The longest module path that `segments` starts with, from `base`.
    let resolve = |base: &[String], segments: &[String]| -> Option<&PathBuf> {
        let mut module = base.to_vec();
        for segment in segments {
            module.push(segment.clone());
            if !by_module.contains_key(module.as_slice()) {
                module.pop();
                break;
            }
        }
        by_module.get(module.as_slice()).copied()
    };
    let mut graph = BTreeMap::new();
    for source in sources {
        let children: BTreeSet<String> = source
            .code
            .lines()
            .filter_map(|line| {
                let line = line
                    .trim()
                    .trim_start_matches("pub ")
                    .trim_start_matches("pub(crate) ");
                line.strip_prefix("mod ")?
                    .strip_suffix(';')
                    .map(str::to_string)
            })
            .collect();
        let mut named = BTreeSet::new();
        for path in named_paths(&source.code, &children) {
            let target = match path[0].as_str() {
                "crate" => resolve(&[], &path[1..]),
                "super" => {
                    let mut base = source.module.clone();
                    let mut rest = &path[..];
                    while rest.first().is_some_and(|s| s == "super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    resolve(&base, rest)
                }
                "self" => resolve(&source.module, &path[1..]),
                _ => resolve(&source.module, &path),
            };
            if let Some(target) = target
                && *target != source.path
            {
                named.insert(target.clone());
            }
        }
        graph.insert(source.path.clone(), named);
    }
    graph
}

#[test]
fn no_file_of_the_library_depends_on_itself_through_others() {
    let graph = dependencies(&library_sources());
    assert!(graph.len() > 20, "found the sources: {:?}", graph.keys());
    // Depth-first search; a file met again while still on the stack closes
    // a cycle.
    fn visit(
        file: &PathBuf,
        graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        stack: &mut Vec<PathBuf>,
        done: &mut BTreeSet<PathBuf>,
    ) {
        if done.contains(file) {
            return;
        }
        if let Some(at) = stack.iter().position(|f| f == file) {
            let cycle: Vec<String> = stack[at..]
                .iter()
                .chain([file])
                .map(|f| f.display().to_string())
                .collect();
            panic!("an import cycle: {}", cycle.join(" -> "));
        }
        stack.push(file.clone());
        for next in graph.get(file).into_iter().flatten() {
            visit(next, graph, stack, done);
        }
        stack.pop();
        done.insert(file.clone());
    }
    let mut done = BTreeSet::new();
    for file in graph.keys() {
        visit(file, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    for source in library_sources() {
        let Some(layer) = source.module.first() else {
            continue;
        };
        let Some((_, forbidden)) = FORBIDDEN.iter().find(|(name, _)| name == layer) else {
            continue;
        };
        for path in named_paths(&source.code, &BTreeSet::new()) {
            if path[0] == "crate" && forbidden.contains(&path[1].as_str()) {
                panic!(
                    "src/{} uses crate::{}: the {layer} layer must not depend on {}",
                    source.path.display(),
                    path[1..].join("::"),
                    path[1]
                );
            }
        }
    }
}

#[test]
fn the_checks_see_what_they_look_for() {
    // A cycle and a layer breach, in miniature, must be caught: otherwise
    // the two tests above could pass by reading nothing.
    assert_eq!(
        without_literals(r##"f("in use {", '{', '\'', b'"', 'a); r"x"; r#"y"z"#"##),
        r##"f("", ' ', ' ', b' ', 'a); r""; r#""#"##
    );
    let children = BTreeSet::from(["log".to_string()]);
    let paths = named_paths(
        "use super::{error::HttpError, line::read_line};\nfn f() { crate::store::Store::new(); log::Log::x(); }",
        &children,
    );
    let shown: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        shown,
        [
            "super::error::HttpError",
            "super::line::read_line",
            "crate::store::Store::new",
            "log::Log::x"
        ]
    );
    let sources = [
        Source {
            path: "a.rs".into(),
            module: vec!["a".into()],
            code: "use crate::b::B;".into(),
        },
        Source {
            path: "b.rs".into(),
            module: vec!["b".into()],
            code: "fn f() { crate::a::g() }".into(),
        },
    ];
    let graph = dependencies(&sources);
    assert!(graph[Path::new("a.rs")].contains(Path::new("b.rs")));
    assert!(graph[Path::new("b.rs")].contains(Path::new("a.rs")));
}
