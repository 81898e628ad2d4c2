/// A sysctl the model reads, by the kernel's field name (`net->ipv4.sysctl_ip_forward` is
/// `.ip_forward`), with its Linux name, default (ip-sysctl.rst, net.rst) and accepted range.
public enum Sysctl: Int, CaseIterable, Sendable {
    case ip_forward, ip_default_ttl, ipfrag_time, ipfrag_high_thresh, ipfrag_low_thresh, ipfrag_max_dist
    case netdev_max_backlog, netdev_budget, netdev_budget_usecs, dev_weight, rmem_default, rmem_max, wmem_default, wmem_max
    case rps_sock_flow_entries, flow_limit_cpu_bitmap, flow_limit_table_len
    case icmp_ratelimit, icmp_ratemask, icmp_echo_ignore_broadcasts, send_redirects, icmp_msgs_per_sec, icmp_msgs_burst
    /// net.ipv4.conf.all.*: here `all` stands for every device too (the kernel ORs or ANDs all with the device's).
    case accept_redirects, secure_redirects, shared_media
    case nf_conntrack_tcp_loose, nf_conntrack_max
    /// Per-connection packet and byte counters (nf_conn_acct); a rule reading them turns it on.
    case nf_conntrack_acct
    // IPv6 (net->ipv6.devconf_all and net->ipv6.sysctl): `all` applies to every device here.
    case forwarding6, hop_limit6, disable_ipv6, icmpv6_time, icmpv6_echo_ignore_all
    case max_hbh_opts_number, max_dst_opts_number, ip6frag_time, ip6frag_high_thresh, ip6frag_low_thresh
    case accept_ra, autoconf6
    /// net.ipv4.tcp_rmem's three values (min, default, max), set together as one sysctl.
    case tcp_rmem_min, tcp_rmem_default, tcp_rmem_max, somaxconn
    /// bind() to an address that is not the host's (inet_addr_valid_or_nonlocal), and for
    /// AF_INET6 (ipv6_can_nonlocal_bind).
    case ip_nonlocal_bind, ip6_nonlocal_bind
    /// net.ipv4.ping_group_range's two values (the groups that may open ping sockets; "1 0", none,
    /// by default, root included: the process here runs with gid 0). It covers ICMPv6 ping sockets too.
    case ping_group_range_min, ping_group_range_max
    /// The TCP options a connection offers and accepts (tcp_syn_options, tcp_parse_options).
    case tcp_timestamps, tcp_sack
    /// How long a connect keeps sending SYNs: tcp_model_timeout of this many backoffs.
    case tcp_syn_retries
    /// Path MTU exceptions: how long they last (seconds) and IPv4's floor.
    case ip_rt_mtu_expires, ip_rt_min_pmtu, ip6_rt_mtu_expires
    /// How long an orphaned connection waits in FIN-WAIT-2 (seconds; tcp_fin_time).
    case tcp_fin_timeout
    /// net.ipv6.conf.all.accept_redirects: a host takes the redirects its routers send.
    case accept_redirects6

