#!/usr/bin/env bash
# Generates rvsadm's golden files by running the real ipvsadm 1.31 against the ipvs-shim
# oracle (an LD_PRELOAD emulation of the kernel's IPVS sockopt interface).
#
#   scripts/gen-goldens.sh [SHIM_DIR]
#
# SHIM_DIR holds ipvs_shim.c (default: $IPVS_SHIM_DIR, else /work/shared/oracle/ipvs-shim).
# Needs gcc, ipvsadm (Debian's 1.31) and setpriv; run it as root.
#
# For each scenario NAME it writes, under cli/tests/golden/:
#   NAME.state   the shim state before the command (T/S/D lines, see ipvs_shim.c)
#   NAME.args    the arguments after the program name, one per line
#   NAME.stdout  NAME.stderr  NAME.exit   what ipvsadm printed and returned
#   NAME.conn    (optional) the /proc/net/ip_vs_conn text the command saw
#   NAME.stdin   (optional) what the command read on stdin (-R)
#   NAME.user    (optional) the user the command ran as (non-root cases)
#   NAME.after-args, NAME.after  (when the command changed the state) a listing run after it
# and services, the services database the names in the listings came from.
# Files named src-* are written by hand from the ipvsadm source (what the shim cannot
# show: tunnel types, IPv6, FULLNAT); this script leaves them alone.
set -euo pipefail

cd "$(dirname "$0")/.."
shim_dir=${1:-${IPVS_SHIM_DIR:-/work/shared/oracle/ipvs-shim}}
out=cli/tests/golden
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v ipvsadm >/dev/null || { echo "ipvsadm is not installed (apt-get install ipvsadm)" >&2; exit 1; }
gcc -shared -fPIC -O2 -o "$work/ipvs_shim.so" "$shim_dir/ipvs_shim.c" -ldl
chmod 755 "$work" "$work/ipvs_shim.so"
# (ipvsadm initialises IPVS before it reads its options, so even -v needs the shim.)
ipvsadm_version=$(env LD_PRELOAD="$work/ipvs_shim.so" IPVS_SHIM_STATE="$work/v.state" ipvsadm -v 2>&1 || true)
case "$ipvsadm_version" in
    *v1.31*) ;;
    *) echo "need ipvsadm 1.31, found: $ipvsadm_version" >&2; exit 1 ;;
esac

mkdir -p "$out"
find "$out" -maxdepth 1 -type f ! -name 'src-*' ! -name 'README.md' -delete
cp /etc/services "$out/services"

# libipvs's sockopt path (the one the shim serves) copies the kernel's entries into malloc'd
# memory and leaves the fields the old interface lacks (persistence engine name, tunnel
# type and flags) as whatever the heap held: `-S` then prints `--pe <garbage>`. A real
# kernel's netlink path reports them empty. Zero-filled allocations make the oracle print
# what it prints on a real kernel (empty engine, tunnel type 0 = ipip).
zero_heap=glibc.malloc.perturb=255

# ipvsadm under the shim, with state $STATE and connection file $CONN.
oracle() {
    env GLIBC_TUNABLES=$zero_heap LD_PRELOAD="$work/ipvs_shim.so" IPVS_SHIM_STATE="$STATE" \
        IPVS_SHIM_CONN="${CONN:-/nonexistent}" ipvsadm "$@"
}

# build_state FILE: runs the ipvsadm command lines read from stdin on an empty state.
build_state() {
    local file=$1 line
    : > "$file"
    while IFS= read -r line; do
        [ -z "$line" ] && continue
        # shellcheck disable=SC2086
        STATE=$file oracle $line
    done
}

