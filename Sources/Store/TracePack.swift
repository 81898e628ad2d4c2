import Foundation

/// Summary traces packed many to a row (migration 12). Each row is written as two parts, its
/// columns (fixed-width numbers and length-prefixed strings) and its body, and each part as the
/// runs of bytes where it differs from the last part of the same length (packets of a flow differ
/// in a few digits; a flow's drops and deliveries alternate between a few shapes), whole when no
/// recent part has its length. Decoding checks every length and offset: a damaged pack is an
/// error, never a crash. Version 1 compared with the row before only, which version 2 reads alike.
enum TracePack {
    static let version: UInt8 = 2

    /// The last parts of distinct lengths, most recent first (`size` at most): what a part is
    /// written against, kept alike by the writer and the reader.
    struct Recent {
        private(set) var parts: [[UInt8]] = []
        static let size = 16

        func last(ofLength n: Int) -> [UInt8]? { parts.first { $0.count == n } }

        /// The last part of this length, taken out (so the reader rewrites it in place).
        mutating func take(ofLength n: Int) -> [UInt8]? {
            guard let k = parts.firstIndex(where: { $0.count == n }) else { return nil }
            return parts.remove(at: k)
        }

        mutating func keep(_ p: [UInt8]) {
            if let k = parts.firstIndex(where: { $0.count == p.count }) { parts.remove(at: k) }
            parts.insert(p, at: 0)
            if parts.count > Self.size { parts.removeLast() }
        }
    }

    /// The kinds of `trace_pack_keys` rows.
    enum Key: Int64 {
        case outcome = 1, dropReason, device, lastStage, proto, srcNet, dstNet, dport, natDport, rule, hook
    }

    /// A pack's column values: id bounds, count, time bounds, the stages reached by any row.
    struct Bounds {
        var firstID = Int64.max, lastID = Int64.min, startMin: Int64?, startMax: Int64?
        var wallMin = "", wallMax = "", stagesLo: Int64 = 0, stagesHi: Int64 = 0
    }

    static func bounds(_ rows: ArraySlice<TraceRecord>) -> Bounds {
        var b = Bounds()
        b.wallMin = rows.first?.createdAt ?? ""; b.wallMax = b.wallMin
        for r in rows {
            b.firstID = min(b.firstID, r.id); b.lastID = max(b.lastID, r.id)
            if let s = r.index.startNs { b.startMin = min(b.startMin ?? s, s); b.startMax = max(b.startMax ?? s, s) }
            b.wallMin = min(b.wallMin, r.createdAt); b.wallMax = max(b.wallMax, r.createdAt)
            b.stagesLo |= r.index.stagesLo; b.stagesHi |= r.index.stagesHi
        }
        return b
    }

    // MARK: keys

    /// The value an absent column is kept as (a key's value cannot be NULL).
    static let none = Statement.Value.blob([])

    /// A network a pack is found by for an address: the /24 of an IPv4-mapped one, the /64 of an IPv6 one.
    static func network(_ a: [UInt8]) -> [UInt8] {
        guard a.count == 16 else { return a }
        let v4 = isV4Mapped(a)
        return Array(a[0..<(v4 ? 15 : 8)]) + [UInt8](repeating: 0, count: v4 ? 1 : 8)
    }

    static func isV4Mapped(_ a: [UInt8]) -> Bool { a.count == 16 && a[0..<10].allSatisfy { $0 == 0 } && a[10] == 0xff && a[11] == 0xff }

    /// A rule key's text: family, table, chain and handle ("" for a policy), split by U+0001.
    static func ruleKey(family: String, table: String, chain: String, handle: Int64?) -> String {
        "\(family)\u{1}\(table)\u{1}\(chain)\u{1}\(handle.map(String.init) ?? "")"
    }

