#!/usr/bin/env bash
# Measures the worker loop with the local responder: one core, two net_null ports,
# 64-byte ICMP echo requests answered into echo replies. Prints Mpps.
# Uses hugepages when enough are mounted and free (faster), otherwise --no-huge.
#   scripts/bench.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
rvs_install_deps
cargo build --release -p rvsd
exec target/release/rvsd bench --seconds "${1:-5}"
