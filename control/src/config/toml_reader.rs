//! The native TOML reader.
//!
//! serde does the decoding, but a plain `toml::from_str::<Config>` stops at the first
//! problem and says nothing about where a semantic error sits. So the document is first
//! parsed into `toml`'s spanned tree (`DeTable`, which keeps the byte range of every key and
//! value); every top-level item — and every element of the `[[services]]`,
//! `[[vrrp_instances]]` ... arrays — is then decoded on its own, so that each bad item gets
//! its own error; and the same tree gives the [`SpanMap`] that puts validation errors on
//! their lines.

mod schema;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, ConfigErrors, Diagnostics, Location};
use super::spans::SpanMap;
use super::suggest::suggest;
use super::{Config, Format, Loaded, validate};

/// The top-level keys of the TOML file, in the order docs/config.md presents them.
pub const TOP_LEVEL_KEYS: [&str; 13] = [
    "daemon",
    "dpdk",
    "ports",
    "routes",
    "neighbours",
    "timeouts",
    "conn_table",
    "local_address_groups",
    "services",
    "global",
    "vrrp_scripts",
    "vrrp_instances",
    "vrrp_sync_groups",
];

/// Reads a TOML configuration given as text (reported as `<string>`).
pub fn load_toml_str(text: &str) -> Result<Loaded, ConfigErrors> {
    load_toml_named(text, "<string>", Path::new("<string>"))
}

/// Reads a TOML configuration file.
pub fn load_toml_file(path: impl AsRef<Path>) -> Result<Loaded, ConfigErrors> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| ConfigErrors::single(&name, format!("cannot read the file: {e}")))?;
    load_toml_named(&String::from_utf8_lossy(&bytes), &name, path)
}

/// Reads TOML text that came from `path` (named `name` in messages).
pub(crate) fn load_toml_named(text: &str, name: &str, path: &Path) -> Result<Loaded, ConfigErrors> {
    let reader = Reader::new(text, name);
    let mut diag = Diagnostics::default();
    let (doc, syntax) = DeTable::parse_recoverable(text);
    for e in &syntax {
        diag.errors.push(reader.toml_error(e, None));
    }
    if diag.has_errors() {
        return Err(diag.into_errors());
    }
    let mut doc = doc;
    let mut spans = SpanMap::default();
    reader.record_table(doc.get_ref(), "", &mut spans);
    // Unknown keys are reported (all of them) and dropped, so the rest is still decoded and
    // validated and the operator sees every problem of the file at once.
    reader.prune_unknown(doc.get_mut(), schema::Kind::Top, "", &mut diag);
    let unknown_keys = diag.errors.len();
    let config = reader.decode(doc.get_ref(), &mut diag);
    if diag.errors.len() > unknown_keys {
        return Err(sorted(diag));
    }
    if let Err(errs) = validate(&config) {
        for e in &errs {
            diag.errors.push(spans.locate_error(e, name, true));
        }
        return Err(sorted(diag));
    }
    if diag.has_errors() {
        return Err(sorted(diag));
    }
    Ok(Loaded {
        config,
        warnings: diag.warnings,
        sources: vec![PathBuf::from(path)],
        format: Format::Toml,
    })
}

/// The errors in file order (one file: by line and column).
fn sorted(diag: Diagnostics) -> ConfigErrors {
    let mut errs = diag.into_errors();
    errs.errors.sort_by_key(|e| (e.line, e.column));
    errs
}

/// Text, file name and the offsets of line starts, for byte offset -> line:column.
struct Reader<'t> {
    text: &'t str,
    file: Arc<str>,
    line_starts: Vec<usize>,
}