    /// Every key of the rows with its count (rows, or rule events for rules and hooks). A run of
    /// rows with the same keys (a flow's packets) is counted at once.
    static func keys(_ rows: ArraySlice<TraceRecord>) -> [(Key, Statement.Value, Int)] {
        var counts: [KeyValue: Int] = [:]
        var run = rows.startIndex, n = 0
        for k in rows.indices {
            if n > 0 && sameKeys(rows[run], rows[k]) { n += 1; continue }
            if n > 0 { add(rows[run], n, &counts) }
            run = k; n = 1
        }
        if n > 0 { add(rows[run], n, &counts) }
        return counts.map { ($0.key.kind, $0.key.value, $0.value) }
    }

    private static func add(_ r: TraceRecord, _ n: Int, _ counts: inout [KeyValue: Int]) {
        func add(_ k: Key, _ v: Statement.Value) { counts[KeyValue(kind: k, value: v), default: 0] += n }
        func text(_ s: String?) -> Statement.Value { s.map { .text($0) } ?? none }
        func int(_ n: Int64?) -> Statement.Value { n.map { .int($0) } ?? none }
        let x = r.index
        add(.outcome, .text(r.outcome)); add(.dropReason, text(r.dropReason)); add(.device, .text(r.device))
        add(.lastStage, text(x.lastStage)); add(.proto, int(x.proto)); add(.dport, int(x.dport))
        if let d = x.natDport, d != x.dport { add(.natDport, .int(d)) }
        for (kind, a, b) in [(Key.srcNet, x.saddr, x.natSaddr), (Key.dstNet, x.daddr, x.natDaddr)] {
            if let a { add(kind, .blob(network(a))) }
            if let b, a.map({ !sameNetwork($0, b) }) ?? true { add(kind, .blob(network(b))) }
        }
        for h in x.rules {
            add(.rule, .text(ruleKey(family: h.family, table: h.table, chain: h.chain, handle: h.handle)))
            add(.hook, .text(h.hook))
        }
    }

    /// Two rows with the same keys (compared without building them).
    private static func sameKeys(_ a: TraceRecord, _ b: TraceRecord) -> Bool {
        let x = a.index, y = b.index
        guard a.outcome == b.outcome, a.dropReason == b.dropReason, a.device == b.device, x.lastStage == y.lastStage, x.proto == y.proto,
              x.dport == y.dport, x.natDport == y.natDport, x.rules.count == y.rules.count else { return false }
        func same(_ p: [UInt8]?, _ q: [UInt8]?) -> Bool {
            guard let p, let q else { return p == nil && q == nil }
            return sameNetwork(p, q)
        }
        guard same(x.saddr, y.saddr), same(x.natSaddr, y.natSaddr), same(x.daddr, y.daddr), same(x.natDaddr, y.natDaddr) else { return false }
        for (h, i) in zip(x.rules, y.rules) where h.hook != i.hook || h.family != i.family || h.table != i.table || h.chain != i.chain || h.handle != i.handle {
            return false
        }
        return true
    }

    /// Whether two addresses have the same network (`network`), without building either.
    static func sameNetwork(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == 16, b.count == 16 else { return a == b }
        let v4 = isV4Mapped(a)
        guard v4 == isV4Mapped(b) else { return false }
        return a.withUnsafeBufferPointer { p in b.withUnsafeBufferPointer { q in memcmp(p.baseAddress!, q.baseAddress!, v4 ? 15 : 8) == 0 } }
    }

    private struct KeyValue: Hashable {
        var kind: Key, value: Statement.Value
    }

    // MARK: encoding

    static func encode(_ rows: ArraySlice<TraceRecord>) -> [UInt8] {
        var out: [UInt8] = [version]
        out.reserveCapacity(64 + rows.count * 48)
        var recentCols = Recent(), recentBodies = Recent()
        for r in rows {
            var cols: [UInt8] = []
            cols.reserveCapacity(160)
            columns(r, into: &cols)
            let body = Array(r.body.utf8)
            write(cols, &recentCols, into: &out)
            write(body, &recentBodies, into: &out)
        }
        return out
    }