    public var name: String {
        switch self {
        case .ip_forward: "net.ipv4.ip_forward"
        case .ip_default_ttl: "net.ipv4.ip_default_ttl"
        case .ipfrag_time: "net.ipv4.ipfrag_time"
        case .ipfrag_high_thresh: "net.ipv4.ipfrag_high_thresh"
        case .ipfrag_low_thresh: "net.ipv4.ipfrag_low_thresh"
        case .ipfrag_max_dist: "net.ipv4.ipfrag_max_dist"
        case .netdev_max_backlog: "net.core.netdev_max_backlog"
        case .netdev_budget: "net.core.netdev_budget"
        case .netdev_budget_usecs: "net.core.netdev_budget_usecs"
        case .dev_weight: "net.core.dev_weight"
        case .rmem_default: "net.core.rmem_default"
        case .rmem_max: "net.core.rmem_max"
        case .wmem_default: "net.core.wmem_default"
        case .wmem_max: "net.core.wmem_max"
        case .rps_sock_flow_entries: "net.core.rps_sock_flow_entries"
        case .flow_limit_cpu_bitmap: "net.core.flow_limit_cpu_bitmap"
        case .flow_limit_table_len: "net.core.flow_limit_table_len"
        case .icmp_ratelimit: "net.ipv4.icmp_ratelimit"
        case .icmp_ratemask: "net.ipv4.icmp_ratemask"
        case .icmp_msgs_per_sec: "net.ipv4.icmp_msgs_per_sec"
        case .icmp_msgs_burst: "net.ipv4.icmp_msgs_burst"
        case .icmp_echo_ignore_broadcasts: "net.ipv4.icmp_echo_ignore_broadcasts"
        case .send_redirects: "net.ipv4.conf.all.send_redirects"
        case .accept_redirects: "net.ipv4.conf.all.accept_redirects"
        case .secure_redirects: "net.ipv4.conf.all.secure_redirects"
        case .shared_media: "net.ipv4.conf.all.shared_media"
        case .nf_conntrack_tcp_loose: "net.netfilter.nf_conntrack_tcp_loose"
        case .nf_conntrack_max: "net.netfilter.nf_conntrack_max"
        case .nf_conntrack_acct: "net.netfilter.nf_conntrack_acct"
        case .forwarding6: "net.ipv6.conf.all.forwarding"
        case .hop_limit6: "net.ipv6.conf.all.hop_limit"
        case .disable_ipv6: "net.ipv6.conf.all.disable_ipv6"
        case .icmpv6_time: "net.ipv6.icmp.ratelimit"
        case .icmpv6_echo_ignore_all: "net.ipv6.icmp.echo_ignore_all"
        case .max_hbh_opts_number: "net.ipv6.max_hbh_opts_number"
        case .max_dst_opts_number: "net.ipv6.max_dst_opts_number"
        case .ip6frag_time: "net.ipv6.ip6frag_time"
        case .ip6frag_high_thresh: "net.ipv6.ip6frag_high_thresh"
        case .ip6frag_low_thresh: "net.ipv6.ip6frag_low_thresh"
        case .accept_ra: "net.ipv6.conf.all.accept_ra"
        case .autoconf6: "net.ipv6.conf.all.autoconf"
        case .tcp_rmem_min: "net.ipv4.tcp_rmem[0]"
        case .tcp_rmem_default: "net.ipv4.tcp_rmem[1]"
        case .tcp_rmem_max: "net.ipv4.tcp_rmem[2]"
        case .somaxconn: "net.core.somaxconn"
        case .ip_nonlocal_bind: "net.ipv4.ip_nonlocal_bind"
        case .ping_group_range_min: "net.ipv4.ping_group_range[0]"
        case .ping_group_range_max: "net.ipv4.ping_group_range[1]"
        case .ip6_nonlocal_bind: "net.ipv6.ip_nonlocal_bind"
        case .tcp_timestamps: "net.ipv4.tcp_timestamps"
        case .tcp_sack: "net.ipv4.tcp_sack"
        case .tcp_syn_retries: "net.ipv4.tcp_syn_retries"
        case .ip_rt_mtu_expires: "net.ipv4.route.mtu_expires"
        case .ip_rt_min_pmtu: "net.ipv4.route.min_pmtu"
        case .ip6_rt_mtu_expires: "net.ipv6.route.mtu_expires"
        case .tcp_fin_timeout: "net.ipv4.tcp_fin_timeout"
        case .accept_redirects6: "net.ipv6.conf.all.accept_redirects"
        }
    }

    public var defaultValue: Int {
        switch self {
        case .ip_forward: 0
        case .ip_default_ttl: 64
        case .ipfrag_time: 30
        case .ipfrag_high_thresh: 4 * 1024 * 1024
        case .ipfrag_low_thresh: 3 * 1024 * 1024
        case .ipfrag_max_dist: 64
        case .netdev_max_backlog: 1000
        case .netdev_budget: 300
        case .netdev_budget_usecs: 2000
        case .dev_weight: 64
        case .rmem_default: 212_992
        // As the kernel of these machines has them (older kernels: 212992).
        case .rmem_max, .wmem_max: 4_194_304
        case .wmem_default: 212_992
        case .rps_sock_flow_entries: 0
        case .flow_limit_cpu_bitmap: 0
        case .flow_limit_table_len: 4096
        case .icmp_ratelimit: 1000
        case .icmp_ratemask: 6168
        case .icmp_msgs_per_sec: 1000
        case .icmp_msgs_burst: 50
        case .icmp_echo_ignore_broadcasts: 1
        case .send_redirects: 1
        case .accept_redirects, .secure_redirects, .shared_media: 1
        case .nf_conntrack_tcp_loose: 1
        case .nf_conntrack_max: 262_144
        case .nf_conntrack_acct: 0
        case .forwarding6: 0
        case .hop_limit6: 64
        case .disable_ipv6: 0
        case .icmpv6_time: 1000
        case .icmpv6_echo_ignore_all: 0
        case .max_hbh_opts_number, .max_dst_opts_number: 8
        case .ip6frag_time: 60
        case .ip6frag_high_thresh: 4 * 1024 * 1024
        case .ip6frag_low_thresh: 3 * 1024 * 1024
        case .accept_ra, .autoconf6: 1
        case .tcp_rmem_min: 4096
        case .tcp_rmem_default: 131_072
        case .tcp_rmem_max: 6_291_456
        case .somaxconn: 4096
        case .ip_nonlocal_bind, .ip6_nonlocal_bind: 0
        case .ping_group_range_min: 1
        case .ping_group_range_max: 0
        case .tcp_timestamps, .tcp_sack: 1
        case .tcp_syn_retries: 6
        case .ip_rt_mtu_expires, .ip6_rt_mtu_expires: 600
        case .ip_rt_min_pmtu: 552
        case .tcp_fin_timeout: 60   // TCP_FIN_TIMEOUT (= TCP_TIMEWAIT_LEN)
        case .accept_redirects6: 1
        }
    }

