//! IPVS's rate estimator (`net/netfilter/ipvs/ip_vs_est.c`), for `ipvsadm -L --rate`.
//!
//! The kernel samples each service's and real server's cumulative counters every two
//! seconds and keeps an exponentially weighted moving average of the per-second rate:
//!
//! ```text
//! avg += (rate - avg) / 4        (W = 2^-2, so roughly the last 8 seconds)
//! ```
//!
//! in fixed point: connections and packets per second scaled by 2^10, bytes per second by
//! 2^5. The two-second interval is folded into the shift (a difference over 2 s shifted left
//! by 9 is the per-second rate scaled by 2^10). Reading rounds: `(avg + 0x1FF) >> 10` and
//! `(avg + 0xF) >> 5`. Zeroing (`ipvsadm -Z`) restarts the average at 0 from the current
//! counters. rvs reproduces this arithmetic exactly so that `--rate` columns mean what
//! operators are used to, including the slow climb after a step and the rounding.
//!
//! The estimator is pure: the daemon calls [`Estimator::sample`] every
//! [`ESTIMATION_INTERVAL`] with the summed counters; tests feed synthetic series.

use std::time::Duration;

use proto::{Rates, Stats};

/// How often the kernel samples (and rvs must call [`Estimator::sample`]).
pub const ESTIMATION_INTERVAL: Duration = Duration::from_secs(2);

/// The moving averages of one set of counters, in the kernel's fixed point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Estimator {
    last: Stats,
    /// Scaled by 2^10.
    cps: i64,
    inpps: i64,
    outpps: i64,
    /// Scaled by 2^5.
    inbps: i64,
    outbps: i64,
}

/// One average step: `avg += (rate - avg) >> 2`, with the kernel's signed arithmetic shift.
fn step(avg: &mut i64, last: &mut u64, now: u64, shift: u32) {
    let delta = now.wrapping_sub(*last);
    *last = now;
    // A difference above 2^54 per two seconds cannot come from a packet counter; saturate
    // rather than overflow the scaled value.
    let rate = i64::try_from(delta)
        .ok()
        .and_then(|d| d.checked_shl(shift).filter(|r| r >> shift == d))
        .unwrap_or(i64::MAX / 2);
    *avg += (rate - *avg) >> 2;
}

fn read(avg: i64, round: i64, shift: u32) -> u64 {
    u64::try_from((avg + round) >> shift).unwrap_or(0)
}

impl Estimator {
    /// An estimator starting from `current` counters with all rates 0 (a new service, or
    /// one just zeroed).
    pub fn new(current: Stats) -> Self {
        Estimator {
            last: current,
            ..Estimator::default()
        }
    }

    /// One two-second sample of the cumulative counters.
    pub fn sample(&mut self, now: Stats) {
        step(&mut self.cps, &mut self.last.conns, now.conns, 9);
        step(&mut self.inpps, &mut self.last.inpkts, now.inpkts, 9);
        step(&mut self.outpps, &mut self.last.outpkts, now.outpkts, 9);
        step(&mut self.inbps, &mut self.last.inbytes, now.inbytes, 4);
        step(&mut self.outbps, &mut self.last.outbytes, now.outbytes, 4);
    }

    /// `-Z`: the averages restart at 0 from `current`.
    pub fn zero(&mut self, current: Stats) {
        *self = Estimator::new(current);
    }

    /// The rates as `ipvsadm --rate` shows them.
    pub fn rates(&self) -> Rates {
        Rates {
            cps: read(self.cps, 0x1FF, 10),
            inpps: read(self.inpps, 0x1FF, 10),
            outpps: read(self.outpps, 0x1FF, 10),
            inbps: read(self.inbps, 0xF, 5),
            outbps: read(self.outbps, 0xF, 5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(conns: u64, pkts: u64, bytes: u64) -> Stats {
        Stats {
            conns,
            inpkts: pkts,
            outpkts: pkts / 2,
            inbytes: bytes,
            outbytes: bytes / 2,
        }
    }

    /// The kernel's loop, written out independently with the same integer rules.
    fn kernel_cps(series: &[u64]) -> Vec<u64> {
        let (mut last, mut avg) = (series[0], 0i64);
        series[1..]
            .iter()
            .map(|&n| {
                let rate = ((n - last) << 9) as i64;
                last = n;
                avg += (rate - avg) >> 2;
                ((avg + 0x1FF) >> 10) as u64
            })
            .collect()
    }

    #[test]
    fn a_steady_rate_is_approached_from_below_as_the_kernel_does() {
        // 100 connections per second = 200 per two-second sample.
        let series: Vec<u64> = (0..30).map(|i| i * 200).collect();
        let mut e = Estimator::new(stats(0, 0, 0));
        let mut seen = Vec::new();
        for &n in &series[1..] {
            e.sample(stats(n, 0, 0));
            seen.push(e.rates().cps);
        }
        assert_eq!(seen, kernel_cps(&series));
        // 25, 44, 58, 69, 77 ... (avg of a quarter each step), then steady at 100.
        assert_eq!(&seen[..5], &[25, 44, 58, 68, 76]);
        assert_eq!(*seen.last().unwrap(), 100);
    }

    #[test]
    fn bytes_use_their_own_scale_and_rounding() {
        let mut e = Estimator::new(stats(0, 0, 0));
        // 1000 bytes/s in, 500 out; 10 pkt/s in, 5 out.
        for i in 1..=40 {
            e.sample(stats(0, 20 * i, 2000 * i));
        }
        let r = e.rates();
        assert_eq!((r.inbps, r.outbps, r.inpps, r.outpps), (1000, 500, 10, 5));
        // 3 bytes per 2 s = 1.5 B/s, scaled by 32: 48. One step: avg 12 (0.375 B/s), which
        // reads 0; the second (avg 21, 0.66 B/s) reads 1 with the kernel's +0xF rounding.
        let mut e = Estimator::new(stats(0, 0, 0));
        e.sample(stats(0, 0, 3));
        assert_eq!(e.rates().inbps, 0);
        e.sample(stats(0, 0, 6));
        assert_eq!(e.rates().inbps, 1);
    }

    #[test]
    fn a_stop_decays_and_zero_restarts() {
        let mut e = Estimator::new(stats(0, 0, 0));
        for i in 1..=20 {
            e.sample(stats(100 * i, 0, 0));
        }
        assert_eq!(e.rates().cps, 50);
        let top = 2000;
        let mut prev = 50;
        for _ in 0..10 {
            e.sample(stats(top, 0, 0));
            let now = e.rates().cps;
            assert!(now < prev || now == 0, "{now} after {prev}");
            prev = now;
        }
        assert!(prev <= 3, "{prev}");
        e.zero(stats(top, 0, 0));
        assert_eq!(e.rates(), Rates::default());
        e.sample(stats(top + 8, 0, 0));
        assert_eq!(e.rates().cps, 1); // 4 cps / 4 = 1
    }

    #[test]
    fn a_counter_that_goes_backwards_does_not_panic() {
        let mut e = Estimator::new(stats(1000, 1000, 1000));
        e.sample(stats(0, 0, 0));
        e.sample(stats(u64::MAX, u64::MAX, u64::MAX));
        let _ = e.rates();
    }
}
