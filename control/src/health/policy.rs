//! The per-checker state machine: when a failing checker is declared down, when a checker
//! comes back up, and how long to wait before the next attempt.
//!
//! Pure and synchronous so that keepalived's exact rules can be tested as tables of steps.
//! keepalived does not have one rule for all checkers; each check_*.c has its own epilog.
//! Read from the sources, they fall into three families:
//!
//! * **Retry always** (TCP_CHECK, SMTP_CHECK): a failure is retried `retry` times,
//!   `delay_before_retry` apart, whether the checker is up or already down; after the last
//!   retry the checker is (or stays) down and the next attempt is `delay_loop` later.
//! * **Retry while up** (UDP_CHECK, DNS_CHECK, MISC_CHECK): retries only while the checker is
//!   up; a down checker is simply re-checked every `delay_loop`.
//! * **HTTP_GET/SSL_GET**: like "retry while up", but the urls are checked one per
//!   `delay_loop`; a down checker is re-checked every `max(delay_loop, delay_before_retry)`
//!   on the url that failed, and once that url passes, every url is checked again (one per
//!   `delay_loop`) before the checker is up again.
//!
//! In every family a success brings a down checker up at once (no rise count), and the very
//! first failure after start (or after an `alpha` start) is final: keepalived starts each
//! checker with its retry counter already exhausted ("one failure is enough initially"),
//! except SMTP_CHECK, which resets the counter at the start of every cycle.

use std::time::Duration;

use super::spec::{ProbeSpec, Timing};

/// Which retry family a checker belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// TCP_CHECK (`first_failure_final`) and SMTP_CHECK (not).
    RetryAlways { first_failure_final: bool },
    /// UDP_CHECK, DNS_CHECK, MISC_CHECK.
    RetryWhileUp,
    /// HTTP_GET / SSL_GET with this many urls.
    Http { urls: usize },
}

impl Family {
    /// The family of a checker kind.
    pub fn of(probe: &ProbeSpec) -> Family {
        match probe {
            ProbeSpec::Tcp { .. } => Family::RetryAlways {
                first_failure_final: true,
            },
            ProbeSpec::Smtp { .. } => Family::RetryAlways {
                first_failure_final: false,
            },
            ProbeSpec::Udp { .. } | ProbeSpec::Dns { .. } | ProbeSpec::Misc { .. } => {
                Family::RetryWhileUp
            }
            ProbeSpec::Http { urls, .. } => Family::Http { urls: urls.len() },
        }
    }
}

/// What happened after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// `Some(up)` when the checker changed state.
    pub changed: Option<bool>,
    /// Wait before the next attempt.
    pub next: Duration,
}

/// The state keepalived keeps per checker (`is_up`, `has_run`, `retry_it`, and for HTTP the
/// url iterator and the failed url).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerState {
    family: Family,
    is_up: bool,
    has_run: bool,
    retry_it: u32,
    /// HTTP: the url the next attempt fetches.
    url: usize,
    /// HTTP: the url that failed while the checker is down.
    failed_url: Option<usize>,
}

impl CheckerState {
    /// A checker before its first attempt.
    pub fn new(family: Family, timing: &Timing) -> CheckerState {
        let retry_it = match family {
            Family::RetryAlways {
                first_failure_final: false,
            } => 0,
            _ => timing.retry,
        };
        CheckerState {
            family,
            is_up: !timing.alpha,
            has_run: false,
            retry_it,
            url: 0,
            failed_url: None,
        }
    }

    pub fn is_up(&self) -> bool {
        self.is_up
    }

    pub fn has_run(&self) -> bool {
        self.has_run
    }

    /// HTTP: index of the url the next attempt fetches (0 for other checkers).
    pub fn url(&self) -> usize {
        self.url
    }

