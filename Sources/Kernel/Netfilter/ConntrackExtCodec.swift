/// The extensions record of a checkpointed connection (ConntrackCodec's flag 64): a byte of
/// what follows (1 helper extension, 2 master, 4 timeout policy, 8 event mask, 16 sequence
/// adjustment); the helper extension as the
/// helper's name (length 255: none), the ftp helper's line positions each way (count, u32s) and
/// the expectations the connection holds (count; protocol, IPv6, source, destination, port,
/// zone, expiry, NAT direction (255: none) and the command's port); the master as its position
/// among the stored connections; the policy as a count and u32 seconds; the event mask as a
/// u16; the sequence adjustment per direction (position, offset before, offset after); the
/// synproxy extension (32: cookie, its timestamp, the timestamp offset, u32s, and the window, u16);
/// the counters (64: packets and bytes of the original direction, then of the reply, u64s).
enum ConntrackExtCodec {
    struct Expected { var proto: UInt8, v6: Bool, src: UInt128, dst: UInt128, dport: UInt16, zone: UInt16, expires: UInt64, natDir: Int?, savedPort: UInt16 }
    static let expectedSize = 1 + 1 + 16 + 16 + 2 + 2 + 8 + 1 + 2

    static func encode(_ c: Conn, master: Int?, _ expected: [CTExpectation], into out: inout [UInt8]) {
        let help = c.help, policy = c.timeoutPolicy
        out.append((help != nil ? 1 : 0) | (master != nil ? 2 : 0) | (policy != nil ? 4 : 0) | (c.eventMask != .max ? 8 : 0) | (c.seqAdjust != nil ? 16 : 0) | (c.synproxy != nil ? 32 : 0) | (c.acct != nil ? 64 : 0))
        if let help {
            let name = Array((help.helper ?? "").utf8.prefix(254))
            out.append(help.helper == nil ? 255 : UInt8(name.count)); out += name
            for dir in 0..<2 {
                out.append(UInt8(help.seqAfterNewline[dir].count))
                for s in help.seqAfterNewline[dir] { ConntrackCodec.put(&out, s) }
            }
            ConntrackCodec.put(&out, UInt16(min(expected.count, Int(UInt16.max))))
            for e in expected.prefix(Int(UInt16.max)) {
                out.append(e.proto); out.append(e.v6 ? 1 : 0)
                ConntrackCodec.put(&out, e.src); ConntrackCodec.put(&out, e.dst)
                ConntrackCodec.put(&out, e.dport); ConntrackCodec.put(&out, e.zone); ConntrackCodec.put(&out, e.expires)
                out.append(e.natDir.map(UInt8.init) ?? 255); ConntrackCodec.put(&out, e.savedPort)
            }
        }
        if let master { ConntrackCodec.put(&out, UInt32(master)) }
        if let policy {
            out.append(UInt8(policy.count))
            for s in policy { ConntrackCodec.put(&out, s) }
        }
        if c.eventMask != .max { ConntrackCodec.put(&out, c.eventMask) }
        for w in c.seqAdjust ?? [] { ConntrackCodec.put(&out, w.correctionPos); ConntrackCodec.put(&out, w.before); ConntrackCodec.put(&out, w.after) }
        if let sp = c.synproxy { ConntrackCodec.put(&out, sp.isn); ConntrackCodec.put(&out, sp.its); ConntrackCodec.put(&out, sp.tsoff); ConntrackCodec.put(&out, sp.maxwin) }
        if let a = c.acct { for n in [a.packets.original, a.bytes.original, a.packets.reply, a.bytes.reply] { ConntrackCodec.put(&out, n) } }
    }

    /// The record read into `c`: its master's position and its expectations, or nil when the
    /// bytes run out or say what no record says.
    static func decode(_ r: inout ConntrackCodec.Reader, into c: Conn) -> (master: Int?, expected: [Expected])? {
        guard r.left >= 1 else { return nil }
        let what = r.u8()
        guard what & ~127 == 0 else { return nil }
        var expected: [Expected] = []
        if what & 1 != 0 {
            guard r.left >= 1 else { return nil }
            let n = r.u8()
            let len = n == 255 ? 0 : Int(n)
            guard r.left >= len else { return nil }
            var name: [UInt8] = []
            for _ in 0..<len { name.append(r.u8()) }
            let help = CTHelp(helper: n == 255 ? nil : String(decoding: name, as: UTF8.self))
            for dir in 0..<2 {
                guard r.left >= 1 else { return nil }
                let k = Int(r.u8())
                guard k <= 2, r.left >= 4 * k else { return nil }
                for _ in 0..<k { help.seqAfterNewline[dir].append(r.int()) }
            }
            guard r.left >= 2 else { return nil }
            let count = Int(r.int() as UInt16)
            guard r.left >= count * expectedSize else { return nil }
            for _ in 0..<count {
                let proto = r.u8(), v6 = r.u8() != 0
                let src = r.u128(), dst = r.u128(), dport: UInt16 = r.int(), zone: UInt16 = r.int(), expires: UInt64 = r.int()
                let dir = r.u8()
                guard dir <= 1 || dir == 255 else { return nil }
                expected.append(Expected(proto: proto, v6: v6, src: src, dst: dst, dport: dport, zone: zone, expires: expires,
                                         natDir: dir == 255 ? nil : Int(dir), savedPort: r.int()))
            }
            help.expecting = count
            c.help = help
        }
        var master: Int? = nil
        if what & 2 != 0 {
            guard r.left >= 4 else { return nil }
            master = Int(r.int() as UInt32)
        }
        if what & 4 != 0 {
            guard r.left >= 1 else { return nil }
            let k = Int(r.u8())
            guard r.left >= 4 * k else { return nil }
            var policy: [UInt32] = []
            for _ in 0..<k { policy.append(r.int()) }
            c.timeoutPolicy = policy
        }
        if what & 8 != 0 {
            guard r.left >= 2 else { return nil }
            c.eventMask = r.int()
        }
        if what & 16 != 0 {
            guard r.left >= 24 else { return nil }
            c.seqAdjust = (0..<2).map { _ in SeqAdjust(correctionPos: r.int(), before: r.int(), after: r.int()) }
        }
        if what & 32 != 0 {
            guard r.left >= 14 else { return nil }
            c.synproxy = ConnSynproxy(isn: r.int(), its: r.int(), tsoff: r.int(), maxwin: r.int())
        }
        if what & 64 != 0 {
            guard r.left >= 32 else { return nil }
            var a = CTAcct()
            (a.packets.original, a.bytes.original, a.packets.reply, a.bytes.reply) = (r.int(), r.int(), r.int(), r.int())
            c.acct = a
        }
        return (master, expected)
    }
}
