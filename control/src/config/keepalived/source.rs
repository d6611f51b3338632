//! The preprocessor: files in, located lines of words out.
//!
//! It does what keepalived's `read_line` does before any keyword is looked at:
//! comments and `\` continuations ([`lexer`](super::lexer)), `@id` / `@^id` conditional
//! lines, `$NAME=value` definitions (also multi-line ones) and `$NAME` / `${NAME}`
//! substitution ([`params`](super::params)), `~SEQ` / `~LST` repetition, and `include`
//! (globs and csh braces, relative to the including file, allowed inside blocks). Every
//! line it emits keeps the file and line it came from, so later errors point at the text
//! the operator wrote (for an expanded definition: the line that used it).
//!
//! Inputs are untrusted: include depth and loops, substitution loops and the number of
//! lines an expansion may produce are all bounded, and each bound is a located error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::KeepalivedOptions;
use super::lexer::{Word, decomment, split_braces, tokenize};
use super::params::{self, Definition, Repeat};
use crate::config::error::{Diagnostics, Location};

/// Deepest include nesting accepted.
const MAX_INCLUDE_DEPTH: usize = 16;
/// Deepest nesting of definitions and repetitions expanded within one line.
const MAX_EXPANSION_DEPTH: usize = 64;
/// Most lines a whole configuration may expand to.
pub const MAX_LINES: usize = 2_000_000;

/// One logical line: its words and where it was written.
#[derive(Debug, Clone)]
pub struct Line {
    pub words: Vec<Word>,
    pub at: Location,
}

impl Line {
    /// `{` or `}` standing alone.
    pub fn brace(&self) -> Option<char> {
        match self.words.as_slice() {
            [w] if !w.quoted && (w.text == "{" || w.text == "}") => w.text.chars().next(),
            _ => None,
        }
    }
}

/// The file being read: its name for messages and its directory for relative paths.
#[derive(Debug, Clone)]
struct FileCtx {
    name: Arc<str>,
    dir: PathBuf,
}

/// Reads files into lines.
pub struct Source<'a> {
    opts: &'a KeepalivedOptions,
    pub diag: Diagnostics,
    defs: HashMap<String, Definition>,
    pub lines: Vec<Line>,
    /// Every file read, in order.
    pub files: Vec<PathBuf>,
    /// Canonical paths of the files being read (the include chain), for loop detection.
    stack: Vec<PathBuf>,
    /// Set once the line budget is exhausted, so the error is reported once.
    overflowed: bool,
}

impl<'a> Source<'a> {
    pub fn new(opts: &'a KeepalivedOptions) -> Self {
        Source {
            opts,
            diag: Diagnostics::default(),
            defs: HashMap::new(),
            lines: Vec::new(),
            files: Vec::new(),
            stack: Vec::new(),
            overflowed: false,
        }
    }

