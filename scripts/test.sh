#!/usr/bin/env bash
# Runs every test of rvs. Installs what it needs when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
