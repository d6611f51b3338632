//! keepalived's parameters: `$NAME=value` definitions, `$NAME` / `${NAME}` substitution,
//! `~SEQ(var, start, step, end)` and `~LST(var, v1, v2 ...)` repetition, and csh brace
//! expansion for include patterns (the `glob` crate has no braces).
//!
//! Semantics follow keepalived.conf(5): a reference `$NAME` must be followed by a blank, `,`,
//! `)` or the end of the line, `${NAME}` by anything; an undefined name stays as written; a
//! multi-line definition is used only at the end of a line, its first line replacing the
//! reference and its other lines following. Substitution is repeated over the replaced text
//! (values may use other definitions) with a bound, so a definition using itself is an
//! error rather than a hang. The predefined `${_PWD}`, `${_INSTANCE}`, `${_HASH}`, `${_BANG}`
//! and `${_RANDOM [MIN [MAX]]}` are supported; `_RANDOM` yields MIN, so that checking a
//! file gives the same answer every time.

use std::collections::HashMap;

/// The value of a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Definition {
    Single(String),
    /// A definition continued over several lines with `\`.
    Multi(Vec<String>),
}

/// Values of the predefined definitions in the current file.
#[derive(Debug, Clone, Default)]
pub struct Predefined {
    /// `${_PWD}`: the directory of the file being read.
    pub pwd: String,
    /// `${_INSTANCE}`: the config id.
    pub instance: String,
}

/// Most replacements within one line before giving up.
const MAX_REPLACEMENTS: usize = 10_000;
/// Longest line substitution may build.
const MAX_LINE: usize = 1 << 20;
/// Most alternatives a brace pattern may expand to.
const MAX_BRACE_ALTERNATIVES: usize = 1024;

/// `$NAME=value` (blanks allowed before `=`, leading blanks of the value dropped).
pub fn parse_definition(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('$')?;
    let name_len = name_length(rest)?;
    let (name, after) = rest.split_at(name_len);
    let value = after.trim_start_matches([' ', '\t']).strip_prefix('=')?;
    Some((name, value.trim_start_matches([' ', '\t'])))
}

/// Length of a parameter name at the start of `s`: `[A-Za-z_][A-Za-z0-9_]*`.
fn name_length(s: &str) -> Option<usize> {
    let first = s.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    Some(
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len()),
    )
}

/// A reference found after a `$`.
struct Ref<'s> {
    name: &'s str,
    /// Bytes after the `$` that the reference spans.
    len: usize,
    /// Numbers written inside `${NAME 1 2}` (only `_RANDOM` takes them).
    params: Vec<u64>,
}

fn parse_ref(after: &str) -> Option<Ref<'_>> {
    if let Some(inner) = after.strip_prefix('{') {
        let n = name_length(inner)?;
        let name = &inner[..n];
        let rest = &inner[n..];
        let close = rest.find('}')?;
        let params_text = &rest[..close];
        if !params_text.chars().all(|c| c == ' ' || c.is_ascii_digit())
            || (!params_text.is_empty() && params_text.ends_with(' '))
        {
            return None;
        }
        let params = params_text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        Some(Ref {
            name,
            len: 1 + n + close + 1,
            params,
        })
    } else {
        let n = name_length(after)?;
        match after[n..].chars().next() {
            None | Some(' ' | '\t' | ',' | ')') => Some(Ref {
                name: &after[..n],
                len: n,
                params: Vec::new(),
            }),
            _ => None,
        }
    }
}

/// The result of substituting a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substituted {
    pub text: String,
    /// Further lines from a multi-line definition, to be read after `text`.
    pub tail: Vec<String>,
}

fn lookup(r: &Ref<'_>, defs: &HashMap<String, Definition>, pre: &Predefined) -> Option<Definition> {
    if let Some(d) = defs.get(r.name) {
        return r.params.is_empty().then(|| d.clone());
    }
    let v = match r.name {
        "_RANDOM" if r.params.len() <= 2 => r.params.first().copied().unwrap_or(0).to_string(),
        _ if !r.params.is_empty() => return None,
        "_PWD" => pre.pwd.clone(),
        "_INSTANCE" => pre.instance.clone(),
        "_HASH" => "#".to_string(),
        "_BANG" => "!".to_string(),
        _ => return None,
    };
    Some(Definition::Single(v))
}

