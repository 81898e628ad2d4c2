/// A header field nft reads at a fixed place (a `payload` expression): its bit offset and length
/// from the network or transport header, and the transport protocol it implies.
public struct NFPayloadField: Sendable, Equatable {
    /// `inner` (`@ih`): what follows a TCP or UDP header (NFT_PAYLOAD_INNER_HEADER).
    public enum Base: Sendable { case link, network, transport, inner }
    public var base: Base
    public var bitOffset: Int
    public var bitLength: Int
    /// The transport protocol (meta l4proto) nft adds as the rule's dependency, if any.
    public var l4proto: UInt8?
    /// An IPv6 header field (nft's `meta nfproto ipv6` dependency in inet tables).
    public var ipv6 = false
    /// An ARP header field (its dependency: the frame is ARP).
    public var arp = false
}

/// What a match reads from the packet or its metadata: `ip saddr`, `sctp vtag`, `meta mark`,
/// `ct state`. An integer identity (so the packet path switches on an Int) into one table that
/// holds each one's name, width and, for header fields, where it lives.
public struct NFSelector: Hashable, Sendable, CustomStringConvertible {
    public let id: Int
    @usableFromInline init(_ id: Int) { self.id = id }

    struct Entry {
        var name: String
        var bits: Int
        var payload: NFPayloadField?
        /// A TCP option field (`tcp option sack left`); bitLength 0 reads whether the option is there.
        var tcpOption: (kind: UInt8, bitOffset: Int, bitLength: Int)? = nil
        /// An SCTP chunk field (`sctp chunk data stream`), likewise.
        var sctpChunk: (kind: UInt8, bitOffset: Int, bitLength: Int)? = nil
        /// An IPv6 extension header field (`rt type`, `frag frag-off`); bitLength 0: `exthdr X` presence.
        var exthdr: (kind: UInt8, bitOffset: Int, bitLength: Int)? = nil
        /// An IPv4 header option field (`ip option lsrr addr`); bitLength 0: `ip option X` presence.
        var ipOption: (kind: UInt8, bitOffset: Int, bitLength: Int)? = nil
        /// How values print: numbers, addresses, or names from a table.
        var kind: ValueKind = .integer
    }
    enum ValueKind { case integer, hex, ipv4, ipv6, mac, name }

    public init?(rawValue: String) {
        if rawValue.hasPrefix("@") {
            guard let f = NFSelector.rawField(rawValue) else { return nil }
            self = NFSelector.raw(f)
            return
        }
        guard let i = NFSelector.byName[rawValue] else { return nil }
        self.init(i)
    }
    public var rawValue: String {
        guard let f = rawField else { return NFSelector.table[id].name }
        let base = switch f.base { case .link: "ll"; case .network: "nh"; case .transport: "th"; case .inner: "ih" }
        return "@\(base),\(f.bitOffset),\(f.bitLength)"
    }
    public var description: String { rawValue }
    /// The header field a payload selector reads (nil for meta and ct keys).
    public var payload: NFPayloadField? { id < NFSelector.rawBase ? NFSelector.payloads[id] : rawField }
    public var isAddress: Bool { id < NFSelector.rawBase && NFSelector.kinds[id] == .ipv4 }
    public var isAddress6: Bool { id < NFSelector.rawBase && NFSelector.kinds[id] == .ipv6 }

    /// Raw payload bits as a key part (`ip saddr . @ih,32,32`): selectors past the table's, the
    /// field in the id (base, bit offset, bit length), printed in hex; wider than 64 bits they are
    /// read and matched as 128-bit values, as IPv6 addresses are.
    static let rawBase = 1 << 48
    public static func raw(_ f: NFPayloadField) -> NFSelector {
        let b = switch f.base { case .link: 0; case .network: 1; case .transport: 2; case .inner: 3 }
        return NFSelector(rawBase | b << 40 | f.bitOffset << 16 | f.bitLength)
    }
    public var rawField: NFPayloadField? {
        guard id >= NFSelector.rawBase else { return nil }
        let base: NFPayloadField.Base = switch id >> 40 & 3 { case 0: .link; case 1: .network; case 2: .transport; default: .inner }
        return NFPayloadField(base: base, bitOffset: id >> 16 & 0xff_ffff, bitLength: id & 0xffff, l4proto: nil)
    }
    /// `@th,160,128` as nft writes it (offset below 2^16 bits, 1 to 128 bits).
    static func rawField(_ text: String) -> NFPayloadField? {
        let parts = text.dropFirst().split(separator: ",", omittingEmptySubsequences: false)
        let bases: [Substring: NFPayloadField.Base] = ["ll": .link, "nh": .network, "th": .transport, "ih": .inner]
        guard parts.count == 3, let base = bases[parts[0]], let off = Int(parts[1]), let len = Int(parts[2]),
              (0..<65536).contains(off), (1...128).contains(len) else { return nil }
        return NFPayloadField(base: base, bitOffset: off, bitLength: len, l4proto: nil)
    }
    /// Raw bits wider than a 64-bit value.
    public var isWide: Bool { (rawField?.bitLength ?? 0) > 64 }
    /// A field of the IPv6 header (its rules carry `meta nfproto ipv6`: IPv4 packets never match them).
    public var isIPv6Field: Bool { payload?.ipv6 ?? false }
    /// The ether type of the network protocol a field is part of or rides on alone (IPv4 for ip,
    /// icmp and igmp fields, IPv6 for ip6, extension header and icmpv6 ones, ARP); nil for others.
    public var networkProtocol: UInt64? {
        let n = rawValue
        if n.hasPrefix("ip ") || n.hasPrefix("icmp ") || n.hasPrefix("igmp ") { return 0x0800 }
        if isIPv6Field || n.hasPrefix("icmpv6 ") { return 0x86dd }
        if n.hasPrefix("arp ") { return 0x0806 }
        return nil
    }
    public var isMAC: Bool { id < NFSelector.rawBase && NFSelector.kinds[id] == .mac }
    /// A port field, whose values may be service names (`ssh`).
    public var isPort: Bool { let n = rawValue; return n.hasSuffix(" sport") || n.hasSuffix(" dport") }
    /// Printed in hex (`comp flags 0x33`), as nft's bitmask types are.
    public var isHex: Bool { id >= NFSelector.rawBase || NFSelector.kinds[id] == .hex }

