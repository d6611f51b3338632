#!/usr/bin/python3
"""Writes the test captures under pcaps/ (deterministic: fixed addresses, MACs, times).

pcaps/local-in.pcap        what arrives on port dp0 of a director whose address is
                           10.0.0.2/24 and whose MAC is net_pcap's 02:70:63:61:70:00
pcaps/local-expected.pcap  what the director must send back, built independently by scapy
                           (checksums computed from scratch, not incrementally as rvs does)

Run: /usr/bin/python3 scripts/gen-pcaps.py [OUT_DIR]   (needs python3-scapy; default pcaps/)
"""
import os
import sys

from scapy.all import ARP, ICMP, IP, UDP, Ether, IPv6, Padding, Raw, wrpcap  # noqa: E402

DIRECTOR_MAC = "02:70:63:61:70:00"  # the MAC net_pcap gives port 0
DIRECTOR_IP = "10.0.0.2"
CLIENT_MAC = "02:00:00:00:00:01"
CLIENT_IP = "10.0.0.1"
OTHER_MAC = "02:00:00:00:00:05"
OTHER_IP = "10.0.0.5"
BASE_TIME = 1700000000


def pad60(frame):
    """Pads a frame to the 60-byte Ethernet minimum, as a sender on the wire does."""
    short = 60 - len(frame)
    return frame / Padding(b"\x00" * short) if short > 0 else frame


def arp_request(src_mac, src_ip, target_ip):
    return pad60(Ether(src=src_mac, dst="ff:ff:ff:ff:ff:ff")
                 / ARP(op=1, hwsrc=src_mac, psrc=src_ip, hwdst="00:00:00:00:00:00", pdst=target_ip))


def arp_reply_from_director(requester_mac, requester_ip):
    return pad60(Ether(src=DIRECTOR_MAC, dst=requester_mac)
                 / ARP(op=2, hwsrc=DIRECTOR_MAC, psrc=DIRECTOR_IP, hwdst=requester_mac, pdst=requester_ip))


def echo(src_mac, dst_mac, src_ip, dst_ip, ident, seq, payload, ip_id):
    return Ether(src=src_mac, dst=dst_mac) / IP(src=src_ip, dst=dst_ip, id=ip_id, ttl=61, flags="DF") \
        / ICMP(type=8, id=ident, seq=seq) / Raw(payload)


def echo_reply_from_director(peer_mac, peer_ip, ident, seq, payload, ip_id):
    return Ether(src=DIRECTOR_MAC, dst=peer_mac) / IP(src=DIRECTOR_IP, dst=peer_ip, id=ip_id, ttl=64, flags="DF") \
        / ICMP(type=0, id=ident, seq=seq) / Raw(payload)


def main():
    default_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pcaps")
    out_dir = sys.argv[1] if len(sys.argv) > 1 else default_dir
    os.makedirs(out_dir, exist_ok=True)
    payload1 = b"rvs-echo-0001" + bytes(range(32))
    payload2 = bytes(range(256)) * 4  # a 1024-byte ping
    inputs = [
        # 1. ARP for the director: answered.
        arp_request(CLIENT_MAC, CLIENT_IP, DIRECTOR_IP),
        # 2. ARP for another address on the segment: arp_not_ours.
        arp_request(CLIENT_MAC, CLIENT_IP, "10.0.0.9"),
        # 3. Ping to the director: answered.
        echo(CLIENT_MAC, DIRECTOR_MAC, CLIENT_IP, DIRECTOR_IP, 0x1234, 1, payload1, 0x0101),
        # 4. Ping elsewhere (to our MAC, another IP): not_for_us.
        echo(CLIENT_MAC, DIRECTOR_MAC, CLIENT_IP, "192.0.2.77", 0x1234, 2, payload1, 0x0102),
        # 5. A truncated frame: Ethernet header and 6 bytes of IPv4: truncated.
        Ether(src=CLIENT_MAC, dst=DIRECTOR_MAC, type=0x0800) / Raw(b"\x45\x00\x00\x54\x00\x00"),
        # 6. A gratuitous ARP reply from a neighbour: arp_not_request.
        pad60(Ether(src=OTHER_MAC, dst="ff:ff:ff:ff:ff:ff")
              / ARP(op=2, hwsrc=OTHER_MAC, psrc=OTHER_IP, hwdst="ff:ff:ff:ff:ff:ff", pdst=OTHER_IP)),
        # 7. ARP for the director from a second host: answered.
        arp_request(OTHER_MAC, OTHER_IP, DIRECTOR_IP),
        # 8. A large ping from the second host: answered.
        echo(OTHER_MAC, DIRECTOR_MAC, OTHER_IP, DIRECTOR_IP, 0xbeef, 9, payload2, 0x0201),
        # 9. IPv6: not_ipv4.
        Ether(src=CLIENT_MAC, dst=DIRECTOR_MAC) / IPv6(src="2001:db8::1", dst="2001:db8::2") / Raw(b"x" * 8),
        # 10. ICMP timestamp request to the director: icmp_not_echo.
        Ether(src=CLIENT_MAC, dst=DIRECTOR_MAC) / IP(src=CLIENT_IP, dst=DIRECTOR_IP, id=0x0103) / ICMP(type=13, ts_ori=0, ts_rx=0, ts_tx=0),
        # 11. UDP to the director: local_proto_unhandled.
        Ether(src=CLIENT_MAC, dst=DIRECTOR_MAC) / IP(src=CLIENT_IP, dst=DIRECTOR_IP, id=0x0104)
        / UDP(sport=40000, dport=53) / Raw(b"query"),
        # 12. Ping to the director's address but another MAC: not_for_us.
        echo(CLIENT_MAC, "02:00:00:00:00:99", CLIENT_IP, DIRECTOR_IP, 0x1234, 3, payload1, 0x0105),
    ]
    expected = [
        arp_reply_from_director(CLIENT_MAC, CLIENT_IP),
        echo_reply_from_director(CLIENT_MAC, CLIENT_IP, 0x1234, 1, payload1, 0x0101),
        arp_reply_from_director(OTHER_MAC, OTHER_IP),
        echo_reply_from_director(OTHER_MAC, OTHER_IP, 0xbeef, 9, payload2, 0x0201),
    ]
    for i, p in enumerate(inputs):
        p.time = BASE_TIME + i * 0.001
    for i, p in enumerate(expected):
        p.time = BASE_TIME
    wrpcap(os.path.join(out_dir, "local-in.pcap"), inputs)
    wrpcap(os.path.join(out_dir, "local-expected.pcap"), expected)
    print(f"wrote {len(inputs)} input and {len(expected)} expected packets to {os.path.normpath(out_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
