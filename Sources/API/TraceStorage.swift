import JSON
import Store
import Wire

/// A full trace as stored: its stages and netfilter events in `trace_events`, its frames in
/// `trace_frames`, and the rest of its document as the body, with null where those go back.
/// Reading puts them back, so a stored trace reads as the answer that first showed it.
enum TraceStorage {
    /// The document keys whose values live in the tables.
    static let keys: Set<String> = ["stages", "frame_hex", "netfilter", "emitted"]

    /// `doc` (a full trace's document) split into the body to store and its rows; nil when it is
    /// not a full trace's (no stages array). `frame` is the trace's packet when the caller holds
    /// its bytes (otherwise read from frame_hex).
    static func split(_ doc: JSONValue, frame: [UInt8]? = nil, emitted: [TraceFrame]? = nil) -> (body: String, parts: TraceParts)? {
        guard case .object(let fields) = doc, case .array(let stages) = doc["stages"] ?? .null else { return nil }
        var parts = TraceParts()
        for s in stages {
            guard case .string(let name) = s["function"] ?? .null else { return nil }
            parts.events.append(TraceEvent(kind: .stage, name: name, cpu: int(s["cpu"]), timeNs: int(s["time_ns"]),
                                           detail: s["generated"] == .bool(true) ? #"{"generated":true}"# : nil))
        }
        if case .array(let events) = doc["netfilter"] ?? .null {
            for e in events {
                guard case .string(let hook) = e["hook"] ?? .null else { return nil }
                parts.events.append(TraceEvent(kind: .netfilter, name: hook, detail: e.rendered()))
            }
        }
        // The packet the trace began with: arrived on its device when the trace starts at the NIC.
        let bytes: [UInt8]
        if let frame { bytes = frame } else if case .string(let hex) = doc["frame_hex"] ?? .null, let f = try? Hex.decode(hex) { bytes = f } else { return nil }
        guard case .string(let device) = doc["device"] ?? .null else { return nil }
        let arrived = stages.first?["function"] == .string("nic_receive")
        parts.frames.append(TraceFrame(direction: arrived ? .in : .local, device: device, timeNs: int(doc["start_ns"]) ?? 0, bytes: bytes))
        if let emitted { parts.frames += emitted } else if case .array(let sent) = doc["emitted"] ?? .null {
            for x in sent {
                guard case .string(let dev) = x["device"] ?? .null, case .string(let hex) = x["hex"] ?? .null, let f = try? Hex.decode(hex) else { return nil }
                parts.frames.append(TraceFrame(direction: .out, device: dev, timeNs: int(x["time_ns"]) ?? 0, bytes: f))
            }
        }
        let body = JSONValue.object(fields.map { keys.contains($0.0) ? ($0.0, .null) : $0 }).rendered()
        return (body, parts)
    }

    /// A stored trace's document as text: its body, with its events and frames back in place.
    static func document(_ rec: TraceRecord) -> String {
        guard let parts = rec.parts, case .object(let fields) = (try? JSONParser.parse(rec.body)) ?? .null else { return rec.body }
        let own = parts.frames.first.flatMap { $0.direction == .out ? nil : $0 }
        return JSONValue.object(fields.map { key, value in
            guard value == .null else { return (key, value) }
            switch key {
            case "stages":
                return (key, .array(parts.events.filter { $0.kind == .stage }.map { e in
                    var o: [(String, JSONValue)] = [("function", .string(e.name)), ("cpu", .int(Int(e.cpu ?? 0))), ("time_ns", .int(Int(e.timeNs ?? 0)))]
                    if e.detail != nil { o.append(("generated", .bool(true))) }
                    return .object(o)
                }))
            case "netfilter":
                return (key, .array(parts.events.filter { $0.kind == .netfilter }.map { e in
                    e.detail.flatMap { try? JSONParser.parse($0) } ?? .object([("hook", .string(e.name))])
                }))
            case "frame_hex": return (key, .string(Hex.encode(own?.bytes ?? [])))
            case "emitted":
                return (key, .array(parts.frames.filter { $0.direction == .out }.map { f in
                    .object([("device", .string(f.device)), ("time_ns", .int(Int(f.timeNs))), ("hex", .string(Hex.encode(f.bytes)))])
                }))
            default: return (key, value)
            }
        }).rendered()
    }

    /// Moves the events and frames of full traces stored before migration 9 into their tables, a
    /// batch at a time (at start-up, after the columns' backfill, which reads them from the body).
    static func backfill(_ store: Store) throws(StoreError) -> Int {
        var done = 0
        while true {
            let rows = try store.unsplitTraces(limit: 2_000)
            if rows.isEmpty { return done }
            try store.setParts(rows.map { ($0.id, (try? JSONParser.parse($0.body)).flatMap { split($0) }) })
            done += rows.count
        }
    }

    private static func int(_ v: JSONValue?) -> Int64? { if case .int(let n) = v ?? .null { Int64(n) } else { nil } }
}
