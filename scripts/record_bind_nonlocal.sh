#!/bin/sh
# Which IPv4 addresses bind() takes on this kernel (inet_bind's inet_addr_valid_or_nonlocal): a
# namespace with lo up and 198.18.0.1/24 on a veth; UDP and TCP plain, UDP with IP_TRANSPARENT
# and with IP_FREEBIND; then net.ipv4.ip_nonlocal_bind=1. Root. Recorded on 6.18 (2026-12-06):
#   198.18.0.1 ok ok ok ok            127.0.0.1 ok ok ok ok         10.1.1.1 EADDRNOTAVAIL EADDRNOTAVAIL ok ok
#   198.18.0.9 EADDRNOTAVAIL x2 ok ok 127.1.2.3 ok ok ok ok         nonlocal_bind=1: 10.1.1.1 ok ok
#   198.18.0.0 EADDRNOTAVAIL x2 ok ok 0.0.0.0 ok ok ok ok
#   198.18.0.255 ok ok ok ok          255.255.255.255, 224.0.0.1 ok ok ok ok
# (APITests BindAddressTests holds the same answers.)
exec unshare -n sh -c '
ip link set lo up; ip link add d0 type veth peer name d1; ip link set d0 up; ip link set d1 up
ip addr add 198.18.0.1/24 dev d0
/usr/bin/python3 - <<PY
import socket, errno, subprocess
def tryb(addr, proto, opt=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    if opt == "transparent": s.setsockopt(socket.SOL_IP, 19, 1)
    if opt == "freebind": s.setsockopt(socket.SOL_IP, 15, 1)
    try:
        s.bind((addr, 5000)); r = "ok"
    except OSError as e:
        r = errno.errorcode[e.errno]
    s.close(); return r
for a in ["198.18.0.1", "198.18.0.9", "198.18.0.0", "198.18.0.255", "127.0.0.1", "127.1.2.3", "0.0.0.0", "255.255.255.255", "224.0.0.1", "10.1.1.1"]:
    print(a, tryb(a, "udp"), tryb(a, "tcp"), tryb(a, "udp", "transparent"), tryb(a, "udp", "freebind"))
subprocess.run(["sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1"])
print("nonlocal_bind=1", tryb("10.1.1.1", "udp"), tryb("10.1.1.1", "tcp"))
PY'
