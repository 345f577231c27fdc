//! README.md and docs/LEARN.md point into the code: files, functions,
//! types. This test checks that everything they point at is still there,
//! so a file moved or a function renamed fails here, with the name and the
//! document, instead of misleading the next reader.
//!
//! The convention, in the prose of both documents (fenced code blocks are
//! examples, not pointers):
//! - a path in backticks that starts with `src/`, `examples/`, `tests/`,
//!   `benches/`, `docs/`, `fuzz/` or `.ci/` must exist;
//! - a name is tied to a file when the file follows it in parentheses,
//!   `` `read_head` (`src/http/request.rs`) ``; when names and then the file
//!   fill a pair of parentheses, `` (`Persistence`, `src/http/persistence.rs`) ``;
//!   or when the name follows the file after a comma,
//!   `` `src/api/mod.rs`, `check_head` ``. A tied function must be defined
//!   in its file (`fn read_head`), a tied `Type::method` inside an `impl` of
//!   the type there, and a tied type or constant must appear there;
//! - a `Type::method` of a type of this repository must be defined in some
//!   `impl` of it, wherever it is named;
//! - a function name with an underscore, wherever it is named, must be
//!   defined somewhere in `src/`, `examples/`, `tests/` or `benches/`, or be
//!   the name of a file there (`http_rules` is `tests/http_rules.rs`) or of
//!   one of the crate's dependencies (`serde_json`);
//! - `--example NAME`, code blocks included, must name an example.
//!
//! docs/LEARN.md's transcripts are checked by each step's own test
//! (`transcripts_in_the_guide`); the second test here checks that every
//! transcript belongs to a step whose tests replay it.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

const DOCUMENTS: &[&str] = &["README.md", "docs/LEARN.md"];
const PATH_PREFIXES: &[&str] = &[
    "src/",
    "examples/",
    "tests/",
    "benches/",
    "docs/",
    "fuzz/",
    ".ci/",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

#[test]
fn every_file_and_item_the_docs_name_exists() {
    let code = Code::load();
    let mut missing = Vec::new();
    for document in DOCUMENTS {
        let text = read(document);
        for problem in check(&text, &code) {
            missing.push(format!("{document}: {problem}"));
        }
    }
    assert!(
        missing.is_empty(),
        "the docs name what the code does not have:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_step_has_a_section_and_replays_its_transcripts() {
    let guide = read("docs/LEARN.md");
    let steps = steps();
    assert!(
        steps.len() >= 8,
        "the steps are examples/NN_name.rs: {steps:?}"
    );
    let mut section: Option<&str> = None;
    for (number, line) in guide.lines().enumerate() {
        if line.starts_with("## ") {
            section = steps
                .iter()
                .find(|step| line.contains(&format!("`{step}`")))
                .map(String::as_str);
        } else if line == "```console" {
            assert!(
                section.is_some(),
                "docs/LEARN.md:{}: a transcript outside the section of a step",
                number + 1
            );
        }
    }
    for step in &steps {
        assert!(
            guide.contains(&format!("## Step {}: ", &step[..2]))
                && guide.contains(&format!("(`{step}`)")),
            "docs/LEARN.md has no section `## Step NN: ... (`{step}`)`"
        );
        let tests = read(&format!("examples/tests/{step}.rs"));
        assert!(
            tests.contains(&format!("replay_transcripts(\"{step}\"")),
            "examples/tests/{step}.rs does not replay its transcripts"
        );
    }
}

/// The steps: `examples/NN_name.rs`.
fn steps() -> Vec<String> {
    let mut steps: Vec<String> = fs::read_dir(root().join("examples"))
        .expect("examples/")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| Some(name.strip_suffix(".rs")?.to_string()))
        .filter(|name| name.as_bytes().first().is_some_and(u8::is_ascii_digit))
        .collect();
    steps.sort();
    steps
}

/// Every `.rs` file of the places a document may point into.
struct Code {
    files: Vec<(PathBuf, String)>,
    dependencies: Vec<String>,
}

impl Code {
    fn load() -> Code {
        let mut files = Vec::new();
        for dir in ["src", "examples", "tests", "benches"] {
            collect(&root().join(dir), &mut files);
        }
        let manifest = read("Cargo.toml");
        let dependencies = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap_or_default()
            .lines()
            .take_while(|line| !line.starts_with('['))
            .filter_map(|line| Some(line.split_once('=')?.0.trim().replace('-', "_")))
            .collect();
        Code {
            files,
            dependencies,
        }
    }

    fn defines_function(&self, name: &str) -> bool {
        self.files.iter().any(|(_, text)| defines_fn(text, name))
    }

    /// Whether some file is `NAME.rs` (the README names test files so).
    fn has_file_named(&self, name: &str) -> bool {
        let file = format!("{name}.rs");
        self.files.iter().any(|(path, _)| path.ends_with(&file))
    }

    fn defines_type(&self, name: &str) -> bool {
        self.files.iter().any(|(_, text)| {
            ["struct", "enum", "trait", "type"]
                .iter()
                .any(|kind| contains_word(text, &format!("{kind} {name}")))
        })
    }

    fn defines_method(&self, type_name: &str, method: &str) -> bool {
        self.files
            .iter()
            .any(|(_, text)| defines_method(text, type_name, method))
    }
}

fn collect(dir: &Path, files: &mut Vec<(PathBuf, String)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).unwrap_or_default();
            files.push((path, text));
        }
    }
}

