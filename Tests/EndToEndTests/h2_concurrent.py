#!/usr/bin/env python3
"""Opens one h2c connection (prior knowledge) and sends every request before reading any
answer, so they are in flight at once on separate streams. Prints a JSON list of
{"stream", "status", "body"} in stream order. Usage: h2_concurrent.py PORT 'METHOD PATH [BODY]'..."""
import json, socket, sys
import h2.connection, h2.config, h2.events

port = int(sys.argv[1])
reqs = [a.split(" ", 2) for a in sys.argv[2:]]
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
streams = {}
for r in reqs:
    sid = conn.get_next_available_stream_id()
    body = r[2].encode() if len(r) > 2 else b""
    headers = [(":method", r[0]), (":path", r[1]), (":scheme", "http"), (":authority", f"127.0.0.1:{port}")]
    if body:
        headers.append(("content-type", "application/json"))
    conn.send_headers(sid, headers, end_stream=not body)
    if body:
        conn.send_data(sid, body, end_stream=True)
    streams[sid] = {"stream": sid, "status": None, "body": b""}
sock.sendall(conn.data_to_send())
done = set()
while len(done) < len(streams):
    data = sock.recv(65536)
    if not data:
        break
    for ev in conn.receive_data(data):
        if isinstance(ev, h2.events.ResponseReceived):
            streams[ev.stream_id]["status"] = int(dict(ev.headers)[":status"])
        elif isinstance(ev, h2.events.DataReceived):
            streams[ev.stream_id]["body"] += ev.data
            conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            done.add(ev.stream_id)
    sock.sendall(conn.data_to_send())
out = [{"stream": s["stream"], "status": s["status"], "body": s["body"].decode()} for s in sorted(streams.values(), key=lambda x: x["stream"])]
print(json.dumps(out))