    /// Applies the result of one attempt.
    pub fn record(&mut self, success: bool, t: &Timing) -> Step {
        let was_up = self.is_up;
        let next = match self.family {
            Family::RetryAlways { .. } => self.retry_always(success, t),
            Family::RetryWhileUp => self.retry_while_up(success, t),
            Family::Http { urls } => self.http(success, t, urls),
        };
        Step {
            changed: (was_up != self.is_up).then_some(self.is_up),
            next,
        }
    }

    fn retry_always(&mut self, success: bool, t: &Timing) -> Duration {
        if success {
            self.is_up = true;
            self.has_run = true;
            self.retry_it = 0;
            return t.delay_loop;
        }
        if self.retry_it < t.retry {
            self.retry_it += 1;
            self.has_run = true;
            return t.delay_before_retry;
        }
        self.is_up = false;
        self.has_run = true;
        // TCP zeroes the counter here; SMTP zeroes it when the next cycle starts. Either
        // way the next cycle begins with a fresh set of retries.
        self.retry_it = 0;
        t.delay_loop
    }

    fn retry_while_up(&mut self, success: bool, t: &Timing) -> Duration {
        let was_run = self.has_run;
        self.has_run = true;
        if success {
            self.is_up = true;
            self.retry_it = 0;
            return t.delay_loop;
        }
        if self.is_up || !was_run {
            if self.retry_it < t.retry {
                self.retry_it += 1;
                return t.delay_before_retry;
            }
            self.is_up = false;
        }
        self.retry_it = 0;
        t.delay_loop
    }

