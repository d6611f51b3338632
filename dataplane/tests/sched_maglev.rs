//! mh (Maglev): table balance, disruption on removal, weights, quiescing, flags.

mod sched_support;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use dataplane::sched::{
    BuildError, DestId, DestSet, DestSpec, MH_DEFAULT_TABLE_SIZE, SchedFlag, SchedParams,
    Scheduler, SchedulerKind,
};
use sched_support::*;

/// Backend i at 10.1.(i / 256).(i % 256):8080.
fn backend(i: usize, weight: u32) -> DestSpec {
    let hi = u8::try_from(i / 256).unwrap();
    let lo = u8::try_from(i % 256).unwrap();
    DestSpec::new(IpAddr::V4(Ipv4Addr::new(10, 1, hi, lo)), 8080, weight)
}

fn maglev(specs: &[DestSpec], table: u32) -> (DestSet, Scheduler) {
    let dests = DestSet::new(specs).unwrap();
    let params = SchedParams {
        mh_table_size: table,
        ..SchedParams::default()
    };
    let sched = Scheduler::new(SchedulerKind::Mh, &[], &params, &dests).unwrap();
    (dests, sched)
}

/// Positions owned per server key.
fn shares(dests: &DestSet, sched: &Scheduler) -> HashMap<DestSpecKey, u32> {
    let mh = sched.maglev().unwrap();
    mh.shares()
        .filter(|(id, _)| dests.get(*id).is_some_and(|d| d.in_service()))
        .map(|(id, n)| (dests.get(id).unwrap().key(), n))
        .collect()
}
type DestSpecKey = dataplane::sched::DestKey;

/// Owner key of every position.
fn owners(dests: &DestSet, sched: &Scheduler) -> Vec<Option<DestSpecKey>> {
    sched
        .maglev()
        .unwrap()
        .table()
        .map(|id: Option<DestId>| id.map(|id| dests.get(id).unwrap().key()))
        .collect()
}

#[test]
fn equal_weights_balance_within_one_percent_at_65521() {
    let specs: Vec<_> = (0..10).map(|i| backend(i, 1)).collect();
    let (dests, sched) = maglev(&specs, 65521);
    let s = shares(&dests, &sched);
    assert_eq!(s.values().sum::<u32>(), 65521);
    let ideal = 65521.0 / 10.0;
    let worst = s
        .values()
        .map(|&n| (f64::from(n) - ideal).abs() / ideal)
        .fold(0.0, f64::max);
    eprintln!(
        "mh 65521 x 10 equal: shares {:?}, worst deviation {:.4}%",
        {
            let mut v: Vec<_> = s.values().copied().collect();
            v.sort_unstable();
            v
        },
        worst * 100.0
    );
    assert!(worst < 0.01, "worst deviation {worst}");
}

#[test]
fn weighted_shares_follow_weights_within_one_percent() {
    let weights = [1u32, 2, 3, 4, 5, 1, 2, 3, 4, 5];
    let specs: Vec<_> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| backend(i, w))
        .collect();
    let (dests, sched) = maglev(&specs, 65521);
    let s = shares(&dests, &sched);
    let total_w: u32 = weights.iter().sum();
    let mut worst = 0.0f64;
    for (i, &w) in weights.iter().enumerate() {
        let got = f64::from(s[&backend(i, w).key]);
        let ideal = 65521.0 * f64::from(w) / f64::from(total_w);
        worst = worst.max((got - ideal).abs() / ideal);
    }
    eprintln!(
        "mh 65521 weighted 1..5 x2: worst deviation {:.4}%",
        worst * 100.0
    );
    assert!(worst < 0.01, "worst deviation {worst}");
}

