/// Per-device counters with the names `ip -s link` and `/sys/class/net/*/statistics` use.
public struct DeviceStats: Sendable, Equatable, Codable {
    public var rx_packets = 0
    public var rx_bytes = 0
    public var rx_errors = 0
    public var rx_dropped = 0
    public var rx_missed_errors = 0
    public var rx_length_errors = 0
    public var rx_otherhost_dropped = 0
    public var rx_nohandler = 0
    public var multicast = 0
    public var tx_packets = 0
    public var tx_bytes = 0
    public var tx_dropped = 0
    /// Interrupts raised by the device's RX queues (after coalescing).
    public var rx_interrupts = 0
    /// Segments GRO merged into an earlier one, and their payload bytes (as mlx5's ethtool -S names them).
    public var rx_gro_packets = 0
    public var rx_gro_bytes = 0
}

/// SNMP MIB counters as `/proc/net/snmp` names them.
public struct SNMPStats: Sendable, Equatable, Codable {
    public var ip = IP()
    public var udp = UDP()
    public var tcp = TCP()
    /// The TcpExt counters of /proc/net/netstat the model moves (nstat's TcpExt* names without the prefix).
    public var tcpExt = TCPExt()
    public var icmp = ICMP()
    /// /proc/net/snmp6: Ip6*, Icmp6*, Udp6* (names without the prefix).
    public var ip6 = IP6()
    public var icmp6 = ICMP6()
    public var udp6 = UDP()

    public struct IP6: Sendable, Equatable, Codable {
        public var InReceives = 0, InHdrErrors = 0, InTooBigErrors = 0, InNoRoutes = 0, InAddrErrors = 0
        public var InUnknownProtos = 0, InTruncatedPkts = 0, InDiscards = 0, InDelivers = 0, OutForwDatagrams = 0
        public var OutRequests = 0, OutDiscards = 0, OutNoRoutes = 0, ReasmReqds = 0, ReasmOKs = 0, ReasmFails = 0, ReasmTimeout = 0
        public var FragOKs = 0, FragFails = 0, FragCreates = 0, InMcastPkts = 0, OutMcastPkts = 0
        public init() {}
        /// Checkpoints from before OutDiscards was kept lack it.
        public init(from d: Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            func n(_ k: CodingKeys) throws -> Int { try c.decodeIfPresent(Int.self, forKey: k) ?? 0 }
            InReceives = try n(.InReceives); InHdrErrors = try n(.InHdrErrors); InTooBigErrors = try n(.InTooBigErrors)
            InNoRoutes = try n(.InNoRoutes); InAddrErrors = try n(.InAddrErrors); InUnknownProtos = try n(.InUnknownProtos)
            InTruncatedPkts = try n(.InTruncatedPkts); InDiscards = try n(.InDiscards); InDelivers = try n(.InDelivers)
            OutForwDatagrams = try n(.OutForwDatagrams); OutRequests = try n(.OutRequests); OutDiscards = try n(.OutDiscards)
            OutNoRoutes = try n(.OutNoRoutes); ReasmReqds = try n(.ReasmReqds); ReasmOKs = try n(.ReasmOKs); ReasmFails = try n(.ReasmFails)
            ReasmTimeout = try n(.ReasmTimeout); FragOKs = try n(.FragOKs); FragFails = try n(.FragFails); FragCreates = try n(.FragCreates)
            InMcastPkts = try n(.InMcastPkts); OutMcastPkts = try n(.OutMcastPkts)
        }
    }
    /// The IPv6 counters as /proc/net/snmp6 names them (Ip6InReceives, Icmp6InType128, Udp6NoPorts...), in its order.
    public var snmp6: [(name: String, value: Int)] {
        func fields(_ prefix: String, _ v: Any) -> [(name: String, value: Int)] {
            Mirror(reflecting: v).children.compactMap { c in (c.value as? Int).map { (prefix + (c.label ?? ""), $0) } }
        }
        // snmp6_seq_show_icmpv6msg: the named types always (the deprecated names), then each type that moved.
        let named = SNMPStats.icmp6type2name.map { ("Icmp6In" + $0.name, icmp6.InType[$0.type] ?? 0) }
            + SNMPStats.icmp6type2name.map { ("Icmp6Out" + $0.name, icmp6.OutType[$0.type] ?? 0) }
        return fields("Ip6", ip6) + fields("Icmp6", icmp6) + named
            + icmp6.InType.sorted { $0.key < $1.key }.map { ("Icmp6InType\($0.key)", $0.value) }
            + icmp6.OutType.sorted { $0.key < $1.key }.map { ("Icmp6OutType\($0.key)", $0.value) }
            + fields("Udp6", udp6)
    }