    /// Reads the main file.
    pub fn read_main_file(&mut self, path: &Path) {
        let name: Arc<str> = Arc::from(path.display().to_string());
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                self.files.push(path.to_path_buf());
                let canon = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
                self.stack.push(canon);
                let ctx = FileCtx {
                    name,
                    dir: parent_dir(path),
                };
                self.read_text(&text, &ctx);
                self.stack.pop();
            }
            Err(e) => self.diag.error(
                &Location::new(name, 0),
                format!("cannot read the file: {e}"),
            ),
        }
    }

    /// Reads text that is not a file (`<string>`), resolving includes against `dir`.
    pub fn read_main_text(&mut self, text: &str, dir: &Path) {
        let ctx = FileCtx {
            name: Arc::from("<string>"),
            dir: dir.to_path_buf(),
        };
        self.read_text(text, &ctx);
    }

    fn read_text(&mut self, text: &str, ctx: &FileCtx) {
        let physical: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < physical.len() {
            let lineno = i + 1;
            let at = Location::new(ctx.name.clone(), lineno);
            let d = decomment(physical.get(i).copied().unwrap_or_default());
            i += 1;
            if d.open_quote {
                self.diag
                    .error(&at, "unterminated quote (a \" is not closed)");
                continue;
            }
            if d.text.is_empty() {
                // Blank, or only a comment (a comment never starts a continued line).
                continue;
            }
            let Some(text) = self.conditional(&d.text) else {
                continue;
            };
            if let Some((name, value)) = params::parse_definition(text) {
                if d.continued {
                    // A multi-line definition: the following lines, while they end in `\`.
                    let mut lines = Vec::new();
                    if !value.is_empty() {
                        lines.push(value.to_string());
                    }
                    while i < physical.len() {
                        let next = decomment(physical.get(i).copied().unwrap_or_default());
                        i += 1;
                        if next.text.is_empty() && !next.continued {
                            break;
                        }
                        if !next.text.is_empty() {
                            lines.push(next.text);
                        }
                        if !next.continued {
                            break;
                        }
                    }
                    self.defs.insert(name.to_string(), Definition::Multi(lines));
                } else {
                    self.defs
                        .insert(name.to_string(), Definition::Single(value.to_string()));
                }
                continue;
            }
            let mut logical = text.to_string();
            if d.continued {
                // An ordinary line continued with `\`: join the pieces with a blank.
                while i < physical.len() {
                    let next = decomment(physical.get(i).copied().unwrap_or_default());
                    i += 1;
                    if !next.text.is_empty() {
                        logical.push(' ');
                        logical.push_str(&next.text);
                    }
                    if !next.continued {
                        break;
                    }
                }
            }
            self.line(logical, &at, ctx, 0);
            if self.overflowed {
                return;
            }
        }
    }

    /// Applies an `@id` / `@^id` prefix: the rest of the line, or `None` when it is not for us.
    fn conditional<'t>(&self, text: &'t str) -> Option<&'t str> {
        let Some(rest) = text.strip_prefix('@') else {
            return Some(text);
        };
        let (negate, rest) = match rest.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (id, body) = rest.split_once([' ', '\t'])?;
        let matches = self.opts.config_id.as_deref() == Some(id);
        (matches != negate).then(|| body.trim_start())
    }

    /// Processes one logical line: conditionals, definitions, repetition, substitution,
    /// include; then emits its pieces.
    fn line(&mut self, text: String, at: &Location, ctx: &FileCtx, depth: usize) {
        if depth > MAX_EXPANSION_DEPTH {
            self.diag.error(
                at,
                "definitions and ~SEQ/~LST nest too deeply here (a definition that uses itself?)",
            );
            return;
        }
        let mut text = text;
        let mut tail: Vec<String> = Vec::new();
        let mut rounds = 0;
        loop {
            rounds += 1;
            if rounds > MAX_EXPANSION_DEPTH {
                self.diag.error(
                    at,
                    "parameter substitution does not settle (a definition that uses itself?)",
                );
                return;
            }
            let Some(t) = self.conditional(text.trim_start()) else {
                return;
            };
            let t = t.to_string();
            if let Some((name, value)) = params::parse_definition(&t) {
                self.defs
                    .insert(name.to_string(), Definition::Single(value.to_string()));
                return;
            }
            if t.starts_with("~SEQ") || t.starts_with("~LST") {
                let spec = params::substitute_spec(&t, &self.defs, &self.predefined(ctx));
                match params::parse_repeat(&spec) {
                    Ok(rep) => self.repeat(rep, at, ctx, depth),
                    Err(msg) => self.diag.error(at, msg),
                }
                for extra in tail {
                    self.line(extra, at, ctx, depth + 1);
                }
                return;
            }
            if t.starts_with('~') || !t.contains('$') {
                text = t;
                break;
            }
            match params::substitute(&t, &self.defs, &self.predefined(ctx)) {
                Err(msg) => {
                    self.diag.error(at, msg);
                    return;
                }
                Ok(None) => {
                    text = t;
                    break;
                }
                Ok(Some(sub)) => {
                    // A line that substitution makes start with `#` or `!` is a comment,
                    // with whatever else it referred to: keepalived's own test files switch
                    // features off with `$FEATURE=${_HASH}` and `$FEATURE keyword ...`.
                    if sub.text.trim_start().starts_with(['#', '!']) {
                        return;
                    }
                    let mut more = sub.tail;
                    more.extend(tail);
                    tail = more;
                    let again = sub.text.trim_start().starts_with('@') || sub.text.contains('$');
                    text = sub.text;
                    if !again {
                        break;
                    }
                }
            }
        }
        self.warn_undefined(&text, at);
        self.emit(&text, at, ctx);
        for extra in tail {
            if self.overflowed {
                return;
            }
            self.line(extra, at, ctx, depth + 1);
        }
    }

    /// A `${NAME}` still in the text names no definition: keepalived keeps it as written.
    fn warn_undefined(&mut self, text: &str, at: &Location) {
        let mut rest = text;
        while let Some(pos) = rest.find("${") {
            let after = &rest[pos + 2..];
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if len > 0 && after[len..].starts_with('}') {
                self.diag.warn(
                    at,
                    format!(
                        "parameter ${{{}}} is not defined: kept as written",
                        &after[..len]
                    ),
                );
            }
            rest = after;
        }
    }

    /// The values of keepalived's predefined definitions for this file.
    fn predefined(&self, ctx: &FileCtx) -> params::Predefined {
        params::Predefined {
            pwd: ctx.dir.display().to_string(),
            instance: self.opts.config_id.clone().unwrap_or_default(),
        }
    }

    fn repeat(&mut self, rep: Repeat, at: &Location, ctx: &FileCtx, depth: usize) {
        let mut count = 0usize;
        for values in rep.assignments() {
            count += 1;
            if count > MAX_LINES {
                self.diag
                    .error(at, format!("~SEQ/~LST repeats more than {MAX_LINES} times"));
                return;
            }
            for (var, value) in values {
                self.defs.insert(var, Definition::Single(value));
            }
            self.line(rep.text.clone(), at, ctx, depth + 1);
            if self.overflowed {
                return;
            }
        }
    }

    /// Splits a final line into brace-separated pieces and words, or follows an include.
    fn emit(&mut self, text: &str, at: &Location, ctx: &FileCtx) {
        // An include is recognised on the whole line, before braces split it, so that a
        // csh brace pattern (`include conf.d/{a,b}.conf`) stays one pattern.
        if let Ok(words) = tokenize(text)
            && let [kw, target] = words.as_slice()
            && let Some(kind) = IncludeKind::from_keyword(&kw.text)
        {
            let target = target.text.clone();
            self.include(kind, &target, at, ctx);
            return;
        }
        let mut pieces: Vec<Vec<Word>> = Vec::new();
        for piece in split_braces(text) {
            match tokenize(piece) {
                Ok(words) if !words.is_empty() => pieces.push(words),
                Ok(_) => {}
                Err(msg) => {
                    self.diag.error(at, msg);
                    return;
                }
            }
        }
        for words in pieces {
            if self.lines.len() >= MAX_LINES {
                if !self.overflowed {
                    self.overflowed = true;
                    self.diag.error(
                        at,
                        format!("the configuration expands to more than {MAX_LINES} lines"),
                    );
                }
                return;
            }
            self.lines.push(Line {
                words,
                at: at.clone(),
            });
        }
    }

    fn include(&mut self, kind: IncludeKind, target: &str, at: &Location, ctx: &FileCtx) {
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            self.diag.error(
                at,
                format!("include {target}: includes nest deeper than {MAX_INCLUDE_DEPTH} files"),
            );
            return;
        }
        let pattern = if Path::new(target).is_absolute() {
            target.to_string()
        } else {
            ctx.dir.join(target).display().to_string()
        };
        let wildcard = pattern.contains(['*', '?', '[', '{']);
        let mut matched: Vec<PathBuf> = Vec::new();
        for alt in params::expand_braces(&pattern) {
            match glob::glob(&alt) {
                Ok(paths) => matched.extend(paths.flatten()),
                Err(e) => {
                    self.diag
                        .error(at, format!("include {target}: bad pattern ({e})"));
                    return;
                }
            }
        }
        let files: Vec<PathBuf> = matched.into_iter().filter(|p| !p.is_dir()).collect();
        if files.is_empty() {
            if wildcard && !kind.must_match() {
                self.diag
                    .warn(at, format!("include {target}: the pattern matches no file"));
            } else {
                self.diag
                    .error(at, format!("include {target}: no such file ({pattern})"));
            }
            return;
        }
        for file in files {
            self.include_file(&file, target, at);
            if self.overflowed {
                return;
            }
        }
    }

    fn include_file(&mut self, file: &Path, target: &str, at: &Location) {
        let canon = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        if self.stack.contains(&canon) {
            self.diag.error(
                at,
                format!(
                    "include {target}: {} is already being read (an include loop)",
                    file.display()
                ),
            );
            return;
        }
        if is_executable(file) {
            self.diag.warn(
                at,
                format!(
                    "include {target}: {} is executable, skipped as keepalived skips it",
                    file.display()
                ),
            );
            return;
        }
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                self.diag.error(
                    at,
                    format!("include {target}: cannot read {}: {e}", file.display()),
                );
                return;
            }
        };
        self.files.push(file.to_path_buf());
        self.stack.push(canon);
        let ctx = FileCtx {
            name: Arc::from(file.display().to_string()),
            dir: parent_dir(file),
        };
        self.read_text(&String::from_utf8_lossy(&bytes), &ctx);
        self.stack.pop();
    }
}

/// keepalived's include variants; the suffix adds checks (`m`: the pattern must match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IncludeKind {
    Plain,
    Readable,
    Match,
    Wildcard,
    Brace,
    All,
}

impl IncludeKind {
    fn from_keyword(kw: &str) -> Option<Self> {
        Some(match kw {
            "include" => IncludeKind::Plain,
            "includer" => IncludeKind::Readable,
            "includem" => IncludeKind::Match,
            "includew" => IncludeKind::Wildcard,
            "includeb" => IncludeKind::Brace,
            "includea" => IncludeKind::All,
            _ => return None,
        })
    }

    fn must_match(self) -> bool {
        matches!(self, IncludeKind::Match | IncludeKind::All)
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
