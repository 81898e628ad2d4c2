/// Big-endian field access on byte arrays, shared by every wire view.
extension Array where Element == UInt8 {
    // One bounds check and one load each (four checked byte loads were a tenth of the RX path);
    // out of range still traps, as the subscript does.
    @inlinable public func be16(_ at: Int) -> UInt16 {
        precondition(at >= 0 && at <= count &- 2, "Index out of range")
        return withUnsafeBytes { UInt16(bigEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
    }
    @inlinable public func be32(_ at: Int) -> UInt32 {
        precondition(at >= 0 && at <= count &- 4, "Index out of range")
        return withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    }
    @inlinable public func be64(_ at: Int) -> UInt64 {
        precondition(at >= 0 && at <= count &- 8, "Index out of range")
        return withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
    }
    @inlinable public mutating func setBE16(_ at: Int, _ v: UInt16) {
        self[at] = UInt8(v >> 8); self[at + 1] = UInt8(v & 0xff)
    }
    @inlinable public mutating func setBE32(_ at: Int, _ v: UInt32) {
        self[at] = UInt8(v >> 24); self[at + 1] = UInt8((v >> 16) & 0xff)
        self[at + 2] = UInt8((v >> 8) & 0xff); self[at + 3] = UInt8(v & 0xff)
    }
}

/// Hex text <-> bytes, for frames given in JSON and for test vectors.
public enum Hex {
    /// Decodes hex digits; spaces, colons and newlines between byte pairs are ignored.
    public static func decode(_ text: String) throws(WireError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count / 2)
        var high: UInt8? = nil
        var index = 0
        for c in text.utf8 {
            defer { index += 1 }
            if c == 0x20 || c == 0x3a || c == 0x0a || c == 0x0d || c == 0x09 {
                if high != nil { throw .badText("odd hex digit before separator at offset \(index)") }
                continue
            }
            let v = nibble(c)
            guard v < 16 else { throw .badText("invalid hex character at offset \(index)") }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        if high != nil { throw .badText("odd number of hex digits") }
        return out
    }

    /// Hex digits with no separators, from `bytes[range]` (a frame inside a request body, without
    /// making a String of it); nil for an odd count or anything not a digit.
    public static func decode(_ bytes: [UInt8], _ range: Range<Int>) -> [UInt8]? {
        guard range.count % 2 == 0, range.lowerBound >= 0, range.upperBound <= bytes.count else { return nil }
        var out = [UInt8](repeating: 0, count: range.count / 2)
        var ok = true
        out.withUnsafeMutableBufferPointer { o in
            bytes.withUnsafeBufferPointer { p in
                var k = 0, i = range.lowerBound
                while i < range.upperBound {
                    let h = nibble(p[i]), l = nibble(p[i + 1])
                    if h > 15 || l > 15 { ok = false; return }
                    o[k] = h << 4 | l
                    k += 1; i += 2
                }
            }
        }
        return ok ? out : nil
    }

    /// A hex digit's value, or 0xff for anything else.
    @inline(__always) static func nibble(_ c: UInt8) -> UInt8 {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: 0xff
        }
    }

    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