    /// net/ipv6/proc.c's icmp6type2name, by type.
    static let icmp6type2name: [(type: Int, name: String)] = [
        (1, "DestUnreachs"), (2, "PktTooBigs"), (3, "TimeExcds"), (4, "ParmProblems"), (128, "Echos"), (129, "EchoReplies"),
        (130, "GroupMembQueries"), (131, "GroupMembResponses"), (132, "GroupMembReductions"), (133, "RouterSolicits"),
        (134, "RouterAdvertisements"), (135, "NeighborSolicits"), (136, "NeighborAdvertisements"), (137, "Redirects"), (143, "MLDv2Reports"),
    ]

    public struct ICMP6: Sendable, Equatable, Codable {
        public var InMsgs = 0, InErrors = 0, InCsumErrors = 0, OutMsgs = 0, OutErrors = 0, OutRateLimitHost = 0
        /// Icmp6InType128 and the like: messages in and out by type.
        public var InType: [Int: Int] = [:], OutType: [Int: Int] = [:]
        public init() {}
        /// Checkpoints from before the counter took the kernel's name call OutRateLimitHost RateLimitHost.
        public init(from d: Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            InMsgs = try c.decode(Int.self, forKey: .InMsgs); InErrors = try c.decode(Int.self, forKey: .InErrors)
            InCsumErrors = try c.decode(Int.self, forKey: .InCsumErrors); OutMsgs = try c.decode(Int.self, forKey: .OutMsgs)
            OutErrors = try c.decode(Int.self, forKey: .OutErrors)
            OutRateLimitHost = try c.decodeIfPresent(Int.self, forKey: .OutRateLimitHost) ?? SNMPStats.legacyRateLimitHost(d)
            InType = try c.decode([Int: Int].self, forKey: .InType); OutType = try c.decode([Int: Int].self, forKey: .OutType)
        }
    }

