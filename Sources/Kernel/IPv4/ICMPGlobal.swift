import Wire

// net/ipv4/icmp.c: the host-wide limit on ICMP (and ICMPv6) errors.
extension Stack {
    /// `icmp_global_allow`: a message may go while credit is left; at none, the credit refills
    /// by icmp_msgs_per_sec a second (up to icmp_msgs_burst), at most once per 20 ms. It takes no
    /// credit: `icmp_global_consume` does, once the per-destination limit passed too.
    func icmp_global_allow() -> Bool {
        if icmpGlobal.credit > 0 { return true }
        let hz = UInt64(1_000_000_000 / Stack.jiffyNs)
        let now = Stack.initialJiffies + clockNs / Stack.jiffyNs
        let delta = min(now &- icmpGlobal.stamp, hz)
        if delta < hz / 50 { return false }
        let incr = sysctl(.icmp_msgs_per_sec) * Int(delta) / Int(hz)
        if incr == 0 { return false }
        icmpGlobal.stamp = now
        icmpGlobal.credit = min(icmpGlobal.credit + incr, sysctl(.icmp_msgs_burst))
        return true
    }

    /// `icmp_global_consume`: a message sent costs a random 0, 1 or 2 credits (the credit may go
    /// below zero), so a burst is answered about icmp_msgs_burst times: this kernel answered 46-59
    /// of 200 datagrams from 200 sources (scripts/record_icmp_global_limit.py).
    func icmp_global_consume() {
        icmpGlobal.credit -= Int(icmpGlobalRandom.next() % 3)
    }

    /// `icmpv4_global_allow`: types outside icmp_ratemask, and fragmentation needed, are not
    /// limited; the others pass the host-wide limit or count as OutRateLimitGlobal. Whether the
    /// message may go and whether the limits apply to it.
    func icmpv4_global_allow(type: UInt8, code: UInt8) -> (allowed: Bool, limited: Bool) {
        if type > 18 || (type == ICMPv4Repr.destUnreachable && code == 4) || sysctl(.icmp_ratemask) & (1 << Int(type)) == 0 { return (true, false) }
        if icmp_global_allow() { return (true, true) }
        snmp.icmp.OutRateLimitGlobal += 1
        return (false, false)
    }
}
