#!/usr/bin/env python3
"""Asks GET /healthz three times on one h2c connection and prints how each answer header was
encoded (n: as never indexed, i: any other way), then the names in the client's
HPACK dynamic table. Usage: h2_hpack.py PORT"""
import sys
from hpack import NeverIndexedHeaderTuple
from h2_client import H2Client

client = H2Client(int(sys.argv[1]))
for _ in range(3):
    print(" ".join(f"{h[0]}:{'n' if isinstance(h, NeverIndexedHeaderTuple) else 'i'}" for h in client.get("/healthz")))
print("table:", " ".join(sorted({n.decode() if isinstance(n, bytes) else n for n, _ in client.conn.decoder.header_table.dynamic_entries})))
