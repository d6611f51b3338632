//! wrr: IPVS's exact interleaving (ip_vs_wrr.c) and proportions.

mod sched_support;

use dataplane::sched::{DestSpec, SchedulerKind};
use sched_support::*;

fn wrr(weights: &[u32]) -> dataplane::sched::ServiceScheduler {
    service(SchedulerKind::Wrr, &[], &servers(weights))
}

#[test]
fn weights_4_3_2_give_the_ipvs_sequence() {
    let mut s = wrr(&[4, 3, 2]);
    // The sequence of the LVS documentation and of ip_vs_wrr.c's passes cw = 4, 3, 2, 1.
    assert_eq!(sequence(&mut s, 18), "AABABCABCAABABCABC");
}

#[test]
fn other_weight_sets_follow_the_passes() {
    // gcd 1, mw 5: passes cw = 5..1.
    assert_eq!(sequence(&mut wrr(&[5, 1, 1]), 14), "AAAAABCAAAAABC");
    // gcd 2: di = 2, mw = 4 - 1 = 3; passes cw = 3, 1.
    assert_eq!(sequence(&mut wrr(&[4, 2]), 6), "AABAAB");
    // Equal weights degenerate to round robin.
    assert_eq!(sequence(&mut wrr(&[7, 7, 7]), 6), "ABCABC");
    // gcd 3, weights 9, 6, 3: di 3, mw 7; passes cw = 7, 4, 1.
    assert_eq!(sequence(&mut wrr(&[9, 6, 3]), 12), "AABABCAABABC");
}

#[test]
fn a_full_cycle_gives_each_server_its_weight() {
    let weights = [13u32, 7, 5, 1, 20];
    let mut s = wrr(&weights);
    let cycle: u32 = weights.iter().sum();
    let seq = sequence(&mut s, usize::try_from(cycle * 3).unwrap());
    for (i, w) in weights.iter().enumerate() {
        let letter = char::from(b'A' + u8::try_from(i).unwrap());
        let count = u32::try_from(seq.chars().filter(|c| *c == letter).count()).unwrap();
        assert_eq!(count, w * 3, "server {letter} in {seq}");
    }
}

#[test]
fn quiescent_server_is_skipped_and_gcd_ignores_it() {
    // B quiescent: gcd over 4 and 2 = 2, mw = 3: passes cw 3, 1 -> A, A C.
    assert_eq!(sequence(&mut wrr(&[4, 0, 2]), 6), "AACAAC");
}

#[test]
fn overloaded_server_is_skipped() {
    let specs: Vec<DestSpec> = vec![
        server('A', 4),
        server('B', 3).with_thresholds(1, 0),
        server('C', 2),
    ];
    let mut s = service(SchedulerKind::Wrr, &[], &specs);
    load(&mut s, 'B', 0, 1); // reaches upper threshold 1: overloaded
    assert!(s.dests().get(id(&s, 'B')).unwrap().overloaded());
    assert_eq!(sequence(&mut s, 12), "AAACACAAACAC");
}

#[test]
fn nothing_available_returns_none_and_recovers() {
    let specs: Vec<DestSpec> = vec![
        server('A', 2).with_thresholds(1, 0),
        server('B', 1).with_thresholds(1, 0),
    ];
    let mut s = service(SchedulerKind::Wrr, &[], &specs);
    assert_eq!(sequence(&mut s, 1), "A");
    load(&mut s, 'A', 1, 0);
    load(&mut s, 'B', 1, 0);
    assert_eq!(sequence(&mut s, 3), "---");
    s.unbind(id(&s, 'B'), dataplane::sched::ConnKind::Active);
    assert_eq!(sequence(&mut s, 2), "BB");
    assert_eq!(sequence(&mut wrr(&[0, 0]), 2), "--");
    assert_eq!(sequence(&mut wrr(&[]), 2), "--");
}

#[test]
fn update_restarts_at_the_head_and_keeps_the_current_weight() {
    let mut s = wrr(&[4, 3, 2]);
    assert_eq!(sequence(&mut s, 3), "AAB"); // now in pass cw = 3, after B
    // Same weights again: IPVS's dest_changed resets the position to the list head and
    // keeps cw = 3 (cw <= mw, di = 1): the pass cw = 3 starts over.
    s.update(&servers(&[4, 3, 2])).unwrap();
    assert_eq!(sequence(&mut s, 9), "ABABCABCA");
}

#[test]
fn update_clamps_the_current_weight_to_the_new_maximum() {
    let mut s = wrr(&[4, 3, 2]);
    assert_eq!(sequence(&mut s, 1), "A"); // cw = 4
    // New max 2: cw 4 > mw 2, so cw = mw: passes 2, 1.
    s.update(&servers(&[2, 2, 1])).unwrap();
    assert_eq!(sequence(&mut s, 10), "ABABCABABC");
}

