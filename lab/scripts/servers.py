#!/usr/bin/python3
"""Test servers of the rvs lab: each answers with its name and the client address it saw.

  servers.py http NAME PORT READY   HTTP/1.1 on 0.0.0.0:PORT. `GET /bytes/N` answers N bytes
                                    of "x"; any other path answers
                                    server=NAME / client=IP:PORT / local=IP:PORT / path=PATH.
  servers.py udp NAME PORT READY    UDP echo on 0.0.0.0:PORT answering
                                    server=NAME / client=IP:PORT / local=IP:PORT / len=N,
                                    sent *from* the address the datagram was sent to (so a
                                    DR or TUN server answers from the VIP, not its own address).

READY is a file created once the socket is bound: the lab waits for it.
"""

import http.server
import socket
import struct
import sys

# IP_PKTINFO appeared in Python 3.12; the value is Linux's (include/uapi/linux/in.h).
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


def http_server(name, port, ready):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def do_GET(self):
            peer = self.client_address
            local = self.connection.getsockname()
            if self.path.startswith("/bytes/"):
                try:
                    size = max(0, min(int(self.path[len("/bytes/"):]), 64 << 20))
                except ValueError:
                    size = 0
                body = b"x" * size
            else:
                body = (
                    f"server={name}\nclient={peer[0]}:{peer[1]}\n"
                    f"local={local[0]}:{local[1]}\npath={self.path}\n"
                ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Server", name)
            self.end_headers()
            self.wfile.write(body)

    class Server(http.server.ThreadingHTTPServer):
        allow_reuse_address = True
        daemon_threads = True
        request_queue_size = 256

    server = Server(("0.0.0.0", port), Handler)
    open(ready, "w").close()
    server.serve_forever()


def udp_echo(name, port, ready):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    sock.bind(("0.0.0.0", port))
    open(ready, "w").close()
    while True:
        data, ancillary, _, peer = sock.recvmsg(65535, socket.CMSG_SPACE(12))
        dst = None
        for level, kind, value in ancillary:
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= 12:
                dst = value[8:12]  # struct in_pktinfo: ifindex, spec_dst, addr
        local = socket.inet_ntoa(dst) if dst else "0.0.0.0"
        reply = (
            f"server={name}\nclient={peer[0]}:{peer[1]}\n"
            f"local={local}:{port}\nlen={len(data)}\n"
        ).encode()
        control = []
        if dst:
            control = [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("I4s4s", 0, dst, bytes(4)))]
        try:
            sock.sendmsg([reply], control, 0, peer)
        except OSError as err:  # e.g. no route back: log it and serve the next one
            print(f"reply to {peer}: {err}", file=sys.stderr, flush=True)


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("http", "udp"):
        sys.exit(__doc__)
    kind, name, port, ready = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    (http_server if kind == "http" else udp_echo)(name, port, ready)


if __name__ == "__main__":
    main()
