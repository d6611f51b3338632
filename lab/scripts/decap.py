#!/usr/bin/python3
"""Userspace tunnel receiver for TUN-mode real servers (part of the rvs lab).

Why: the kernel this lab was built on has no IPIP, GRE or FOU (and no modules to load), so
a real server cannot terminate LVS tunnels the usual way (tunl0 / gre0 / fou). This program
does what those would: it takes IPv4-in-IPv4 (protocol 4) and GRE (protocol 47) packets from
raw sockets and GUE datagrams from a UDP socket, strips the outer headers and writes the
inner IP packet into a TUN device that holds the VIPs. The kernel then receives the inner
packet as if it had arrived on that device, and the server replies from the VIP directly.

A raw socket gets a copy of each packet of its protocol; when one is bound, the kernel
does not answer "protocol unreachable", so a copy is all it takes.

Usage: decap.py --tun DEV --gue-port PORT --ready FILE
"""

import argparse
import fcntl
import os
import select
import signal
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
GRE_C, GRE_K, GRE_S = 0x8000, 0x2000, 0x1000
ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def strip_ipv4(packet):
    """The payload of an IPv4 packet (raw sockets deliver the outer header)."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    return packet[ihl:] if len(packet) >= ihl >= 20 else None


def from_gre(payload):
    """Inner packet of a GRE payload (RFC 2784/2890): flags, protocol, optional words."""
    if len(payload) < 4:
        return None
    flags, proto = struct.unpack("!HH", payload[:4])
    if flags & 0x0007:  # only version 0
        return None
    offset = 4 + 4 * sum(1 for bit in (GRE_C, GRE_K, GRE_S) if flags & bit)
    if proto not in (ETH_P_IP, ETH_P_IPV6) or len(payload) < offset:
        return None
    return payload[offset:]


def from_gue(datagram):
    """Inner packet of a GUE datagram (draft-ietf-intarea-gue): variant 0 with proto 4/41,
    or variant 1 (the IP packet itself)."""
    if not datagram:
        return None
    variant = datagram[0] >> 6
    if variant == 1:
        return datagram
    if variant != 0 or len(datagram) < 4:
        return None
    control = datagram[0] & 0x20
    hlen = (datagram[0] & 0x1F) * 4
    proto = datagram[1]
    if control or proto not in (4, 41) or len(datagram) < 4 + hlen:
        return None
    return datagram[4 + hlen:]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tun", required=True)
    parser.add_argument("--gue-port", type=int, required=True)
    parser.add_argument("--ready", required=True)
    args = parser.parse_args()

    tun = open_tun(args.tun)
    ipip = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
    gre = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
    gue = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    gue.bind(("0.0.0.0", args.gue_port))
    decoders = {
        ipip.fileno(): (ipip, strip_ipv4),
        gre.fileno(): (gre, lambda p: from_gre(strip_ipv4(p) or b"")),
        gue.fileno(): (gue, from_gue),
    }
    with open(args.ready, "w") as ready:
        ready.write("ready\n")
    counts = {"ipip": 0, "gre": 0, "gue": 0, "bad": 0}
    names = {ipip.fileno(): "ipip", gre.fileno(): "gre", gue.fileno(): "gue"}

    def stop(*_):
        print(f"decapsulated {counts}", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    while True:
        readable, _, _ = select.select(list(decoders), [], [])
        for fd in readable:
            sock, decode = decoders[fd]
            packet = sock.recv(65535)
            inner = decode(packet)
            if inner and inner[0] >> 4 in (4, 6):
                try:
                    os.write(tun, inner)
                    counts[names[fd]] += 1
                except OSError:  # the TUN device refused it: count, never die
                    counts["bad"] += 1
            else:
                counts["bad"] += 1


if __name__ == "__main__":
    main()