    /// The L4 protocol a payload selector implies (`tcp dport` matches TCP packets only).
    public var impliedProtocol: UInt8? { tcpOption != nil ? 6 : sctpChunk != nil ? 132 : payload?.l4proto }
    /// Flag types, where a bare list means "any of these bits".
    public var isFlags: Bool { self == .ctState || self == .ctStatus || self == .tcpFlags }
    /// The largest value the field holds (nft refuses a bigger constant).
    public var maxValue: UInt64 {
        let b = NFSelector.bitWidth(self)
        return b >= 64 ? .max : (1 << UInt64(b)) - 1
    }
    /// How `nft` prints it (meta keys that print without `meta`).
    public var printed: String {
        switch self {
        case .iif: "iif"
        case .oif: "oif"
        case .iifname: "iifname"
        case .oifname: "oifname"
        case .iifgroup: "iifgroup"
        case .oifgroup: "oifgroup"
        default: rawValue
        }
    }

    // The selectors the engine reads by name; their order is their id. Computed and inlinable, so a
    // `switch` over them compares integers (static stored properties would cost a once-check each).
    @inlinable public static var ipSaddr: NFSelector { NFSelector(0) }
    @inlinable public static var ipDaddr: NFSelector { NFSelector(1) }
    @inlinable public static var ipProtocol: NFSelector { NFSelector(2) }
    @inlinable public static var ipTTL: NFSelector { NFSelector(3) }
    @inlinable public static var ipLength: NFSelector { NFSelector(4) }
    @inlinable public static var ipFragOff: NFSelector { NFSelector(5) }
    @inlinable public static var ipID: NFSelector { NFSelector(6) }
    @inlinable public static var ipDSCP: NFSelector { NFSelector(7) }
    @inlinable public static var ipVersion: NFSelector { NFSelector(8) }
    @inlinable public static var ipHdrLength: NFSelector { NFSelector(9) }
    @inlinable public static var tcpSport: NFSelector { NFSelector(10) }
    @inlinable public static var tcpDport: NFSelector { NFSelector(11) }
    @inlinable public static var tcpFlags: NFSelector { NFSelector(12) }
    @inlinable public static var tcpSeq: NFSelector { NFSelector(13) }
    @inlinable public static var tcpAck: NFSelector { NFSelector(14) }
    @inlinable public static var tcpWindow: NFSelector { NFSelector(15) }
    @inlinable public static var udpSport: NFSelector { NFSelector(16) }
    @inlinable public static var udpDport: NFSelector { NFSelector(17) }
    @inlinable public static var udpLength: NFSelector { NFSelector(18) }
    @inlinable public static var thSport: NFSelector { NFSelector(19) }
    @inlinable public static var thDport: NFSelector { NFSelector(20) }
    @inlinable public static var icmpType: NFSelector { NFSelector(21) }
    @inlinable public static var icmpCode: NFSelector { NFSelector(22) }
    @inlinable public static var icmpID: NFSelector { NFSelector(23) }
    @inlinable public static var icmpSeq: NFSelector { NFSelector(24) }
    @inlinable public static var iif: NFSelector { NFSelector(25) }
    @inlinable public static var oif: NFSelector { NFSelector(26) }
    @inlinable public static var iifname: NFSelector { NFSelector(27) }
    @inlinable public static var oifname: NFSelector { NFSelector(28) }
    @inlinable public static var l4proto: NFSelector { NFSelector(29) }
    @inlinable public static var mark: NFSelector { NFSelector(30) }
    @inlinable public static var length: NFSelector { NFSelector(31) }
    @inlinable public static var pkttype: NFSelector { NFSelector(32) }
    @inlinable public static var nfproto: NFSelector { NFSelector(33) }
    @inlinable public static var ctState: NFSelector { NFSelector(34) }
    @inlinable public static var ctStatus: NFSelector { NFSelector(35) }
    @inlinable public static var ctMark: NFSelector { NFSelector(36) }
    @inlinable public static var ctDirection: NFSelector { NFSelector(37) }
    @inlinable public static var cpu: NFSelector { NFSelector(38) }
    @inlinable public static var iifgroup: NFSelector { NFSelector(39) }
    @inlinable public static var oifgroup: NFSelector { NFSelector(40) }
    @inlinable public static var iiftype: NFSelector { NFSelector(41) }
    @inlinable public static var oiftype: NFSelector { NFSelector(42) }
    @inlinable public static var skuid: NFSelector { NFSelector(43) }
    @inlinable public static var skgid: NFSelector { NFSelector(44) }
    @inlinable public static var cgroup: NFSelector { NFSelector(45) }
    @inlinable public static var metaProtocol: NFSelector { NFSelector(46) }
    @inlinable public static var priority: NFSelector { NFSelector(47) }
    @inlinable public static var random: NFSelector { NFSelector(48) }
    @inlinable public static var time: NFSelector { NFSelector(49) }
    @inlinable public static var day: NFSelector { NFSelector(50) }
    @inlinable public static var hour: NFSelector { NFSelector(51) }
    @inlinable public static var ctOrigSaddr: NFSelector { NFSelector(52) }
    @inlinable public static var ctOrigDaddr: NFSelector { NFSelector(53) }
    @inlinable public static var ctReplySaddr: NFSelector { NFSelector(54) }
    @inlinable public static var ctReplyDaddr: NFSelector { NFSelector(55) }
    @inlinable public static var ctOrigProtoSrc: NFSelector { NFSelector(56) }
    @inlinable public static var ctOrigProtoDst: NFSelector { NFSelector(57) }
    @inlinable public static var ctReplyProtoSrc: NFSelector { NFSelector(58) }
    @inlinable public static var ctReplyProtoDst: NFSelector { NFSelector(59) }
    @inlinable public static var ctProtocol: NFSelector { NFSelector(60) }
    @inlinable public static var ctL3proto: NFSelector { NFSelector(61) }
    @inlinable public static var ctExpiration: NFSelector { NFSelector(62) }
    @inlinable public static var ctZone: NFSelector { NFSelector(63) }
    @inlinable public static var ctOrigZone: NFSelector { NFSelector(64) }
    @inlinable public static var ctReplyZone: NFSelector { NFSelector(65) }
    @inlinable public static var ctLabel: NFSelector { NFSelector(75) }
    @inlinable public static var ipECN: NFSelector { NFSelector(76) }
    /// The 128-bit keys the IPv6 path reads (their ids follow from the table's order).
    public static let ip6Saddr = NFSelector(rawValue: "ip6 saddr")!, ip6Daddr = NFSelector(rawValue: "ip6 daddr")!
    public static let ctOrigSaddr6 = NFSelector(rawValue: "ct original ip6 saddr")!, ctOrigDaddr6 = NFSelector(rawValue: "ct original ip6 daddr")!
    public static let ctReplySaddr6 = NFSelector(rawValue: "ct reply ip6 saddr")!, ctReplyDaddr6 = NFSelector(rawValue: "ct reply ip6 daddr")!
    /// Conntrack accounting keys (bytes, packets, avgpkt in any direction): ids 66...74.
    public var isCtAccounting: Bool { (66...74).contains(id) }