/// Replaces the definitions used in `text`; `None` when nothing was replaced.
pub fn substitute(
    text: &str,
    defs: &HashMap<String, Definition>,
    pre: &Predefined,
) -> Result<Option<Substituted>, String> {
    let mut out = text.to_string();
    let mut tail: Vec<String> = Vec::new();
    let mut pos = 0;
    let mut count = 0;
    while let Some(rel) = out.get(pos..).and_then(|s| s.find('$')) {
        let start = pos + rel;
        let after = out.get(start + 1..).unwrap_or_default();
        let Some(r) = parse_ref(after) else {
            pos = start + 1;
            continue;
        };
        let end = start + 1 + r.len;
        let at_end = out.get(end..).is_some_and(|rest| rest.trim().is_empty());
        let value = match lookup(&r, defs, pre) {
            Some(Definition::Single(v)) => v,
            Some(Definition::Multi(lines)) if at_end => {
                let mut more: Vec<String> = lines.iter().skip(1).cloned().collect();
                more.append(&mut tail);
                tail = more;
                lines.first().cloned().unwrap_or_default()
            }
            _ => {
                pos = start + 1;
                continue;
            }
        };
        out.replace_range(start..end, &value);
        count += 1;
        if count > MAX_REPLACEMENTS || out.len() > MAX_LINE {
            return Err(
                "parameter substitution does not settle (a definition that uses itself?)"
                    .to_string(),
            );
        }
        if value.trim_start().starts_with('~') {
            break;
        }
        pos = start;
    }
    Ok((count > 0).then_some(Substituted { text: out, tail }))
}