    public struct IP: Sendable, Equatable, Codable {
        public var InReceives = 0, InHdrErrors = 0, InAddrErrors = 0, InUnknownProtos = 0
        public var InDiscards = 0, InDelivers = 0, InTruncatedPkts = 0, InCsumErrors = 0
        public var ReasmReqds = 0, ReasmOKs = 0, ReasmFails = 0, ReasmTimeout = 0, ReasmOverlaps = 0, ForwDatagrams = 0
        public var InNoRoutes = 0, FragOKs = 0, FragFails = 0, FragCreates = 0
        public var OutRequests = 0, OutDiscards = 0, OutNoRoutes = 0
        public init() {}
        /// Checkpoints from before OutDiscards was kept lack it.
        public init(from d: Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            func n(_ k: CodingKeys) throws -> Int { try c.decodeIfPresent(Int.self, forKey: k) ?? 0 }
            InReceives = try n(.InReceives); InHdrErrors = try n(.InHdrErrors); InAddrErrors = try n(.InAddrErrors)
            InUnknownProtos = try n(.InUnknownProtos); InDiscards = try n(.InDiscards); InDelivers = try n(.InDelivers)
            InTruncatedPkts = try n(.InTruncatedPkts); InCsumErrors = try n(.InCsumErrors); ReasmReqds = try n(.ReasmReqds)
            ReasmOKs = try n(.ReasmOKs); ReasmFails = try n(.ReasmFails); ReasmTimeout = try n(.ReasmTimeout)
            ReasmOverlaps = try n(.ReasmOverlaps); ForwDatagrams = try n(.ForwDatagrams); InNoRoutes = try n(.InNoRoutes)
            FragOKs = try n(.FragOKs); FragFails = try n(.FragFails); FragCreates = try n(.FragCreates)
            OutRequests = try n(.OutRequests); OutDiscards = try n(.OutDiscards); OutNoRoutes = try n(.OutNoRoutes)
        }
    }
    public struct UDP: Sendable, Equatable, Codable {
        public var InDatagrams = 0, NoPorts = 0, InErrors = 0, OutDatagrams = 0, RcvbufErrors = 0, SndbufErrors = 0, InCsumErrors = 0, IgnoredMulti = 0
    }
    public struct TCP: Sendable, Equatable, Codable {
        public var ActiveOpens = 0, PassiveOpens = 0, AttemptFails = 0, EstabResets = 0
        public var InSegs = 0, OutSegs = 0, RetransSegs = 0, InErrs = 0, InCsumErrors = 0, OutRsts = 0
    }
    /// TcpExt (LINUX_MIB_*): a SYN or handshake ACK a full accept queue turned away
    /// (ListenOverflows, and ListenDrops with it), ICMP errors quoting a sequence outside the window
    /// (OutOfWindowIcmps), retransmission timeouts (TCPTimeouts), SYNs sent again (TCPSynRetrans),
    /// connections given up after them (TCPAbortOnTimeout).
    public struct TCPExt: Sendable, Equatable, Codable {
        public var ListenOverflows = 0, ListenDrops = 0, OutOfWindowIcmps = 0
        public var TCPTimeouts = 0, TCPSynRetrans = 0, TCPAbortOnTimeout = 0, DelayedACKs = 0
        /// A handshake ACK echoing a timestamp the request sock never sent (TSEcrRejected), and the
        /// ACKs it then did not send for the rate limit (TCPACKSkippedSynRecv).
        public var TSEcrRejected = 0, TCPACKSkippedSynRecv = 0
        public init() {}
        /// Checkpoints from before DelayedACKs (or TSEcrRejected) was kept lack it.
        public init(from d: Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            func n(_ k: CodingKeys) throws -> Int { try c.decodeIfPresent(Int.self, forKey: k) ?? 0 }
            ListenOverflows = try n(.ListenOverflows); ListenDrops = try n(.ListenDrops); OutOfWindowIcmps = try n(.OutOfWindowIcmps)
            TCPTimeouts = try n(.TCPTimeouts); TCPSynRetrans = try n(.TCPSynRetrans); TCPAbortOnTimeout = try n(.TCPAbortOnTimeout)
            DelayedACKs = try n(.DelayedACKs); TSEcrRejected = try n(.TSEcrRejected); TCPACKSkippedSynRecv = try n(.TCPACKSkippedSynRecv)
        }
    }
    /// The Icmp line of /proc/net/snmp in its order, and the IcmpMsg line (InTypeN/OutTypeN). As in
    /// the kernel, the per-type In*/Out* counters move with the IcmpMsg ones (`countIn`, `countOut`).
    public struct ICMP: Sendable, Equatable, Codable {
        public var InMsgs = 0, InErrors = 0, InCsumErrors = 0
        public var InDestUnreachs = 0, InTimeExcds = 0, InParmProbs = 0, InSrcQuenchs = 0, InRedirects = 0
        public var InEchos = 0, InEchoReps = 0, InTimestamps = 0, InTimestampReps = 0, InAddrMasks = 0, InAddrMaskReps = 0
        public var OutMsgs = 0, OutErrors = 0, OutRateLimitGlobal = 0, OutRateLimitHost = 0
        public var OutDestUnreachs = 0, OutTimeExcds = 0, OutParmProbs = 0, OutSrcQuenchs = 0, OutRedirects = 0
        public var OutEchos = 0, OutEchoReps = 0, OutTimestamps = 0, OutTimestampReps = 0, OutAddrMasks = 0, OutAddrMaskReps = 0
        /// IcmpMsg InType3 and the like: messages in and out by type.
        public var InType: [Int: Int] = [:], OutType: [Int: Int] = [:]
        public init() {}

        /// ICMPMSGIN_INC_STATS: a message of `type` came in.
        public mutating func countIn(_ type: UInt8) {
            InType[Int(type), default: 0] += 1
            if let k = ICMP.inByType[type] { self[keyPath: k] += 1 }
        }

        /// ICMPMSGOUT_INC_STATS: a message counted as `type` went out.
        public mutating func countOut(_ type: UInt8) {
            OutType[Int(type), default: 0] += 1
            if let k = ICMP.outByType[type] { self[keyPath: k] += 1 }
        }

