#!/usr/bin/env bash
# Measures the dataplane (see docs/benchmarks.md for the figures and what they mean):
#  1. the worker loop through the real DPDK path (net_null ports, one core, 64-byte
#     buffers): the local responder, then the forwarding of established connections for
#     each method (dr, nat, fullnat, tun) — Mpps;
#  2. with --micro, the criterion micro-benchmarks of the packet core (wire parsing and
#     rewrites, connection table, schedulers, the forwarding stage per packet).
# Uses hugepages when enough are mounted and free (faster), otherwise --no-huge.
#   scripts/bench.sh [SECONDS] [--micro]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
rvs_install_deps
seconds=5
micro=0
for a in "$@"; do
    case "$a" in
        --micro) micro=1 ;;
        *) seconds="$a" ;;
    esac
done
cargo build --release -p rvsd
for mode in local dr nat fullnat tun; do
    target/release/rvsd bench --seconds "$seconds" --mode "$mode" 2>/dev/null | grep Mpps
done
if [ "$micro" = 1 ]; then
    for b in wire conn sched fwd; do
        cargo bench -p dataplane --no-default-features --bench "$b" -- --warm-up-time 1 --measurement-time 3 2>/dev/null \
            | grep -E "^[a-z_]+/|time:" | grep -v "change:"
    done
fi
