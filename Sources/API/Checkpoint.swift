import Foundation
import HTTPServer
import JSON
import Kernel
import NFTables
import Store
import Wire

// Checkpoints: a stack's runtime state saved to the store and put back at start-up.
extension App {
    /// Saves the runtime state of every stack used since its last checkpoint: its virtual clock,
    /// its ruleset as it stands (counters, quotas used, set elements rules added) for the ruleset
    /// version in force, its conntrack entries, its BPF programs' map contents and the rest of
    /// its runtime (`StackRuntime`: counters, limit buckets, policy counters, numgen state,
    /// neighbours and their timers, random state, IP ID counters, rate limiters, RFS tables, UDP
    /// sockets' unread datagrams, reassembly queues, what waits on a neighbour). A restart
    /// restores them (Registry.load). Answers the stacks saved. Not kept yet: qdisc queues, htb
    /// class state, TCP connections, set elements' own limits. `periodic` (the maintenance pass)
    /// skips a stack until 19 times its last checkpoint's cost has passed (`checkpointNotBeforeNs`).
    @discardableResult
    public func checkpoint(periodic: Bool = false) -> [String] {
        var saved: [String] = []
        for e in registry.all() {
            let start = DispatchTime.now().uptimeNanoseconds
            // The stack's lock without `withStack`: a checkpoint is not a use.
            e.lock.lock()
            guard e.uses != e.usesCheckpointed, !e.deleted, !periodic || start >= e.checkpointNotBeforeNs else { e.lock.unlock(); continue }
            let uses = e.uses
            let clock = e.stack.clockNs, text = e.stack.checkpointRuleset()
            let conns = e.stack.conntrackCheckpoint()
            let maps = Self.mapsDocument(e.stack.bpfMapContents()).rendered()
            let runtime = e.stack.runtimeState()
            // Read with the ruleset: a change stores its version under this lock.
            let version = Result { () throws(StoreError) -> Int in try store.latestRulesetVersion(stackID: e.record.id)?.version ?? 0 }
            e.lock.unlock()
            do {
                try store.saveState(stackID: e.record.id, StackState(version: try version.get(), clockNs: clock, ruleset: text, conntrack: .binary(conns), bpfMaps: maps,
                                                                   runtime: Self.runtimeDocument(runtime)))
                let end = DispatchTime.now().uptimeNanoseconds
                e.lock.lock(); e.usesCheckpointed = uses; e.checkpointNotBeforeNs = end + 19 * (end - start); e.lock.unlock()
                saved.append(e.record.name)
            } catch {
                FileHandle.standardError.write(Data("checkpoint of stack \(e.record.name) not stored: \(error)\n".utf8))
            }
        }
        return saved
    }

    /// POST /v1/stacks/{stack}/fork {"name": NEW}: a new stack that is a copy of this one at this
    /// moment, from the same state a checkpoint keeps: its document, virtual clock, ruleset as it
    /// stands (counters, quotas, set elements; stored as the fork's version 1), conntrack
    /// entries, map contents and the rest of its runtime (counters, neighbours, random state,
    /// unread datagrams, reassembly and neighbour queues, qdisc counters). Qdisc queues, htb
    /// class state and TCP connections start empty.
    func forkStack(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let source = try entry(name)
        let body = try parseJSONBody(req)
        let newName = try decoding { () throws -> String in
            var r = try FieldReader(body)
            let n = try r.requiredString("name")
            try r.finish()
            return n
        }
        guard StackDocument.isValidName(newName, max: 64) else {
            throw Problem.unprocessable("name must be 1-64 characters of A-Z a-z 0-9 . _ -", pointer: "/name")
        }
        // The state, read at one moment under the source's lock.
        let (config, clock, text, conns, maps, runtime) = source.withStack { s in
            (source.config, s.clockNs, s.checkpointRuleset(), s.conntrackCheckpoint(), s.bpfMapContents(), s.runtimeState())
        }
        var copy = config
        copy.name = newName
        let ruleset: NFRuleset
        do throws(NFSyntaxError) { ruleset = try NFParser.stored(text) } catch {
            throw Problem(status: 500, slug: "internal", detail: "the stack's own ruleset did not read back: \(error.message)")
        }
        let e = try registry.create(copy)
        try e.withStack { (s: Stack) throws(Problem) in
            _ = s.advance(toNs: clock)
            if !ruleset.tables.isEmpty {
                do { _ = try store.addRulesetVersion(stackID: e.record.id, summary: "fork of \(name)", ruleset: text) } catch {
                    throw Problem.storage("the fork's ruleset not stored: \(error)")
                }
            }
            s.loadRuleset(ruleset)
            _ = s.restoreConntrack(checkpoint: conns)   // (its own encoding: it reads)
            s.restoreBPFMaps(maps)
            s.restoreRuntime(runtime)
        }
        checkpoint()
        return jsonResponse(201, stackJSON(e), headers: [HTTPHeader("location", "/v1/stacks/\(newName)")])
    }

