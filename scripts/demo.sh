#!/usr/bin/env bash
# The rvs demo: a live director in network namespaces.
#
#   client 10.9.0.2 -- router -- LAN 10.0.0.0/24 -- rvsd (10.0.0.2, a DPDK net_af_packet port)
#                                                 -- rs1 10.0.0.11, rs2 10.0.0.12 (nginx)
#
# It builds rvs (release), makes the lab, starts rvsd, configures with rvsadm a DR service
# (10.0.0.100:80, rr) and a FULLNAT service (10.0.0.101:80, wrr 2:1, client address by
# PROXY protocol v2), sends real requests from the client, shows which real server answered
# each and the client address it saw, runs wrk for 2 s per service, and prints
# `rvsadm -Ln --stats`. The lab and rvsd are removed at the end, also on Ctrl-C, SIGTERM or
# an error. Needs root (namespaces, DPDK); installs missing Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
source scripts/lib/lab.sh

if [ "$(id -u)" -ne 0 ]; then
    echo "error: the demo needs root (network namespaces, DPDK): sudo $0" >&2
    exit 1
fi
rvs_install_deps

DR_VIP=10.0.0.100
FNAT_VIP=10.0.0.101
LADDR=10.0.0.200
REQUESTS=6

step() { printf '\n== %s\n' "$*"; }
adm() {
    echo "# rvsadm $*"
    "$RVSADM" "$@"
}

step "building rvsd, rvsadm and rvs-lab (release)"
cargo build --release --quiet -p rvsd -p cli -p lab
RVSD=$PWD/target/release/rvsd
RVSADM=$PWD/target/release/rvsadm
RVS_LAB=$PWD/target/release/rvs-lab

# Leave nothing behind: on any exit (normal, error, Ctrl-C, SIGTERM) stop rvsd, then remove
# the lab, which stops every process in its namespaces and deletes them and its directory.
# The lab's id is chosen free beforehand, so removing it by id (even when `rvs-lab up` was
# interrupted half way) never touches anybody else's lab.
lab_id_taken() { ip netns list | grep -q "^rvl-$1-" || [ -e "${RVS_LAB_STATE_DIR:-/run/rvs-lab}/$1" ]; }
LAB_ID="demo$(printf '%04d' $(($$ % 10000)))"
while lab_id_taken "$LAB_ID"; do
    LAB_ID="demo$(printf '%04d' $((RANDOM % 10000)))"
done
RVSD_PID=
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ "$status" -eq 130 ] || [ "$status" -eq 143 ]; then
        echo "interrupted: cleaning up"
    fi
    if [ -n "$RVSD_PID" ]; then
        kill -TERM "$RVSD_PID" 2>/dev/null || true
        wait "$RVSD_PID" 2>/dev/null || true
    fi
    "$RVS_LAB" down "$LAB_ID" >/dev/null 2>&1 || true
    if ip netns list | grep -q "^rvl-$LAB_ID-"; then
        echo "warning: lab $LAB_ID was not removed completely: rvs-lab down $LAB_ID" >&2
    else
        echo "lab $LAB_ID removed"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "lab $LAB_ID: client, router, LAN bridge, director, rs1, rs2 (network namespaces)"
lab_env=$("$RVS_LAB" up --id "$LAB_ID" --mode dr --servers 2 --vip "$DR_VIP" --vip "$FNAT_VIP" \
    --owner-pid $$)
eval "$lab_env"
echo "director port: $LAB_DIRECTOR1_IF ($LAB_DIRECTOR1_MAC) in namespace $LAB_DIRECTOR1_NS"
echo "real servers: rs1 $LAB_RS1_IP, rs2 $LAB_RS2_IP; both hold the VIPs on lo (DR)"
for rs in rs1 rs2; do
    lab_nginx_start "$rs"
done
echo "nginx on each: :80 plain, :8080 with proxy_protocol"

step "rvsd on net_af_packet0,iface=$LAB_DIRECTOR1_IF, address $LAB_DIRECTOR1_IP/24"
lab_rvsd_config "$LAB_WORKDIR/rvsd.toml"
export RVS_SOCKET=$LAB_WORKDIR/rvsd.sock
ip netns exec "$LAB_DIRECTOR1_NS" "$RVSD" --config "$LAB_WORKDIR/rvsd.toml" \
    >"$LAB_WORKDIR/rvsd.log" 2>&1 &
RVSD_PID=$!
for ((i = 0; ; i++)); do
    if ! kill -0 "$RVSD_PID" 2>/dev/null; then
        echo "error: rvsd exited:" >&2
        cat "$LAB_WORKDIR/rvsd.log" >&2
        exit 1
    fi
    [ -S "$RVS_SOCKET" ] && "$RVSADM" -Ln >/dev/null 2>&1 && break
    if [ "$i" -ge 600 ]; then
        echo "error: rvsd did not answer within 30 s" >&2
        exit 1
    fi
    sleep 0.05
done
grep -E "port dp0|worker\(s\) running" "$LAB_WORKDIR/rvsd.log" | sed 's/^\[[^]]*\] /  /'

step "configuring two virtual services with rvsadm"
adm -A -t "$DR_VIP:80" -s rr
adm -a -t "$DR_VIP:80" -r "$LAB_RS1_IP:80" -g
adm -a -t "$DR_VIP:80" -r "$LAB_RS2_IP:80" -g
adm -A -t "$FNAT_VIP:80" -s wrr --client-addr proxy-v2
adm -P -t "$FNAT_VIP:80" -z "$LADDR"
adm -a -t "$FNAT_VIP:80" -r "$LAB_RS1_IP:8080" --fullnat -w 2
adm -a -t "$FNAT_VIP:80" -r "$LAB_RS2_IP:8080" --fullnat -w 1
echo
adm -Ln

client() { ip netns exec "$LAB_CLIENT_NS" "$@"; }

step "DR: $REQUESTS requests from the client ($LAB_CLIENT_IP) to http://$DR_VIP/ (rr)"
for ((i = 1; i <= REQUESTS; i++)); do
    body=$(client curl -sS --max-time 5 "http://$DR_VIP/")
    printf '  request %d: %s answered; it saw client %s, itself reached at %s\n' "$i" \
        "$(lab_field server "$body")" "$(lab_field client "$body")" "$(lab_field local "$body")"
done

step "FULLNAT: $REQUESTS requests to http://$FNAT_VIP/ (wrr 2:1, PROXY protocol v2)"
for ((i = 1; i <= REQUESTS; i++)); do
    body=$(client curl -sS --max-time 5 "http://$FNAT_VIP/")
    printf '  request %d: %s answered; TCP peer %s, PROXY header said client %s\n' "$i" \
        "$(lab_field server "$body")" "$(lab_field peer "$body")" "$(lab_field client "$body")"
done

step "wrk, 2 s, 4 connections, through each service"
for vip in "$DR_VIP" "$FNAT_VIP"; do
    rate=$(client wrk -t1 -c4 -d2s --timeout 2s "http://$vip/" | sed -n 's/^Requests\/sec: *//p')
    printf '  http://%s/  %s requests/s\n' "$vip" "$rate"
done

step "what the director counted"
adm -Ln --stats

step "stopping rvsd and removing the lab"
kill -TERM "$RVSD_PID"
wait "$RVSD_PID" || true
RVSD_PID=