        /// The Icmp counters the kernel derives from the IcmpMsg ones, by type.
        static let inByType: [UInt8: WritableKeyPath<ICMP, Int> & Sendable] = [
            0: \.InEchoReps, 3: \.InDestUnreachs, 4: \.InSrcQuenchs, 5: \.InRedirects, 8: \.InEchos, 11: \.InTimeExcds,
            12: \.InParmProbs, 13: \.InTimestamps, 14: \.InTimestampReps, 17: \.InAddrMasks, 18: \.InAddrMaskReps,
        ]
        static let outByType: [UInt8: WritableKeyPath<ICMP, Int> & Sendable] = [
            0: \.OutEchoReps, 3: \.OutDestUnreachs, 4: \.OutSrcQuenchs, 5: \.OutRedirects, 8: \.OutEchos, 11: \.OutTimeExcds,
            12: \.OutParmProbs, 13: \.OutTimestamps, 14: \.OutTimestampReps, 17: \.OutAddrMasks, 18: \.OutAddrMaskReps,
        ]

        /// The IcmpMsg line of /proc/net/snmp: InTypeN then OutTypeN, types in order, only those seen.
        public var icmpMsg: [(name: String, value: Int)] {
            InType.sorted { $0.key < $1.key }.map { ("InType\($0.key)", $0.value) } + OutType.sorted { $0.key < $1.key }.map { ("OutType\($0.key)", $0.value) }
        }

        /// Checkpoints from before the host-wide limit have no OutRateLimitGlobal and call OutRateLimitHost
        /// RateLimitHost; older ones still lack the per-type counters and IcmpMsg (they read as zero).
        public init(from d: Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            func n(_ k: CodingKeys) throws -> Int { try c.decodeIfPresent(Int.self, forKey: k) ?? 0 }
            InMsgs = try n(.InMsgs); InErrors = try n(.InErrors); InCsumErrors = try n(.InCsumErrors)
            InDestUnreachs = try n(.InDestUnreachs); InTimeExcds = try n(.InTimeExcds); InParmProbs = try n(.InParmProbs)
            InSrcQuenchs = try n(.InSrcQuenchs); InRedirects = try n(.InRedirects); InEchos = try n(.InEchos)
            InEchoReps = try n(.InEchoReps); InTimestamps = try n(.InTimestamps); InTimestampReps = try n(.InTimestampReps)
            InAddrMasks = try n(.InAddrMasks); InAddrMaskReps = try n(.InAddrMaskReps)
            OutMsgs = try n(.OutMsgs); OutErrors = try n(.OutErrors); OutRateLimitGlobal = try n(.OutRateLimitGlobal)
            OutRateLimitHost = try c.decodeIfPresent(Int.self, forKey: .OutRateLimitHost) ?? SNMPStats.legacyRateLimitHost(d)
            OutDestUnreachs = try n(.OutDestUnreachs); OutTimeExcds = try n(.OutTimeExcds); OutParmProbs = try n(.OutParmProbs)
            OutSrcQuenchs = try n(.OutSrcQuenchs); OutRedirects = try n(.OutRedirects); OutEchos = try n(.OutEchos)
            OutEchoReps = try n(.OutEchoReps); OutTimestamps = try n(.OutTimestamps); OutTimestampReps = try n(.OutTimestampReps)
            OutAddrMasks = try n(.OutAddrMasks); OutAddrMaskReps = try n(.OutAddrMaskReps)
            InType = try c.decodeIfPresent([Int: Int].self, forKey: .InType) ?? [:]
            OutType = try c.decodeIfPresent([Int: Int].self, forKey: .OutType) ?? [:]
        }
    }
}

extension SNMPStats {
    /// Checkpoints from before TcpExt was kept lack it.
    public init(from d: Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        ip = try c.decode(IP.self, forKey: .ip); udp = try c.decode(UDP.self, forKey: .udp); tcp = try c.decode(TCP.self, forKey: .tcp)
        tcpExt = try c.decodeIfPresent(TCPExt.self, forKey: .tcpExt) ?? TCPExt()
        icmp = try c.decode(ICMP.self, forKey: .icmp); ip6 = try c.decode(IP6.self, forKey: .ip6)
        icmp6 = try c.decode(ICMP6.self, forKey: .icmp6); udp6 = try c.decode(UDP.self, forKey: .udp6)
    }
    private enum LegacyKeys: String, CodingKey { case RateLimitHost }
    /// OutRateLimitHost under the name checkpoints gave it before it took the kernel's.
    static func legacyRateLimitHost(_ d: Decoder) throws -> Int {
        try d.container(keyedBy: LegacyKeys.self).decode(Int.self, forKey: .RateLimitHost)
    }
}
