# Sourced by scripts/demo.sh: small helpers around a lab made by `rvs-lab up` (the LAB_*
# variables it prints must be set): writing rvsd's configuration, starting nginx on a real
# server, waiting for a file. Everything is written into the lab's work directory, so
# `rvs-lab down` removes it with the lab.

# Waits up to $2 seconds for file $1 to exist; fails naming $3 and showing log $4 if any.
lab_wait_file() {
    local file=$1 seconds=$2 what=$3 log=${4:-} i
    for ((i = 0; i < seconds * 20; i++)); do
        [ -e "$file" ] && return 0
        sleep 0.05
    done
    echo "error: $what did not start within ${seconds}s" >&2
    [ -n "$log" ] && [ -e "$log" ] && tail -n 20 "$log" >&2
    return 1
}

# Writes rvsd's configuration to $1: one worker on core 1 (main lcore 0), no hugepages, an
# EAL file prefix of this lab's own, port dp0 = director 1's veth through net_af_packet
# with the director's address, the router as default gateway, control socket and state
# file in the work directory. Services come later, from rvsadm.
lab_rvsd_config() {
    cat > "$1" <<EOF
[daemon]
control_socket = "$LAB_WORKDIR/rvsd.sock"
state_file = "$LAB_WORKDIR/rvsd-state.json"

[dpdk]
eal_args = ["-l", "0", "--no-huge", "--no-shconf", "-m", "256", "--no-telemetry",
            "--log-level=lib.eal:error", "--file-prefix", "rvs-$LAB_ID"]
workers = [1]
mbufs = 4095
mbuf_cache = 64

[[ports]]
name = "dp0"
device = "net_af_packet0,iface=$LAB_DIRECTOR1_IF"
addresses = ["$LAB_DIRECTOR1_IP/24"]

[[routes]]
prefix = "0.0.0.0/0"
via = "$LAB_ROUTER_IP"
port = "dp0"
EOF
}

# Starts nginx in real server $1 (rs1, rs2 ...) with two listeners: port 80 answers
# "server=, client=, local=" as the TCP connection shows them (for DR), port 8080 expects a
# PROXY protocol header and answers "server=, client=" from it and "peer=" from the TCP
# connection (for FULLNAT). Waits until it runs.
lab_nginx_start() {
    local node=$1 ns_var dir
    ns_var="LAB_$(echo "$node" | tr '[:lower:]' '[:upper:]')_NS"
    dir="$LAB_WORKDIR/nginx-$node"
    mkdir -p "$dir/tmp"
    cat > "$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 512; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    default_type text/plain;
    server {
        listen 80;
        location / { return 200 "server=$node\nclient=\$remote_addr:\$remote_port\nlocal=\$server_addr:\$server_port\n"; }
    }
    server {
        listen 8080 proxy_protocol;
        location / { return 200 "server=$node\nclient=\$proxy_protocol_addr:\$proxy_protocol_port\npeer=\$remote_addr:\$remote_port\n"; }
    }
}
EOF
    ip netns exec "${!ns_var}" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" \
        >"$dir/out.log" 2>&1 &
    lab_wait_file "$dir/nginx.pid" 10 "nginx on $node" "$dir/error.log"
}

# The value of "KEY=value" in text $2 (first match).
lab_field() {
    sed -n "s/^$1=//p" <<<"$2" | head -n 1
}
