import JSON
import Store
import Wire

/// A full trace as stored: its stages and netfilter events in `trace_event_lists`, its frames in
/// `trace_frames`, and the rest of its document as the body, with null where those go back.
/// Reading puts them back, so a stored trace reads as the answer that first showed it.
enum TraceStorage {
    /// The document keys whose values live in the tables.
    static let keys: Set<String> = ["stages", "frame_hex", "netfilter", "emitted"]

    /// `doc` (a full trace's document) rendered (`text`, as the answer shows it) and split into the
    /// body to store and its parts, cut from that one rendering; nil when it is not a full trace's
    /// (no stages array). `frame` is the trace's packet when the caller holds its bytes (otherwise
    /// read from frame_hex); `emitted` likewise for what it sent.
    static func split(_ doc: JSONValue, frame: [UInt8]? = nil, emitted: [TraceFrame]? = nil) -> (text: String, body: String, parts: TraceParts)? {
        guard case .array(let stages) = doc["stages"] ?? .null, case .string(let device) = doc["device"] ?? .null else { return nil }
        let (bytes, spans) = doc.utf8(marking: keys)
        guard let stageSpan = spans["stages"] else { return nil }
        var parts = TraceParts(stages: String(decoding: bytes[stageSpan], as: UTF8.self))
        if let nf = spans["netfilter"], case .array = doc["netfilter"] ?? .null { parts.netfilter = String(decoding: bytes[nf], as: UTF8.self) }
        // The packet the trace began with: arrived on its device when the trace starts at the NIC.
        let first: [UInt8]
        if let frame { first = frame } else if case .string(let hex) = doc["frame_hex"] ?? .null, let f = try? Hex.decode(hex) { first = f } else { return nil }
        let arrived = stages.first?["function"] == .string("nic_receive")
        parts.frames.append(TraceFrame(direction: arrived ? .in : .local, device: device, timeNs: int(doc["start_ns"]) ?? 0, bytes: first))
        if let emitted { parts.frames += emitted } else if case .array(let sent) = doc["emitted"] ?? .null {
            for x in sent {
                guard case .string(let dev) = x["device"] ?? .null, case .string(let hex) = x["hex"] ?? .null, let f = try? Hex.decode(hex) else { return nil }
                parts.frames.append(TraceFrame(direction: .out, device: dev, timeNs: int(x["time_ns"]) ?? 0, bytes: f))
            }
        }
        // The body: the same bytes with null where each kept-apart value was.
        var body: [UInt8] = []
        body.reserveCapacity(bytes.count)
        var at = 0
        for span in spans.values.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            body.append(contentsOf: bytes[at..<span.lowerBound])
            body.append(contentsOf: "null".utf8)
            at = span.upperBound
        }
        body.append(contentsOf: bytes[at...])
        return (String(decoding: bytes, as: UTF8.self), String(decoding: body, as: UTF8.self), parts)
    }

    /// A stored trace's document as text: its body, with its events and frames back in place; a
    /// summary row stored without its text (`TraceDocument.summaryFromColumns`), written from its columns.
    static func document(_ rec: TraceRecord) -> String {
        if rec.body.isEmpty && rec.parts == nil { return TraceDocument.summaryText(rec) }
        guard let parts = rec.parts, case .object(let fields) = (try? JSONParser.parse(rec.body)) ?? .null else { return rec.body }
        let own = parts.frames.first.flatMap { $0.direction == .out ? nil : $0 }
        return JSONValue.object(fields.map { key, value in
            guard value == .null else { return (key, value) }
            switch key {
            case "stages": return (key, (try? JSONParser.parse(parts.stages)) ?? .array([]))
            case "netfilter": return (key, (try? JSONParser.parse(parts.netfilter)) ?? .array([]))
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
            try store.setParts(rows.map { ($0.id, (try? JSONParser.parse($0.body)).flatMap { split($0) }.map { ($0.body, $0.parts) }) })
            done += rows.count
        }
    }

    private static func int(_ v: JSONValue?) -> Int64? { if case .int(let n) = v ?? .null { Int64(n) } else { nil } }
}
