//! The shape of the source tree, checked: no two files of a crate use each
//! other (directly or through a chain), no source file passes 600 lines, and
//! every file opens with a doc comment saying what it is for.
//!
//! The crates are the library (`src/`), the CLI (`src/bin/tfrec/`) and the
//! Python binding (`python/src/`). A file depends on another when it names an
//! item of it through `crate::`, `super::` or `self::` paths, in a `use` or
//! inline; names a parent module re-exports (`pub use child::Item`) count as
//! uses of the file that defines them, and re-exports themselves are not
//! uses. Unit tests (`#[cfg(test)] mod tests { .. }` at the end of a file) are
//! left out: a test may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The most lines a source file may have.
const MAX_LINES: usize = 600;

/// A module path inside one crate, `[]` being the crate root.
type ModPath = Vec<String>;

struct Crate {
    /// The directory the module tree starts in.
    dir: PathBuf,
    /// The root file's name in `dir` (`lib.rs` or `main.rs`).
    root: &'static str,
    /// Directories below `dir` that belong to another crate.
    skip: Vec<PathBuf>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn crates() -> Vec<Crate> {
    let root = repo();
    vec![
        Crate {
            dir: root.join("src"),
            root: "lib.rs",
            skip: vec![root.join("src/bin")],
        },
        Crate {
            dir: root.join("src/bin/tfrec"),
            root: "main.rs",
            skip: vec![],
        },
        Crate {
            dir: root.join("python/src"),
            root: "lib.rs",
            skip: vec![],
        },
    ]
}

fn rust_files(dir: &Path, skip: &[PathBuf], out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if skip.contains(&path) {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, skip, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_path(krate: &Crate, file: &Path) -> ModPath {
    let rel = file
        .strip_prefix(&krate.dir)
        .expect("file inside its crate");
    if rel == Path::new(krate.root) {
        return Vec::new();
    }
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The file's text without its trailing unit tests and without comments.
fn code_of(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if line.trim() == "#[cfg(test)]" {
            let next = lines[i + 1..].iter().find(|l| !l.trim().is_empty());
            if next.is_some_and(|l| l.trim_start().starts_with("mod tests")) {
                end = i;
                break;
            }
        }
    }
    let mut code = String::new();
    for line in &lines[..end] {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        // Strip a trailing comment; a `//` inside a string literal is rare
        // in paths and harmless to cut.
        let line = match line.find(" //") {
            Some(at) => &line[..at],
            None => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// One path named by a `use` tree: its segments, and the name it binds.
#[derive(Debug, Clone)]
struct UsePath {
    segments: Vec<String>,
    name: Option<String>,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Expands a `use` tree such as `super::{a::B, c as D, e::*}`.
fn expand_use(tree: &str) -> Vec<UsePath> {
    fn parse(s: &[char], pos: &mut usize, prefix: &[String], out: &mut Vec<UsePath>) {
        let mut segments = prefix.to_vec();
        loop {
            while *pos < s.len() && s[*pos].is_whitespace() {
                *pos += 1;
            }
            if *pos >= s.len() {
                break;
            }
            if s[*pos] == '{' {
                *pos += 1;
                loop {
                    parse(s, pos, &segments, out);
                    while *pos < s.len() && s[*pos].is_whitespace() {
                        *pos += 1;
                    }
                    match s.get(*pos) {
                        Some(',') => *pos += 1,
                        Some('}') => {
                            *pos += 1;
                            return;
                        }
                        _ => return,
                    }
                    while *pos < s.len() && s[*pos].is_whitespace() {
                        *pos += 1;
                    }
                    if s.get(*pos) == Some(&'}') {
                        *pos += 1;
                        return;
                    }
                }
            }
            if s[*pos] == '*' {
                *pos += 1;
                out.push(UsePath {
                    segments,
                    name: None,
                });
                return;
            }
            let start = *pos;
            while *pos < s.len() && is_ident(s[*pos]) {
                *pos += 1;
            }
            let ident: String = s[start..*pos].iter().collect();
            if ident.is_empty() {
                return;
            }
            if s[*pos..].starts_with(&[':', ':']) {
                *pos += 2;
                segments.push(ident);
                continue;
            }
            // The last segment, perhaps renamed.
            let mut name = ident.clone();
            let rest: String = s[*pos..].iter().collect();
            let trimmed = rest.trim_start();
            if let Some(after) = trimmed.strip_prefix("as ") {
                let skipped = rest.len() - trimmed.len() + 3;
                let alias: String = after
                    .trim_start()
                    .chars()
                    .take_while(|c| is_ident(*c))
                    .collect();
                let ws = after.len() - after.trim_start().len();
                *pos += skipped + ws + alias.len();
                name = alias;
            }
            if ident == "self" {
                let name = if name == "self" {
                    segments.last().cloned()
                } else {
                    Some(name)
                };
                out.push(UsePath { segments, name });
            } else {
                segments.push(ident);
                out.push(UsePath {
                    segments,
                    name: Some(name),
                });
            }
            return;
        }
    }
    let chars: Vec<char> = tree.chars().collect();
    let mut out = Vec::new();
    parse(&chars, &mut 0, &[], &mut out);
    out
}

struct FileInfo {
    module: ModPath,
    /// Paths this file names (not counting re-exports).
    uses: Vec<Vec<String>>,
    /// Names this file re-exports: name -> the path it re-exports.
    reexports: BTreeMap<String, Vec<String>>,
    /// Glob re-exports (`pub use child::*`).
    glob_reexports: Vec<Vec<String>>,
}

fn scan(module: ModPath, code: &str) -> FileInfo {
    let mut info = FileInfo {
        module,
        uses: Vec::new(),
        reexports: BTreeMap::new(),
        glob_reexports: Vec::new(),
    };
    // `use` statements, public or not.
    let mut rest = code;
    let mut inline = String::new();
    while let Some(at) = find_use(rest) {
        inline.push_str(&rest[..at.start]);
        let end = rest[at.tree..]
            .find(';')
            .map_or(rest.len(), |e| at.tree + e);
        let tree = &rest[at.tree..end];
        for path in expand_use(tree) {
            if at.public {
                match path.name {
                    Some(name) => {
                        info.reexports.insert(name, path.segments);
                    }
                    None => info.glob_reexports.push(path.segments),
                }
            } else {
                info.uses.push(path.segments);
            }
        }
        rest = &rest[(end + 1).min(rest.len())..];
    }
    inline.push_str(rest);
    // Inline paths such as `crate::read::mmap::Map::open(..)`.
    for anchor in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(found) = inline[from..].find(anchor) {
            let start = from + found;
            from = start + anchor.len();
            if inline[..start].chars().next_back().is_some_and(is_ident) {
                continue;
            }
            let path: String = inline[start..]
                .chars()
                .take_while(|c| is_ident(*c) || *c == ':')
                .collect();
            let segments: Vec<String> = path
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            info.uses.push(segments);
        }
    }
    info
}

struct UseAt {
    start: usize,
    tree: usize,
    public: bool,
}

/// The next `use` statement at the start of a line.
fn find_use(code: &str) -> Option<UseAt> {
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let (public, after) = if let Some(after) = trimmed.strip_prefix("use ") {
            (false, after)
        } else if let Some(vis) = trimmed.strip_prefix("pub") {
            let vis = vis.trim_start();
            let after_vis = if vis.starts_with('(') {
                vis.find(')').map(|e| vis[e + 1..].trim_start())
            } else {
                Some(vis)
            };
            match after_vis.and_then(|a| a.strip_prefix("use ")) {
                Some(after) => (true, after),
                None => {
                    offset += line.len();
                    continue;
                }
            }
        } else {
            offset += line.len();
            continue;
        };
        let tree = offset + line.len() - after.len();
        return Some(UseAt {
            start: offset + indent,
            tree,
            public,
        });
    }
    None
}

struct Graph {
    files: Vec<PathBuf>,
    infos: Vec<FileInfo>,
    by_module: BTreeMap<ModPath, usize>,
}

impl Graph {
    /// Makes `path` (as written in file `from`) absolute in the crate.
    fn absolute(&self, from: usize, path: &[String]) -> Option<ModPath> {
        let module = &self.infos[from].module;
        let (mut base, rest) = match path.first().map(String::as_str) {
            Some("crate") => (Vec::new(), &path[1..]),
            Some("self") => (module.clone(), &path[1..]),
            Some("super") => {
                let mut base = module.clone();
                let mut rest = path;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                (base, rest)
            }
            // A child module named directly, as in `use child::Item`.
            Some(first) => {
                let mut child = module.clone();
                child.push(first.to_owned());
                if self.by_module.contains_key(&child) {
                    (module.clone(), path)
                } else {
                    return None;
                }
            }
            None => return None,
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The file that defines what `path` names, following re-exports.
    fn resolve(&self, from: usize, path: &[String]) -> Option<usize> {
        let mut target = self.absolute(from, path)?;
        for _ in 0..16 {
            let (file, at) = self.owner(&target)?;
            let Some(item) = target.get(at) else {
                return Some(file);
            };
            let info = &self.infos[file];
            let reexported = info.reexports.get(item).cloned().or_else(|| {
                info.glob_reexports.iter().find_map(|glob| {
                    let mut probe = glob.clone();
                    probe.push(item.clone());
                    let abs = self.absolute(file, &probe)?;
                    let (owner, _) = self.owner(&abs)?;
                    (owner != file).then_some(probe)
                })
            });
            match reexported {
                Some(source) => {
                    let mut next = self.absolute(file, &source)?;
                    next.extend(target[at + 1..].iter().cloned());
                    target = next;
                }
                None => return Some(file),
            }
        }
        None
    }

    /// The file of the deepest module `target` names, and how many of its
    /// segments that module takes.
    fn owner(&self, target: &[String]) -> Option<(usize, usize)> {
        let mut module = Vec::new();
        let mut at = 0;
        while at < target.len() {
            let mut next = module.clone();
            next.push(target[at].clone());
            if self.by_module.contains_key(&next) {
                module = next;
                at += 1;
            } else {
                break;
            }
        }
        Some((*self.by_module.get(&module)?, at))
    }

    fn edges(&self) -> Vec<BTreeSet<usize>> {
        (0..self.files.len())
            .map(|from| {
                self.infos[from]
                    .uses
                    .iter()
                    .filter_map(|path| self.resolve(from, path))
                    .filter(|&to| to != from)
                    .collect()
            })
            .collect()
    }
}

fn graph_of(krate: &Crate) -> Graph {
    let mut files = Vec::new();
    rust_files(&krate.dir, &krate.skip, &mut files);
    let mut infos = Vec::new();
    let mut by_module = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        let text = fs::read_to_string(file).expect("source file");
        let module = module_path(krate, file);
        by_module.insert(module.clone(), i);
        infos.push(scan(module, &code_of(&text)));
    }
    Graph {
        files,
        infos,
        by_module,
    }
}

/// The cycles of a directed graph, one per strongly connected component.
fn cycles(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    // Tarjan's algorithm, iterative to keep the test's stack small.
    let n = edges.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut found = Vec::new();
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, Vec<usize>)> = Vec::new();
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        work.push((root, edges[root].iter().copied().collect()));
        while let Some((v, pending)) = work.last_mut() {
            let v = *v;
            if let Some(w) = pending.pop() {
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, edges[w].iter().copied().collect()));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some((parent, _)) = work.last() {
                low[*parent] = low[*parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort_unstable();
                    found.push(component);
                }
            }
        }
    }
    found
}

fn rel(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn no_file_uses_a_file_that_uses_it() {
    let mut report = Vec::new();
    for krate in crates() {
        let graph = graph_of(&krate);
        let edges = graph.edges();
        for component in cycles(&edges) {
            let mut lines = Vec::new();
            for &from in &component {
                for &to in &edges[from] {
                    if component.contains(&to) {
                        lines.push(format!(
                            "  {} -> {}",
                            rel(&graph.files[from]),
                            rel(&graph.files[to])
                        ));
                    }
                }
            }
            report.push(format!("a circle of files:\n{}", lines.join("\n")));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn no_source_file_passes_the_line_limit() {
    let mut long = Vec::new();
    for krate in crates() {
        let mut files = Vec::new();
        rust_files(&krate.dir, &krate.skip, &mut files);
        for file in files {
            let lines = fs::read_to_string(&file).expect("source").lines().count();
            if lines > MAX_LINES {
                long.push(format!("{}: {lines} lines", rel(&file)));
            }
        }
    }
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn every_source_file_opens_with_its_purpose() {
    let mut bare = Vec::new();
    for krate in crates() {
        let mut files = Vec::new();
        rust_files(&krate.dir, &krate.skip, &mut files);
        for file in files {
            let text = fs::read_to_string(&file).expect("source");
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if !first.starts_with("//!") {
                bare.push(rel(&file));
            }
        }
    }
    assert!(
        bare.is_empty(),
        "no opening `//!` comment:\n{}",
        bare.join("\n")
    );
}

// The checker itself, on small made-up crates: it must see a circle where
// there is one, through re-exports, and none where there is none.
mod checker {
    use super::*;

    fn graph(files: &[(&str, &str)]) -> (Graph, Vec<BTreeSet<usize>>) {
        let mut infos = Vec::new();
        let mut by_module = BTreeMap::new();
        let mut paths = Vec::new();
        for (i, (module, code)) in files.iter().enumerate() {
            let module: ModPath = module
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            by_module.insert(module.clone(), i);
            paths.push(PathBuf::from(format!("{i}.rs")));
            infos.push(scan(module, &code_of(code)));
        }
        let graph = Graph {
            files: paths,
            infos,
            by_module,
        };
        let edges = graph.edges();
        (graph, edges)
    }

    #[test]
    fn circles_are_found_where_there_are_some() {
        type Case = (
            &'static str,
            &'static [(&'static str, &'static str)],
            Vec<Vec<usize>>,
        );
        let cases: Vec<Case> = vec![
            (
                "two files using each other",
                &[
                    ("", "mod a;\nmod b;\n"),
                    ("a", "use crate::b::B;\npub struct A;\n"),
                    ("b", "use super::a::{A};\npub struct B;\n"),
                ],
                vec![vec![1, 2]],
            ),
            (
                "through a renamed re-export and an inline path",
                &[
                    ("", "mod p;\n"),
                    ("p", "mod a;\nmod b;\npub use a::A;\npub use self::b::{B as Bee};\n"),
                    ("p::a", "pub struct A;\nfn f() { let _ = crate::p::Bee::new(); }\n"),
                    ("p::b", "use super::A;\npub struct B;\n"),
                ],
                vec![vec![2, 3]],
            ),
            (
                "layers, a comment and unit tests make none",
                &[
                    ("", "mod a;\nmod b;\npub use a::A;\npub use b::B;\n"),
                    ("a", "// crate::b::B\npub struct A;\n#[cfg(test)]\nmod tests {\n    use crate::b::B;\n}\n"),
                    ("b", "use crate::A;\npub struct B;\n"),
                ],
                vec![],
            ),
        ];
        for (what, files, expected) in cases {
            let (_, edges) = graph(files);
            assert_eq!(cycles(&edges), expected, "{what}");
        }
        let (_, edges) = graph(&[
            ("", "mod a;\nmod b;\npub use a::A;\n"),
            ("a", "pub struct A;\n"),
            ("b", "use crate::A;\n"),
        ]);
        assert_eq!(
            edges[2],
            BTreeSet::from([1]),
            "a re-export leads to the defining file"
        );
    }

    #[test]
    fn use_trees_expand() {
        let paths = expand_use("super::{a::B, c as D, e::*, self}");
        let got: Vec<(String, Option<String>)> = paths
            .into_iter()
            .map(|p| (p.segments.join("::"), p.name))
            .collect();
        assert_eq!(
            got,
            vec![
                ("super::a::B".to_owned(), Some("B".to_owned())),
                ("super::c".to_owned(), Some("D".to_owned())),
                ("super::e".to_owned(), None),
                ("super".to_owned(), Some("super".to_owned())),
            ]
        );
    }
}