# scenario NAME BASE_STATE ARGS...
#   optional environment: CONN=file STDIN=file AS_USER=name AFTER="args"
scenario() {
    local name=$1 base=$2
    shift 2
    local state="$work/$name.state" rc=0
    cp "$base" "$state"
    cp "$state" "$out/$name.state"
    if [ $# -gt 0 ]; then printf '%s\n' "$@" > "$out/$name.args"; else : > "$out/$name.args"; fi
    [ -n "${CONN:-}" ] && cp "$CONN" "$out/$name.conn"
    local input=/dev/null
    if [ -n "${STDIN:-}" ]; then cp "$STDIN" "$out/$name.stdin"; input=$STDIN; fi
    if [ -n "${AS_USER:-}" ]; then
        echo "$AS_USER" > "$out/$name.user"
        chmod 666 "$state"
        local uid
        uid=$(id -u "$AS_USER")
        setpriv --reuid="$uid" --regid="$uid" --clear-groups \
            env GLIBC_TUNABLES=$zero_heap LD_PRELOAD="$work/ipvs_shim.so" IPVS_SHIM_STATE="$state" ipvsadm "$@" \
            < "$input" > "$out/$name.stdout" 2> "$out/$name.stderr" || rc=$?
    else
        STATE=$state oracle "$@" < "$input" > "$out/$name.stdout" 2> "$out/$name.stderr" || rc=$?
    fi
    echo "$rc" > "$out/$name.exit"
    if ! cmp -s "$base" "$state"; then
        local after=${AFTER:--S -n}
        echo "$after" | tr ' ' '\n' > "$out/$name.after-args"
        # shellcheck disable=SC2086
        STATE=$state oracle $after > "$out/$name.after"
    fi
}

# ---------------------------------------------------------------- states
empty=$work/base-empty.state
: > "$empty"

basic=$work/base-basic.state
build_state "$basic" <<'EOF'
-A -t 10.1.0.100:80 -s wrr
-a -t 10.1.0.100:80 -r 10.1.0.10:80 -m -w 2
-a -t 10.1.0.100:80 -r 10.1.0.11:8080 -m -w 3 -x 100 -y 50
-a -t 10.1.0.100:80 -r 10.1.0.12 -g -w 0
-a -t 10.1.0.100:80 -r 10.1.0.13 -i -w 1
-A -t 10.1.0.101:443 -s rr -p
-a -t 10.1.0.101:443 -r 10.1.0.20 -g -w 5
-a -t 10.1.0.101:443 -r 10.1.0.21 -g -w 65535
-A -t 10.1.0.102:0 -s sh -b sh-fallback,sh-port -p 600 -M 255.255.255.0
-a -t 10.1.0.102:0 -r 10.1.0.30:0 -g
-A -u 10.1.0.103:53 -s lc -o
-a -u 10.1.0.103:53 -r 10.1.0.40:5353 -m -w 7
-A -t 10.1.0.104:22 -s wlc -p 1800 -M 255.255.0.0
-A -t 10.1.0.105:80 -s mh -b mh-port
-A -t 10.1.0.106:80 -s wlc -b flag-1,flag-3
-A -t 10.1.0.107:8080 -s lblc
-A -t 10.1.0.108:8080 -s lblcr
-A -t 10.1.0.109:8080 -s dh
-A -t 10.1.0.110:8080 -s sed
-A -t 10.1.0.111:8080 -s nq
-A -t 10.1.0.112:8080 -s fo
-A -t 10.1.0.113:8080 -s ovf
-A -u 10.1.0.114:123 -s rr -p 60
-a -u 10.1.0.114:123 -r 10.1.0.50 -i -w 1
-a -u 10.1.0.114:123 -r 10.1.0.51 -g -w 2147483647
EOF
# Connection counts as the kernel would report them.
awk '$1 == "D" && $2 == "10.1.0.10" { $8 = 1234; $9 = 56; $10 = 7 } { print }' "$basic" > "$basic.tmp"
mv "$basic.tmp" "$basic"

counters=$work/base-counters.state
cat > "$counters" <<'EOF'
T 900 120 300
S 6 10.2.0.1 80 0 wrr 2 0 255.255.255.255 4294967295 99999999 100000000 123456789012345 999999999 12 1000000 999999999 4294967295 100
D 10.2.1.1 80 0 1 0 0 0 0 0 1 2 3 99999999999 100000000000 11 22 33 44 55
D 10.2.1.2 80 0 1 0 0 0 0 0 4294967295 4294967295 4294967295 18446744073709551615 100000000000000 4294967295 4294967295 4294967295 4294967295 4294967295
S 17 10.2.0.2 53 0 rr 2 0 255.255.255.255 0 0 0 0 0 0 0 0 0 0
D 10.2.1.3 53 0 1 0 0 0 0 0 5 50 500 5000 50000 1 2 3 4 5
EOF

sorting=$work/base-sorting.state
build_state "$sorting" <<'EOF'
-A -t 10.0.0.1:80
-A -u 10.0.0.1:80
-A -t 250.1.1.1:80
-A -t 2.1.1.1:80
-A -t 10.0.0.1:8080
-A -t 10.0.0.1:443
-A -t 128.0.0.1:80
-A -t 1.0.0.1:80
-A -u 2.1.1.1:53
-a -t 10.0.0.1:80 -r 1.0.0.0 -m
-a -t 10.0.0.1:80 -r 129.0.0.1 -m
-a -t 10.0.0.1:80 -r 1.0.0.1 -m
-a -t 10.0.0.1:80 -r 250.1.1.1 -m
-a -t 10.0.0.1:80 -r 2.1.1.1 -m
-a -t 10.0.0.1:80 -r 10.0.0.2:81 -m
-a -t 10.0.0.1:80 -r 10.0.0.2:79 -m
-a -t 10.0.0.1:80 -r 200.0.0.9 -m
-a -t 10.0.0.1:80 -r 72.0.0.9 -m
EOF

conns=$work/conns.txt
cat > "$conns" <<'EOF'
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP C0000201 C350 0A010064 0050 0A01000A 0050 ESTABLISHED     899
UDP C0000202 D431 0A010067 0035 0A010028 14E9 UDP             299
TCP C0000203 04D2 0A010064 0050 0A01000B 1F90 FIN_WAIT          5
TCP C0000204 0000 0A010065 01BB 0A010014 01BB NONE           6000
TCP C0000205 E001 0A010064 0050 0A01000A 0050 SYN_RECV         59
EOF
empty_conns=$work/empty-conns.txt
echo "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData" > "$empty_conns"

# ---------------------------------------------------------------- listings
scenario list-noargs "$basic"
scenario list-n "$basic" -Ln
scenario list-names "$basic" -L
scenario list-lowercase "$basic" -l -n
scenario list-long "$basic" --list --numeric
scenario list-nosort "$basic" -Ln --nosort
scenario list-sort "$basic" -L --sort -n
scenario list-exact "$basic" -Ln --exact
scenario list-thresholds "$basic" -Ln --thresholds
scenario list-persistent-conn "$basic" -Ln --persistent-conn
scenario list-tun-info "$basic" -Ln --tun-info
scenario list-service "$basic" -Lnt 10.1.0.100:80
scenario list-service-glued "$basic" -lnt10.1.0.100:http
scenario list-service-udp "$basic" -L -n -u 10.1.0.103:53
scenario list-service-names "$basic" -L -t 10.1.0.100:http
scenario list-service-stats "$basic" -Ln --stats -t 10.1.0.100:80
scenario list-timeout "$basic" -L --timeout
scenario list-daemon "$basic" -L --daemon
scenario list-empty "$empty" -Ln
scenario save-n "$basic" -S -n
scenario save-names "$basic" -S
scenario save-long "$basic" --save --numeric
scenario save-empty "$empty" -S -n
scenario stats "$counters" -Ln --stats
scenario stats-exact "$counters" -Ln --stats --exact
scenario stats-names "$counters" -L --stats
scenario stats-and-rate "$counters" -Ln --rate --stats
scenario rate "$counters" -Ln --rate
scenario rate-exact "$counters" -Ln --rate -X
scenario sorting "$sorting" -Ln
scenario sorting-nosort "$sorting" -Ln --nosort
scenario sorting-save "$sorting" -S -n
CONN=$conns scenario conns-n "$basic" -Lnc
CONN=$conns scenario conns-names "$basic" -Lc
CONN=$conns scenario conns-persistent "$basic" -Lnc --persistent-conn
CONN=$empty_conns scenario conns-empty "$basic" -L -n -c

# ---------------------------------------------------------------- changes
scenario add-service "$basic" -A -t 10.1.0.200:80 -s rr
scenario add-service-defaults "$basic" -A -t 10.1.0.201:8080
scenario add-service-persistent "$basic" -A -t 10.1.0.202:443 -s sh -b flag-2 -p -M 255.255.255.128
scenario add-service-persistent-value "$basic" -A -t10.1.0.203:443 -p60 -s rr
scenario add-service-zero-port "$basic" -A -t 10.1.0.204 -p 120
scenario add-service-udp-ops "$basic" -A -u 10.1.0.205:53 -o -s wrr
scenario add-service-names "$basic" -A -t 10.1.0.206:https -s nq
scenario add-service-generic-flag "$basic" -A -t 10.1.0.207:80 -s rr -b flag-2
scenario add-service-sh-flag-3 "$basic" -A -t 10.1.0.208:80 -s sh -b flag-3
scenario edit-service "$basic" -E -t 10.1.0.100:80 -s rr -p 30
scenario edit-service-default-sched "$basic" -E -t 10.1.0.105:80
scenario delete-service "$basic" -D -t 10.1.0.101:443
scenario delete-service-long "$basic" --delete-service --udp-service 10.1.0.103:53
scenario add-dest-nat "$basic" -a -t 10.1.0.101:443 -r 10.1.0.22:8443 -m -w 4
scenario add-dest-dr-port "$basic" -a -t 10.1.0.101:443 -r 10.1.0.23:8443 -g
scenario add-dest-tun "$basic" -a -t 10.1.0.101:443 -r 10.1.0.24 -i -w 0 -x 10 -y 5
scenario add-dest-default "$basic" -a -t 10.1.0.101:443 -r 10.1.0.25
scenario add-dest-weight-max "$basic" -a -t 10.1.0.101:443 -r 10.1.0.26 -w 2147483647
scenario add-dest-port-zero "$basic" -a -t 10.1.0.100:80 -r 10.1.0.27:0 -m
scenario add-dest-port-zero-beside-port "$basic" -a -t 10.1.0.100:80 -r 10.1.0.10:0 -m -w 4
scenario edit-dest "$basic" -e -t 10.1.0.100:80 -r 10.1.0.10:80 -m -w 9 -x 1000 -y 900
scenario edit-dest-forward "$basic" -e -t 10.1.0.100:80 -r 10.1.0.11:8080 -g
scenario delete-dest "$basic" -d -t 10.1.0.100:80 -r 10.1.0.11:8080
scenario delete-dest-dr "$basic" -d -t 10.1.0.100:80 -r 10.1.0.12
scenario clear "$basic" -C
AFTER="-Ln --stats" scenario zero-all "$counters" -Z
AFTER="-Ln --stats" scenario zero-service "$counters" -Z -t 10.2.0.1:80
AFTER="-L --timeout" scenario set-timeouts "$basic" --set 1000 60 200
AFTER="-L --timeout" scenario set-timeouts-keep "$basic" --set 0 30 0
restore_in=$work/restore.txt
cat > "$restore_in" <<'EOF'
-A -t 10.3.0.1:80 -s rr
-a -t 10.3.0.1:80 -r 10.3.1.1:8080 -m -w 3
ipvsadm -a -t 10.3.0.1:80 -r 10.3.1.2:8080 -m -w 1

-A -u 10.3.0.2:53 -s wrr -p 30 -M 255.255.255.0
-a -u 10.3.0.2:53 -r 10.3.1.3 -g
-D -t 10.1.0.104:22
EOF
STDIN=$restore_in scenario restore "$basic" -R
bad_restore=$work/bad-restore.txt
printf -- '-A -t bad..addr:80\n-A -t 10.3.0.9:80\n' > "$bad_restore"
STDIN=$bad_restore scenario restore-bad-first-line "$basic" -R
# A line the kernel refuses: ipvsadm prints that line's error (it would go on with the next
# lines and exit with the last line's status; a single line shows what rvs matches).
refused_restore=$work/refused-restore.txt
printf -- '-a -t 10.1.0.250:80 -r 10.1.0.99 -m\n' > "$refused_restore"
STDIN=$refused_restore scenario restore-refused-line "$basic" -R

# ---------------------------------------------------------------- errors
scenario err-dup-service "$basic" -A -t 10.1.0.100:80 -s rr
scenario err-dup-dest "$basic" -a -t 10.1.0.100:80 -r 10.1.0.10:80 -m
scenario err-dup-dest-by-name "$basic" -a -t 10.1.0.100:http -r 10.1.0.10:http -m
scenario err-no-service-edit "$basic" -E -t 10.9.9.9:80 -s rr
scenario err-no-service-delete "$basic" -D -t 10.9.9.9:80
scenario err-no-service-zero "$basic" -Z -t 10.9.9.9:80
scenario err-no-service-list "$basic" -L -n -t 10.9.9.9:80
scenario err-no-service-add-dest "$basic" -a -t 10.9.9.9:80 -r 10.1.0.10
scenario err-no-service-edit-dest "$basic" -e -t 10.9.9.9:80 -r 10.1.0.10
scenario err-no-service-delete-dest "$basic" -d -t 10.9.9.9:80 -r 10.1.0.10
scenario err-no-dest-edit "$basic" -e -t 10.1.0.100:80 -r 10.9.9.9 -m
scenario err-no-dest-delete "$basic" -d -t 10.1.0.100:80 -r 10.9.9.9
scenario err-bad-address "$basic" -A -t 10.1.0.300:80
scenario err-bad-address-text "$basic" -A -t bad..addr:80
scenario err-bad-address-digits "$basic" -A -t 80
scenario err-bad-address-empty "$basic" -A -t ''
scenario err-bad-address-v6-no-port "$basic" -A -t '[::1]'
scenario err-bad-port "$basic" -A -t 10.1.0.1:99999
scenario err-bad-port-name "$basic" -A -t 10.1.0.1:nosuchservice
scenario err-bad-port-empty "$basic" -A -t 10.1.0.1:
scenario err-bad-real-server "$basic" -a -t 10.1.0.100:80 -r 999.1.1.1
scenario err-zero-port "$basic" -A -t 10.1.0.1
scenario err-ops-tcp "$basic" -A -t 10.1.0.1:80 -o
scenario err-timeout-zero "$basic" -A -t 10.1.0.1:80 -p 0
scenario err-timeout-text "$basic" -A -t 10.1.0.1:80 -p abc
scenario err-timeout-large "$basic" -A -t 10.1.0.1:80 -p 2678401
scenario err-timeout-empty "$basic" -A -t 10.1.0.1:80 --persistent=
scenario err-netmask "$basic" -A -t 10.1.0.1:80 -p -M x
scenario err-sched-flag-incompatible "$basic" -A -t 10.1.0.1:80 -b sh-port
scenario err-sched-flag-invalid "$basic" -A -t 10.1.0.1:80 -s sh -b foo
scenario err-fwmark-zero "$basic" -A -f 0
scenario err-fwmark-text "$basic" -A -f abc
scenario err-ipv6-before-fwmark "$basic" -A -6
scenario err-weight-large "$basic" -a -t 10.1.0.100:80 -r 10.1.0.99 -w 2147483648
scenario err-weight-negative "$basic" -a -t 10.1.0.100:80 -r 10.1.0.99 -w -1
scenario err-uthreshold "$basic" -a -t 10.1.0.100:80 -r 10.1.0.99 -x -1
scenario err-lthreshold "$basic" -a -t 10.1.0.100:80 -r 10.1.0.99 -y x
scenario err-tun-type "$basic" -a -t 10.1.0.100:80 -r 10.1.0.99 -i --tun-type foo
scenario err-tun-conflict-forward "$basic" -a -t 10.1.0.100:80 -r 10.1.0.99 -m --tun-type gue
scenario err-tun-gue-port "$basic" -a -t 10.1.0.100:80 -r 10.1.0.99 -i --tun-type gue
scenario err-tun-gre-port "$basic" -a -t 10.1.0.100:80 -r 10.1.0.99 -i --tun-type gre --tun-port 5
scenario err-tun-ipip-csum "$basic" -a -t 10.1.0.100:80 -r 10.1.0.99 -i --tun-csum
scenario err-tun-csum-conflict "$basic" -a -t 10.1.0.100:80 -r 10.1.0.99 -i --tun-type gue --tun-port 5 --tun-csum --tun-nocsum
scenario err-tun-port-zero "$basic" -a -t 10.1.0.100:80 -r 10.1.0.99 -i --tun-port 0
scenario err-family "$basic" -a -t 10.1.0.100:80 -r '[2001:db8::1]:80' -m
scenario err-need-service "$basic" -A -s rr
scenario err-need-real-server "$basic" -a -t 10.1.0.100:80
scenario err-illegal-option "$basic" -A -t 10.1.0.1:80 -r 10.1.0.2
scenario err-illegal-option-delete "$basic" -D -t 10.1.0.100:80 -s rr
scenario err-illegal-option-list "$basic" -L -w 3
scenario err-illegal-option-save "$basic" -S -c
scenario err-illegal-option-flush "$basic" -C -n
scenario err-illegal-option-restore "$basic" -R -n
scenario err-illegal-option-set "$basic" --set 1 2 3 -n
scenario err-list-conflict "$basic" -L -c --stats
scenario err-list-conflict-timeout "$basic" -L --timeout --persistent-conn
scenario err-list-exclusive "$basic" -L -c --timeout
scenario err-list-exclusive-service "$basic" -L -c -t 10.1.0.100:80
scenario err-multiple-service "$basic" -A -t 10.1.0.1:80 -t 10.1.0.1:81
scenario err-multiple-numeric "$basic" -L -n -n
scenario err-multiple-scheduler "$basic" -A -t 10.1.0.1:80 -s rr -s wrr
scenario err-multiple-forward "$basic" -a -t 10.1.0.100:80 -r 10.1.0.99 -m -g
scenario err-unexpected-argument "$basic" -A -t 10.1.0.1:80 extra
scenario err-unexpected-argument-list "$basic" -L foo -n
scenario err-set-two-values "$basic" --set 1 2
scenario err-set-four-values "$basic" --set 1 2 3 4
scenario err-set-bad-value "$basic" --set a 2 3
scenario err-second-command "$basic" -A -A
scenario err-list-then-add "$basic" -L -A
scenario err-cluster-command "$basic" -A -t 10.1.0.1:80 -Lq
scenario err-help-late "$basic" -L -h
scenario err-popt-unknown "$basic" -A --foo
scenario err-popt-unknown-short "$basic" -Lq
scenario err-popt-missing "$basic" -A -t
scenario err-popt-missing-cluster "$basic" -Lnx
scenario err-popt-unwanted "$basic" -L --numeric=1
scenario err-popt-unwanted-short "$basic" -L -n=1
scenario err-popt-optional-dash "$basic" -A -t 10.1.0.1:80 -p -5
scenario err-tryhelp-unknown "$basic" --foo
scenario err-tryhelp-option-first "$basic" -t 10.1.0.1:80 -A
scenario err-tryhelp-numeric-first "$basic" -n -L
scenario err-tryhelp-dash "$basic" -
scenario err-tryhelp-double-dash "$basic" -- -A
scenario err-tryhelp-unwanted-first "$basic" --set=1
scenario err-start-daemon "$basic" --start-daemon foo
scenario err-stop-daemon "$basic" --stop-daemon foo
scenario err-mcast-group "$basic" --start-daemon master --mcast-group 10.0.0.1
scenario err-syncid "$basic" --start-daemon master --syncid 256
restore_nested=$work/restore-nested.txt
printf -- '-R\n' > "$restore_nested"
STDIN=$restore_nested scenario err-restore-nested "$basic" -R
AS_USER=nobody scenario err-non-root-list "$basic" -Ln
AS_USER=nobody scenario err-non-root-add "$basic" -A -t 10.1.0.1:80

echo "wrote $(find "$out" -maxdepth 1 -name '*.args' ! -name 'src-*' | wc -l) scenarios to $out"
