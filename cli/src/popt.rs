//! A scanner that walks an argument vector the way libpopt 1.19 does for ipvsadm.
//!
//! Why not clap: ipvsadm's users rely on popt's exact behaviour, which clap does not
//! reproduce: options clustered behind one dash with the argument glued on (`-Lnt10.0.0.1:80`,
//! `-t=VIP`), an optional argument that is taken only when the next word does not start with
//! `-` (`-p`), required arguments taken from the next word even when it starts with `-`
//! (`-x -1`), non-option words collected as "leftovers" wherever they appear (`--set 1 2 3`),
//! and error messages that quote the whole offending word (`-Lnx: missing argument`). The
//! option table is small, so a table-driven scanner of a hundred lines is simpler than bending
//! a general-purpose parser.
//!
//! The scanner only finds options; what they mean is decided by the caller, one option at a
//! time, so that the caller's checks run in the same order as ipvsadm's.

/// Whether an option takes an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A flag (`POPT_ARG_NONE`).
    None,
    /// A string argument that must be present (`POPT_ARG_STRING`).
    Required,
    /// A string argument that may be absent (`POPT_ARGFLAG_OPTIONAL`).
    Optional,
}

/// One entry of an option table.
#[derive(Debug, Clone, Copy)]
pub struct OptionDef<T: Copy> {
    /// Long name without the leading `--`.
    pub long: &'static str,
    /// Short name, if any.
    pub short: Option<char>,
    pub arg: ArgKind,
    /// What the caller gets back when this option is found.
    pub tag: T,
}

/// An error of the scanner itself, as popt reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoptError {
    /// `POPT_ERROR_BADOPT`.
    UnknownOption,
    /// `POPT_ERROR_NOARG`.
    MissingArgument,
    /// `POPT_ERROR_UNWANTEDARG`.
    UnwantedArgument,
}

impl PoptError {
    /// popt's own text for the error (`poptStrerror`).
    pub fn text(self) -> &'static str {
        match self {
            PoptError::UnknownOption => "unknown option",
            PoptError::MissingArgument => "missing argument",
            PoptError::UnwantedArgument => "option does not take an argument",
        }
    }
}

/// An option found in the argument vector, with its argument when it takes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    pub tag: T,
    pub arg: Option<String>,
}

/// Walks `args` (without the program name) against `table`.
pub struct Scanner<'t, T: Copy> {
    table: &'t [OptionDef<T>],
    args: Vec<String>,
    /// Index of the next word to read (popt's `os->next`).
    next: usize,
    /// Rest of a cluster of short options still to process: (word index, byte offset).
    cluster: Option<(usize, usize)>,
    /// Set by `--`: every later word is a leftover.
    rest_leftover: bool,
    leftovers: Vec<String>,
    next_leftover: usize,
}

impl<'t, T: Copy> Scanner<'t, T> {
    pub fn new(table: &'t [OptionDef<T>], args: Vec<String>) -> Self {
        Scanner {
            table,
            args,
            next: 0,
            cluster: None,
            rest_leftover: false,
            leftovers: Vec::new(),
            next_leftover: 0,
        }
    }

    /// The word popt blames for the last option or error (`poptBadOption`): the last word
    /// read, which is the option's argument when the argument came from the next word.
    pub fn bad_word(&self) -> &str {
        self.next
            .checked_sub(1)
            .and_then(|i| self.args.get(i))
            .map_or("", String::as_str)
    }

    /// The next leftover (non-option) word (`poptGetArg`).
    pub fn take_leftover(&mut self) -> Option<String> {
        let word = self.leftovers.get(self.next_leftover).cloned();
        if word.is_some() {
            self.next_leftover += 1;
        }
        word
    }

