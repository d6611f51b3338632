#!/usr/bin/python3
"""Small clients of the rvs lab. Every answer is one JSON line on stdout; data is hex.

  clients.py udp-exchange DST PORT HEX TIMEOUT SRC_PORT
        send one datagram (from SRC_PORT, 0 = any) and wait for one reply:
        {"from": "ip:port", "local": "ip:port", "data": hex}
  clients.py udp-listen PORT TIMEOUT READY
        bind 0.0.0.0:PORT, create READY, wait for one datagram: same JSON
  clients.py tcp-exchange DST PORT HEX TIMEOUT
        connect, send the bytes, read until the peer closes: {"local": ..., "data": hex}
  clients.py send-frames IFACE HEX...
        send each Ethernet frame as is on IFACE (AF_PACKET): {"sent": n}

Exit status 3 with "timeout" on stderr when nothing came in time.
"""

import json
import socket
import sys


def addr(pair):
    return f"{pair[0]}:{pair[1]}"


def timeout_exit():
    print("timeout", file=sys.stderr)
    sys.exit(3)


def udp_exchange(dst, port, data, timeout, src_port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", src_port))
    sock.settimeout(timeout)
    sock.sendto(data, (dst, port))
    try:
        reply, peer = sock.recvfrom(65535)
    except socket.timeout:
        timeout_exit()
    print(json.dumps({"from": addr(peer), "local": addr(sock.getsockname()), "data": reply.hex()}))


def udp_listen(port, timeout, ready):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))
    sock.settimeout(timeout)
    open(ready, "w").close()
    try:
        data, peer = sock.recvfrom(65535)
    except socket.timeout:
        timeout_exit()
    print(json.dumps({"from": addr(peer), "local": addr(sock.getsockname()), "data": data.hex()}))


def tcp_exchange(dst, port, data, timeout):
    sock = socket.create_connection((dst, port), timeout=timeout)
    sock.sendall(data)
    chunks = []
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except socket.timeout:
        if not chunks:
            timeout_exit()
    print(json.dumps({"local": addr(sock.getsockname()), "data": b"".join(chunks).hex()}))


def send_frames(iface, frames):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    for frame in frames:
        sock.send(frame)
    print(json.dumps({"sent": len(frames)}))


def main():
    args = sys.argv[1:]
    try:
        if args[:1] == ["udp-exchange"] and len(args) == 6:
            udp_exchange(args[1], int(args[2]), bytes.fromhex(args[3]), float(args[4]), int(args[5]))
        elif args[:1] == ["udp-listen"] and len(args) == 4:
            udp_listen(int(args[1]), float(args[2]), args[3])
        elif args[:1] == ["tcp-exchange"] and len(args) == 5:
            tcp_exchange(args[1], int(args[2]), bytes.fromhex(args[3]), float(args[4]))
        elif args[:1] == ["send-frames"] and len(args) >= 2:
            send_frames(args[1], [bytes.fromhex(h) for h in args[2:]])
        else:
            sys.exit(__doc__)
    except OSError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
