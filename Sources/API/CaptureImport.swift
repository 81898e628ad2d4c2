import HTTPServer
import JSON
import Kernel
import Wire

/// A capture body read in pieces: from the file the server spooled it to (a large upload), or
/// from memory. Only one piece and the packets of one batch are held at a time.
struct CapturePackets {
    let request: HTTPRequest
    private var reader = PCAP.Reader()
    private var ready: [PCAP.Packet] = []
    private var taken = 0
    private var ended = false
    /// Bytes of the body read so far.
    private(set) var bytesRead = 0
    static let pieceBytes = 1 << 20

    init(_ request: HTTPRequest) { self.request = request }

    var totalBytes: Int { request.spooled?.count ?? request.body.count }

    /// Up to `n` next packets; fewer only at the end of the capture.
    mutating func next(_ n: Int) throws(PCAP.Failure) -> [PCAP.Packet] {
        while ready.count - taken < n && !ended {
            ready.removeFirst(taken)
            taken = 0
            let piece: ArraySlice<UInt8> = if let file = request.spooled {
                ArraySlice(file.read(at: bytesRead, max: Self.pieceBytes))
            } else {
                request.body[bytesRead..<min(request.body.count, bytesRead + Self.pieceBytes)]
            }
            if piece.isEmpty {
                ready += try reader.finish()
                ended = true
            } else {
                bytesRead += piece.count
                ready += try reader.feed(piece)
            }
        }
        let k = min(n, ready.count - taken)
        defer { taken += k }
        return Array(ready[taken..<(taken + k)])
    }

    static func problem(_ error: PCAP.Failure) -> Problem {
        if error.unsupported { return Problem(status: 422, slug: "not-supported", detail: "not supported yet: \(error.message)") }
        return Problem.badRequest("invalid-capture", "the capture is not a pcap or pcapng file this reads: \(error.description)")
    }
}

/// Capture times as virtual offsets from the capture's first packet. Captures may go back in
/// time (merged files): an earlier packet arrives with the one before it.
struct CaptureClock {
    private var first: UInt64?
    private var last: UInt64 = 0

    mutating func offset(_ timeNs: UInt64) -> UInt64 {
        let t0 = first ?? timeNs
        first = t0
        last = max(last, timeNs >= t0 ? timeNs - t0 : 0)
        return min(last, Stack.clockLimitNs / 2)
    }
}

// POST /v1/stacks/{stack}/packets?device=D&progress=N with a capture body
extension App {
    /// A capture of any size: `every` packets at a time under the stack's lock (other requests
    /// run between pieces), their traces stored as the mode says, one NDJSON line per piece with
    /// the totals so far and a last one with `"done":true`. What is wrong before the first piece
    /// (device, clock, file header) is a problem answer; later, an `{"error":...}` line ends the
    /// stream, and the pieces before it stay run and stored.
    func importCapture(_ req: HTTPRequest, _ e: StackEntry, device: NetDevice, startNs: Int?, mode: TraceMode, sync: Bool,
                       every: Int, xdpInsns: Bool) throws(Problem) -> HTTPResponse {
        var packets = CapturePackets(req)
        let first: [PCAP.Packet]
        do { first = try packets.next(every) } catch { throw CapturePackets.problem(error) }
        guard !first.isEmpty else { throw Problem.unprocessable("the capture holds no packets", pointer: "") }
        let base = try e.withStack { (s: Stack) throws(Problem) -> UInt64 in
            try Self.checkClock(s, startNs: startNs)
            return startNs.map { UInt64($0) } ?? s.clockNs
        }
        // The run holds the request's injection slot until the stream ends or its client goes.
        let run = CaptureRun(app: self, entry: e, device: device.index, base: base, mode: mode, sync: sync, xdpInsns: xdpInsns)
        var clock = CaptureClock()
        // The next piece is read ahead of the line for this one, so the last line says done.
        var ahead: Result<[PCAP.Packet], Problem> = .success(first)
        var done = false
        // The worker that answered calls this for each piece, as the client takes the lines.
        let stream = ResponseStream {
            guard !done else { return nil }
            do throws(Problem) {
                let batch = try ahead.get()
                try run.run(batch, offsets: batch.map { clock.offset($0.timeNs) })
                do throws(PCAP.Failure) { ahead = .success(try packets.next(every)) } catch { ahead = .failure(CapturePackets.problem(error)) }
                if case .success(let next) = ahead, next.isEmpty { done = true }
                return run.line(bytes: packets.bytesRead, of: packets.totalBytes, done: done)
            } catch {
                done = true
                return run.errorLine(error)
            }
        }
        var r = HTTPResponse(status: 200, headers: [HTTPHeader("content-type", "application/x-ndjson")])
        r.stream = stream
        return r
    }
}

/// The totals of a capture run in pieces, and the running slot it holds till it is dropped.
final class CaptureRun: @unchecked Sendable {
    let app: App
    let e: StackEntry
    let device: Int
    let base: UInt64
    let mode: TraceMode
    let sync: Bool
    let xdpInsns: Bool
    private(set) var packets = 0
    private var outcomes: [String: Int] = [:]
    private var traces = 0
    private var dropped = 0
    private var durable = true
    private var clockNs: UInt64 = 0

    init(app: App, entry: StackEntry, device: Int, base: UInt64, mode: TraceMode, sync: Bool, xdpInsns: Bool) {
        self.app = app; self.e = entry; self.device = device; self.base = base
        self.mode = mode; self.sync = sync; self.xdpInsns = xdpInsns
    }

    deinit { app.running.leave() }

    /// One piece: run under the stack's lock, counted, its traces stored.
    func run(_ batch: [PCAP.Packet], offsets: [UInt64]) throws(Problem) {
        let base = self.base, device = self.device, xdp = xdpInsns
        var clock: UInt64 = 0
        let results = try app.runTraced(e, mode: mode, packets: batch.count, from: packets) { s in
            s.xdpInstructionTrace = xdp
            defer { s.xdpInstructionTrace = false; clock = s.clockNs }
            return s.inject(batch.indices.map { Injection(device: device, frame: batch[$0].frame, atNs: base + offsets[$0]) })
        }
        clockNs = clock
        let stored = try app.storeRows(results, hops: app.followLinks(results, from: e.record.name), mode: mode, entry: e, sync: sync, from: packets, answer: .none)
        packets += results.count
        for (key, n) in App.outcomeRuns(results) { outcomes[key.outcome.rawValue, default: 0] += n }
        traces += stored.ids.count - stored.dropped
        dropped += stored.dropped
        durable = durable && stored.durable
    }

    func line(bytes: Int, of total: Int, done: Bool) -> [UInt8] {
        var o = JSONObject()
        o.set("bytes", bytes)
        o.set("of", total)
        o.set("packets", packets)
        o.set("outcomes", .object(outcomes.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))
        o.set("traces", traces)
        if dropped > 0 { o.set("traces_dropped", dropped) }
        o.set("start_ns", Int(base))
        o.set("clock_ns", Int(clockNs))
        if done {
            o.set("done", true)
            o.set("trace", mode.text)
            o.set("durable", sync && durable)
        }
        return o.value.bytes + [0x0a]
    }

    func errorLine(_ p: Problem) -> [UInt8] {
        var o = JSONObject()
        o.set("error", p.document)
        o.set("packets", packets)
        return o.value.bytes + [0x0a]
    }
}
