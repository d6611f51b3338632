# Sourced by scripts/test.sh, demo.sh and bench.sh: the Debian packages rvs needs, and the
# function that installs the missing ones. One list, one place.
#
# libdpdk-dev dpdk dpdk-dev pkg-config clang libclang-dev libpcap-dev: build (bindgen, cc)
# and the DPDK runtime with its PMD plugins; python3-scapy: the capture generator;
# tcpdump tshark: looking at captures; iproute2 keepalived ipvsadm nginx wrk curl
# iputils-ping procps: the live topologies and comparisons later work runs.
RVS_DEBIAN_PACKAGES=(
    libdpdk-dev dpdk dpdk-dev pkg-config clang libclang-dev libpcap-dev
    python3-scapy tcpdump tshark iproute2 keepalived ipvsadm nginx wrk curl
    iputils-ping procps ethtool
)

# Installs the packages of RVS_DEBIAN_PACKAGES that are missing. apt-get update runs only
# when an install fails for lack of package lists. Never interactive.
rvs_install_deps() {
    local missing=() p
    for p in "${RVS_DEBIAN_PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing missing Debian packages: ${missing[*]}"
        if [ "$(id -u)" -ne 0 ]; then
            echo "error: need root to install ${missing[*]} (or install them yourself)" >&2
            return 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        # tshark asks whether non-root users may capture: answer once, beforehand.
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
        if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
            apt-get update
            apt-get install -y --no-install-recommends "${missing[@]}"
        fi
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        if [ -x "$HOME/.cargo/bin/cargo" ]; then
            export PATH="$HOME/.cargo/bin:$PATH"
        else
            echo "error: cargo not found: install Rust 1.95 (rustup, https://rustup.rs) and retry" >&2
            return 1
        fi
    fi
}
