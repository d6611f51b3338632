#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target from the captured frames the unit tests use
(dataplane/src/wire/testdata/*.hex, made with scapy), so libFuzzer starts from real
packets instead of noise. Standard library only; run from anywhere."""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent
TESTDATA = ROOT.parent / "dataplane" / "src" / "wire" / "testdata"
CORPUS = ROOT / "corpus"


def load(name):
    return bytes.fromhex("".join((TESTDATA / f"{name}.hex").read_text().split()))


def ether(payload, ethertype, tag=None):
    head = bytes.fromhex("020000000002020000000001")
    if tag is not None:
        head += bytes.fromhex("8100") + tag.to_bytes(2, "big")
    return head + ethertype.to_bytes(2, "big") + payload


def ipv4_payload(packet):
    ihl = (packet[0] & 0x0F) * 4
    return packet[ihl:]


def write(target, name, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"seed-{name}").write_bytes(data)


v4 = ["ipv4_tcp_syn_opts", "ipv4_tcp_sack_data", "ipv4_tcp_syn_toa", "ipv4_udp", "ipip"]
v6 = ["ipv6_tcp", "ipv6_ext_chain", "ipv6_ah_udp", "ipv6_esp", "ipv6_echo_request",
      "ipv6_packet_too_big"]

for name in v4:
    write("ipv4", name, load(name))
    write("ipip", name, load(name))
    write("frame", name, ether(load(name), 0x0800))
    write("frame", name + "-vlan", ether(load(name), 0x0800, tag=100))
for name in v6:
    write("ipv6", name, load(name))
    write("frame", name, ether(load(name), 0x86DD))
for name in ["ipv4_tcp_syn_opts", "ipv4_tcp_sack_data", "ipv4_tcp_syn_toa"]:
    write("tcp", name, ipv4_payload(load(name)))
write("tcp", "ipv6_tcp", load("ipv6_tcp")[40:])
write("udp", "ipv4_udp", ipv4_payload(load("ipv4_udp")))
write("udp", "gue_ipip", load("gue_ipip"))
write("gue", "gue_ipip", load("gue_ipip"))
write("gue", "variant1", load("ipv6_tcp"))
for name in ["gre_plain", "gre_seq"]:
    write("gre", name, load(name))
write("gre", "gre_csum_key", ipv4_payload(load("gre_csum_key")))
write("icmpv6", "echo_request", load("ipv6_echo_request"))
for name in ["ipv6_ns", "ipv6_na"]:
    write("ndp", name, load(name)[40:])
    write("icmpv6", name, load(name)[40:])
    write("frame", name, ether(load(name), 0x86DD))
write("icmpv6", "packet_too_big", load("ipv6_packet_too_big")[40:])
# ICMPv4: whole packets (echo turnaround) and bare messages (embedded headers).
echo = bytes.fromhex("4500002400010000400166d60a0000010a00000208002421424200076162636465666768")
frag_needed = bytes.fromhex(
    "450000380000000040017cb9cb007101c000020a0304570b00000578"
    "450005dc123440003f063796c000020ac63364149c400050000003e8")
write("icmp", "echo_request", echo)
write("icmp", "frag_needed", ipv4_payload(frag_needed))
write("icmp", "frag_needed_packet", frag_needed)
write("frame", "echo_request", ether(echo, 0x0800))
arp = bytes.fromhex("00010800060400015254001234560a0000010000000000000a000002")
write("arp", "request", arp)
write("frame", "arp_request", ether(arp, 0x0806))
write("proxy", "tcp4", bytes.fromhex(
    "0d0a0d0a000d0a515549540a2111000cc000020ac63364149c400050"))
write("proxy", "local", bytes.fromhex("0d0a0d0a000d0a515549540a20000000"))
