//! Lines to words, with keepalived's rules (lib/parser.c of keepalived 2.2):
//!
//! * `#` and `!` start a comment anywhere outside double quotes, even glued to a word;
//!   `\#` and `\!` are a literal `#` / `!`.
//! * A line ending in `\` continues on the next line.
//! * `{` and `}` outside double quotes end the text before them and stand alone, so
//!   `url { path / }` on one line reads as `url`, `{`, `path /`, `}`.
//! * Words are separated by blanks; `"..."` and `'...'` quote (the quotes go, the blanks
//!   inside stay, `ab"c d"e` is the single word `abc de`); backslash escapes as in the shell
//!   (`\n`, `\t`, `\xHH`, `\NNN` octal, `\cC` control, `\C` literal C).
//!
//! Written by hand because the grammar is keepalived's own: no tokenizer crate reproduces
//! where it splits braces or how its comment rule treats quotes.

/// One word of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    /// Any part of the word was quoted (so a quoted `"{"` is not a brace).
    pub quoted: bool,
}

impl Word {
    pub fn plain(text: &str) -> Self {
        Word {
            text: text.to_string(),
            quoted: false,
        }
    }
}

/// A physical line without its comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decommented {
    /// The text, without leading and trailing blanks (and without a final `\`).
    pub text: String,
    /// The line ended in `\`: it continues on the next line.
    pub continued: bool,
    /// A double quote was opened and not closed.
    pub open_quote: bool,
}

/// Removes the comment of one physical line (its line ending already removed).
pub fn decomment(raw: &str) -> Decommented {
    let raw = raw.trim_start_matches([' ', '\t']);
    let mut out = String::with_capacity(raw.len());
    let mut in_quote = false;
    let mut comment = false;
    let mut continued = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if !comment => {
                in_quote = !in_quote;
                out.push(c);
            }
            // Even at the end of a comment, a final `\` continues the line: keepalived
            // reads commented-out lines inside a multi-line definition this way.
            '\\' => match chars.peek().copied() {
                None => continued = true,
                Some(next) => {
                    chars.next();
                    if comment {
                        continue;
                    }
                    if !in_quote && (next == '#' || next == '!') {
                        out.push(next);
                    } else {
                        out.push('\\');
                        out.push(next);
                    }
                }
            },
            '#' | '!' if !in_quote => comment = true,
            _ if comment => {}
            _ => out.push(c),
        }
    }
    let text = out.trim_end_matches([' ', '\t']).to_string();
    Decommented {
        text,
        continued,
        open_quote: in_quote,
    }
}

/// Splits a line at each `{` and `}` outside double quotes; each brace is a piece of its own.
pub fn split_braces(line: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        if rest.starts_with(['{', '}']) {
            pieces.push(&rest[..1]);
            rest = rest[1..].trim_start();
            continue;
        }
        match find_brace(rest) {
            Some(pos) => {
                let before = rest[..pos].trim_end();
                if !before.is_empty() {
                    pieces.push(before);
                }
                rest = &rest[pos..];
            }
            None => {
                pieces.push(rest);
                break;
            }
        }
    }
    pieces
}

/// Byte position of the first brace outside double quotes and outside a `${NAME}` left
/// unreplaced (an undefined parameter is text, not a block); an unclosed quote hides the rest.
fn find_brace(s: &str) -> Option<usize> {
    let mut in_quote = false;
    let mut in_param = false;
    let mut prev = '\0';
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            '{' if !in_quote && prev == '$' => in_param = true,
            '}' if in_param => in_param = false,
            '{' | '}' if !in_quote && !in_param => return Some(i),
            _ => {}
        }
        prev = c;
    }
    None
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Splits a piece into words (see the module documentation for quoting and escapes).
pub fn tokenize(piece: &str) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let mut chars = piece.chars().peekable();
    loop {
        while chars.peek().copied().is_some_and(is_blank) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut text = String::new();
        let mut quoted = false;
        let mut quote: Option<char> = None;
        loop {
            let Some(c) = chars.next() else {
                if let Some(q) = quote {
                    return Err(format!("missing terminating {q} in: {piece}"));
                }
                break;
            };
            match (c, quote) {
                ('\\', _) => text.push(escape(&mut chars)?),
                (q, Some(open)) if q == open => quote = None,
                (_, Some(_)) => text.push(c),
                ('"' | '\'', None) => {
                    quote = Some(c);
                    quoted = true;
                }
                (c, None) if is_blank(c) => break,
                (c, None) => text.push(c),
            }
        }
        words.push(Word { text, quoted });
    }
    Ok(words)
}