#[test]
fn update_aligns_the_current_weight_to_a_new_gcd() {
    let mut s = wrr(&[5, 3]);
    assert_eq!(sequence(&mut s, 3), "AAA"); // passes 5, 4, 3(A): cw = 3
    // Weights 6, 4: di = 2, mw = 5; cw = (3 / 2) * 2 + 1 = 3: passes 3 (A, B), 1 (A, B).
    s.update(&servers(&[6, 4])).unwrap();
    assert_eq!(sequence(&mut s, 4), "ABAB");
    assert_eq!(sequence(&mut s, 5), "AABAB"); // then passes 5 (A), 3 (A, B), 1 (A, B)
}

#[test]
fn huge_weights_with_the_heavy_server_overloaded_stay_bounded() {
    let specs = vec![server('A', u32::MAX).with_thresholds(1, 0), server('B', 1)];
    let mut s = service(SchedulerKind::Wrr, &[], &specs);
    load(&mut s, 'A', 1, 0);
    // IPVS would walk ~2^32 empty passes before reaching cw = 1; rvs skips them.
    assert_eq!(sequence(&mut s, 3), "BBB");
}

/// ip_vs_wrr.c without rvs's pass skipping: the reference the real scheduler must match.
#[derive(Debug)]
struct KernelWrr {
    cl: Option<usize>,
    cw: i64,
    mw: i64,
    di: i64,
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl KernelWrr {
    fn changed(&mut self, weights: &[u32], init: bool) {
        self.cl = None;
        let g = weights
            .iter()
            .map(|&w| i64::from(w))
            .filter(|w| *w > 0)
            .fold(0, gcd);
        self.di = if g > 0 { g } else { 1 };
        self.mw = weights.iter().map(|&w| i64::from(w)).max().unwrap_or(0) - (self.di - 1);
        if init || self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }

    /// `servers`: (weight, overloaded) in list order.
    fn schedule(&mut self, servers: &[(u32, bool)]) -> Option<usize> {
        if self.mw == 0 {
            return None;
        }
        let last = self.cl;
        let mut dest = self.cl;
        let mut stop = None;
        let (mut last_pass, mut restarted) = (false, false);
        loop {
            let from = dest.map_or(0, |d| d + 1);
            for (i, &(w, over)) in servers.iter().enumerate().skip(from) {
                if !over && i64::from(w) >= self.cw {
                    self.cl = Some(i);
                    return Some(i);
                }
                if stop == Some(i) {
                    self.cl = Some(i);
                    return None;
                }
            }
            dest = None;
            self.cw -= self.di;
            if self.cw <= 0 {
                self.cw = self.mw;
                if last_pass || last.is_none() {
                    self.cl = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = self.cw <= self.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
        }
    }
}

mod against_the_kernel_algorithm {
    use super::*;
    use dataplane::sched::ConnKind;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Pick,
        Toggle(usize),
        Update(Vec<u32>),
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
        #[test]
        fn same_picks_as_ip_vs_wrr(
            weights in prop::collection::vec(0u32..13, 1..6),
            steps in prop::collection::vec(prop_oneof![
                8 => Just(Step::Pick),
                2 => (0usize..6).prop_map(Step::Toggle),
                1 => prop::collection::vec(0u32..13, 1..6).prop_map(Step::Update),
            ], 1..120),
        ) {
            let with_threshold = |w: &[u32]| -> Vec<dataplane::sched::DestSpec> {
                servers(w).into_iter().map(|s| s.with_thresholds(1, 0)).collect()
            };
            let mut s = service(SchedulerKind::Wrr, &[], &with_threshold(&weights));
            let mut k = KernelWrr { cl: None, cw: 0, mw: 0, di: 1 };
            k.changed(&weights, true);
            let mut current = weights.clone();
            for step in steps {
                match step {
                    Step::Pick => {
                        let view: Vec<(u32, bool)> = s.dests().iter().map(|(_, d)| (d.weight(), d.overloaded())).collect();
                        let want = k.schedule(&view);
                        let got = s.pick(&client([1, 1, 1, 1], 1)).map(|id| {
                            s.dests().order().iter().position(|o| *o == id).unwrap()
                        });
                        prop_assert_eq!(got, want);
                    }
                    Step::Toggle(i) => {
                        let i = i % current.len();
                        let id = s.dests().order()[i];
                        // Threshold 1: one connection overloads, unbinding it clears.
                        if s.dests().get(id).unwrap().total_conns() == 0 {
                            s.bind(id, ConnKind::Active);
                        } else {
                            s.unbind(id, ConnKind::Active);
                        }
                    }
                    Step::Update(w) => {
                        // Keep counts: same servers (by position/name) with new weights.
                        s.update(&with_threshold(&w)).unwrap();
                        k.changed(&w, false);
                        current = w;
                    }
                }
            }
        }
    }
}
