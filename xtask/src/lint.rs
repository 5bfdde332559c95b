//! `cargo xtask lint`: source checks that clippy does not make. For now one: no function
//! body (free function, method, trait default method, nested function; closures are part of
//! the function that holds them) spans more than [`LIMIT`] lines, unless the comment right
//! above it (its doc comment or a `//` comment, above or among its attributes) says why,
//! with [`MARKER`] and a reason. A long function is where the next engineer gets lost: split
//! it into named steps, or say why it reads better whole.
//!
//! Every `.rs` file under `crates/` and `xtask/` is read, the test services and xtask
//! included; integration tests (anything under a `tests/` directory) and functions marked
//! `#[test]` (or `#[tokio::test]`, …) are not: a test reads top to bottom as a script.
//!
//! Files are parsed with `syn` (line numbers from proc-macro2's `span-locations`), so the
//! check sees functions as the compiler does. clippy's `too_many_lines` would be the other
//! way; it counts only lines of code and is silenced by an attribute, while this counts the
//! body as a reader sees it, comments included, and wants the reason in prose.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use syn::visit::Visit;

/// The most lines a function body may span (from its `{` to its `}`) without a reason.
pub const LIMIT: usize = 70;

/// What the comment above a longer function says, followed by the reason.
pub const MARKER: &str = "Long because:";

/// One function over the limit without a reason.
#[derive(Debug, PartialEq)]
pub struct LongFn {
    /// The file, relative to the project root, with `/` separators.
    pub file: String,
    /// The line of the function's name.
    pub line: usize,
    /// The function's name.
    pub name: String,
    /// How many lines its body spans.
    pub lines: usize,
}

impl fmt::Display for LongFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: fn {} is {} lines (limit {LIMIT}); split it or say why above it with \
             \"{MARKER} …\"",
            self.file, self.line, self.name, self.lines
        )
    }
}

