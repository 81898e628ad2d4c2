"""What the record_*.sh scripts' Python parts share: entering a network namespace (setns) and
reading the frames a device received with an AF_PACKET socket (the tag veth offloads put back
in front of the frame's type from PACKET_AUXDATA)."""
import ctypes, os, socket, struct

_libc = ctypes.CDLL(None, use_errno=True)
SOL_PACKET, PACKET_AUXDATA, TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID = 263, 8, 0x10, 0x40


def enter(ns):
    """setns(2) into /var/run/netns/NS (CLONE_NEWNET)."""
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY)
    assert _libc.setns(fd, 0x40000000) == 0
    os.close(fd)


def capture(dev):
    """An AF_PACKET socket on DEV (in the namespace entered last), PACKET_AUXDATA on."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((dev, 0))
    s.settimeout(0.5)
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    return s


def drain(s, name):
    """Prints `NAME HEX` for each frame the device received (not those it sent) until 0.5 s pass
    without one, the offloaded VLAN tag put back."""
    try:
        while True:
            f, anc, _, a = s.recvmsg(2000, 256)
            if a[2] == socket.PACKET_OUTGOING:
                continue
            for level, kind, data in anc:
                if level == SOL_PACKET and kind == PACKET_AUXDATA:
                    # struct tpacket_auxdata: status, len, snaplen (u32), mac, net, vlan_tci, vlan_tpid (u16)
                    status, _, _, _, _, tci, tpid = struct.unpack('IIIHHHH', data[:20])
                    if status & TP_STATUS_VLAN_VALID:
                        f = f[:12] + struct.pack('!HH', tpid if status & TP_STATUS_VLAN_TPID_VALID else 0x8100, tci) + f[12:]
            print(name, f.hex())
    except socket.timeout:
        pass
