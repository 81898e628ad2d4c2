#!/usr/bin/env python3
"""Asks GET /healthz three times on one h2c connection and prints how each answer header was
encoded (n: as never indexed, i: any other way), then the names in the client's
HPACK dynamic table. Usage: h2_hpack.py PORT"""
import socket, sys
import h2.connection, h2.config, h2.events
from hpack import NeverIndexedHeaderTuple

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
lines = []
for _ in range(3):
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "GET"), (":path", "/healthz"), (":scheme", "http"), (":authority", f"127.0.0.1:{port}")], end_stream=True)
    sock.sendall(conn.data_to_send())
    done = False
    while not done:
        data = sock.recv(65536)
        if not data:
            sys.exit("connection closed")
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                lines.append(" ".join(f"{n}:{'n' if isinstance(h, NeverIndexedHeaderTuple) else 'i'}" for h in ev.headers for n in [h[0]]))
            elif isinstance(ev, h2.events.StreamEnded):
                done = True
        sock.sendall(conn.data_to_send())
for l in lines:
    print(l)
print("table:", " ".join(sorted({n.decode() if isinstance(n, bytes) else n for n, _ in conn.decoder.header_table.dynamic_entries})))