    /// The next option, `None` at the end, or popt's error.
    pub fn next_option(&mut self) -> Option<Result<Found<T>, PoptError>> {
        loop {
            if let Some((word, offset)) = self.cluster.take() {
                return Some(self.short_option(word, offset));
            }
            let index = self.next;
            let word = self.args.get(index)?.clone();
            self.next += 1;
            if self.rest_leftover || !word.starts_with('-') || word == "-" {
                self.leftovers.push(word);
                continue;
            }
            if word == "--" {
                self.rest_leftover = true;
                continue;
            }
            if let Some(long) = word.strip_prefix("--") {
                return Some(self.long_option(long));
            }
            // A single dash: popt would try ONEDASH long options first; ipvsadm has none.
            return Some(self.short_option(index, 1));
        }
    }

    fn long_option(&mut self, text: &str) -> Result<Found<T>, PoptError> {
        let (name, inline) = match text.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (text, None),
        };
        let def = *self
            .table
            .iter()
            .find(|d| d.long == name)
            .ok_or(PoptError::UnknownOption)?;
        match def.arg {
            ArgKind::None => match inline {
                Some(_) => Err(PoptError::UnwantedArgument),
                None => Ok(Found {
                    tag: def.tag,
                    arg: None,
                }),
            },
            _ => {
                let arg = match inline {
                    Some(value) => Some(value),
                    None => self.argument_from_next_word(def.arg)?,
                };
                Ok(Found { tag: def.tag, arg })
            }
        }
    }

    /// Processes the short option at byte `offset` of word `word`.
    fn short_option(&mut self, word: usize, offset: usize) -> Result<Found<T>, PoptError> {
        let text = self.args.get(word).map_or("", String::as_str);
        let rest = text.get(offset..).unwrap_or("");
        let Some(letter) = rest.chars().next() else {
            return Err(PoptError::UnknownOption);
        };
        let def = *self
            .table
            .iter()
            .find(|d| d.short == Some(letter))
            .ok_or(PoptError::UnknownOption)?;
        let after = offset + letter.len_utf8();
        let remainder = text.get(after..).unwrap_or("").to_string();
        match def.arg {
            ArgKind::None => {
                if remainder.starts_with('=') {
                    return Err(PoptError::UnwantedArgument);
                }
                if !remainder.is_empty() {
                    self.cluster = Some((word, after));
                }
                Ok(Found {
                    tag: def.tag,
                    arg: None,
                })
            }
            _ => {
                let arg = if remainder.is_empty() {
                    self.argument_from_next_word(def.arg)?
                } else {
                    let glued = remainder.strip_prefix('=').unwrap_or(&remainder);
                    Some(glued.to_string())
                };
                Ok(Found { tag: def.tag, arg })
            }
        }
    }

    /// Takes an option's argument from the next word, as popt does when none was glued on.
    fn argument_from_next_word(&mut self, kind: ArgKind) -> Result<Option<String>, PoptError> {
        match self.args.get(self.next) {
            None if kind == ArgKind::Optional => Ok(None),
            None => Err(PoptError::MissingArgument),
            Some(next) if kind == ArgKind::Optional && next.starts_with('-') => Ok(None),
            Some(next) => {
                let arg = next.clone();
                self.next += 1;
                Ok(Some(arg))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Tag {
        List,
        Numeric,
        Tcp,
        Persistent,
    }

    const TABLE: &[OptionDef<Tag>] = &[
        OptionDef {
            long: "list",
            short: Some('L'),
            arg: ArgKind::None,
            tag: Tag::List,
        },
        OptionDef {
            long: "numeric",
            short: Some('n'),
            arg: ArgKind::None,
            tag: Tag::Numeric,
        },
        OptionDef {
            long: "tcp-service",
            short: Some('t'),
            arg: ArgKind::Required,
            tag: Tag::Tcp,
        },
        OptionDef {
            long: "persistent",
            short: Some('p'),
            arg: ArgKind::Optional,
            tag: Tag::Persistent,
        },
    ];

    /// An option found, or popt's error with the word it blames.
    type Scanned = Result<Found<Tag>, (PoptError, String)>;

    fn scan(words: &[&str]) -> (Vec<Scanned>, Vec<String>) {
        let mut s = Scanner::new(TABLE, words.iter().map(|w| w.to_string()).collect());
        let mut out = Vec::new();
        while let Some(r) = s.next_option() {
            match r {
                Ok(f) => out.push(Ok(f)),
                Err(e) => {
                    out.push(Err((e, s.bad_word().to_string())));
                    break;
                }
            }
        }
        let mut left = Vec::new();
        while let Some(w) = s.take_leftover() {
            left.push(w);
        }
        (out, left)
    }

    fn found(tag: Tag, arg: Option<&str>) -> Scanned {
        Ok(Found {
            tag,
            arg: arg.map(str::to_string),
        })
    }

    #[test]
    fn clusters_glued_and_next_word_arguments() {
        let (o, _) = scan(&["-Lnt", "10.0.0.1:80"]);
        assert_eq!(
            o,
            vec![
                found(Tag::List, None),
                found(Tag::Numeric, None),
                found(Tag::Tcp, Some("10.0.0.1:80"))
            ]
        );
        let (o, _) = scan(&["-Lnt10.0.0.1:80"]);
        assert_eq!(o[2], found(Tag::Tcp, Some("10.0.0.1:80")));
        let (o, _) = scan(&["-L", "-t=1.2.3.4:80"]);
        assert_eq!(o[1], found(Tag::Tcp, Some("1.2.3.4:80")));
        let (o, _) = scan(&["--list", "--tcp-service=", "--tcp-service", "-x"]);
        assert_eq!(o[1], found(Tag::Tcp, Some("")));
        assert_eq!(o[2], found(Tag::Tcp, Some("-x")));
    }

    #[test]
    fn optional_argument_is_not_taken_from_an_option_word() {
        let (o, _) = scan(&["-p", "-n"]);
        assert_eq!(
            o,
            vec![found(Tag::Persistent, None), found(Tag::Numeric, None)]
        );
        let (o, _) = scan(&["-p", "60", "-p60", "--persistent=", "-p"]);
        assert_eq!(
            o,
            vec![
                found(Tag::Persistent, Some("60")),
                found(Tag::Persistent, Some("60")),
                found(Tag::Persistent, Some("")),
                found(Tag::Persistent, None)
            ]
        );
    }

    #[test]
    fn errors_quote_the_word_popt_blames() {
        let (o, _) = scan(&["-Lnx"]);
        assert_eq!(
            o.last().unwrap(),
            &Err((PoptError::UnknownOption, "-Lnx".into()))
        );
        let (o, _) = scan(&["-L", "-t"]);
        assert_eq!(
            o.last().unwrap(),
            &Err((PoptError::MissingArgument, "-t".into()))
        );
        let (o, _) = scan(&["-L", "--numeric=1"]);
        assert_eq!(
            o.last().unwrap(),
            &Err((PoptError::UnwantedArgument, "--numeric=1".into()))
        );
        let (o, _) = scan(&["-Ln=1"]);
        assert_eq!(
            o.last().unwrap(),
            &Err((PoptError::UnwantedArgument, "-Ln=1".into()))
        );
        let (o, _) = scan(&["--lis"]);
        assert_eq!(o, vec![Err((PoptError::UnknownOption, "--lis".into()))]);
        let (o, _) = scan(&["-"]);
        assert!(o.is_empty());
    }

    #[test]
    fn leftovers_are_collected_anywhere_and_after_double_dash() {
        let (o, left) = scan(&["a", "-L", "b", "--", "-n", ""]);
        assert_eq!(o, vec![found(Tag::List, None)]);
        assert_eq!(left, vec!["a", "b", "-n", ""]);
    }

    #[test]
    fn bad_word_is_the_argument_word_after_a_separate_argument() {
        let mut s = Scanner::new(TABLE, vec!["-t".into(), "VIP".into()]);
        assert_eq!(
            s.next_option(),
            Some(Ok(Found {
                tag: Tag::Tcp,
                arg: Some("VIP".into())
            }))
        );
        assert_eq!(s.bad_word(), "VIP");
    }
}
