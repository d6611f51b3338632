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
echo "== scripts/gen-pcaps.py reproduces pcaps/"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 scripts/gen-pcaps.py "$tmp" >/dev/null 2>&1
if ! diff -r "$tmp" pcaps >/dev/null; then
    echo "error: scripts/gen-pcaps.py output differs from the checked-in pcaps/" >&2
    exit 1
fi
echo "all tests passed"
