import NFTables
import Wire

/// Which generator of which rule: numgen inc keeps a counter there, jhash its drawn seed.
struct GeneratorKey: Hashable {
    var table: Int, handle: Int, statement: Int
}

// net/netfilter/nft_numgen.c and nft_hash.c
extension Stack {
    /// The number a generator gives for this packet; nil when a jhash key field cannot be read
    /// (the rule's dependency fails).
    func nft_generate(_ g: NFGenerator, _ key: GeneratorKey, _ skb: SkBuff, _ info: PktInfo) -> UInt32? {
        switch g {
        case .numgen(true, let mod, let offset):
            // nft_ng_random_gen: reciprocal_scale(get_random_u32(), modulus) + offset.
            return reciprocal_scale(UInt32(truncatingIfNeeded: random.next()), mod) + offset
        case .numgen(false, let mod, let offset):
            // nft_ng_inc_gen: the counter starts at modulus - 1, so the first packet gets 0.
            let old = netfilter.generators[key] ?? mod - 1
            let next = old + 1 < mod ? old + 1 : 0
            netfilter.generators[key] = next
            return next + offset
        case .jhash(let sels, let mod, let seed, let offset):
            // The key as the registers hold it: header fields in network order, meta and ct keys
            // in host (little-endian) order; each part of a concatenation padded to 4 bytes.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(4 * sels.count + 12)
            for sel in sels {
                guard let v = read(sel, skb, info) else { return nil }
                let width = (NFSelector.bitWidth(sel) + 7) / 8
                let bigEndian = sel.payload != nil
                for i in 0..<width { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(8 * (bigEndian ? width - 1 - i : i)))) }
                if sels.count > 1 { for _ in 0..<(4 - width % 4) % 4 { bytes.append(0) } }
            }
            // No seed given: nft_jhash_init draws one when the rule loads (here from the stack's seed, once).
            let s = seed ?? generatorSeed(key)
            return reciprocal_scale(Jhash.jhash(bytes, initval: s), mod) + offset
        case .symhash(let mod, let offset):
            return reciprocal_scale(symmetricFlowHash(skb, info), mod) + offset
        }
    }

    private func generatorSeed(_ key: GeneratorKey) -> UInt32 {
        if let s = netfilter.generators[key] { return s }
        let s = UInt32(truncatingIfNeeded: random.next())
        netfilter.generators[key] = s
        return s
    }

    /// `__skb_get_hash_symmetric`: the same hash for both directions of a flow (addresses and
    /// ports ordered before hashing). The kernel keys it with a secret drawn at boot; here the
    /// key comes from the stack's seed, so the values differ from a given kernel's.
    private func symmetricFlowHash(_ skb: SkBuff, _ p: PktInfo) -> UInt32 {
        guard p.ipv4 else { return 0 }
        let src = skb.data.be32(p.nh + 12), dst = skb.data.be32(p.nh + 16)
        var ports: (UInt32, UInt32) = (0, 0)
        if (p.proto == IPProtocol.tcp || p.proto == IPProtocol.udp), p.fragOff == 0, p.len >= p.th + 4 {
            ports = (UInt32(skb.data.be16(p.th)), UInt32(skb.data.be16(p.th + 2)))
        }
        let (a, b) = src < dst ? (src, dst) : (dst, src)
        let (x, y) = ports.0 < ports.1 ? ports : (ports.1, ports.0)
        return Jhash.jhash2([a, b, x << 16 | y, UInt32(p.proto)], initval: generatorSeed(Self.flowHashSeedKey))
    }

    /// Where the stack's flow-hash secret is kept (drawn once, like the kernel's at boot).
    private static let flowHashSeedKey = GeneratorKey(table: -1, handle: 0, statement: 0)

    /// `reciprocal_scale`: `val` scaled into 0..<ep_ro without a division.
    func reciprocal_scale(_ val: UInt32, _ ep_ro: UInt32) -> UInt32 { UInt32((UInt64(val) * UInt64(ep_ro)) >> 32) }
}