/// The character an escape sequence stands for (the `\` already read).
fn escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<char, String> {
    let Some(c) = chars.next() else {
        return Err("a \\ at the end of a word escapes nothing".to_string());
    };
    let byte = |v: u32| char::from((v & 0xff) as u8);
    Ok(match c {
        'x' if chars.peek().is_some_and(char::is_ascii_hexdigit) => {
            let mut v: u32 = 0;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(16)) {
                v = (v << 4) | d;
                v &= 0xff;
                chars.next();
            }
            byte(v)
        }
        'c' if chars.peek().is_some() => {
            let ctl = chars.next().map(u32::from).unwrap_or(0);
            byte(ctl & 0x1f)
        }
        '0'..='7' => {
            let mut v = c.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                match chars.peek().and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        v = (v << 3) | d;
                        chars.next();
                    }
                    None => break,
                }
            }
            byte(v)
        }
        'a' => '\x07',
        'b' => '\x08',
        'E' => '\x1b',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        tokenize(s).unwrap().into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn comments_anywhere_but_in_double_quotes() {
        assert_eq!(decomment("  delay_loop 2#x").text, "delay_loop 2");
        assert_eq!(decomment("weight 1 ! bang").text, "weight 1");
        assert_eq!(
            decomment("misc_path \"/bin/x #1\" # c").text,
            "misc_path \"/bin/x #1\""
        );
        assert_eq!(decomment("name a\\#b").text, "name a#b");
        assert_eq!(decomment("# all comment").text, "");
        let d = decomment("$X= \\");
        assert_eq!((d.text.as_str(), d.continued), ("$X=", true));
        assert!(decomment("script \"abc").open_quote);
        let d = decomment("# a comment ending in \\");
        assert_eq!((d.text.as_str(), d.continued), ("", true));
    }

    #[test]
    fn braces_split_lines() {
        assert_eq!(
            split_braces("url { path / status_code 200 }"),
            vec!["url", "{", "path / status_code 200", "}"]
        );
        assert_eq!(split_braces("}}"), vec!["}", "}"]);
        assert_eq!(split_braces("vs 1 2{"), vec!["vs 1 2", "{"]);
        assert_eq!(split_braces("a \"{x}\" b"), vec!["a \"{x}\" b"]);
        assert!(split_braces("   ").is_empty());
        assert_eq!(
            split_braces("router_id ${NAME} {"),
            vec!["router_id ${NAME}", "{"]
        );
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            words("abcd\" efg h jkl \"mnop"),
            vec!["abcd efg h jkl mnop"]
        );
        assert_eq!(
            words("abcd \"efg h jkl\" mnop"),
            vec!["abcd", "efg h jkl", "mnop"]
        );
        assert_eq!(words("'a \"b\"' c"), vec!["a \"b\"", "c"]);
        assert_eq!(words("a\\tb \\x41\\101 \\\\"), vec!["a\tb", "AA", "\\"]);
        assert_eq!(words("\\cA"), vec!["\x01"]);
        assert!(tokenize("\"open").is_err());
        assert!(tokenize("end\\").is_err());
        assert!(tokenize("").unwrap().is_empty());
        assert!(tokenize("\"x\"").unwrap()[0].quoted);
    }
}
