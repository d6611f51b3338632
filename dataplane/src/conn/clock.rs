//! Injected time, cut into ticks.
//!
//! The table never reads a clock: every call that can arm a timer is given `now` in
//! milliseconds by the caller (the worker's burst time, or the capture timestamp in pcap
//! replay), which keeps replay deterministic. Deadlines are stored as 32-bit tick numbers that
//! wrap; they are compared by wrapping difference, which is sound while every pending
//! deadline is within 2^31 ticks of now (timeouts are capped well below that).
//!
//! A deadline is `ceil((now + timeout) / tick)`, so an entry is never expired early and at
//! most one tick late. Computing it needs a division; the clock divides once per distinct
//! `now` (a burst shares one) and timeouts are pre-split into whole ticks and a remainder, so
//! the per-packet path only adds and compares.

/// Longest timeout the table keeps, in ticks: far enough to be "never" for any IPVS timeout
/// at a sane granularity, close enough that wrapping comparisons stay sound.
pub const MAX_SPAN_TICKS: u32 = 1 << 30;

/// A timeout, split into whole ticks and the milliseconds left over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    ticks: u32,
    rem_ms: u32,
}

/// Whether tick `a` is at or before tick `b`, on the wrapping tick circle.
#[inline]
pub fn tick_le(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) >= 0
}

/// The tick clock of one table.
#[derive(Debug, Clone)]
pub struct Clock {
    tick_ms: u32,
    cached_ms: u64,
    cached_tick: u32,
    cached_frac: u32,
}

impl Clock {
    /// `tick_ms` must be non-zero (the table's constructor checks).
    pub fn new(tick_ms: u32) -> Clock {
        let tick_ms = tick_ms.max(1);
        Clock {
            tick_ms,
            cached_ms: 0,
            cached_tick: 0,
            cached_frac: 0,
        }
    }

    pub fn tick_ms(&self) -> u32 {
        self.tick_ms
    }

    /// Splits a timeout in seconds into a [`Span`], capped at [`MAX_SPAN_TICKS`].
    pub fn span_secs(&self, secs: u32) -> Span {
        let ms = u64::from(secs) * 1000;
        let tick = u64::from(self.tick_ms);
        let ticks = ms / tick;
        if ticks >= u64::from(MAX_SPAN_TICKS) {
            return Span {
                ticks: MAX_SPAN_TICKS,
                rem_ms: 0,
            };
        }
        Span {
            // Both fit: ticks < MAX_SPAN_TICKS and the remainder < tick_ms (a u32).
            ticks: ticks as u32,
            rem_ms: (ms % tick) as u32,
        }
    }

    #[inline]
    fn sync(&mut self, now_ms: u64) {
        if now_ms != self.cached_ms {
            let tick = u64::from(self.tick_ms);
            self.cached_ms = now_ms;
            // Truncation to 32 bits is the wrapping tick counter (see the module doc).
            self.cached_tick = (now_ms / tick) as u32;
            self.cached_frac = (now_ms % tick) as u32;
        }
    }

    /// The tick `now_ms` falls in.
    #[inline]
    pub fn tick(&mut self, now_ms: u64) -> u32 {
        self.sync(now_ms);
        self.cached_tick
    }

    /// The deadline tick of a timeout starting at `now_ms`: the first tick boundary at or
    /// after `now_ms + span`.
    #[inline]
    pub fn deadline(&mut self, now_ms: u64, span: Span) -> u32 {
        self.sync(now_ms);
        let sum = u64::from(self.cached_frac) + u64::from(span.rem_ms);
        let tick = u64::from(self.tick_ms);
        let round_up = if sum == 0 {
            0
        } else if sum <= tick {
            1
        } else {
            2
        };
        self.cached_tick
            .wrapping_add(span.ticks)
            .wrapping_add(round_up)
    }

    /// Milliseconds from `now_ms` until the deadline tick begins; 0 when it has passed.
    pub fn ms_until(&self, deadline: u32, now_ms: u64) -> u64 {
        let tick = u64::from(self.tick_ms);
        // Truncation to 32 bits is the wrapping tick counter (see the module doc).
        let now_tick = (now_ms / tick) as u32;
        let ticks_left = deadline.wrapping_sub(now_tick) as i32;
        if ticks_left <= 0 {
            return 0;
        }
        let ticks_left = u64::from(ticks_left.unsigned_abs());
        (ticks_left * tick).saturating_sub(now_ms % tick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_the_first_tick_boundary_at_or_after_expiry() {
        let mut c = Clock::new(100);
        // now = 1234 ms, timeout 10 s -> expiry at 11234 ms -> tick 113 (11300 ms).
        assert_eq!(c.deadline(1234, c.span_secs(10)), 113);
        // Exactly on a boundary: 1200 + 10000 = 11200 -> tick 112.
        assert_eq!(c.deadline(1200, c.span_secs(10)), 112);
        // Zero timeout on a boundary is now; just past one rounds up.
        assert_eq!(c.deadline(1200, c.span_secs(0)), 12);
        assert_eq!(c.deadline(1201, c.span_secs(0)), 13);
    }

    #[test]
    fn deadline_with_a_remainder_that_carries_twice() {
        // tick 300 ms, timeout 1 s = 3 ticks + 100 ms; now = 250 ms (tick 0, frac 250).
        // Expiry at 1250 ms -> tick ceil(1250/300) = 5 = 0 + 3 + 2.
        let mut c = Clock::new(300);
        assert_eq!(c.deadline(250, c.span_secs(1)), 5);
        // now = 150: expiry 1150 -> ceil(1150/300) = 4 = 0 + 3 + 1.
        assert_eq!(c.deadline(150, c.span_secs(1)), 4);
    }

    #[test]
    fn deadline_matches_ceil_division_everywhere() {
        for tick_ms in [1u32, 7, 100, 250, 1000] {
            let mut c = Clock::new(tick_ms);
            for now in (0u64..5000).step_by(37) {
                for secs in [0u32, 1, 2, 10, 61] {
                    let expect = (now + u64::from(secs) * 1000).div_ceil(u64::from(tick_ms));
                    assert_eq!(
                        u64::from(c.deadline(now, c.span_secs(secs))),
                        expect,
                        "tick {tick_ms} now {now} secs {secs}"
                    );
                }
            }
        }
    }

    #[test]
    fn spans_are_capped() {
        let c = Clock::new(1);
        assert_eq!(c.span_secs(u32::MAX).ticks, MAX_SPAN_TICKS);
    }

    #[test]
    fn wrapping_comparison() {
        assert!(tick_le(5, 5));
        assert!(tick_le(5, 6));
        assert!(!tick_le(6, 5));
        assert!(tick_le(u32::MAX - 2, 3));
        assert!(!tick_le(3, u32::MAX - 2));
    }

    #[test]
    fn ms_until_counts_down_to_zero() {
        let mut c = Clock::new(100);
        let d = c.deadline(1000, c.span_secs(5)); // 6000 ms -> tick 60
        assert_eq!(c.ms_until(d, 1000), 5000);
        assert_eq!(c.ms_until(d, 5950), 50);
        assert_eq!(c.ms_until(d, 6000), 0);
        assert_eq!(c.ms_until(d, 9000), 0);
    }
}
