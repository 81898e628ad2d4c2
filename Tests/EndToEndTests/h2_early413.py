#!/usr/bin/env python3
"""Over one h2c connection, bodies over the limit that never end: one announced by
content-length, one sent as DATA, and the same two for a capture (a type the server writes to
a file, whose limit is --max-capture, 50000 here). The server must answer 413 and reset each
stream with NO_ERROR without waiting for the end. A normal request follows.
Usage: h2_early413.py PORT"""
import socket, sys
import h2.connection, h2.config, h2.events

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
base = [(":scheme", "http"), (":authority", f"127.0.0.1:{port}")]
conn.send_headers(1, [(":method", "POST"), (":path", "/v1/stacks")] + base + [("content-length", "100000")])
conn.send_headers(3, [(":method", "POST"), (":path", "/v1/stacks")] + base)
conn.send_data(3, b"x" * 5000)
capture = [(":method", "POST"), (":path", "/v1/stacks/x/packets?device=eth0&progress=10")] + base + [("content-type", "application/x-pcapng")]
conn.send_headers(5, capture + [("content-length", "100000")])
conn.send_headers(7, capture)
for _ in range(4):
    conn.send_data(7, b"x" * 15000)
conn.send_headers(9, [(":method", "GET"), (":path", "/healthz")] + base, end_stream=True)
sock.sendall(conn.data_to_send())
status, reset, ended = {}, {}, set()
while len(reset) < 4 or 9 not in ended:
    data = sock.recv(65536)
    if not data:
        break
    for ev in conn.receive_data(data):
        if isinstance(ev, h2.events.ResponseReceived):
            status[ev.stream_id] = dict(ev.headers)[":status"]
        elif isinstance(ev, h2.events.DataReceived):
            conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            ended.add(ev.stream_id)
        elif isinstance(ev, h2.events.StreamReset):
            reset[ev.stream_id] = int(ev.error_code)
    sock.sendall(conn.data_to_send())
print(" ".join(f"{k}:{status.get(k)}:{'ended' if k in ended else 'open'}:reset={reset.get(k)}" for k in (1, 3, 5, 7, 9)))
