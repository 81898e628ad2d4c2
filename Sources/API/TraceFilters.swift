import Foundation
import Kernel
import NFTables
import Store
import Wire

/// The filters every trace query takes (the list, its aggregate, its pcapng export and DELETE),
/// read from the query string and checked, so each handler reads them the same way.
enum TraceFilters {
    static let names = ["stack", "outcome", "drop_reason", "device", "last_stage", "stage", "since_ns", "until_ns", "since", "until",
                        "proto", "addr", "src", "dst", "port", "sport", "dport", "hook", "table", "chain", "handle"]

    static func read(_ q: inout Query) throws(Problem) -> TraceFilter {
        var f = TraceFilter()
        f.stack = q.string("stack")
        if let v = q.string("outcome") {
            guard Outcome(rawValue: v) != nil else {
                throw Problem.badRequest("invalid-query", "outcome must be one of delivered, forwarded, transmitted, dropped, queued, failed, consumed")
            }
            f.outcome = v
        }
        if let v = q.string("drop_reason") {
            guard DropReason(rawValue: v) != nil else {
                throw Problem.badRequest("invalid-query", "unknown drop_reason \(v) (GET /v1/drop_reasons lists them: the SKB_DROP_REASON_ name without its prefix)")
            }
            f.dropReason = v
        }
        f.device = q.string("device")
        if let v = q.string("last_stage") {
            guard Stage(name: v) != nil else { throw Problem.badRequest("invalid-query", "last_stage: no stage \(v) (a kernel function name, as traces list them)") }
            f.lastStage = v
        }
        if let v = q.string("stage") {
            guard let s = Stage(name: v) else { throw Problem.badRequest("invalid-query", "stage: no stage \(v) (a kernel function name, as traces list them)") }
            f.stage = s.rawValue
        }
        f.startFrom = try int64(&q, "since_ns", 0...Int64.max)
        f.startTo = try int64(&q, "until_ns", 0...Int64.max)
        f.wallFrom = try wall(&q, "since")
        f.wallTo = try wall(&q, "until")
        if let v = q.string("proto") {
            guard let p = protocols[v.lowercased()] ?? UInt8(v) else {
                throw Problem.badRequest("invalid-query", "proto must be a number 0-255 or one of \(protocols.keys.sorted().joined(separator: ", "))")
            }
            f.proto = Int64(p)
        }
        f.addr = try range(&q, "addr")
        f.src = try range(&q, "src")
        f.dst = try range(&q, "dst")
        f.port = try int64(&q, "port", 0...65535)
        f.sport = try int64(&q, "sport", 0...65535)
        f.dport = try int64(&q, "dport", 0...65535)
        if let v = q.string("hook") {
            guard NFHook(rawValue: v) != nil else {
                throw Problem.badRequest("invalid-query", "hook must be one of \(NFHook.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            f.hook = v
        }
        if let v = q.string("table") {
            // "inet filter" as nft monitor trace names it, or the name alone.
            let parts = v.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if parts.count == 2 {
                guard families.contains(parts[0]) else { throw Problem.badRequest("invalid-query", "table: no family \(parts[0]) (\(families.joined(separator: ", ")))") }
                f.family = parts[0]; f.table = parts[1]
            } else if parts.count == 1 {
                f.table = parts[0]
            } else {
                throw Problem.badRequest("invalid-query", "table is a name, or a family and a name (table=inet%20filter)")
            }
        }
        f.chain = q.string("chain")
        if let v = q.string("handle") {
            if v == "policy" { f.policy = true } else {
                guard let h = Int64(v), h >= 1, h <= Int64(UInt32.max) else { throw Problem.badRequest("invalid-query", "handle must be a rule handle (1 or more) or policy") }
                f.handle = h
            }
        }
        if let a = f.startFrom, let b = f.startTo, b <= a { throw Problem.badRequest("invalid-query", "until_ns must be after since_ns") }
        if let a = f.wallFrom, let b = f.wallTo, b <= a { throw Problem.badRequest("invalid-query", "until must be after since") }
        return f
    }

    static let protocols: [String: UInt8] = ["icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "dccp": 33, "gre": 47, "esp": 50, "ah": 51,
                                             "icmpv6": 58, "sctp": 132, "udplite": 136]
    static let families = ["ip", "ip6", "inet", "arp", "bridge", "netdev"]

    private static func int64(_ q: inout Query, _ key: String, _ r: ClosedRange<Int64>) throws(Problem) -> Int64? {
        guard let s = q.string(key) else { return nil }
        guard let n = Int64(s), r.contains(n) else { throw Problem.badRequest("invalid-query", "\(key) must be an integer in \(r.lowerBound)...\(r.upperBound)") }
        return n
    }

    /// An RFC 3339 time, as the store writes it (UTC, milliseconds), so text order is time order.
    private static func wall(_ q: inout Query, _ key: String) throws(Problem) -> String? {
        guard let s = q.string(key) else { return nil }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        guard let d = f.date(from: s) ?? plain.date(from: s) else {
            throw Problem.badRequest("invalid-query", "\(key) must be an RFC 3339 time such as 2026-12-05T10:00:00Z")
        }
        return Timestamp.format(d)
    }

    /// An address or CIDR of either IP version, as the 16-byte range the store compares.
    private static func range(_ q: inout Query, _ key: String) throws(Problem) -> AddressRange? {
        guard let s = q.string(key) else { return nil }
        if !s.contains(":") {
            let c: IPv4CIDR
            do { c = s.contains("/") ? try IPv4CIDR(parsing: s) : IPv4CIDR(address: try IPv4Address(parsing: s), prefixLength: 32) } catch {
                throw Problem.badRequest("invalid-query", "\(key): \(s) is not an address or CIDR (\(error))")
            }
            let mask: UInt32 = c.prefixLength == 0 ? 0 : ~0 << UInt32(32 - c.prefixLength)
            let lo = c.address.raw & mask
            return AddressRange(lo: FlowTuple.bytes(FlowTuple.mapped(IPv4Address(raw: lo))), hi: FlowTuple.bytes(FlowTuple.mapped(IPv4Address(raw: lo | ~mask))))
        }
        let c: IPv6CIDR
        do { c = s.contains("/") ? try IPv6CIDR(parsing: s) : IPv6CIDR(address: try IPv6Address(parsing: s), prefixLength: 128) } catch {
            throw Problem.badRequest("invalid-query", "\(key): \(s) is not an address or CIDR (\(error))")
        }
        let mask: UInt128 = c.prefixLength == 0 ? 0 : ~0 << UInt128(128 - c.prefixLength)
        let lo = c.address.raw & mask
        return AddressRange(lo: FlowTuple.bytes(lo), hi: FlowTuple.bytes(lo | ~mask))
    }
}
