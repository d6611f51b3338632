#!/usr/bin/env bash
# Runs every test of rvs: formatting, lints, unit tests, integration tests (pcap replay
# through the real DPDK path, the live daemon). Installs what it needs when missing.
# As root, the DPDK tests run; otherwise they print "skipped: <why>".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
rvs_install_deps

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test (workspace)"
cargo test --workspace
echo "== cargo test (dataplane without DPDK)"
cargo test -p dataplane --no-default-features
echo "== scripts/gen-pcaps.py and scripts/gen-fwd-pcaps.py reproduce pcaps/"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$tmp.log"' EXIT
generate() { # generator, output directory
    if ! /usr/bin/python3 "scripts/$1" "$2" >"$tmp.log" 2>&1; then
        cat "$tmp.log" >&2
        echo "error: scripts/$1 failed" >&2
        exit 1
    fi
}
generate gen-pcaps.py "$tmp"
generate gen-fwd-pcaps.py "$tmp/fwd"
if ! diff -r "$tmp" pcaps >/dev/null; then
    diff -rq "$tmp" pcaps >&2 || true
    echo "error: the generators' output differs from the checked-in pcaps/ (run them and commit)" >&2
    exit 1
fi
echo "all tests passed"
