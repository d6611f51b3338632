//! Lines to a tree of statements.
//!
//! A statement is a line's words; a `{` line right after a statement opens that statement's
//! block, `}` closes it. This is keepalived's block structure with no knowledge of keywords,
//! so the builder can judge each keyword knowing exactly which block it sits in, and a block
//! under an unknown keyword is skipped as a whole instead of leaking its contents into the
//! enclosing block (as keepalived itself does).

use super::lexer::Word;
use super::source::Line;
use crate::config::error::{Diagnostics, Location};

/// One statement: keyword, arguments, and its `{ }` block if it has one.
#[derive(Debug, Clone)]
pub struct Node {
    pub words: Vec<Word>,
    pub at: Location,
    pub block: Option<Vec<Node>>,
}

impl Node {
    /// The keyword (first word).
    pub fn keyword(&self) -> &str {
        self.words
            .first()
            .map(|w| w.text.as_str())
            .unwrap_or_default()
    }

    /// The arguments (words after the keyword).
    pub fn args(&self) -> &[Word] {
        self.words.get(1..).unwrap_or_default()
    }

    /// Argument `i` (0 = first after the keyword).
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.words.get(i + 1).map(|w| w.text.as_str())
    }
}

/// An open block: the statements read so far in it, where it was opened, and whether it
/// belongs to a statement (an orphan `{` opens a block that is dropped).
struct Open {
    nodes: Vec<Node>,
    at: Location,
    orphan: bool,
}

/// Builds the statement tree; unbalanced braces are reported and repaired so that the
/// rest of the file is still checked.
pub fn build(lines: Vec<Line>, diag: &mut Diagnostics) -> Vec<Node> {
    let mut stack: Vec<Open> = Vec::new();
    let mut cur: Vec<Node> = Vec::new();
    let mut after_statement = false;
    for line in lines {
        match line.brace() {
            Some('{') => {
                let owner_ok = after_statement && cur.last().is_some_and(|n| n.block.is_none());
                if !owner_ok {
                    diag.error(&line.at, "'{' does not follow a keyword that opens a block");
                }
                stack.push(Open {
                    nodes: std::mem::take(&mut cur),
                    at: line.at.clone(),
                    orphan: !owner_ok,
                });
                after_statement = false;
            }
            Some(_) => {
                match stack.pop() {
                    Some(open) => {
                        let inner = std::mem::replace(&mut cur, open.nodes);
                        if !open.orphan
                            && let Some(owner) = cur.last_mut()
                        {
                            owner.block = Some(inner);
                        }
                    }
                    None => diag.error(&line.at, "extra '}' (no block is open here)"),
                }
                after_statement = false;
            }
            None => {
                cur.push(Node {
                    words: line.words,
                    at: line.at,
                    block: None,
                });
                after_statement = true;
            }
        }
    }
    while let Some(open) = stack.pop() {
        diag.error(
            &open.at,
            "missing '}': the block opened here is not closed at the end of the file",
        );
        let inner = std::mem::replace(&mut cur, open.nodes);
        if !open.orphan
            && let Some(owner) = cur.last_mut()
        {
            owner.block = Some(inner);
        }
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keepalived::lexer::tokenize;
    use std::sync::Arc;

    fn lines(src: &[&str]) -> Vec<Line> {
        let f: Arc<str> = Arc::from("t");
        src.iter()
            .enumerate()
            .map(|(i, s)| Line {
                words: tokenize(s).unwrap(),
                at: Location::new(f.clone(), i + 1),
            })
            .collect()
    }

    #[test]
    fn blocks_attach_to_the_statement_before() {
        let mut d = Diagnostics::default();
        let t = build(lines(&["a 1", "{", "b 2", "c", "{", "}", "}", "d"]), &mut d);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].keyword(), "a");
        assert_eq!(t[0].arg(0), Some("1"));
        let inner = t[0].block.as_ref().unwrap();
        assert_eq!(inner.len(), 2);
        assert!(inner[1].block.as_ref().unwrap().is_empty());
        assert!(t[1].block.is_none());
    }

    #[test]
    fn unbalanced_braces_are_located_errors() {
        let mut d = Diagnostics::default();
        build(lines(&["}", "a", "{"]), &mut d);
        let found: Vec<usize> = d.errors.iter().map(|e| e.line).collect();
        assert_eq!(found, vec![1, 3]);
        let mut d = Diagnostics::default();
        let t = build(lines(&["a", "{", "}", "{", "x", "}"]), &mut d);
        assert_eq!(d.errors.len(), 1);
        assert_eq!(d.errors[0].line, 4);
        assert_eq!(t.len(), 1, "the orphan block is dropped");
    }
}