    /// check_http.c `epilog()` + `timeout_epilog()`, transcribed.
    fn http(&mut self, success: bool, t: &Timing, urls: usize) -> Duration {
        let urls = urls.max(1);
        if !success && !self.is_up && self.has_run {
            // Already known dead: no retry, wait for the failed url again.
            return t.delay_before_retry.max(t.delay_loop);
        }
        if success {
            let at_end = self.url + 1 >= urls;
            self.retry_it = 0;
            if at_end && self.failed_url.is_none() {
                self.is_up = true;
                self.has_run = true;
                self.url = 0;
            } else if self.failed_url.is_some() {
                // The failed url passes again: check every url from the first.
                self.failed_url = None;
                self.url = 0;
            } else {
                self.url += 1;
            }
            if !self.has_run {
                self.retry_it = t.retry;
            }
            return t.delay_loop;
        }
        self.has_run = true;
        self.retry_it += 1;
        if self.retry_it > t.retry {
            self.is_up = false;
            self.failed_url = Some(self.url);
            return t.delay_before_retry.max(t.delay_loop);
        }
        t.delay_before_retry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn timing(retry: u32, alpha: bool) -> Timing {
        Timing {
            delay_loop: S(10),
            retry,
            delay_before_retry: S(2),
            warmup: S(0),
            alpha,
        }
    }

    /// Runs a sequence of results and returns (changed, next) per step.
    fn run(family: Family, t: Timing, results: &[bool]) -> Vec<(Option<bool>, u64)> {
        let mut st = CheckerState::new(family, &t);
        results
            .iter()
            .map(|&ok| {
                let s = st.record(ok, &t);
                (s.changed, s.next.as_secs())
            })
            .collect()
    }

    const TCP: Family = Family::RetryAlways {
        first_failure_final: true,
    };
    const SMTP: Family = Family::RetryAlways {
        first_failure_final: false,
    };

    #[test]
    fn tcp_first_failure_is_final_then_retries_apply() {
        let t = timing(2, false);
        let steps = run(TCP, t, &[false, true, false, false, false, true]);
        assert_eq!(
            steps,
            vec![
                (Some(false), 10), // startup: one failure is enough
                (Some(true), 10),  // first success: up at once
                (None, 2),         // failing: retry 1
                (None, 2),         // retry 2
                (Some(false), 10), // retries exhausted: down
                (Some(true), 10),
            ]
        );
    }

    #[test]
    fn tcp_retries_even_while_down() {
        let t = timing(1, false);
        let steps = run(TCP, t, &[false, false, false, false]);
        assert_eq!(
            steps,
            vec![(Some(false), 10), (None, 2), (None, 10), (None, 2)]
        );
    }

    #[test]
    fn tcp_retry_zero_fails_on_first_error() {
        let t = timing(0, false);
        assert_eq!(
            run(TCP, t, &[true, false, true]),
            vec![(None, 10), (Some(false), 10), (Some(true), 10)]
        );
    }

    #[test]
    fn smtp_retries_before_the_first_down() {
        let t = timing(1, false);
        let steps = run(SMTP, t, &[false, false, false, false, true]);
        assert_eq!(
            steps,
            vec![
                (None, 2),
                (Some(false), 10),
                (None, 2),
                (None, 10),
                (Some(true), 10)
            ]
        );
    }

    #[test]
    fn retry_while_up_family() {
        let t = timing(2, false);
        let steps = run(
            Family::RetryWhileUp,
            t,
            &[true, false, false, false, false, false, true],
        );
        assert_eq!(
            steps,
            vec![
                (None, 10),
                (None, 2),
                (None, 2),
                (Some(false), 10),
                (None, 10), // down: no retries, every delay_loop
                (None, 10),
                (Some(true), 10),
            ]
        );
        // startup failure is final
        assert_eq!(
            run(Family::RetryWhileUp, t, &[false]),
            vec![(Some(false), 10)]
        );
    }

    #[test]
    fn alpha_starts_down_and_first_success_brings_up() {
        let t = timing(3, true);
        let st = CheckerState::new(TCP, &t);
        assert!(!st.is_up());
        assert_eq!(run(TCP, t, &[true]), vec![(Some(true), 10)]);
        assert_eq!(
            run(Family::RetryWhileUp, t, &[false, true]),
            vec![(None, 10), (Some(true), 10)]
        );
        assert_eq!(
            run(Family::Http { urls: 1 }, t, &[false, true, true]),
            vec![(None, 10), (None, 10), (Some(true), 10)]
        );
    }

    #[test]
    fn http_single_url_failure_and_recovery() {
        let t = timing(1, false);
        let steps = run(
            Family::Http { urls: 1 },
            t,
            &[true, false, false, false, true, true],
        );
        assert_eq!(
            steps,
            vec![
                (None, 10),
                (None, 2),         // retry
                (Some(false), 10), // down; next = max(dbr, delay_loop)
                (None, 10),        // still failing: no retry while down
                (None, 10),        // failed url passes: recheck all urls
                (Some(true), 10),  // full pass: up
            ]
        );
    }

    #[test]
    fn http_urls_are_checked_one_per_delay_loop() {
        let t = timing(0, false);
        let fam = Family::Http { urls: 3 };
        let mut st = CheckerState::new(fam, &t);
        let mut seen = vec![];
        for _ in 0..4 {
            seen.push(st.url());
            assert_eq!(
                st.record(true, &t),
                Step {
                    changed: None,
                    next: S(10)
                }
            );
        }
        assert_eq!(seen, vec![0, 1, 2, 0]);
        // url 1 fails: down at once (retry 0), and the failed url is retried
        assert_eq!(st.url(), 1);
        assert_eq!(st.record(false, &t).changed, Some(false));
        assert_eq!(st.url(), 1);
        let s = st.record(true, &t);
        assert_eq!((s.changed, st.url()), (None, 0));
        st.record(true, &t);
        st.record(true, &t);
        assert!(!st.is_up());
        assert_eq!(st.record(true, &t).changed, Some(true));
    }

    #[test]
    fn http_startup_failure_on_second_url_is_final() {
        let t = timing(3, false);
        let steps = run(Family::Http { urls: 2 }, t, &[true, false]);
        assert_eq!(steps, vec![(None, 10), (Some(false), 10)]);
    }

    #[test]
    fn http_dbr_longer_than_delay_loop_while_down() {
        let t = Timing {
            delay_before_retry: S(30),
            ..timing(0, false)
        };
        assert_eq!(
            run(Family::Http { urls: 1 }, t, &[false, false]),
            vec![(Some(false), 30), (None, 30)]
        );
    }
}