    static func field(_ name: String, _ base: NFPayloadField.Base, _ off: Int, _ len: Int, _ proto: UInt8?, _ kind: ValueKind = .integer) -> Entry {
        Entry(name: name, bits: len, payload: NFPayloadField(base: base, bitOffset: off, bitLength: len, l4proto: proto), kind: kind)
    }
    static func key(_ name: String, _ bits: Int) -> Entry { Entry(name: name, bits: bits) }
    /// A key of the packet's route (`rt ...`).
    /// (An id range, not a name test: the engine asks this on every read.)
    public var isRoute: Bool { NFSelector.routeIDs.contains(id) }
    static let routeIDs: ClosedRange<Int> = {
        let ids = table.indices.filter { table[$0].name.hasPrefix("rt ") && table[$0].exthdr == nil }
        return ids.min()!...ids.max()!
    }()
    /// Bits of the value a selector reads (its register width).
    public static func bitWidth(_ s: NFSelector) -> Int { s.rawField?.bitLength ?? table[s.id].bits }
    static func field6(_ name: String, _ off: Int, _ len: Int, _ kind: ValueKind = .integer) -> Entry {
        Entry(name: name, bits: len, payload: NFPayloadField(base: .network, bitOffset: off, bitLength: len, l4proto: nil, ipv6: true), kind: kind)
    }