    /// The runtime state as the checkpoint stores it (JSON of `StackRuntime`'s fields).
    static func runtimeDocument(_ r: StackRuntime) -> String {
        // Plain numbers, strings and arrays: encoding cannot fail.
        (try? String(decoding: JSONEncoder().encode(r), as: UTF8.self)) ?? "{}"
    }

    /// A stored runtime state; nil for a checkpoint from before it was kept ("{}"). One that does
    /// not read is reported and left out (the stack starts those counters from zero).
    static func runtime(_ text: String, stack: String) -> StackRuntime? {
        guard text != "{}" else { return nil }
        do { return try JSONDecoder().decode(StackRuntime.self, from: Data(text.utf8)) } catch {
            FileHandle.standardError.write(Data("runtime state of stack \(stack) not restored: \(error)\n".utf8))
            return nil
        }
    }

    /// Map contents as the checkpoint stores them: `[{"dev", "map", "entries": [[key hex, [value hex per CPU]]]}]`.
    static func mapsDocument(_ maps: Stack.BPFMapContents) -> JSONValue {
        .array(maps.map { m in
            .object([("dev", .string(m.dev)), ("map", .string(m.map)),
                     ("entries", .array(m.entries.map { .array([.string(Hex.encode($0.key)), .array($0.values.map { .string(Hex.encode($0)) })]) }))])
        })
    }

    /// Stored map contents; what does not read is left out.
    static func mapContents(_ text: String) -> Stack.BPFMapContents {
        guard case .array(let items) = (try? JSONParser.parse(text)) ?? .null else { return [] }
        return items.compactMap { i in
            guard case .string(let dev) = i["dev"] ?? .null, case .string(let map) = i["map"] ?? .null, case .array(let list) = i["entries"] ?? .null else { return nil }
            let entries: [(key: [UInt8], values: [[UInt8]])] = list.compactMap { e in
                guard case .array(let kv) = e, kv.count == 2, case .string(let k) = kv[0], case .array(let vs) = kv[1], let key = try? Hex.decode(k) else { return nil }
                let values = vs.compactMap { v -> [UInt8]? in if case .string(let t) = v { try? Hex.decode(t) } else { nil } }
                return values.count == vs.count ? (key, values) : nil
            }
            return (dev, map, entries)
        }
    }

    /// The entries of a checkpoint stored as JSON (before the binary form: addresses as hex, IPv4
    /// in the low 32 bits); one that does not read is left out.
    static func connRecords(_ text: String) -> [ConnRecord] {
        guard case .array(let items) = (try? JSONParser.parse(text)) ?? .null else { return [] }
        return items.compactMap { i in
            guard let proto = int(i["proto"]).flatMap(UInt8.init(exactly:)), let o = tuple(i["orig"]), let r = tuple(i["reply"]),
                  let status = int(i["status"]).flatMap(UInt32.init(exactly:)), let mark = int(i["mark"]).flatMap(UInt32.init(exactly:)),
                  let created = int(i["created"]), let expires = int(i["expires"]), created >= 0, expires >= 0 else { return nil }
            let tcp: String? = if case .string(let t) = i["tcp"] ?? .null { t } else { nil }
            var rec = ConnRecord(proto: proto, v6: i["v6"] == .bool(true), orig: o, reply: r, status: status, mark: mark, tcp: tcp,
                                 created: UInt64(created), expires: UInt64(expires), snat: nil, dnat: nil)
            if let a = hex(i["snat"]?["addr"]), let p = int(i["snat"]?["port"]).flatMap(UInt16.init(exactly:)) { rec.snat = (a, p) }
            if let a = hex(i["dnat"]?["addr"]), let p = int(i["dnat"]?["port"]).flatMap(UInt16.init(exactly:)) { rec.dnat = (a, p) }
            return rec
        }
    }

    private static func hex(_ v: JSONValue?) -> UInt128? { if case .string(let s) = v ?? .null { UInt128(s, radix: 16) } else { nil } }
    private static func int(_ v: JSONValue?) -> Int? { if case .int(let n) = v ?? .null { n } else { nil } }
    private static func tuple(_ v: JSONValue?) -> ConnRecord.Tuple? {
        guard let v, let s = hex(v["src"]), let d = hex(v["dst"]), let sp = int(v["sport"]).flatMap(UInt16.init(exactly:)),
              let dp = int(v["dport"]).flatMap(UInt16.init(exactly:)) else { return nil }
        return .init(src: s, dst: d, sport: sp, dport: dp)
    }
}