/// A span of code in backticks, and where it stands in the prose.
struct Span {
    start: usize,
    end: usize,
    text: String,
}

/// The problems with one document.
fn check(document: &str, code: &Code) -> Vec<String> {
    let mut problems = Vec::new();
    for word in document.split("--example ").skip(1) {
        let name: String = word
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let file = root().join(format!("examples/{name}.rs"));
        if name != "NAME" && !file.exists() {
            problems.push(format!(
                "`--example {name}`: there is no examples/{name}.rs"
            ));
        }
    }
    let prose = prose(document);
    let spans = spans(&prose);
    let mut tied = BTreeSet::new();
    for (index, span) in spans.iter().enumerate() {
        if is_path(&span.text) {
            if !root().join(&span.text).exists() {
                problems.push(format!("`{}` does not exist", span.text));
            }
            continue;
        }
        if !is_name(&span.text) {
            continue;
        }
        if let Some(path) = tied_path(&prose, &spans, index) {
            tied.insert(index);
            if let Some(problem) = check_tied(&span.text, path) {
                problems.push(problem);
            }
        }
    }
    for (index, span) in spans.iter().enumerate() {
        if tied.contains(&index) || !is_name(&span.text) {
            continue;
        }
        let name = span.text.as_str();
        if let Some((type_name, method)) = name.split_once("::") {
            if code.defines_type(type_name) && !code.defines_method(type_name, method) {
                problems.push(format!("`{name}`: no `impl {type_name}` has `fn {method}`"));
            }
        } else if name.contains('_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !code.defines_function(name)
            && !code.has_file_named(name)
            && !code.dependencies.iter().any(|d| d == name)
        {
            problems.push(format!("`{name}`: no `fn {name}`, and no file {name}.rs"));
        }
    }
    problems
}

/// The file a name is tied to, by one of the three forms.
fn tied_path<'a>(prose: &str, spans: &'a [Span], index: usize) -> Option<&'a str> {
    let between = |a: usize, b: usize| prose[a..b].trim();
    let span = &spans[index];
    // `name` (`path`)
    if let Some(next) = spans.get(index + 1)
        && is_path(&next.text)
        && between(span.end, next.start) == "("
        && prose[next.end..].trim_start().starts_with(')')
    {
        return Some(&next.text);
    }
    // `path`, `name`
    if index > 0 {
        let previous = &spans[index - 1];
        if is_path(&previous.text) && between(previous.end, span.start) == "," {
            return Some(&previous.text);
        }
    }
    // (`name`, `name`, `path`): after an opening parenthesis, names and
    // commas up to a path and the closing parenthesis.
    let mut first = index;
    while first > 0 && between(spans[first - 1].end, spans[first].start) == "," {
        first -= 1;
    }
    if !prose[..spans[first].start].trim_end().ends_with('(') {
        return None;
    }
    let mut last = index;
    while let Some(next) = spans.get(last + 1) {
        if between(spans[last].end, next.start) != "," {
            break;
        }
        last += 1;
        if is_path(&next.text) {
            return prose[next.end..]
                .trim_start()
                .starts_with(')')
                .then_some(next.text.as_str());
        }
    }
    None
}