    /// nft's proto.c header templates (bit offsets from the header start) and meta/ct keys.
    static let table: [Entry] = [
        field("ip saddr", .network, 96, 32, nil, .ipv4), field("ip daddr", .network, 128, 32, nil, .ipv4),
        field("ip protocol", .network, 72, 8, nil, .name), field("ip ttl", .network, 64, 8, nil),
        field("ip length", .network, 16, 16, nil), field("ip frag-off", .network, 48, 16, nil), field("ip id", .network, 32, 16, nil),
        field("ip dscp", .network, 8, 6, nil, .name), field("ip version", .network, 0, 4, nil), field("ip hdrlength", .network, 4, 4, nil),
        field("tcp sport", .transport, 0, 16, 6), field("tcp dport", .transport, 16, 16, 6), field("tcp flags", .transport, 104, 8, 6),
        field("tcp sequence", .transport, 32, 32, 6), field("tcp ackseq", .transport, 64, 32, 6), field("tcp window", .transport, 112, 16, 6),
        field("udp sport", .transport, 0, 16, 17), field("udp dport", .transport, 16, 16, 17), field("udp length", .transport, 32, 16, 17),
        field("th sport", .transport, 0, 16, nil), field("th dport", .transport, 16, 16, nil),
        field("icmp type", .transport, 0, 8, 1, .name), field("icmp code", .transport, 8, 8, 1, .name),
        field("icmp id", .transport, 32, 16, 1), field("icmp sequence", .transport, 48, 16, 1),
        key("meta iif", 32), key("meta oif", 32), key("meta iifname", 128), key("meta oifname", 128),
        key("meta l4proto", 8), key("meta mark", 32), key("meta length", 32), key("meta pkttype", 8), key("meta nfproto", 8),
        key("ct state", 32), key("ct status", 32), key("ct mark", 32), key("ct direction", 8),
        // Meta keys with their own value syntax (names, dates, tc handles): see NFConstants.special.
        key("meta cpu", 32), key("meta iifgroup", 32), key("meta oifgroup", 32), key("meta iiftype", 16), key("meta oiftype", 16),
        key("meta skuid", 32), key("meta skgid", 32), key("meta cgroup", 32), key("meta protocol", 16), key("meta priority", 32),
        key("meta random", 32), key("meta time", 64), key("meta day", 8), key("meta hour", 32),
        // Conntrack keys (nft_ct): the tuples of either direction, the entry's expiry in ms, zones,
        // accounting, helper and labels.
        Entry(name: "ct original ip saddr", bits: 32, kind: .ipv4), Entry(name: "ct original ip daddr", bits: 32, kind: .ipv4),
        Entry(name: "ct reply ip saddr", bits: 32, kind: .ipv4), Entry(name: "ct reply ip daddr", bits: 32, kind: .ipv4),
        key("ct original proto-src", 16), key("ct original proto-dst", 16), key("ct reply proto-src", 16), key("ct reply proto-dst", 16),
        Entry(name: "ct protocol", bits: 8, kind: .name), Entry(name: "ct l3proto", bits: 8, kind: .name),
        key("ct expiration", 32), key("ct zone", 16), key("ct original zone", 16), key("ct reply zone", 16),
        key("ct bytes", 64), key("ct packets", 64), key("ct avgpkt", 64), key("ct original bytes", 64), key("ct original packets", 64),
        key("ct original avgpkt", 64), key("ct reply bytes", 64), key("ct reply packets", 64), key("ct reply avgpkt", 64),
        key("ct label", 7),
        // Header fields read generically from the table (offset, length), in nft's names.
        field("ip ecn", .network, 14, 2, nil), field("ip checksum", .network, 80, 16, nil),
        field("tcp doff", .transport, 96, 4, 6), field("tcp reserved", .transport, 100, 4, 6),
        field("tcp checksum", .transport, 128, 16, 6), field("tcp urgptr", .transport, 144, 16, 6),
        field("udp checksum", .transport, 48, 16, 17),
        field("udplite sport", .transport, 0, 16, 136), field("udplite dport", .transport, 16, 16, 136),
        field("udplite csumcov", .transport, 32, 16, 136), field("udplite checksum", .transport, 48, 16, 136),
        field("sctp sport", .transport, 0, 16, 132), field("sctp dport", .transport, 16, 16, 132),
        field("sctp vtag", .transport, 32, 32, 132), field("sctp checksum", .transport, 64, 32, 132),
        field("dccp sport", .transport, 0, 16, 33), field("dccp dport", .transport, 16, 16, 33), field("dccp type", .transport, 67, 4, 33, .name),
        field("ah nexthdr", .transport, 0, 8, 51, .name), field("ah hdrlength", .transport, 8, 8, 51), field("ah reserved", .transport, 16, 16, 51),
        field("ah spi", .transport, 32, 32, 51), field("ah sequence", .transport, 64, 32, 51),
        field("esp spi", .transport, 0, 32, 50), field("esp sequence", .transport, 32, 32, 50),
        field("comp nexthdr", .transport, 0, 8, 108, .name), field("comp flags", .transport, 8, 8, 108, .hex), field("comp cpi", .transport, 16, 16, 108),
        field("icmp checksum", .transport, 16, 16, 1), field("icmp gateway", .transport, 32, 32, 1), field("icmp mtu", .transport, 48, 16, 1),
        field("igmp type", .transport, 0, 8, 2, .name), field("igmp mrt", .transport, 8, 8, 2), field("igmp checksum", .transport, 16, 16, 2),
        field("igmp group", .transport, 32, 32, 2, .ipv4),
        field("ether daddr", .link, 0, 48, nil, .mac), field("ether saddr", .link, 48, 48, nil, .mac),
        field("ether type", .link, 96, 16, nil, .name),
        // IPv6 and ICMPv6 (nft's proto_ip6 and proto_icmp6 templates).
        field6("ip6 version", 0, 4), field6("ip6 dscp", 4, 6, .name), field6("ip6 ecn", 10, 2, .name), field6("ip6 flowlabel", 12, 20),
        field6("ip6 length", 32, 16), field6("ip6 nexthdr", 48, 8, .name), field6("ip6 hoplimit", 56, 8),
        field6("ip6 saddr", 64, 128, .ipv6), field6("ip6 daddr", 192, 128, .ipv6),
        field("icmpv6 type", .transport, 0, 8, 58, .name), field("icmpv6 code", .transport, 8, 8, 58, .name),
        field("icmpv6 checksum", .transport, 16, 16, 58), field("icmpv6 parameter-problem", .transport, 32, 32, 58),
        field("icmpv6 mtu", .transport, 32, 32, 58), field("icmpv6 id", .transport, 32, 16, 58), field("icmpv6 sequence", .transport, 48, 16, 58),
        field("icmpv6 max-delay", .transport, 32, 16, 58),
        // The packet's route (nft_rt): realm, next hop, the TCP MSS it allows, whether IPsec applies.
        Entry(name: "rt classid", bits: 32, kind: .name), Entry(name: "rt ip nexthop", bits: 32, kind: .ipv4),
        Entry(name: "rt ip6 nexthop", bits: 128, kind: .ipv6), key("rt mtu", 16), key("rt ipsec", 1),
        // The IPv6 tuples of the connection (after the keys above, whose ids are fixed).
        Entry(name: "ct original ip6 saddr", bits: 128, kind: .ipv6), Entry(name: "ct original ip6 daddr", bits: 128, kind: .ipv6),
        Entry(name: "ct reply ip6 saddr", bits: 128, kind: .ipv6), Entry(name: "ct reply ip6 daddr", bits: 128, kind: .ipv6),
        // The 802.1Q tag after the Ethernet addresses and its TPID (nft's proto_vlan).
        field("vlan pcp", .link, 112, 3, nil), field("vlan dei", .link, 115, 1, nil), field("vlan id", .link, 116, 12, nil),
        field("vlan type", .link, 128, 16, nil, .name),
        // Whether the packet came through IPsec (`meta ipsec`, alias `meta secpath`); the numeric
        // keys of `ipsec in|out`, whose values these parse and print (not selectors of their own).
        key("meta ipsec", 1), key("ipsec reqid", 32), key("ipsec spi", 32),
        // The route's realm (`meta rtclassid`, realm names from rt_realms) and the VRF slave
        // device a packet came through (`meta sdif`, `meta sdifname`).
        Entry(name: "meta rtclassid", bits: 32, kind: .name), key("meta sdif", 128), key("meta sdifname", 128),
    ] + tcpOptions + sctpChunks + exthdrs + ipOptions + socketKeys + osfKeys + ctObjectKeys + fibKeys + arpFields

