/// A 48-bit Ethernet address.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8, _ b5: UInt8) {
        bytes = (b0, b1, b2, b3, b4, b5)
    }
    public init(array a: [UInt8], at o: Int = 0) {
        bytes = (a[o], a[o + 1], a[o + 2], a[o + 3], a[o + 4], a[o + 5])
    }
    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-`).
    public init(parsing text: String) throws(WireError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).count == 6
            ? text.split(separator: ":", omittingEmptySubsequences: false)
            : text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 6 else { throw .badText("MAC address must be six hex pairs: \(text)") }
        var b: [UInt8] = []
        for p in parts {
            guard p.count == 2, let v = UInt8(p, radix: 16) else { throw .badText("MAC address must be six hex pairs: \(text)") }
            b.append(v)
        }
        self.init(array: b)
    }

    public static let broadcast = MACAddress(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
    public static let zero = MACAddress(0, 0, 0, 0, 0, 0)

    public var array: [UInt8] { [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5] }
    public var isBroadcast: Bool { self == .broadcast }
    /// The I/G bit: set on group (multicast and broadcast) addresses.
    public var isMulticast: Bool { bytes.0 & 1 == 1 }

    public static func == (l: MACAddress, r: MACAddress) -> Bool { l.array == r.array }
    public func hash(into h: inout Hasher) { h.combine(array) }

    public var description: String {
        array.map { let s = String($0, radix: 16); return s.count == 1 ? "0" + s : s }.joined(separator: ":")
    }

    func write(into a: inout [UInt8], at o: Int) {
        a[o] = bytes.0; a[o + 1] = bytes.1; a[o + 2] = bytes.2
        a[o + 3] = bytes.3; a[o + 4] = bytes.4; a[o + 5] = bytes.5
    }
}

/// An IPv4 address held as a host-order integer (network order on the wire).
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var raw: UInt32
    @inlinable public init(raw: UInt32) { self.raw = raw }
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        raw = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }
    /// Parses dotted-quad text; each part must be a decimal 0...255 without leading zeros.
    public init(parsing text: String) throws(WireError) {
        // Byte by byte: splitting into substrings was a tenth of decoding a one-packet injection.
        var r: UInt32 = 0, part: UInt32 = 0, digits = 0, parts = 0, leadingZero = false
        for c in text.utf8 {
            if c == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { throw .badText("IPv4 address must be a.b.c.d: \(text)") }
                r = r << 8 | part; parts += 1; part = 0; digits = 0
                continue
            }
            guard c >= 0x30, c <= 0x39, digits < 3, !(digits == 1 && leadingZero) else { throw .badText("IPv4 address must be a.b.c.d: \(text)") }
            if digits == 0 { leadingZero = c == 0x30 }
            part = part * 10 + UInt32(c - 0x30); digits += 1
            guard part <= 255 else { throw .badText("IPv4 address must be a.b.c.d: \(text)") }
        }
        guard digits > 0, parts == 3 else { throw .badText("IPv4 address must be a.b.c.d: \(text)") }
        raw = r << 8 | part
    }
    public static let any = IPv4Address(raw: 0)
    public static let broadcast = IPv4Address(raw: 0xffff_ffff)
    public var isMulticast: Bool { raw >> 28 == 0xe }
    /// The Ethernet group a multicast address maps to (RFC 1112 6.4, ip_eth_mc_map): 01:00:5e and the low 23 bits.
    public var multicastMAC: MACAddress {
        MACAddress(0x01, 0x00, 0x5e, UInt8(truncatingIfNeeded: raw >> 16) & 0x7f, UInt8(truncatingIfNeeded: raw >> 8), UInt8(truncatingIfNeeded: raw))
    }
    public var isLoopback: Bool { raw >> 24 == 127 }
    public var isZeronet: Bool { raw >> 24 == 0 }
    public var description: String {
        "\(raw >> 24).\((raw >> 16) & 0xff).\((raw >> 8) & 0xff).\(raw & 0xff)"
    }
    public static func < (l: IPv4Address, r: IPv4Address) -> Bool { l.raw < r.raw }
}

/// An address with a prefix length, as in `198.18.0.1/24`.
public struct IPv4CIDR: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    public var prefixLength: Int

    public init(address: IPv4Address, prefixLength: Int) {
        self.address = address; self.prefixLength = prefixLength
    }
    public init(parsing text: String) throws(WireError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let len = Int(parts[1]), (0...32).contains(len),
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber })
        else { throw .badText("CIDR must be a.b.c.d/len with len 0...32: \(text)") }
        address = try IPv4Address(parsing: String(parts[0]))
        prefixLength = len
    }
    public var mask: UInt32 { prefixLength == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefixLength) }
    public var network: IPv4Address { IPv4Address(raw: address.raw & mask) }
    public var broadcast: IPv4Address { IPv4Address(raw: address.raw | ~mask) }
    public func contains(_ a: IPv4Address) -> Bool { a.raw & mask == address.raw & mask }
    public var description: String { "\(address)/\(prefixLength)" }
}

/// An IPv6 address held as a 128-bit integer (network order on the wire).
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var raw: UInt128
    @inlinable public init(raw: UInt128) { self.raw = raw }
    @inlinable public init(array a: [UInt8], at o: Int) {
        raw = UInt128(a.be64(o)) << 64 | UInt128(a.be64(o + 8))
    }
    /// Parses text as inet_pton does (`2001:db8::1`, `::ffff:198.18.0.1`).
    public init(parsing text: String) throws(WireError) {
        guard let r = IPv6Address.parse(text) else { throw .badText("not an IPv6 address: \(text)") }
        raw = r
    }

    public static let any = IPv6Address(raw: 0)
    public static let loopback = IPv6Address(raw: 1)
    /// ff02::1 and ff02::2: every node and every router on the link.
    public static let allNodes = IPv6Address(raw: 0xff02 << 112 | 1)
    public static let allRouters = IPv6Address(raw: 0xff02 << 112 | 2)

    public var isMulticast: Bool { raw >> 120 == 0xff }
    /// The 4-bit scope of a multicast address (1 interface, 2 link, 5 site, 14 global).
    public var multicastScope: UInt8 { UInt8(truncatingIfNeeded: raw >> 112) & 0x0f }
    public var isLinkLocal: Bool { raw >> 118 == 0xfe80 >> 6 }
    public var isLoopback: Bool { raw == 1 }
    public var isUnspecified: Bool { raw == 0 }
    /// `::ffff:a.b.c.d`.
    public var isV4Mapped: Bool { raw >> 32 == 0xffff }
    /// `::ffff:a.b.c.d` for an IPv4 address, and the IPv4 address in the low 32 bits.
    public static func mapped(_ a: IPv4Address) -> IPv6Address { IPv6Address(raw: 0xffff << 32 | UInt128(a.raw)) }
    public var embeddedV4: IPv4Address { IPv4Address(raw: UInt32(truncatingIfNeeded: raw)) }
    /// The four 32-bit words XORed: what the model's keyed hashes take of an IPv6 address.
    public var folded32: UInt32 {
        UInt32(truncatingIfNeeded: raw) ^ UInt32(truncatingIfNeeded: raw >> 32) ^ UInt32(truncatingIfNeeded: raw >> 64) ^ UInt32(truncatingIfNeeded: raw >> 96)
    }
    /// The solicited-node group of this address (RFC 4291 2.7.1): ff02::1:ff00:0/104 plus the low 24 bits.
    public var solicitedNode: IPv6Address { IPv6Address(raw: 0xff02 << 112 | 0x1_ff00_0000 | (raw & 0xff_ffff)) }
    /// The Ethernet group a multicast address maps to (RFC 2464 7): 33:33 and the low 32 bits.
    public var multicastMAC: MACAddress {
        MACAddress(0x33, 0x33, UInt8(truncatingIfNeeded: raw >> 24), UInt8(truncatingIfNeeded: raw >> 16),
                   UInt8(truncatingIfNeeded: raw >> 8), UInt8(truncatingIfNeeded: raw))
    }
    public var bytes: [UInt8] { (0..<16).map { UInt8(truncatingIfNeeded: raw >> UInt128(120 - 8 * $0)) } }
    func write(into b: inout [UInt8], at o: Int) {
        for k in 0..<16 { b[o + k] = UInt8(truncatingIfNeeded: raw >> UInt128(120 - 8 * k)) }
    }
    public static func < (l: IPv6Address, r: IPv6Address) -> Bool { l.raw < r.raw }
    public var description: String { IPv6Address.text(raw) }

    /// inet_pton's grammar: up to eight hex words, one `::`, an optional dotted IPv4 tail.
    public static func parse(_ s: String) -> UInt128? {
        guard s.contains(":"), s.utf8.count <= 45 else { return nil }
        var words: [UInt16] = []
        var gap: Int? = nil
        // Split at "::" without Foundation; a third colon in a row or a second "::" is refused.
        let u = Array(s.utf8)
        var halves: [String] = []
        var start = 0, k = 0
        while k < u.count {
            if k + 1 < u.count, u[k] == 0x3a, u[k + 1] == 0x3a {
                halves.append(String(decoding: u[start..<k], as: UTF8.self)); k += 2; start = k
            } else { k += 1 }
        }
        halves.append(String(decoding: u[start...], as: UTF8.self))
        guard halves.count <= 2 else { return nil }
        for (h, half) in halves.enumerated() {
            if h == 1 { gap = words.count }
            guard !half.isEmpty else { continue }
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (k, p) in parts.enumerated() {
                if k == parts.count - 1, h == halves.count - 1, p.contains(".") {
                    guard let v4 = try? IPv4Address(parsing: String(p)) else { return nil }
                    words += [UInt16(v4.raw >> 16), UInt16(v4.raw & 0xffff)]
                    continue
                }
                guard (1...4).contains(p.count), let w = UInt16(p, radix: 16) else { return nil }
                words.append(w)
            }
        }
        if let gap {
            guard words.count < 8 else { return nil }
            words.insert(contentsOf: [UInt16](repeating: 0, count: 8 - words.count), at: gap)
        }
        guard words.count == 8 else { return nil }
        return words.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
    }

    /// The text glibc's inet_ntop gives: the first longest run of two or more zero words as `::`,
    /// `::a.b.c.d` and `::ffff:a.b.c.d` for compatible and mapped addresses.
    public static func text(_ a: UInt128) -> String {
        let words = (0..<8).map { UInt16(truncatingIfNeeded: a >> UInt128(112 - 16 * $0)) }
        var best: (base: Int, len: Int)? = nil
        var k = 0
        while k < 8 {
            guard words[k] == 0 else { k += 1; continue }
            var e = k
            while e < 8 && words[e] == 0 { e += 1 }
            if e - k >= 2, e - k > (best?.len ?? 0) { best = (k, e - k) }
            k = e
        }
        if let b = best, b.base == 0, b.len == 6 || (b.len == 5 && words[5] == 0xffff) {
            let v4 = IPv4Address(raw: UInt32(truncatingIfNeeded: a)).description
            return b.len == 6 ? "::" + v4 : "::ffff:" + v4
        }
        var out = ""
        k = 0
        while k < 8 {
            if let b = best, k == b.base {
                out += "::"
                k += b.len
                continue
            }
            if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
            out += String(words[k], radix: 16)
            k += 1
        }
        return out
    }
}

/// An IPv6 address with a prefix length, as in `2001:db8::2/64`.
public struct IPv6CIDR: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv6Address
    public var prefixLength: Int

    public init(address: IPv6Address, prefixLength: Int) {
        self.address = address; self.prefixLength = prefixLength
    }
    public init(parsing text: String) throws(WireError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let len = Int(parts[1]), (0...128).contains(len),
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber })
        else { throw .badText("IPv6 prefix must be address/len with len 0...128: \(text)") }
        address = try IPv6Address(parsing: String(parts[0]))
        prefixLength = len
    }
    public var mask: UInt128 { prefixLength == 0 ? 0 : ~UInt128(0) << UInt128(128 - prefixLength) }
    public var network: IPv6Address { IPv6Address(raw: address.raw & mask) }
    public func contains(_ a: IPv6Address) -> Bool { a.raw & mask == address.raw & mask }
    public var description: String { "\(address)/\(prefixLength)" }
}
