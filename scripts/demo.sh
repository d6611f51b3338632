#!/usr/bin/env bash
# The rvs demo, for now: the director (10.0.0.2 on port dp0) replays a capture of ARP
# requests, pings and other traffic through the real DPDK path (net_pcap device), and you
# see what it answered and why it dropped the rest. (A later version runs it live.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
rvs_install_deps
cargo build -p rvsd
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat > "$out/rvs.toml" <<'TOML'
[dpdk]
workers = [0]
[[ports]]
name = "dp0"
device = "net_null0"   # replay replaces port 0 by net_pcap0,rx_pcap=IN,tx_pcap=OUT
addresses = ["10.0.0.2/24"]
TOML
echo "== rvsd $(target/debug/rvsd --version | cut -d' ' -f2-)"
echo "== what arrives on dp0 (pcaps/local-in.pcap)"
tshark -r pcaps/local-in.pcap 2>/dev/null
echo
echo "== rvsd replay: DPDK EAL, net_pcap port, one worker, local responder"
RUST_LOG=info target/debug/rvsd replay --config "$out/rvs.toml" \
    --in pcaps/local-in.pcap --out "$out/out.pcap"
echo
echo "== what the director sent back"
tshark -r "$out/out.pcap" -o ip.check_checksum:TRUE 2>/dev/null
echo
echo "== checksums as tshark verifies them"
tshark -r "$out/out.pcap" -o ip.check_checksum:TRUE -V 2>/dev/null | grep -E "^Frame|Checksum Status"

