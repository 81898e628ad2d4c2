#!/bin/sh
# Which addresses an AF_INET6 bind() takes on this kernel (__inet6_bind): a namespace with lo up,
# 2001:db8::1/64 (nodad) and 198.18.0.1/24 on a veth; UDP and TCP plain, UDP with
# IPV6_TRANSPARENT and with IPV6_FREEBIND; then net.ipv6.ip_nonlocal_bind=1, then
# net.ipv4.ip_nonlocal_bind=1 (v4-mapped addresses take the AF_INET check). Root. Recorded on
# 6.18 (2026-12-06), columns UDP TCP UDP+transparent UDP+freebind:
#   2001:db8::1 ok ok ok ok                        ff02::1 EINVAL x4
#   2001:db8::9 EADDRNOTAVAIL EADDRNOTAVAIL ok ok  ff0e::1 ok EINVAL ok ok
#   2001:db8:: EADDRNOTAVAIL EADDRNOTAVAIL ok ok   fe80::1 EINVAL x4
#   ::1 ok ok ok ok                                2001:db8:ffff::1 EADDRNOTAVAIL EADDRNOTAVAIL ok ok
#   :: ok ok ok ok                                 ::ffff:198.18.0.1 ok ok ok ok
#   ::ffff:10.1.1.1 EADDRNOTAVAIL EADDRNOTAVAIL ok ok  ::ffff:127.0.0.1 ok ok ok ok
#   ipv6.ip_nonlocal_bind=1: 2001:db8:ffff::1 ok, ::ffff:10.1.1.1 EADDRNOTAVAIL, fe80::1 EINVAL
#   ipv4.ip_nonlocal_bind=1 as well: 2001:db8:ffff::1 ok, ::ffff:10.1.1.1 ok
# (APITests BindAddressTests holds the same answers.)
exec unshare -n sh -c '
ip link set lo up; ip link add d0 type veth peer name d1; ip link set d0 up; ip link set d1 up
ip addr add 2001:db8::1/64 dev d0 nodad; ip addr add 198.18.0.1/24 dev d0
/usr/bin/python3 - <<PY
import socket, errno, subprocess
def tryb(addr, proto, opt=None):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    if opt == "transparent": s.setsockopt(socket.IPPROTO_IPV6, 75, 1)
    if opt == "freebind": s.setsockopt(socket.IPPROTO_IPV6, 78, 1)
    try:
        s.bind((addr, 5000)); r = "ok"
    except OSError as e:
        r = errno.errorcode[e.errno]
    s.close(); return r
addrs = ["2001:db8::1", "2001:db8::9", "2001:db8::", "::1", "::", "ff02::1", "ff0e::1", "fe80::1", "2001:db8:ffff::1",
         "::ffff:198.18.0.1", "::ffff:10.1.1.1", "::ffff:127.0.0.1"]
for a in addrs:
    print(a, tryb(a, "udp"), tryb(a, "tcp"), tryb(a, "udp", "transparent"), tryb(a, "udp", "freebind"))
subprocess.run(["sysctl", "-qw", "net.ipv6.ip_nonlocal_bind=1"])
print("ipv6.ip_nonlocal_bind=1", *[tryb(a, "udp") for a in ["2001:db8:ffff::1", "::ffff:10.1.1.1", "fe80::1"]])
subprocess.run(["sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1"])
print("ipv4.ip_nonlocal_bind=1", *[tryb(a, "udp") for a in ["2001:db8:ffff::1", "::ffff:10.1.1.1"]])
PY'
