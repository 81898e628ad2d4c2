import Wire

/// Captures for tests of capture import.
public enum TestCaptures {
    /// Scapy's wrpcap: UDP 198.18.0.1:1000 to 198.18.0.2 ports 53, 54, 22 at 0, 0.25 and 1.5 s.
    public static let scapy = "d4c3b2a1020004000000000000000000ffff00000100000000f15365000000002b0000002b00000002000000000202000000000108004500001d000000004011eea8c6120001c612000203e800350009f7967800f1536590d003002b0000002b00000002000000000202000000000108004500001d000100004011eea7c6120001c612000203e800360009f7957801f1536520a107002b0000002b00000002000000000202000000000108004500001d000200004011eea6c6120001c612000203e800160009f7b578"

    /// A classic pcap of `count` frames 100 ms apart, cycling through the three of `scapy`
    /// (to ports 53, 54 and 22).
    public static func udp(_ count: Int) -> [UInt8] {
        let b = try! Hex.decode(scapy)
        var out = Array(b[0..<24])
        for i in 0..<count {
            let rec = b[(24 + 59 * (i % 3))..<(24 + 59 * (i % 3 + 1))]
            let usec = UInt32(i % 10 * 100_000)
            let sec = 1_700_000_000 + UInt32(i / 10)
            out += [UInt8(sec & 0xff), UInt8(sec >> 8 & 0xff), UInt8(sec >> 16 & 0xff), UInt8(sec >> 24)]
            out += [UInt8(usec & 0xff), UInt8(usec >> 8 & 0xff), UInt8(usec >> 16 & 0xff), UInt8(usec >> 24)] + rec.dropFirst(8)
        }
        return out
    }
}