    /// nft's proto_arp template (Ethernet hardware, IPv4 protocol addresses): an ARP packet's
    /// fields at the network header, read from ARP frames only (netdev tables; recorded:
    /// scripts/record_arp_netdev.sh).
    static let arpFields: [Entry] = [
        ("htype", 0, 16, ValueKind.integer), ("ptype", 16, 16, .name), ("hlen", 32, 8, .integer), ("plen", 40, 8, .integer),
        ("operation", 48, 16, .name), ("saddr ether", 64, 48, .mac), ("saddr ip", 112, 32, .ipv4), ("daddr ether", 144, 48, .mac),
        ("daddr ip", 192, 32, .ipv4),
    ].map { name, off, len, kind in
        Entry(name: "arp " + name, bits: len, payload: NFPayloadField(base: .network, bitOffset: off, bitLength: len, l4proto: nil, arp: true), kind: kind)
    }

    /// `ct helper` (the name of the helper of the connection's master: only expected connections
    /// have one) and `ct id` (the entry's id).
    static let ctObjectKeys: [Entry] = [Entry(name: "ct helper", bits: 128), key("ct id", 32)]
    public static let ctHelper = NFSelector(rawValue: "ct helper")!, ctID = NFSelector(rawValue: "ct id")!

    /// `osf [ttl loose|skip] name|version` (nft_osf): the OS passive fingerprinting guesses from a
    /// TCP SYN, a string of at most 16 bytes. The ttl option is part of the key's name.
    static let osfKeys: [Entry] = ["", "ttl loose ", "ttl skip "].flatMap { ttl in
        ["name", "version"].map { Entry(name: "osf \(ttl)\($0)", bits: 128, kind: .name) }
    }
    /// An osf key (its ids follow the socket keys).
    public var isOSF: Bool { NFSelector.osfIDs.contains(id) }
    static let osfIDs: ClosedRange<Int> = {
        let first = table.firstIndex { $0.name == osfKeys[0].name }!
        return first...(first + osfKeys.count - 1)
    }()
    public static let icmpMTU = NFSelector(rawValue: "icmp mtu")!, icmpGateway = NFSelector(rawValue: "icmp gateway")!
    public static let icmpv6Type = NFSelector(rawValue: "icmpv6 type")!, icmpv6MTU = NFSelector(rawValue: "icmpv6 mtu")!
    public static let icmpv6MaxDelay = NFSelector(rawValue: "icmpv6 max-delay")!
    static let icmpv6ID = NFSelector(rawValue: "icmpv6 id")!, icmpv6Seq = NFSelector(rawValue: "icmpv6 sequence")!
    public var isICMPType: Bool { self == .icmpType || self == .icmpv6Type }
    /// nft's dependency for a field that exists in some message types only: the type selector,
    /// the types (the first is the one nft's error names), and whether nft lists the dependency it
    /// adds (the echo pairs) or keeps it hidden (`icmp mtu` in a destination unreachable, `icmp
    /// gateway` in a redirect, `icmpv6 mtu` in a packet too big, `icmpv6 max-delay` in an MLD query).
    public var icmpDependency: (type: NFSelector, types: [UInt64], listed: Bool)? {
        switch self {
        case .icmpID, .icmpSeq: (.icmpType, [8, 0], true)
        case .icmpMTU: (.icmpType, [3], false)
        case .icmpGateway: (.icmpType, [5], false)
        case .icmpv6ID, .icmpv6Seq: (.icmpv6Type, [128, 129], true)
        case .icmpv6MTU: (.icmpv6Type, [2], false)
        case .icmpv6MaxDelay: (.icmpv6Type, [130], false)
        default: nil
        }
    }
    /// A field of the 802.1Q tag (`vlan id`...), whose dependency is `ether type 8021q`.
    public var isVLAN: Bool { payload?.base == .link && (payload?.bitOffset ?? 0) >= 112 }
    public static let metaIPsec = NFSelector(rawValue: "meta ipsec")!, metaRtclassid = NFSelector(rawValue: "meta rtclassid")!
    /// `meta ipsec`, the ipsec value keys, `meta rtclassid`, `meta sdif|sdifname`: one id range.
    public static let metaExtraIDs: ClosedRange<Int> = {
        let first = table.firstIndex { $0.name == "meta ipsec" }!, last = table.firstIndex { $0.name == "meta sdifname" }!
        return first...last
    }()
    /// A key whose values are strings: interface names and osf's guesses.
    /// `iif`/`oif`: an interface index the rule names by the device's name.
    public var isInterfaceIndex: Bool { self == .iif || self == .oif }
    public var isString: Bool { self == .iifname || self == .oifname || self == .iif || self == .oif || isOSF || isSdif || isFibName || self == NFSelector.ctHelper }
    /// `meta sdif` or `meta sdifname` (nft_meta_get_validate_sdif: input and forward only).
    public var isSdif: Bool { self == NFSelector.sdif || self == NFSelector.sdifname }
    public static let sdif = NFSelector(rawValue: "meta sdif")!, sdifname = NFSelector(rawValue: "meta sdifname")!