    /// A row's columns: presence bits (0-7 the optional numbers in this order, 8 drop reason,
    /// 9 last stage, 10/11 addresses, 12/13 addresses after NAT, 14/15 those equal to the
    /// arrival's and not written), then fixed-width numbers, then length-prefixed bytes.
    private static func columns(_ r: TraceRecord, into c: inout [UInt8]) {
        let x = r.index
        let numbers = (x.startNs, x.endNs, x.length, x.proto, x.sport, x.dport, x.natSport, x.natDport)
        var present: UInt64 = 0
        if numbers.0 != nil { present |= 1 << 0 }
        if numbers.1 != nil { present |= 1 << 1 }
        if numbers.2 != nil { present |= 1 << 2 }
        if numbers.3 != nil { present |= 1 << 3 }
        if numbers.4 != nil { present |= 1 << 4 }
        if numbers.5 != nil { present |= 1 << 5 }
        if numbers.6 != nil { present |= 1 << 6 }
        if numbers.7 != nil { present |= 1 << 7 }
        if r.dropReason != nil { present |= 1 << 8 }
        if x.lastStage != nil { present |= 1 << 9 }
        if x.saddr != nil { present |= 1 << 10 }
        if x.daddr != nil { present |= 1 << 11 }
        if x.natSaddr != nil { present |= 1 << 12; if x.natSaddr == x.saddr { present |= 1 << 14 } }
        if x.natDaddr != nil { present |= 1 << 13; if x.natDaddr == x.daddr { present |= 1 << 15 } }
        put(present, 2, &c)
        put(UInt64(bitPattern: r.id), 8, &c)
        func number(_ v: Int64?) { if let v { put(UInt64(bitPattern: v), 8, &c) } }
        number(numbers.0); number(numbers.1); number(numbers.2); number(numbers.3); number(numbers.4); number(numbers.5); number(numbers.6); number(numbers.7)
        put(UInt64(bitPattern: x.stagesLo), 8, &c); put(UInt64(bitPattern: x.stagesHi), 8, &c)
        if let a = x.saddr { bytes(a, &c) }
        if let a = x.daddr { bytes(a, &c) }
        if let a = x.natSaddr, present & (1 << 14) == 0 { bytes(a, &c) }
        if let a = x.natDaddr, present & (1 << 15) == 0 { bytes(a, &c) }
        string(r.device, &c); string(r.outcome, &c); string(r.createdAt, &c)
        if let d = r.dropReason { string(d, &c) }
        if let s = x.lastStage { string(s, &c) }
        put(UInt64(x.rules.count), 2, &c)
        for h in x.rules {
            string(h.hook, &c); string(h.family, &c); string(h.table, &c); string(h.chain, &c); string(h.verdict, &c)
            c.append(h.handle == nil ? 0 : 1)
            if let v = h.handle { put(UInt64(bitPattern: v), 8, &c) }
        }
    }

    private static func put(_ v: UInt64, _ width: Int, _ c: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { c.append(contentsOf: $0.prefix(width)) }
    }

    private static func bytes(_ s: [UInt8], _ c: inout [UInt8]) {
        put(UInt64(s.count), 2, &c)
        c += s
    }

    private static func string(_ s: String, _ c: inout [UInt8]) {
        var s = s
        s.withUTF8 { u in
            put(UInt64(u.count), 2, &c)
            c.append(contentsOf: u)
        }
    }