/// Checks every source file under `crates/` and `xtask/`, prints each function over the
/// limit, and fails when there is one.
pub fn run(root: &Path) -> Result<()> {
    let mut files = Vec::new();
    for dir in ["crates", "xtask"] {
        source_files(&root.join(dir), &mut files)?;
    }
    files.sort();
    let mut found = Vec::new();
    for path in &files {
        let label = path
            .strip_prefix(root)
            .unwrap_or(path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let source =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        found.extend(long_fns(&label, &source)?);
    }
    for long in &found {
        println!("{long}");
    }
    if !found.is_empty() {
        bail!(
            "{} function(s) over {LIMIT} lines without a reason",
            found.len()
        );
    }
    println!(
        "xtask lint: no function over {LIMIT} lines without a reason ({} files)",
        files.len()
    );
    Ok(())
}

/// Adds the `.rs` files under `dir` to `out`, leaving out build output (`target/`) and
/// integration tests (`tests/`).
fn source_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            let name = path.file_name().unwrap_or_default();
            if name != "target" && name != "tests" {
                source_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The functions of one source file (named `file` in the findings) that are over the limit
/// without a reason.
pub fn long_fns(file: &str, source: &str) -> Result<Vec<LongFn>> {
    let ast = syn::parse_file(source).map_err(|e| {
        let at = e.span().start();
        anyhow::anyhow!("{file}:{}:{}: cannot parse: {e}", at.line, at.column + 1)
    })?;
    let mut finder = Finder {
        file,
        lines: source.lines().collect(),
        found: Vec::new(),
    };
    finder.visit_file(&ast);
    Ok(finder.found)
}

/// Walks one file's syntax tree, noting each function over the limit.
struct Finder<'a> {
    file: &'a str,
    lines: Vec<&'a str>,
    found: Vec<LongFn>,
}

impl Finder<'_> {
    /// Notes the function when its body is over the limit, it is no test, and no comment
    /// above it gives a reason.
    fn check(&mut self, attrs: &[syn::Attribute], sig: &syn::Signature, body: &syn::Block) {
        let is_test = attrs
            .iter()
            .any(|a| a.path().segments.last().is_some_and(|s| s.ident == "test"));
        let open = body.brace_token.span.open().start().line;
        let close = body.brace_token.span.close().start().line;
        let lines = close + 1 - open;
        if is_test || lines <= LIMIT {
            return;
        }
        let fn_line = sig.fn_token.span.start().line;
        // Doc comments are attributes to syn, with the comment's own span, so the first
        // attribute is where the item's comments and attributes begin.
        let first = attrs
            .iter()
            .map(|a| a.pound_token.span.start().line)
            .chain([fn_line])
            .min()
            .unwrap_or(fn_line);
        if !has_reason(&self.comment_above(first, fn_line)) {
            self.found.push(LongFn {
                file: self.file.to_owned(),
                line: sig.ident.span().start().line,
                name: sig.ident.to_string(),
                lines,
            });
        }
    }

    /// The text of the comment lines right above line `first` and of those among the lines
    /// from `first` up to the `fn` (its doc comment and attributes); lines count from 1.
    fn comment_above(&self, first: usize, fn_line: usize) -> String {
        let is_comment = |l: &&&str| l.trim_start().starts_with("//");
        let mut above: Vec<&&str> = self.lines[..first - 1]
            .iter()
            .rev()
            .take_while(is_comment)
            .collect();
        above.reverse();
        let among = self.lines[first - 1..fn_line - 1].iter().filter(is_comment);
        above
            .into_iter()
            .chain(among)
            .map(|l| l.trim_start().trim_start_matches('/').trim())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Whether `comment` has the marker followed by some reason.
fn has_reason(comment: &str) -> bool {
    comment
        .split_once(MARKER)
        .is_some_and(|(_, reason)| reason.chars().any(char::is_alphanumeric))
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.check(&f.attrs, &f.sig, &f.block);
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.check(&f.attrs, &f.sig, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(body) = &f.default {
            self.check(&f.attrs, &f.sig, body);
        }
        syn::visit::visit_trait_item_fn(self, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A function `name` whose body spans `lines` lines (its braces included), after
    /// `above` (comment and attribute lines, one a line).
    fn function(above: &[&str], name: &str, lines: usize) -> String {
        let mut out: String = above.iter().map(|l| format!("{l}\n")).collect();
        out.push_str(&format!("fn {name}() {{\n"));
        for i in 0..lines - 2 {
            out.push_str(&format!("    let _x{i} = {i};\n"));
        }
        out.push_str("}\n");
        out
    }

    fn names(source: &str) -> Vec<(String, usize, usize)> {
        long_fns("src/x.rs", source)
            .unwrap()
            .into_iter()
            .map(|l| (l.name, l.line, l.lines))
            .collect()
    }

    #[test]
    fn a_long_function_is_listed_with_its_line_and_length() {
        let source = format!(
            "//! A file.\n\n{}",
            function(&["/// Does it all."], "long", LIMIT + 1)
        );
        assert_eq!(names(&source), [("long".to_owned(), 4, LIMIT + 1)]);
        let found = long_fns("src/x.rs", &source).unwrap();
        assert_eq!(
            found[0].to_string(),
            "src/x.rs:4: fn long is 71 lines (limit 70); split it or say why above it with \
             \"Long because: …\""
        );
    }

    #[test]
    fn a_function_at_the_limit_passes() {
        assert_eq!(names(&function(&[], "short", LIMIT)), []);
    }

    #[test]
    fn a_reason_above_the_function_lets_it_pass() {
        let doc = function(
            &["/// Does it all.", "///", "/// Long because: one table."],
            "a",
            LIMIT + 5,
        );
        let line = function(
            &["// Long because: the steps share", "// twelve locals."],
            "b",
            LIMIT + 5,
        );
        let among_attributes = function(
            &[
                "/// Does it all.",
                "#[inline]",
                "// Long because: one table.",
                "#[allow(dead_code)]",
            ],
            "c",
            LIMIT + 5,
        );
        assert_eq!(names(&format!("{doc}{line}{among_attributes}")), []);
    }

    #[test]
    fn a_marker_without_a_reason_or_far_away_does_not_count() {
        let empty = function(&["/// Long because:"], "empty", LIMIT + 1);
        let far = format!(
            "// Long because: this is about something else.\n\n{}",
            function(&[], "far", LIMIT + 1)
        );
        let found = names(&format!("{empty}{far}"));
        assert_eq!(
            found.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
            ["empty", "far"]
        );
    }

    #[test]
    fn methods_trait_defaults_and_nested_functions_count_and_tests_do_not() {
        let body = function(&[], "inner", LIMIT + 1).replace('\n', "\n        ");
        let source = format!(
            "struct S;\nimpl S {{\n    fn method() {{\n        {body}\n    }}\n}}\n\
             trait T {{\n    fn required();\n    {}\n}}\n{}",
            function(&[], "default", LIMIT + 1).replace('\n', "\n    "),
            function(&["#[tokio::test]"], "a_test", LIMIT + 1),
        );
        let found = names(&source);
        assert_eq!(
            found.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
            ["method", "inner", "default"]
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_an_error_with_its_place() {
        let err = long_fns("src/x.rs", "fn broken( {}\n").unwrap_err();
        assert!(err.to_string().starts_with("src/x.rs:1:"), "{err}");
    }
}
