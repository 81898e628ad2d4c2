#!/usr/bin/env python3
"""Sends the extremes of every integer field of openapi/openapi.yaml's request bodies, query and
path parameters to a running packetstackd: 0, -1, 2^31, 2^32, 2^53, 2^63-1, 2^64, a float and a
string, each in an otherwise valid request. Fails on any 5xx or a server that stops answering.
Usage: numeric_extremes.py PORT OPENAPI_YAML"""
import copy, http.client, json, sys
import yaml

port, doc = int(sys.argv[1]), yaml.safe_load(open(sys.argv[2]))
EXTREMES = [0, -1, 2**31, 2**32, 2**53, 2**63 - 1, 2**64, 1.5, "7"]
STACK = {"name": "x", "cpus": 2, "devices": [{"name": "eth0", "mac": "02:00:00:00:00:01", "addresses": ["198.18.0.1/24"]}],
         "sockets": [{"port": 53}]}
UDP = {"device": "eth0", "ipv4": {"src": "198.18.0.9"}, "udp": {"dport": 53}}
# A valid body per operation; the script sets one integer field at a time inside it.
BASES = {
    "createStack": STACK,
    "injectPackets": {"packets": [UDP]},
    "addRoute": {"dst": "10.0.0.0/8", "via": "198.18.0.254", "dev": "eth0"},
    "addNeighbour": {"address": "198.18.0.10", "mac": "02:00:00:00:ff:02", "dev": "eth0"},
    "bindSocket": {"protocol": "udp", "port": 54},
    "recvSocket": {"max": 1, "cpu": 0},
    "advanceClock": {"advance_ns": 1},
    "addRule": {"family": "inet", "table": "filter", "chain": "input", "rule": "counter"},
}
# Where the layered packet forms live: each layer's integers are tried in a packet of that kind.
PACKET_KINDS = {"udp": UDP, "tcp": {"device": "eth0", "ipv4": {"src": "198.18.0.9"}, "tcp": {"dport": 80}},
                "icmp": {"device": "eth0", "ipv4": {"src": "198.18.0.9"}, "icmp": {"type": 8}},
                "vlan": dict(UDP, vlan={"vid": 1}), "eth": dict(UDP, eth={"type": 2048})}

def deref(s):
    if isinstance(s, dict) and "$ref" in s:
        node = doc
        for part in s["$ref"].lstrip("#/").split("/"):
            node = node[part]
        return deref(node)
    return s

def integer_paths(schema, path=()):
    """(path, schema) of every integer property, arrays entered at index 0, additionalProperties at a sample key."""
    s = deref(schema)
    if not isinstance(s, dict):
        return
    t = s.get("type")
    if t == "integer" or (isinstance(t, list) and "integer" in t):
        yield path
    for k, v in (s.get("properties") or {}).items():
        yield from integer_paths(v, path + (k,))
    if "items" in s:
        yield from integer_paths(s["items"], path + (0,))
    ap = s.get("additionalProperties")
    if isinstance(ap, dict):
        yield from integer_paths(ap, path + ("@key",))

def place(body, path, value):
    body = copy.deepcopy(body)
    node = body
    for i, p in enumerate(path[:-1]):
        nxt = path[i + 1]
        if p == "@key":
            p = "ip_rcv" if "costs" in path else "net.core.netdev_max_backlog"
        if isinstance(node, list):
            while len(node) <= p:
                node.append({})
            node = node[p]
            continue
        if p not in node or not isinstance(node[p], (dict, list)):
            node[p] = [] if nxt == 0 else {}
        node = node[p]
    last = path[-1]
    if last == "@key":
        last = "ip_rcv" if "costs" in path else "net.core.netdev_max_backlog"
    if isinstance(node, list):
        while len(node) <= last:
            node.append({})
    node[last] = value
    return body

def request(method, target, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    data = json.dumps(body).encode() if body is not None else None
    c.request(method, target, body=data, headers={"content-type": "application/json"})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status

def setup():
    for name in ("x",):
        request("DELETE", f"/v1/stacks/{name}")
    assert request("POST", "/v1/stacks", STACK) == 201
    nft = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n"
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("PUT", "/v1/stacks/x/ruleset", body=nft.encode(), headers={"content-type": "text/plain"})
    assert c.getresponse().status == 200

setup()
sent, statuses, failures = 0, {}, []
for route, item in doc["paths"].items():
    for method, op in item.items():
        if method not in ("get", "post", "put", "delete"):
            continue
        oid = op["operationId"]
        params = [deref(p) for p in item.get("parameters", []) + op.get("parameters", [])]
        target = route.replace("{stack}", "x")
        cases = []
        for p in params:
            if deref(p.get("schema", {})).get("type") != "integer":
                continue
            for v in EXTREMES:
                if p["in"] == "path":
                    cases.append((target.replace("{" + p["name"] + "}", str(v)), None))
                else:
                    sep = "&" if "?" in target else "?"
                    cases.append((target + f"{sep}{p['name']}={v}", None))
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if body is not None and oid in BASES:
            for path in integer_paths(body):
                bases = [BASES[oid]]
                if oid == "injectPackets" and len(path) > 2 and path[0] == "packets" and path[2] in PACKET_KINDS:
                    bases = [{"packets": [PACKET_KINDS[path[2]]]}]
                for v in EXTREMES:
                    for b in bases:
                        cases.append((target, place(b, path, v)))
        for t, b in cases:
            t = t.replace("{handle}", "1").replace("{version}", "1").replace("{socket}", "1").replace("{trace}", "1")
            try:
                st = request(method.upper(), t, b)
            except Exception as e:  # a dropped connection is a failure too
                st = f"no answer ({e})"
            sent += 1
            statuses[st] = statuses.get(st, 0) + 1
            if not isinstance(st, int) or st >= 500:
                failures.append(f"{method.upper()} {t} {json.dumps(b)[:200] if b is not None else ''} -> {st}")
            if oid == "deleteStack" or (oid == "createStack" and st == 201):
                setup()
            if request("GET", "/healthz") != 200:
                failures.append(f"healthz stopped answering after {method.upper()} {t}")
                break
print(f"numeric extremes: {sent} requests, statuses {dict(sorted((str(k), v) for k, v in statuses.items()))}")
for f in failures[:20]:
    print("FAIL", f)
sys.exit(1 if failures else 0)