    /// `socket transparent|mark|wildcard` (nft_socket): keys of the socket the packet belongs to.
    static let socketKeys: [Entry] = [key("socket transparent", 1), key("socket mark", 32), key("socket wildcard", 1)]
    /// A key of the packet's socket (`socket ...`).
    public var isSocket: Bool { NFSelector.socketIDs.contains(id) }
    /// Which socket key it is: 0 transparent, 1 mark, 2 wildcard (nft's NFT_SOCKET_* order).
    public var socketKey: Int { id - NFSelector.socketIDs.lowerBound }
    static let socketIDs: ClosedRange<Int> = {
        let first = table.firstIndex { $0.name == socketKeys[0].name }!
        return first...(first + socketKeys.count - 1)
    }()

    /// `fib {saddr|daddr} [. mark] [. iif] {oif|type}` (nft_fib4): a route lookup for an address
    /// of the packet; `oif` is the interface it leads out of (0 when none), `type` its route type.
    /// `mark` puts the packet's mark into the lookup, which only policy routing rules (none in the
    /// model's FIB) would look at.
    static let fibKeys: [Entry] = ["saddr", "daddr"].flatMap { a in
        ["", " . iif", " . mark", " . mark . iif"].flatMap { f in
            // `oifname`: the name of `oif`'s interface. (fibLookup reads this order.)
            [Entry(name: "fib \(a)\(f) oif", bits: 32), Entry(name: "fib \(a)\(f) type", bits: 32, kind: .name),
             Entry(name: "fib \(a)\(f) oifname", bits: 128)]
        }
    }
    /// What a fib lookup asks, from its place in fibKeys (no string work on the packet path):
    /// the source or the destination address, whether `. iif` restricts it, and the result.
    public enum FibResult: Sendable { case oif, type, oifname }
    public var fibLookup: (saddr: Bool, iif: Bool, result: FibResult) {
        let k = id - NFSelector.firstFib
        return (k < 12, (k / 3) % 2 == 1, k % 3 == 0 ? .oif : k % 3 == 1 ? .type : .oifname)
    }
    /// Whether the lookup carries the packet's mark (`. mark`: NFTA_FIB_F_MARK).
    public var fibMark: Bool { (id - NFSelector.firstFib) / 3 % 4 >= 2 }
    /// A fib `oifname` lookup: a string key.
    public var isFibName: Bool { isFib && (id - NFSelector.firstFib) % 3 == 2 }
    /// A fib lookup (its ids are one range after the option tables; read on the packet path, so no string work).
    public var isFib: Bool { id >= NFSelector.firstFib && id < NFSelector.endFib }
    static let firstFib = table.firstIndex { $0.name.hasPrefix("fib ") }!
    static let endFib = firstFib + fibKeys.count
    /// nft's tcpopt templates: option kinds, and each field's place inside the option.
    static let tcpOptions: [Entry] = {
        var out: [Entry] = []
        func opt(_ name: String, _ kind: UInt8, _ fields: [(String, Int, Int)]) {
            out.append(Entry(name: "tcp option \(name)", bits: 1, tcpOption: (kind, 0, 0)))
            for (f, off, len) in [("kind", 0, 8), ("length", 8, 8)] + fields {
                out.append(Entry(name: "tcp option \(name) \(f)", bits: len, tcpOption: (kind, off, len)))
            }
        }
        opt("eol", 0, []); opt("nop", 1, []); opt("maxseg", 2, [("size", 16, 16)]); opt("window", 3, [("count", 16, 8)])
        opt("sack-perm", 4, [])
        opt("sack", 5, [("left", 16, 32), ("right", 48, 32)])
        for k in 1...3 { opt("sack\(k)", 5, [("left", 16 + 64 * k, 32), ("right", 48 + 64 * k, 32)]) }
        opt("timestamp", 8, [("tsval", 16, 32), ("tsecr", 48, 32)]); opt("md5sig", 19, []); opt("fastopen", 34, [])
        opt("mptcp", 30, [("subtype", 16, 4)])
        // Kinds nft has no name for are written, and listed, by number (`tcp option 6 exists`).
        let named = Set(out.compactMap { $0.tcpOption?.kind })
        for k in 0...255 where !named.contains(UInt8(k)) { opt(String(k), UInt8(k), []) }
        return out
    }()
    /// A TCP option kind's name as nft lists it (`maxseg` for 2); nil for a kind it has no name for.
    public static func tcpOptionName(_ kind: UInt8) -> String? {
        tcpOptions.first { $0.tcpOption?.kind == kind && $0.tcpOption?.bitLength == 0 }.map { String($0.name.dropFirst("tcp option ".count)) }
    }
    /// A TCP option kind by its name or number.
    static func tcpOptionKind(_ w: String) -> UInt8? {
        UInt8(w) ?? tcpOptions.first { $0.name == "tcp option \(tcpOptionAliases[w] ?? w)" && $0.tcpOption?.bitLength == 0 }?.tcpOption?.kind
    }
    /// Option names nft 1.0.6's scanner also takes (listed by their own name: `mss` is maxseg).
    static let tcpOptionAliases = ["mss": "maxseg"]
    /// nft's sctp chunk templates (RFC 9260 and its extensions): chunk types and field places.
    static let sctpChunks: [Entry] = {
        var out: [Entry] = []
        let common = [("type", 0, 8), ("flags", 8, 8), ("length", 16, 16)]
        let initFields = [("init-tag", 32, 32), ("a-rwnd", 64, 32), ("num-outbound-streams", 96, 16), ("num-inbound-streams", 112, 16),
                          ("initial-tsn", 128, 32)]
        let chunks: [(String, UInt8, [(String, Int, Int)])] = [
            ("data", 0, [("tsn", 32, 32), ("stream", 64, 16), ("ssn", 80, 16), ("ppid", 96, 32)]), ("init", 1, initFields), ("init-ack", 2, initFields),
            ("sack", 3, [("cum-tsn-ack", 32, 32), ("a-rwnd", 64, 32), ("num-gap-ack-blocks", 96, 16), ("num-dup-tsns", 112, 16)]),
            ("heartbeat", 4, []), ("heartbeat-ack", 5, []), ("abort", 6, []), ("shutdown", 7, [("cum-tsn-ack", 32, 32)]), ("shutdown-ack", 8, []),
            ("error", 9, []), ("cookie-echo", 10, []), ("cookie-ack", 11, []), ("ecne", 12, [("lowest-tsn", 32, 32)]),
            ("cwr", 13, [("lowest-tsn", 32, 32)]), ("shutdown-complete", 14, []), ("asconf-ack", 128, [("seqno", 32, 32)]),
            ("forward-tsn", 192, [("new-cum-tsn", 32, 32)]), ("asconf", 193, [("seqno", 32, 32)]),
        ]
        for (name, kind, fields) in chunks {
            out.append(Entry(name: "sctp chunk \(name)", bits: 1, sctpChunk: (kind, 0, 0)))
            for (f, off, len) in common + fields { out.append(Entry(name: "sctp chunk \(name) \(f)", bits: len, sctpChunk: (kind, off, len))) }
        }
        return out
    }()
    public var sctpChunk: (kind: UInt8, bitOffset: Int, bitLength: Int)? { id < NFSelector.rawBase ? NFSelector.sctpChunkFields[id] : nil }
    /// nft's exthdr templates (exthdr.c): the IPv6 extension headers by protocol number and each
    /// field's place inside the header. `exthdr NAME` alone reads whether the header is there.
    static let exthdrs: [Entry] = {
        var out: [Entry] = []
        let nexthdr = ("nexthdr", 0, 8), hdrlength = ("hdrlength", 8, 8)
        let headers: [(String, UInt8, [(String, Int, Int)])] = [
            ("hbh", 0, [nexthdr, hdrlength]),
            ("rt", 43, [nexthdr, hdrlength, ("type", 16, 8), ("seg-left", 24, 8)]),
            ("frag", 44, [nexthdr, ("reserved", 8, 8), ("frag-off", 16, 13), ("reserved2", 29, 2), ("more-fragments", 31, 1), ("id", 32, 32)]),
            ("dst", 60, [nexthdr, hdrlength]),
            ("mh", 135, [nexthdr, hdrlength, ("type", 16, 8), ("reserved", 24, 8), ("checksum", 32, 16)]),
        ]
        for (name, kind, fields) in headers {
            out.append(Entry(name: "exthdr \(name)", bits: 1, exthdr: (kind, 0, 0)))
            for (f, off, len) in fields {
                out.append(Entry(name: "\(name) \(f)", bits: len, exthdr: (kind, off, len), kind: f == "nexthdr" || (name == "mh" && f == "type") ? .name : .integer))
            }
        }
        return out
    }()
    /// nft's ipopt templates (ipopt.c): the IPv4 options nft reads (nft_exthdr's NFT_EXTHDR_OP_IPV4,
    /// found by the kernel's ipv4_find_option) and each field's place inside the option.
    static let ipOptions: [Entry] = {
        var out: [Entry] = []
        let head = [("type", 0, 8), ("length", 8, 8)], route = head + [("ptr", 16, 8), ("addr", 24, 32)]
        for (name, kind, fields) in [("lsrr", UInt8(131), route), ("rr", 7, route), ("ssrr", 137, route), ("ra", 148, head + [("value", 16, 16)])] {
            out.append(Entry(name: "ip option \(name)", bits: 1, ipOption: (kind, 0, 0)))
            for (f, off, len) in fields { out.append(Entry(name: "ip option \(name) \(f)", bits: len, ipOption: (kind, off, len))) }
        }
        return out
    }()
    /// The IPv4 option field a selector reads, if it is one.
    public var ipOption: (kind: UInt8, bitOffset: Int, bitLength: Int)? { id < NFSelector.rawBase ? NFSelector.ipOptionFields[id] : nil }
    /// The extension header field a selector reads, if it is one.
    public var exthdr: (kind: UInt8, bitOffset: Int, bitLength: Int)? { id < NFSelector.rawBase ? NFSelector.exthdrFields[id] : nil }