    private static func varint(_ v: Int, _ out: inout [UInt8]) {
        var v = UInt(v)
        while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    /// A part against the last recent one of its length (or whole), then kept as the most recent.
    private static func write(_ part: [UInt8], _ recent: inout Recent, into out: inout [UInt8]) {
        let base = recent.last(ofLength: part.count) ?? []
        part.withUnsafeBufferPointer { b in base.withUnsafeBufferPointer { p in delta(b, from: p, into: &out) } }
        recent.keep(part)
    }

    /// `b` after `p`: its length, then either 0 and the bytes, or 1 and (skip, run, bytes)
    /// triples covering it (runs of equal bytes shorter than 4 are taken into the run around them).
    private static func delta(_ b: UnsafeBufferPointer<UInt8>, from p: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        let n = b.count
        varint(n, &out)
        guard n == p.count, n > 0 else { out.append(0); out.append(contentsOf: b); return }
        out.append(1)
        var at = 0
        while at < n {
            var start = at
            while start < n && b[start] == p[start] { start += 1 }
            if start == n { varint(start - at, &out); varint(0, &out); return }
            var end = start + 1
            while end < n {
                if b[end] != p[end] { end += 1; continue }
                var same = end
                while same < n && same - end < 4 && b[same] == p[same] { same += 1 }
                if same - end >= 4 || same == n { break }
                end = same
            }
            varint(start - at, &out); varint(end - start, &out)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<end]))
            at = end
        }
    }

    // MARK: decoding

    /// The rows of a pack of `stackID`'s, each named `stackName`.
    /// `wanted` sees each row's id, ports and addresses before the row is built: rows it refuses
    /// cost no strings or arrays (a query's candidate packs hold mostly rows it does not want).
    static func decode(_ blob: [UInt8], stackID: Int64, stackName: String, wanted: ((Peek) -> Bool)? = nil) throws(StoreError) -> [TraceRecord] {
        var r = Reader(bytes: blob)
        guard (1...version).contains(try r.byte()) else { throw StoreError.damaged("trace pack of an unknown version") }
        var out: [TraceRecord] = []
        var recentCols = Recent(), recentBodies = Recent()
        while !r.atEnd {
            let cols = try r.undelta(&recentCols)
            let body = try r.undelta(&recentBodies)
            if let wanted, !wanted(try Peek(cols)) { continue }
            var c = Reader(bytes: cols)
            out.append(try row(&c, body: body, stackID: stackID, stackName: stackName))
        }
        return out
    }

    /// A row's id, ports and addresses read in place from its columns.
    struct Peek {
        var id: Int64
        var sport: Int64?, dport: Int64?, natSport: Int64?, natDport: Int64?
        var saddr: ArraySlice<UInt8>?, daddr: ArraySlice<UInt8>?, natSaddr: ArraySlice<UInt8>?, natDaddr: ArraySlice<UInt8>?

        init(_ cols: [UInt8]) throws(StoreError) {
            var c = Reader(bytes: cols)
            let present = try c.fixed(2)
            id = Int64(bitPattern: try c.fixed(8))
            func number(_ bit: Int) throws(StoreError) -> Int64? { present & (1 << bit) != 0 ? Int64(bitPattern: try c.fixed(8)) : nil }
            for bit in 0..<4 { _ = try number(bit) }
            sport = try number(4); dport = try number(5); natSport = try number(6); natDport = try number(7)
            _ = try c.fixed(8); _ = try c.fixed(8)
            if present & (1 << 10) != 0 { saddr = try c.take(Int(try c.fixed(2))) }
            if present & (1 << 11) != 0 { daddr = try c.take(Int(try c.fixed(2))) }
            if present & (1 << 12) != 0 { natSaddr = present & (1 << 14) != 0 ? saddr : try c.take(Int(try c.fixed(2))) }
            if present & (1 << 13) != 0 { natDaddr = present & (1 << 15) != 0 ? daddr : try c.take(Int(try c.fixed(2))) }
        }
    }

    private static func row(_ c: inout Reader, body: [UInt8], stackID: Int64, stackName: String) throws(StoreError) -> TraceRecord {
        let present = try c.fixed(2)
        let id = Int64(bitPattern: try c.fixed(8))
        var x = TraceIndex()
        func number(_ bit: Int) throws(StoreError) -> Int64? { present & (1 << bit) != 0 ? Int64(bitPattern: try c.fixed(8)) : nil }
        x.startNs = try number(0); x.endNs = try number(1); x.length = try number(2); x.proto = try number(3)
        x.sport = try number(4); x.dport = try number(5); x.natSport = try number(6); x.natDport = try number(7)
        x.stagesLo = Int64(bitPattern: try c.fixed(8)); x.stagesHi = Int64(bitPattern: try c.fixed(8))
        if present & (1 << 10) != 0 { x.saddr = try c.string() }
        if present & (1 << 11) != 0 { x.daddr = try c.string() }
        if present & (1 << 12) != 0 { x.natSaddr = present & (1 << 14) != 0 ? x.saddr : try c.string() }
        if present & (1 << 13) != 0 { x.natDaddr = present & (1 << 15) != 0 ? x.daddr : try c.string() }
        let device = try c.text(), outcome = try c.text(), created = try c.text()
        let drop = present & (1 << 8) != 0 ? try c.text() : nil
        if present & (1 << 9) != 0 { x.lastStage = try c.text() }
        let n = Int(try c.fixed(2))
        for _ in 0..<n {
            let hook = try c.text(), family = try c.text(), table = try c.text(), chain = try c.text(), verdict = try c.text()
            let handle = try c.byte() != 0 ? Int64(bitPattern: try c.fixed(8)) : nil
            x.rules.append(TraceRuleHit(hook: hook, family: family, table: table, chain: chain, handle: handle, verdict: verdict))
        }
        return TraceRecord(id: id, stackID: stackID, stackName: stackName, device: device, outcome: outcome, dropReason: drop,
                           createdAt: created, body: String(decoding: body, as: UTF8.self), index: x)
    }

    /// A bounds-checked walk over a pack's bytes.
    struct Reader {
        let bytes: [UInt8]
        var at = 0
        var atEnd: Bool { at >= bytes.count }

        mutating func byte() throws(StoreError) -> UInt8 {
            guard at < bytes.count else { throw StoreError.damaged("trace pack ends early") }
            at += 1
            return bytes[at - 1]
        }

        /// A little-endian number of 2 or 8 bytes (the widths `put` writes).
        mutating func fixed(_ width: Int) throws(StoreError) -> UInt64 {
            guard bytes.count - at >= width else { throw StoreError.damaged("trace pack ends early") }
            let from = at
            at += width
            return bytes.withUnsafeBytes { p in
                width == 8 ? UInt64(littleEndian: p.loadUnaligned(fromByteOffset: from, as: UInt64.self))
                    : UInt64(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: from, as: UInt16.self)))
            }
        }

        mutating func varint() throws(StoreError) -> Int {
            var v = 0, shift = 0
            while true {
                let b = try byte()
                guard shift < 35 else { throw StoreError.damaged("trace pack length out of range") }
                v |= Int(b & 0x7f) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
            }
        }

        mutating func take(_ n: Int) throws(StoreError) -> ArraySlice<UInt8> {
            guard n >= 0, bytes.count - at >= n else { throw StoreError.damaged("trace pack ends early") }
            at += n
            return bytes[(at - n)..<at]
        }

        mutating func string() throws(StoreError) -> [UInt8] { Array(try take(Int(try fixed(2)))) }
        mutating func text() throws(StoreError) -> String { String(decoding: try take(Int(try fixed(2))), as: UTF8.self) }

        /// One part of a row, written by `write` against the last part of its length in `recent`.
        mutating func undelta(_ recent: inout Recent) throws(StoreError) -> [UInt8] {
            let n = try varint()
            var part: [UInt8]
            switch try byte() {
            case 0: part = Array(try take(n))
            case 1:
                guard let base = recent.take(ofLength: n) else { throw StoreError.damaged("trace pack row written against no recent one of its length") }
                part = base
                var pos = 0
                while pos < n {
                    pos += try varint()
                    let run = try varint()
                    guard pos <= n, run <= n - pos else { throw StoreError.damaged("trace pack run out of range") }
                    let src = try take(run)
                    part.replaceSubrange(pos..<(pos + run), with: src)
                    pos += run
                    if run == 0 { break }
                }
            default: throw StoreError.damaged("trace pack row of an unknown form")
            }
            recent.keep(part)
            return part
        }
    }
}
