//! "Did you mean ...?" for unknown keywords and fields.
//!
//! The distance is Damerau-Levenshtein (a swapped pair of letters counts once) from the
//! `strsim` crate, computed over the keywords valid *in the block at hand* only, so a
//! suggestion is always something the operator could write right there. A candidate is
//! offered only when it is close: at most a third of the word's length away (at least one
//! edit), so `1b_algo` gets `lb_algo` but `foo` gets nothing.

/// The closest candidate to `word`, if one is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for cand in candidates {
        if cand == word {
            continue;
        }
        // A case slip (tcp_check for TCP_CHECK) is the closest possible miss.
        let d = if cand.eq_ignore_ascii_case(word) {
            0
        } else {
            strsim::damerau_levenshtein(&lower, &cand.to_ascii_lowercase())
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VS: [&str; 5] = [
        "lb_algo",
        "lb_kind",
        "protocol",
        "delay_loop",
        "real_server",
    ];

    #[test]
    fn near_misses_get_the_keyword() {
        assert_eq!(suggest("1b_algo", VS), Some("lb_algo"));
        assert_eq!(suggest("protcol", VS), Some("protocol"));
        assert_eq!(suggest("delay_lopo", VS), Some("delay_loop"));
        assert_eq!(suggest("REAL_SERVER", VS), Some("real_server"));
    }

    #[test]
    fn far_words_get_nothing() {
        assert_eq!(suggest("foo", VS), None);
        assert_eq!(suggest("weight", VS), None);
        assert_eq!(suggest("", VS), None);
    }
}