/// Substitutes single-line definitions in the parenthesised part of a `~SEQ(...)` /
/// `~LST(...)` line, leaving the repeated text for each repetition.
pub fn substitute_spec(text: &str, defs: &HashMap<String, Definition>, pre: &Predefined) -> String {
    let Some(close) = text.find(')') else {
        return text.to_string();
    };
    let (spec, rest) = text.split_at(close + 1);
    let singles: HashMap<String, Definition> = defs
        .iter()
        .filter(|(_, d)| matches!(d, Definition::Single(_)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match substitute(spec, &singles, pre) {
        Ok(Some(s)) => format!("{}{rest}", s.text),
        _ => text.to_string(),
    }
}

/// A `~SEQ` or `~LST` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    kind: RepeatKind,
    /// The text repeated (which may hold further `~SEQ`/`~LST`).
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RepeatKind {
    Seq {
        var: String,
        start: i64,
        step: i64,
        end: i64,
        hex: bool,
    },
    Lst {
        vars: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

impl Repeat {
    /// The variable assignments, one set per repetition.
    pub fn assignments(&self) -> Box<dyn Iterator<Item = Vec<(String, String)>> + '_> {
        match &self.kind {
            RepeatKind::Seq {
                var,
                start,
                step,
                end,
                hex,
            } => {
                let (step, end, hex) = (*step, *end, *hex);
                let mut next = Some(*start);
                Box::new(std::iter::from_fn(move || {
                    let v = next?;
                    if (step > 0 && v > end) || (step < 0 && v < end) {
                        return None;
                    }
                    next = v.checked_add(step);
                    let text = if hex { format!("{v:x}") } else { v.to_string() };
                    Some(vec![(var.clone(), text)])
                }))
            }
            RepeatKind::Lst { vars, rows } => Box::new(rows.iter().map(move |row| {
                vars.iter()
                    .cloned()
                    .zip(row.iter().cloned())
                    .collect::<Vec<_>>()
            })),
        }
    }
}

/// C's `strtol(s, _, 0)`: optional sign, `0x` hex, leading-`0` octal, else decimal.
fn c_integer(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(h, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Parses `~SEQ(var, [start,] [step,] end) text`, `~SEQx(...)` or `~LST(...) text`.
pub fn parse_repeat(line: &str) -> Result<Repeat, String> {
    let bad = |why: &str| format!("invalid {}: {why}", line.split(')').next().unwrap_or(line));
    let (kind_word, rest) = if let Some(r) = line.strip_prefix("~SEQx") {
        ("SEQx", r)
    } else if let Some(r) = line.strip_prefix("~SEQ") {
        ("SEQ", r)
    } else if let Some(r) = line.strip_prefix("~LST") {
        ("LST", r)
    } else {
        return Err(bad("not ~SEQ or ~LST"));
    };
    let rest = rest.trim_start();
    let body = rest.strip_prefix('(').ok_or_else(|| bad("missing '('"))?;
    let close = body.find(')').ok_or_else(|| bad("missing ')'"))?;
    let args = &body[..close];
    let text = body[close + 1..].trim_start().to_string();
    let kind = if kind_word == "LST" {
        parse_lst(args).map_err(bad)?
    } else {
        parse_seq(args, kind_word == "SEQx").map_err(bad)?
    };
    Ok(Repeat { kind, text })
}

fn parse_seq(args: &str, hex: bool) -> Result<RepeatKind, &'static str> {
    let mut parts = args.split(',').map(str::trim);
    let var = parts
        .next()
        .filter(|v| !v.is_empty())
        .ok_or("no variable")?;
    if name_length(var) != Some(var.len()) {
        return Err("the variable is not a name");
    }
    let nums: Vec<i64> = parts
        .map(c_integer)
        .collect::<Option<Vec<_>>>()
        .ok_or("a bound is not a number")?;
    let (start, step, end) = match nums.as_slice() {
        [end] => (
            if *end < 0 { -1 } else { 1 },
            if *end < 1 { -1 } else { 1 },
            *end,
        ),
        [start, end] => (*start, if start <= end { 1 } else { -1 }, *end),
        [start, step, end] => (*start, *step, *end),
        _ => return Err("expected 1 to 3 numbers after the variable"),
    };
    if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
        return Err("the step does not lead from start to end");
    }
    if hex && (start < 0 || end < 0) {
        return Err("~SEQx takes positive numbers only");
    }
    Ok(RepeatKind::Seq {
        var: var.to_string(),
        start,
        step,
        end,
        hex,
    })
}

fn parse_lst(args: &str) -> Result<RepeatKind, &'static str> {
    let args = args.trim();
    if let Some(after) = args.strip_prefix('{') {
        let close = after.find('}').ok_or("missing '}' after the variables")?;
        let vars: Vec<String> = after[..close]
            .split(',')
            .map(|v| v.trim().to_string())
            .collect();
        if vars.iter().any(|v| name_length(v) != Some(v.len())) {
            return Err("a variable is not a name");
        }
        let mut rows = Vec::new();
        let mut rest = after[close + 1..].trim_start();
        while let Some(r) = rest.strip_prefix(',') {
            let r = r.trim_start();
            let inner = r
                .strip_prefix('{')
                .ok_or("values of several variables go in {...}")?;
            let end = inner.find('}').ok_or("missing '}' after values")?;
            let row: Vec<String> = inner[..end]
                .split(',')
                .map(|v| v.trim().to_string())
                .collect();
            if row.len() != vars.len() {
                return Err("a value group does not have one value per variable");
            }
            rows.push(row);
            rest = inner[end + 1..].trim_start();
        }
        if !rest.is_empty() || rows.is_empty() {
            return Err("expected {values}, {values} ... after the variables");
        }
        Ok(RepeatKind::Lst { vars, rows })
    } else {
        let mut parts = args.split(',').map(str::trim);
        let var = parts
            .next()
            .filter(|v| !v.is_empty())
            .ok_or("no variable")?;
        if name_length(var) != Some(var.len()) {
            return Err("the variable is not a name");
        }
        let rows: Vec<Vec<String>> = parts.map(|v| vec![v.to_string()]).collect();
        if rows.is_empty() {
            return Err("no values");
        }
        Ok(RepeatKind::Lst {
            vars: vec![var.to_string()],
            rows,
        })
    }
}

/// csh brace expansion: `a/{b,c}/d` -> `a/b/d`, `a/c/d` (nested braces allowed).
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(pattern, &mut out);
    out
}

fn expand_into(pattern: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_BRACE_ALTERNATIVES {
        return;
    }
    let Some((open, close, commas)) = first_brace_group(pattern) else {
        out.push(pattern.to_string());
        return;
    };
    let head = &pattern[..open];
    let tail = &pattern[close + 1..];
    let mut start = open + 1;
    for cut in commas.into_iter().chain(std::iter::once(close)) {
        let alt = &pattern[start..cut];
        expand_into(&format!("{head}{alt}{tail}"), out);
        start = cut + 1;
    }
}

/// The first `{...}` holding a top-level comma: its bounds and comma positions.
fn first_brace_group(p: &str) -> Option<(usize, usize, Vec<usize>)> {
    let bytes = p.as_bytes();
    let mut search = 0;
    while let Some(rel) = p.get(search..)?.find('{') {
        let open = search + rel;
        let mut depth = 0usize;
        let mut commas = Vec::new();
        for (i, &b) in bytes.iter().enumerate().skip(open) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        if !commas.is_empty() {
                            return Some((open, i, commas));
                        }
                        break;
                    }
                }
                b',' if depth == 1 => commas.push(i),
                _ => {}
            }
        }
        search = open + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(pairs: &[(&str, &str)]) -> HashMap<String, Definition> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Definition::Single(v.to_string())))
            .collect()
    }

    fn sub(text: &str, d: &HashMap<String, Definition>) -> Option<String> {
        substitute(text, d, &Predefined::default())
            .unwrap()
            .map(|s| s.text)
    }

    #[test]
    fn definitions() {
        assert_eq!(parse_definition("$A=1"), Some(("A", "1")));
        assert_eq!(
            parse_definition("$IF_1 =  eth0 x"),
            Some(("IF_1", "eth0 x"))
        );
        assert_eq!(parse_definition("$A="), Some(("A", "")));
        assert_eq!(parse_definition("${A}=1"), None);
        assert_eq!(parse_definition("$1A=1"), None);
        assert_eq!(parse_definition("$A b=1"), None);
    }

    #[test]
    fn substitution_rules() {
        let d = defs(&[("A", "10.0"), ("B", "${A}.1"), ("E", "")]);
        assert_eq!(sub("x $A y", &d).as_deref(), Some("x 10.0 y"));
        assert_eq!(sub("${A}.5", &d).as_deref(), Some("10.0.5"));
        assert_eq!(sub("$A.5", &d), None, "$NAME must end at a blank");
        assert_eq!(sub("$B", &d).as_deref(), Some("10.0.1"));
        assert_eq!(sub("f($A,$A)", &d).as_deref(), Some("f(10.0,10.0)"));
        assert_eq!(sub("$UNDEF and ${UNDEF}", &d), None);
        assert_eq!(sub("a $E b", &d).as_deref(), Some("a  b"));
        let looped = defs(&[("L", "$L x")]);
        assert!(substitute("$L", &looped, &Predefined::default()).is_err());
        let pre = Predefined {
            pwd: "/etc/k".into(),
            instance: "main".into(),
        };
        let s = substitute("${_PWD}/x ${_INSTANCE} ${_HASH} ${_RANDOM 5 9}", &d, &pre)
            .unwrap()
            .unwrap();
        assert_eq!(s.text, "/etc/k/x main # 5");
    }

    #[test]
    fn multiline_definitions_only_at_the_end() {
        let mut d = HashMap::new();
        d.insert(
            "RS".to_string(),
            Definition::Multi(vec![
                "real_server 1.1.1.1 {".into(),
                "weight 2".into(),
                "}".into(),
            ]),
        );
        let s = substitute("  $RS", &d, &Predefined::default())
            .unwrap()
            .unwrap();
        assert_eq!(s.text, "  real_server 1.1.1.1 {");
        assert_eq!(s.tail, vec!["weight 2", "}"]);
        assert_eq!(
            substitute("$RS x", &d, &Predefined::default()).unwrap(),
            None
        );
    }

    #[test]
    fn seq_and_lst() {
        let r = parse_repeat("~SEQ(N, 1, 3) x $N").unwrap();
        let vals: Vec<String> = r.assignments().map(|a| a[0].1.clone()).collect();
        assert_eq!(vals, vec!["1", "2", "3"]);
        assert_eq!(r.text, "x $N");
        let r = parse_repeat("~SEQx(N, 0x90, 0x10, 0xc0) y").unwrap();
        let vals: Vec<String> = r.assignments().map(|a| a[0].1.clone()).collect();
        assert_eq!(vals, vec!["90", "a0", "b0", "c0"]);
        let r = parse_repeat("~SEQ(N,-2) z").unwrap();
        let vals: Vec<String> = r.assignments().map(|a| a[0].1.clone()).collect();
        assert_eq!(vals, vec!["-1", "-2"]);
        let r = parse_repeat("~SEQ(N, 3, 1) z").unwrap();
        assert_eq!(r.assignments().count(), 3);
        assert!(parse_repeat("~SEQ(N, 1, -1, 5) z").is_err());
        assert!(parse_repeat("~SEQ(N, a) z").is_err());
        assert!(parse_repeat("~SEQ N").is_err());
        let r = parse_repeat("~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}").unwrap();
        let rows: Vec<Vec<(String, String)>> = r.assignments().collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1],
            vec![("IP".into(), "20".into()), ("IP1".into(), "4".into())]
        );
        let r = parse_repeat("~LST(IP, 1, 2, 3) a").unwrap();
        assert_eq!(r.assignments().count(), 3);
        assert!(parse_repeat("~LST({A,B}, {1}) a").is_err());
        let r = parse_repeat("~SEQ(N, 9223372036854775806, 9223372036854775807) a").unwrap();
        assert_eq!(r.assignments().count(), 2, "no overflow at i64::MAX");
    }

    #[test]
    fn c_integers() {
        assert_eq!(c_integer("0x1f"), Some(31));
        assert_eq!(c_integer("010"), Some(8));
        assert_eq!(c_integer("-5"), Some(-5));
        assert_eq!(c_integer("0"), Some(0));
        assert_eq!(c_integer("x"), None);
    }

    #[test]
    fn braces() {
        assert_eq!(
            expand_braces("/a/{b,c}.conf"),
            vec!["/a/b.conf", "/a/c.conf"]
        );
        assert_eq!(
            expand_braces("{x/{,cat,dog},bar}"),
            vec!["x/", "x/cat", "x/dog", "bar"]
        );
        assert_eq!(expand_braces("/a/{b}.conf"), vec!["/a/{b}.conf"]);
        assert_eq!(expand_braces("plain"), vec!["plain"]);
        assert_eq!(expand_braces("{a,b"), vec!["{a,b"]);
    }
}
