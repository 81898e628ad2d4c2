#!/usr/bin/env python3
"""Asks GET /healthz five times on one h2c connection, the header field after the
pseudo-headers changing between requests (same, new value, other name, back), and prints the
X-Request-Id of each answer ("generated" for one the server made). Usage: h2_headers.py PORT"""
import re, socket, sys
import h2.connection, h2.config, h2.events

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
fields = [("x-request-id", "probe-a"), ("x-request-id", "probe-a"), ("x-request-id", "probe-b"),
          ("x-other", "probe-b"), ("x-request-id", "probe-a")]
ids = []
for field in fields:
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "GET"), (":path", "/healthz"), (":scheme", "http"), (":authority", f"127.0.0.1:{port}"), field], end_stream=True)
    sock.sendall(conn.data_to_send())
    done = False
    while not done:
        data = sock.recv(65536)
        if not data:
            sys.exit("connection closed")
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                rid = dict(ev.headers).get("x-request-id", "none")
                ids.append("generated" if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]+", rid) else rid)
            elif isinstance(ev, h2.events.StreamEnded):
                done = True
        sock.sendall(conn.data_to_send())
print(" ".join(ids))