impl<'t> Reader<'t> {
    fn new(text: &'t str, name: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Reader {
            text,
            file: Arc::from(name),
            line_starts,
        }
    }

    /// The place of a byte offset (1-based line and character column).
    fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let idx = self.line_starts.partition_point(|&s| s <= offset);
        let line_start = self
            .line_starts
            .get(idx.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let column = self
            .text
            .get(line_start..offset)
            .map(|s| s.chars().count() + 1)
            .unwrap_or(1);
        Location {
            file: self.file.clone(),
            line: idx.max(1),
            column: Some(column),
        }
    }

    /// A `toml` error as a located configuration error, with a suggestion when serde
    /// names the field or variant it expected.
    fn toml_error(&self, e: &toml::de::Error, fallback: Option<usize>) -> ConfigError {
        let at = match e.span().map(|s| s.start).or(fallback) {
            Some(off) => self.location(off),
            None => Location::new(self.file.clone(), 0),
        };
        let (message, suggestion) = refine_message(e.message());
        let mut err = at.error(message);
        err.suggestion = suggestion;
        err
    }

    /// Records the place of every key and array element under its model path.
    fn record_table(&self, table: &DeTable<'_>, prefix: &str, spans: &mut SpanMap) {
        for (k, v) in table.iter() {
            let path = if prefix.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{prefix}.{}", k.get_ref())
            };
            spans.insert(path.clone(), self.location(k.span().start));
            self.record_value(v, &path, spans);
        }
    }

    fn record_value(&self, v: &Spanned<DeValue<'_>>, path: &str, spans: &mut SpanMap) {
        match v.get_ref() {
            DeValue::Table(t) => self.record_table(t, path, spans),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let ipath = format!("{path}[{i}]");
                    spans.insert(ipath.clone(), self.location(item.span().start));
                    self.record_value(item, &ipath, spans);
                }
            }
            _ => {}
        }
    }

    /// Decodes one value into `T`, reporting a failure at its place.
    fn value<T: DeserializeOwned>(
        &self,
        v: &Spanned<DeValue<'_>>,
        diag: &mut Diagnostics,
    ) -> Option<T> {
        let start = v.span().start;
        match T::deserialize(v.clone().into_deserializer()) {
            Ok(t) => Some(t),
            Err(e) => {
                diag.errors.push(self.toml_error(&e, Some(start)));
                None
            }
        }
    }

    /// Decodes an array element by element, so that each bad element is reported.
    fn array<T: DeserializeOwned>(
        &self,
        key: &str,
        v: &Spanned<DeValue<'_>>,
        diag: &mut Diagnostics,
    ) -> Vec<T> {
        match v.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .filter_map(|item| self.value::<T>(item, diag))
                .collect(),
            other => {
                diag.errors
                    .push(self.location(v.span().start).error(format!(
                        "`{key}` must be an array of tables ([[{key}]]), not a {}",
                        other.type_str()
                    )));
                Vec::new()
            }
        }
    }

    /// Decodes a table of named items entry by entry.
    fn named<T: DeserializeOwned>(
        &self,
        key: &str,
        v: &Spanned<DeValue<'_>>,
        diag: &mut Diagnostics,
    ) -> std::collections::BTreeMap<String, T> {
        match v.get_ref() {
            DeValue::Table(t) => t
                .iter()
                .filter_map(|(k, item)| {
                    self.value::<T>(item, diag)
                        .map(|x| (k.get_ref().to_string(), x))
                })
                .collect(),
            other => {
                diag.errors
                    .push(self.location(v.span().start).error(format!(
                        "`{key}` must be a table of named entries ([{key}.NAME]), not a {}",
                        other.type_str()
                    )));
                Default::default()
            }
        }
    }

    fn decode(&self, doc: &DeTable<'_>, diag: &mut Diagnostics) -> Config {
        let mut cfg = Config::default();
        for (k, v) in doc.iter() {
            let key = k.get_ref().as_ref();
            match key {
                "daemon" => set(&mut cfg.daemon, self.value(v, diag)),
                "dpdk" => set(&mut cfg.dpdk, self.value(v, diag)),
                "ports" => cfg.ports = self.array(key, v, diag),
                "routes" => cfg.routes = self.array(key, v, diag),
                "neighbours" => cfg.neighbours = self.array(key, v, diag),
                "timeouts" => set(&mut cfg.timeouts, self.value(v, diag)),
                "conn_table" => set(&mut cfg.conn_table, self.value(v, diag)),
                "local_address_groups" => cfg.local_address_groups = self.named(key, v, diag),
                "services" => cfg.services = self.array(key, v, diag),
                "global" => set(&mut cfg.global, self.value(v, diag)),
                "vrrp_scripts" => cfg.vrrp_scripts = self.named(key, v, diag),
                "vrrp_instances" => cfg.vrrp_instances = self.array(key, v, diag),
                "vrrp_sync_groups" => cfg.vrrp_sync_groups = self.array(key, v, diag),
                _ => {
                    let mut e = self
                        .location(k.span().start)
                        .error(format!("unknown top-level key `{key}`"));
                    e.suggestion = suggest(key, TOP_LEVEL_KEYS).map(str::to_string);
                    diag.errors.push(e);
                }
            }
        }
        cfg
    }
}

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

/// serde says "unknown field `wieght`, expected one of `address`, `port`, ..."; keep the
/// first part as the message and turn the list into a suggestion when one is close.
fn refine_message(msg: &str) -> (String, Option<String>) {
    let msg = msg.trim_end();
    for kind in ["unknown field", "unknown variant"] {
        let Some(rest) = msg.strip_prefix(kind) else {
            continue;
        };
        let Some((word, expected)) = rest.trim_start().split_once(", expected") else {
            break;
        };
        let word = word.trim_matches('`');
        let candidates: Vec<&str> = expected
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, s)| s)
            .collect();
        let suggestion = suggest(word, candidates.iter().copied()).map(str::to_string);
        let message = if kind == "unknown variant" {
            format!("{kind} `{word}`, expected one of {}", candidates.join(", "))
        } else {
            format!("{kind} `{word}`")
        };
        return (message, suggestion);
    }
    (msg.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_suggestions() {
        let (m, s) =
            refine_message("unknown field `wieght`, expected one of `address`, `port`, `weight`");
        assert_eq!(m, "unknown field `wieght`");
        assert_eq!(s.as_deref(), Some("weight"));
        let (m, s) = refine_message(
            "unknown variant `fulnat`, expected one of `dr`, `tun`, `nat`, `full_nat`",
        );
        assert_eq!(
            m,
            "unknown variant `fulnat`, expected one of dr, tun, nat, full_nat"
        );
        assert_eq!(s.as_deref(), Some("full_nat"));
        let (m, s) = refine_message("invalid type: string \"x\", expected u16");
        assert_eq!(m, "invalid type: string \"x\", expected u16");
        assert_eq!(s, None);
    }

    #[test]
    fn offsets_become_lines_and_columns() {
        let r = Reader::new("a = 1\nbb = 2\n", "f.toml");
        let l = r.location(7);
        assert_eq!((l.line, l.column), (2, Some(2)));
        let l = r.location(0);
        assert_eq!((l.line, l.column), (1, Some(1)));
        let l = r.location(999);
        assert_eq!(l.line, 3);
    }
}
