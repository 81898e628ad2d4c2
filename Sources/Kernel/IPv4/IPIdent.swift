import Wire

// net/ipv4/route.c: the IPv4 identification of packets the stack builds itself.

/// `ip_idents` and `ip_tstamps`: per-bucket ID counters, each bumped by a random amount that grows
/// with the time since the bucket was last used, so IDs do not reveal a host's traffic.
struct IPIdents {
    static let buckets = 2048
    var idents = [UInt32](repeating: 0, count: IPIdents.buckets)
    var tstamps = [UInt32](repeating: 0, count: IPIdents.buckets)
    /// `net->ipv4.ip_id_key`: random at boot in the kernel; here drawn from the stack's seed.
    var key: (UInt64, UInt64)
}

extension Stack {
    /// `ip_select_ident_segs` for a packet without a connected socket: ID 0 when DF is set (the
    /// receiver never reassembles it), else `__ip_select_ident`: a counter chosen by
    /// siphash(daddr, saddr, protocol) and advanced by `segs` plus a random delta
    /// (`ip_idents_reserve`).
    func ip_select_ident(src: IPv4Address, dst: IPv4Address, proto: UInt8, dontFragment: Bool, segs: UInt32 = 1) -> UInt16 {
        if dontFragment { return 0 }
        let hash = UInt32(truncatingIfNeeded: SipHash.hash3(dst.raw.byteSwapped, src.raw.byteSwapped, UInt32(proto), key: ipIdents.key))
        let bucket = Int(hash) & (IPIdents.buckets - 1)
        // jiffies at HZ=250 (Debian's kernel configuration), from INITIAL_JIFFIES (-300 s) at boot,
        // so a bucket's first use already takes a random step.
        let now = UInt32(truncatingIfNeeded: 0 &- 300 * 250 &+ Int64(clockNs / 4_000_000))
        let old = ipIdents.tstamps[bucket]
        var delta: UInt32 = 0
        if old != now {
            ipIdents.tstamps[bucket] = now
            delta = UInt32(truncatingIfNeeded: random.next() % UInt64(now &- old))   // get_random_u32_below
        }
        ipIdents.idents[bucket] &+= segs &+ delta
        return UInt16(truncatingIfNeeded: ipIdents.idents[bucket] &- segs)
    }
}

/// SipHash-2-4 as lib/siphash.c computes it: `siphash_3u32` (the words as the kernel lays them out
/// in memory, little-endian) and `siphash()` of a byte string.
enum SipHash {
    private struct State {
        var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64
        @inline(__always) init(_ key: (UInt64, UInt64)) {
            v0 = 0x736f6d6570736575 ^ key.0; v1 = 0x646f72616e646f6d ^ key.1
            v2 = 0x6c7967656e657261 ^ key.0; v3 = 0x7465646279746573 ^ key.1
        }
        @inline(__always) mutating func round() {
            v0 &+= v1; v1 = v1 << 13 | v1 >> 51; v1 ^= v0; v0 = v0 << 32 | v0 >> 32
            v2 &+= v3; v3 = v3 << 16 | v3 >> 48; v3 ^= v2
            v0 &+= v3; v3 = v3 << 21 | v3 >> 43; v3 ^= v0
            v2 &+= v1; v1 = v1 << 17 | v1 >> 47; v1 ^= v2; v2 = v2 << 32 | v2 >> 32
        }
        /// One 8-byte word through two rounds.
        @inline(__always) mutating func compress(_ m: UInt64) { v3 ^= m; round(); round(); v0 ^= m }
        @inline(__always) mutating func finish() -> UInt64 {
            v2 ^= 0xff
            round(); round(); round(); round()
            return (v0 ^ v1) ^ (v2 ^ v3)
        }
    }

    static func hash3(_ first: UInt32, _ second: UInt32, _ third: UInt32, key: (UInt64, UInt64)) -> UInt64 {
        var s = State(key)
        s.compress(UInt64(second) << 32 | UInt64(first))
        s.compress(12 << 56 | UInt64(third))
        return s.finish()
    }

    /// `siphash()` of a byte string: 8-byte little-endian words, then the tail with the length in
    /// the top byte.
    static func hash(_ m: [UInt8], key: (UInt64, UInt64)) -> UInt64 {
        func word(_ at: Int, _ n: Int) -> UInt64 { (0..<n).reduce(0) { $0 | UInt64(m[at + $1]) << (8 * UInt64($1)) } }
        var s = State(key)
        let whole = m.count / 8 * 8
        for at in stride(from: 0, to: whole, by: 8) { s.compress(word(at, 8)) }
        s.compress(UInt64(m.count & 0xff) << 56 | word(whole, m.count - whole))
        return s.finish()
    }
}

/// The stack's source of randomness: SplitMix64 from the configured seed, so every "random"
/// kernel choice (IP IDs here) is the same for the same seed.
struct StackRandom {
    /// The generator's whole state (a checkpoint keeps it).
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e3779b97f4a7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        return z ^ (z >> 31)
    }
}