/// Whether `path` has what `name` says it has.
fn check_tied(name: &str, path: &str) -> Option<String> {
    let file = root().join(path);
    let Ok(text) = fs::read_to_string(&file) else {
        return Some(format!("`{name}` is tied to `{path}`, which is not a file"));
    };
    let found = if let Some((type_name, method)) = name.split_once("::") {
        defines_method(&text, type_name, method)
    } else if name.starts_with(|c: char| c.is_ascii_lowercase()) {
        defines_fn(&text, name)
    } else {
        contains_word(&text, name)
    };
    (!found).then(|| format!("`{name}` is not in `{path}`"))
}

/// The document without its fenced code blocks, lines joined by spaces so
/// that a tie may run across a line break.
fn prose(document: &str) -> String {
    let mut fenced = false;
    let mut prose = String::new();
    for line in document.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            prose.push_str(line);
            prose.push(' ');
        }
    }
    prose
}

/// The code spans of `prose`: single backticks; a span in two or more
/// backticks shows code literally and names nothing.
fn spans(prose: &str) -> Vec<Span> {
    let bytes = prose.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let ticks = bytes[i..].iter().take_while(|&&b| b == b'`').count();
        let fence = &prose[i..i + ticks];
        let open = i + ticks;
        let mut close = open;
        loop {
            let Some(found) = prose[close..].find(fence) else {
                return spans;
            };
            close += found;
            let run = bytes[close..].iter().take_while(|&&b| b == b'`').count();
            if run == ticks {
                break;
            }
            close += run;
        }
        if ticks == 1 {
            let text = prose[open..close].to_string();
            spans.push(Span {
                start: i,
                end: close + 1,
                text,
            });
        }
        i = close + ticks;
    }
    spans
}

fn is_path(text: &str) -> bool {
    let placeholder = text.contains("...") || text.contains(' ');
    PATH_PREFIXES.iter().any(|prefix| text.starts_with(prefix)) && !placeholder
}

/// `name`, `Name` or `Type::method`.
fn is_name(text: &str) -> bool {
    let identifier = |part: &str| {
        part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match text.split_once("::") {
        Some((type_name, method)) => {
            type_name.starts_with(|c: char| c.is_ascii_uppercase())
                && identifier(type_name)
                && identifier(method)
        }
        None => identifier(text),
    }
}

fn defines_fn(text: &str, name: &str) -> bool {
    [format!("fn {name}("), format!("fn {name}<")]
        .iter()
        .any(|definition| text.contains(definition.as_str()))
}

/// Whether an `impl` block of `type_name` in `text` defines `fn method`.
/// An `impl` line's block ends at the first line that is its indentation
/// and a `}` (as rustfmt lays it out).
fn defines_method(text: &str, type_name: &str, method: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let header = trimmed.split('{').next().unwrap_or_default();
        if !trimmed.starts_with("impl") || !contains_word(header, type_name) {
            continue;
        }
        let end = format!("{}}}", &line[..line.len() - trimmed.len()]);
        let body = lines[i + 1..].iter().take_while(|l| **l != end);
        if body.into_iter().any(|l| defines_fn(l, method)) {
            return true;
        }
    }
    false
}

/// Whether `word` stands in `text` with no identifier character on either side.
fn contains_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}
