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
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { throw .badText("IPv4 address must be a.b.c.d: \(text)") }
        var r: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(p.count > 1 && p.first == "0"), let v = UInt32(p), v <= 255
            else { throw .badText("IPv4 address must be a.b.c.d: \(text)") }
            r = r << 8 | v
        }
        raw = r
    }
    public static let any = IPv4Address(raw: 0)
    public static let broadcast = IPv4Address(raw: 0xffff_ffff)
    public var isMulticast: Bool { raw >> 28 == 0xe }
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