    /// The TCP option field a selector reads, if it is one.
    public var tcpOption: (kind: UInt8, bitOffset: Int, bitLength: Int)? { id < NFSelector.rawBase ? NFSelector.tcpOptionFields[id] : nil }
    /// `tcp option X` alone: matched with exists/missing.
    public var isOptionPresence: Bool { (tcpOption ?? sctpChunk ?? exthdr ?? ipOption).map { $0.bitLength == 0 } ?? false }

    /// The template field nft would list raw payload bits as: same base, offset and length, and the
    /// transport protocol the rule fixed (`th` ports for a set of them, `ip` fields in IPv4 context).
    public static func template(_ f: NFPayloadField, l4: UInt8?, l4Set: Bool, ipv4: Bool) -> NFSelector? {
        for (k, e) in table.enumerated() {
            guard let p = e.payload, !p.ipv6, p.base == f.base, p.bitOffset == f.bitOffset, p.bitLength == f.bitLength else { continue }
            switch f.base {
            case .transport:
                if let l4, p.l4proto == l4 { return NFSelector(k) }
                if l4 == nil, p.l4proto == nil { return NFSelector(k) }   // `th`, with or without a set of protocols
            case .network: if ipv4, e.name.hasPrefix("ip ") { return NFSelector(k) }
            case .link, .inner: continue
            }
        }
        return nil
    }