    public var range: ClosedRange<Int> {
        switch self {
        case .ip_forward, .icmp_echo_ignore_broadcasts, .send_redirects, .nf_conntrack_tcp_loose, .nf_conntrack_acct, .ip_nonlocal_bind, .ip6_nonlocal_bind: 0...1
        case .accept_redirects, .secure_redirects, .shared_media: 0...1
        case .forwarding6, .disable_ipv6, .icmpv6_echo_ignore_all, .autoconf6: 0...1
        case .accept_ra: 0...2
        case .hop_limit6: 1...255
        case .icmpv6_time: 0...(1 << 30)
        // Negative: unknown options are dropped silently (ip6_parse_tlv's disallow_unknowns).
        case .max_hbh_opts_number, .max_dst_opts_number: -255...255
        case .ip_default_ttl: 1...255
        case .ipfrag_time, .ip6frag_time: 1...3600
        case .ip6frag_high_thresh, .ip6frag_low_thresh: 0...(1 << 30)
        case .ipfrag_high_thresh, .ipfrag_low_thresh: 0...(1 << 30)
        case .ipfrag_max_dist: 0...(1 << 20)
        case .netdev_max_backlog: 1...1_000_000
        case .netdev_budget: 1...100_000
        case .netdev_budget_usecs: 1...10_000_000
        case .dev_weight: 1...10_000
        case .rmem_default, .rmem_max, .wmem_default, .wmem_max: 256...(1 << 30)
        case .rps_sock_flow_entries: 0...(1 << 20)
        case .flow_limit_table_len: 1...(1 << 20)
        case .flow_limit_cpu_bitmap: 0...Int(UInt32.max)
        case .icmp_ratelimit, .icmp_ratemask: 0...(1 << 30)
        case .icmp_msgs_per_sec, .icmp_msgs_burst: 0...Int(Int32.max)
        case .nf_conntrack_max: 1...(1 << 24)
        case .tcp_rmem_min, .tcp_rmem_default, .tcp_rmem_max: 1...Int(Int32.max)
        case .somaxconn: 0...Int(Int32.max)
        case .ping_group_range_min, .ping_group_range_max: 0...Int(Int32.max)
        case .tcp_sack: 0...1
        case .tcp_syn_retries: 1...127   // MAX_TCP_SYNCNT
        case .ip_rt_mtu_expires, .ip6_rt_mtu_expires: 0...(1 << 22)
        case .ip_rt_min_pmtu: 68...65535   // IPV4_MIN_MTU..IP_MAX_MTU
        case .tcp_fin_timeout: 0...(Int(Int32.max) / 1000)   // proc_dointvec_jiffies
        case .accept_redirects6: 0...1
        // 2: timestamps without the random per-connection offset (tsoffset 0).
        case .tcp_timestamps: 0...2
        }
    }

    static let byName: [String: Sysctl] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.name, $0) })
    public init?(name: String) {
        guard let s = Sysctl.byName[name] else { return nil }
        self = s
    }
}

/// A stack's sysctls as typed values: read by enum, never by string, so a misspelt name is a
/// compile error rather than a silent 0. Fixed when the stack is built.
public struct NetSysctls: Sendable, Equatable {
    private var values: [Int] = Sysctl.allCases.map(\.defaultValue)

    @inline(__always) public subscript(_ s: Sysctl) -> Int { values[s.rawValue] }

    /// The defaults with `overrides` (Linux names) applied; an unknown name or a value out of
    /// range is refused with the path of the offending key.
    public init(overrides: [String: Int] = [:]) throws(ConfigError) {
        for (k, v) in overrides {
            guard let s = Sysctl(name: k) else { throw ConfigError(path: "/sysctls/\(k)", message: "unknown sysctl \(k) (not modelled)") }
            guard s.range.contains(v) else { throw ConfigError(path: "/sysctls/\(k)", message: "must be \(s.range.lowerBound)...\(s.range.upperBound)") }
            values[s.rawValue] = v
        }
        // As in net/ipv4/ip_fragment.c's sysctl table: low_thresh is bounded by high_thresh.
        // Since Linux 4.17 low_thresh has no other effect (no evictor), so the model reads only high.
        guard self[.ipfrag_low_thresh] <= self[.ipfrag_high_thresh] else {
            let path = overrides[Sysctl.ipfrag_low_thresh.name] != nil ? Sysctl.ipfrag_low_thresh.name : Sysctl.ipfrag_high_thresh.name
            throw ConfigError(path: "/sysctls/\(path)", message: "net.ipv4.ipfrag_low_thresh must not exceed net.ipv4.ipfrag_high_thresh")
        }
        guard self[.ip6frag_low_thresh] <= self[.ip6frag_high_thresh] else {
            let path = overrides[Sysctl.ip6frag_low_thresh.name] != nil ? Sysctl.ip6frag_low_thresh.name : Sysctl.ip6frag_high_thresh.name
            throw ConfigError(path: "/sysctls/\(path)", message: "net.ipv6.ip6frag_low_thresh must not exceed net.ipv6.ip6frag_high_thresh")
        }
    }
}