#[test]
fn removing_one_of_ten_moves_about_a_tenth() {
    let specs: Vec<_> = (0..10).map(|i| backend(i, 1)).collect();
    let (mut dests, mut sched) = maglev(&specs, 65521);
    let before = owners(&dests, &sched);
    let removed = specs[3].key;
    dests.apply(&[&specs[..3], &specs[4..]].concat()).unwrap();
    sched.rebuild(&dests).unwrap();
    let after = owners(&dests, &sched);
    let moved = before.iter().zip(&after).filter(|(b, a)| b != a).count();
    let of_removed = before.iter().filter(|b| **b == Some(removed)).count();
    let fraction = moved as f64 / 65521.0;
    eprintln!(
        "mh 65521 remove 1 of 10: {moved} positions moved ({:.4}), removed server had {of_removed}",
        fraction
    );
    // Every position of the removed server must move; Maglev moves a few more.
    assert!(moved >= of_removed);
    assert!(after.iter().all(|a| *a != Some(removed)));
    assert!(
        (0.09..=0.12).contains(&fraction),
        "moved fraction {fraction}"
    );
    // And clients: those not on the removed server mostly stay.
    let mut stayed = 0;
    let mut kept_candidates = 0;
    let (old_dests, mut old_sched) = maglev(&specs, 65521);
    for i in 0..20000u32 {
        let f = client(
            ((i.wrapping_mul(2_654_435_761)) ^ 0x0a0b_0c0d).to_be_bytes(),
            0,
        );
        let was = old_sched
            .pick(&old_dests, &f)
            .map(|id| old_dests.get(id).unwrap().key());
        let now = sched
            .pick(&dests, &f)
            .map(|id| dests.get(id).unwrap().key());
        if was != Some(removed) {
            kept_candidates += 1;
            stayed += u32::from(was == now);
        }
    }
    let stay = f64::from(stayed) / f64::from(kept_candidates);
    eprintln!(
        "mh clients not on the removed server that stayed: {:.4}",
        stay
    );
    assert!(stay > 0.97, "{stay}");
}

#[test]
fn default_table_is_ipvs_4093_and_other_sizes_are_refused() {
    assert_eq!(MH_DEFAULT_TABLE_SIZE, 4093);
    let (_d, s) = maglev(&servers(&[1, 1]), MH_DEFAULT_TABLE_SIZE);
    assert_eq!(s.maglev().unwrap().table_size(), 4093);
    assert_eq!(s.maglev().unwrap().table().count(), 4093);
    let dests = DestSet::new(&servers(&[1])).unwrap();
    let params = SchedParams {
        mh_table_size: 65536,
        ..SchedParams::default()
    };
    assert_eq!(
        Scheduler::new(SchedulerKind::Mh, &[], &params, &dests).unwrap_err(),
        BuildError::MhTableSize(65536)
    );
    // More servers than positions is refused, as IPVS refuses it.
    let many: Vec<_> = (0..252).map(|i| backend(i, 1)).collect();
    let dests = DestSet::new(&many).unwrap();
    let params = SchedParams {
        mh_table_size: 251,
        ..SchedParams::default()
    };
    assert_eq!(
        Scheduler::new(SchedulerKind::Mh, &[], &params, &dests).unwrap_err(),
        BuildError::MhTooManyDests {
            dests: 252,
            table_size: 251
        }
    );
}

#[test]
fn quiescing_keeps_the_table_and_fallback_moves_its_clients() {
    let mut s = service(SchedulerKind::Mh, &[], &servers(&[1, 1, 1]));
    let before: Vec<_> = s.scheduler().maglev().unwrap().table().collect();
    // B quiesced: last_weight keeps its positions; its clients get None without fallback.
    s.update(&servers(&[1, 0, 1])).unwrap();
    let after: Vec<_> = s.scheduler().maglev().unwrap().table().collect();
    assert_eq!(before, after);
    let b = id(&s, 'B');
    let mut fresh = service(SchedulerKind::Mh, &[], &servers(&[1, 1, 1]));
    let mut on_b = Vec::new();
    for i in 0..250u8 {
        let f = client([172, 16, 0, i], 0);
        if fresh.pick(&f) == Some(b) {
            on_b.push(f);
            assert_eq!(s.pick(&f), None);
        } else {
            assert_eq!(s.pick(&f), fresh.pick(&f));
        }
    }
    assert!(!on_b.is_empty());
    let mut fb = service(
        SchedulerKind::Mh,
        &[SchedFlag::MhFallback],
        &servers(&[1, 0, 1]),
    );
    for f in &on_b {
        let got = fb.pick(f).unwrap();
        assert_ne!(got, b);
    }
    // All quiesced: None at once, with or without fallback.
    fb.update(&servers(&[0, 0, 0])).unwrap();
    assert_eq!(fb.pick(&client([172, 16, 0, 1], 0)), None);
}

#[test]
fn mh_port_hashes_the_source_port() {
    let mut plain = service(SchedulerKind::Mh, &[], &servers(&[1; 8]));
    let mut port = service(SchedulerKind::Mh, &[SchedFlag::MhPort], &servers(&[1; 8]));
    let mut plain_seen = std::collections::HashSet::new();
    let mut port_seen = std::collections::HashSet::new();
    for sport in 1000..1200u16 {
        let f = client([198, 51, 100, 9], sport);
        plain_seen.insert(plain.pick(&f).unwrap());
        port_seen.insert(port.pick(&f).unwrap());
    }
    assert_eq!(
        plain_seen.len(),
        1,
        "without mh-port the port does not matter"
    );
    assert!(
        port_seen.len() >= 6,
        "with mh-port one client spreads: {}",
        port_seen.len()
    );
}
