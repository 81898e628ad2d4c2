#!/usr/bin/env python3
"""Asks GET /healthz five times on one h2c connection, the header field after the
pseudo-headers changing between requests (same, new value, other name, back), and prints the
X-Request-Id of each answer ("generated" for one the server made). Usage: h2_headers.py PORT"""
import re, sys
from h2_client import H2Client

client = H2Client(int(sys.argv[1]))
fields = [("x-request-id", "probe-a"), ("x-request-id", "probe-a"), ("x-request-id", "probe-b"),
          ("x-other", "probe-b"), ("x-request-id", "probe-a")]
ids = []
for field in fields:
    rid = dict(client.get("/healthz", [field])).get("x-request-id", "none")
    ids.append("generated" if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]+", rid) else rid)
print(" ".join(ids))