    static let byName: [String: Int] = Dictionary(uniqueKeysWithValues: table.enumerated().map { ($0.element.name, $0.offset) })
    // The table's columns the packet path reads, without the names (no String to retain per match).
    static let payloads: [NFPayloadField?] = table.map(\.payload)
    /// Header fields with their place, by offset (the order nft's templates walk them in).
    static let payloadTemplates: [(NFSelector, NFPayloadField)] = table.enumerated()
        .compactMap { k, e in e.payload.map { (NFSelector(k), $0) } }.sorted { $0.1.bitOffset < $1.1.bitOffset }
    static let kinds: [ValueKind] = table.map(\.kind)
    static let tcpOptionFields: [(kind: UInt8, bitOffset: Int, bitLength: Int)?] = table.map(\.tcpOption)
    static let sctpChunkFields: [(kind: UInt8, bitOffset: Int, bitLength: Int)?] = table.map(\.sctpChunk)
    static let exthdrFields: [(kind: UInt8, bitOffset: Int, bitLength: Int)?] = table.map(\.exthdr)
    static let ipOptionFields: [(kind: UInt8, bitOffset: Int, bitLength: Int)?] = table.map(\.ipOption)

    /// `PROTO FIELD` words the parser accepts, by protocol.
    static let fieldsByProtocol: [String: [String: NFSelector]] = {
        var out: [String: [String: NFSelector]] = [:]
        for (i, e) in table.enumerated() where e.tcpOption == nil && e.sctpChunk == nil && e.ipOption == nil && !e.name.hasPrefix("fib ") && !e.name.hasPrefix("exthdr ")
            && !e.name.hasPrefix("ipsec ") {
            let w = e.name.split(separator: " ").map(String.init)
            // (`arp saddr ether`: the field is two words.)
            out[w[0], default: [:]][w[0] == "arp" ? w.dropFirst().joined(separator: " ") : w[1]] = NFSelector(i)
        }
        return out
    }()
}
