#!/usr/bin/env python3
"""Over one h2c connection: a header block over the limit, then a body over the limit, then a
normal request. Prints each stream's status. Usage: h2_limits.py PORT"""
import socket, sys
import h2.connection, h2.config, h2.events

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
base = [(":scheme", "http"), (":authority", f"127.0.0.1:{port}")]
conn.send_headers(1, [(":method", "GET"), (":path", "/healthz")] + base + [("x-big", "a" * 3000)], end_stream=True)
conn.send_headers(3, [(":method", "POST"), (":path", "/v1/stacks")] + base, end_stream=False)
conn.send_data(3, b"x" * 5000, end_stream=True)
conn.send_headers(5, [(":method", "GET"), (":path", "/healthz")] + base, end_stream=True)
sock.sendall(conn.data_to_send())
status, done = {}, set()
while len(done) < 3:
    data = sock.recv(65536)
    if not data:
        break
    for ev in conn.receive_data(data):
        if isinstance(ev, h2.events.ResponseReceived):
            status[ev.stream_id] = dict(ev.headers)[":status"]
        elif isinstance(ev, h2.events.DataReceived):
            conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            done.add(ev.stream_id)
    sock.sendall(conn.data_to_send())
print(" ".join(f"{k}:{status.get(k)}" for k in (1, 3, 5)))
