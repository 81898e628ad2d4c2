import Glibc
import HTTPServer
import JSON
import Kernel
import Wire

// POST /v1/stacks/{stack}/packets with an NDJSON body (application/x-ndjson): one packet object a
// line, as the items of a JSON body's "packets". Big batches come this way: a line that is only
// `{"device": "...", "hex": "...", "at_ns": N}` (any order, at_ns optional, no escapes) is read
// in place without building a JSON value; any other line goes through the JSON parser and
// PacketSpec.decode like a JSON body's item. Pointers of errors name the line (from 0): /3/hex.
extension App {
    static func isNDJSON(_ req: HTTPRequest) -> Bool {
        ["application/x-ndjson", "application/jsonl", "application/jsonlines"].contains(req.mediaType)
    }

    func ndjsonSpecs(_ req: HTTPRequest, stack: Stack) throws(Problem) -> [PacketSpec] {
        let body = req.body
        var specs: [PacketSpec] = []
        specs.reserveCapacity(body.count / 64)
        var lastDevice: (name: [UInt8], device: NetDevice)? = nil
        var start = 0, line = 0, packetLine = 0
        while start < body.count {
            let end = body.withUnsafeBufferPointer { p -> Int in
                guard let nl = memchr(p.baseAddress! + start, 0x0a, p.count - start) else { return p.count }
                return p.baseAddress!.distance(to: nl.assumingMemoryBound(to: UInt8.self))
            }
            defer { start = end + 1; line += 1 }
            if NDJSONLine.isBlank(body, start..<end) { continue }
            guard specs.count < limits.maxPacketsPerRequest else {
                throw Problem.unprocessable("at most \(limits.maxPacketsPerRequest) packets per request (--max-packets)", pointer: "/\(packetLine)")
            }
            let path = "/\(packetLine)"
            packetLine += 1
            // Hex with separators (the JSON path takes them) or bad digits: the long way, for its words.
            if let quick = NDJSONLine.read(body, start..<end), let frame = Hex.decode(body, quick.hex) {
                let dev: NetDevice
                if let last = lastDevice, last.name.elementsEqual(body[quick.device]) { dev = last.device } else {
                    let name = Array(body[quick.device])
                    dev = try PacketSpec.device(String(decoding: name, as: UTF8.self), path: path, stack: stack)
                    lastDevice = (name, dev)
                }
                try PacketSpec.check(frame: frame, path: path)
                if let at = quick.at, at > Stack.clockLimitNs {
                    throw Problem.unprocessable("must be at most \(Stack.clockLimitNs)", pointer: path + "/at_ns")
                }
                specs.append(PacketSpec(device: dev, frame: frame, atNs: quick.at))
                continue
            }
            let value: JSONValue
            do { value = try JSONParser.parse(Array(body[start..<end])) } catch {
                var e = error
                e.line = line + 1
                e.offset += start
                throw Problem.syntax(e)
            }
            let spec = try decoding { () throws -> PacketSpec in try PacketSpec.decode(value, path: path, stack: stack) }
            specs.append(spec)
        }
        guard !specs.isEmpty else { throw Problem.unprocessable("the body holds no packets: one JSON object a line is expected", pointer: "") }
        return specs
    }
}

/// The one line shape NDJSON bodies are read in place for.
enum NDJSONLine {
    struct Fields { var device: Range<Int>, hex: Range<Int>, at: UInt64? }

    static func isBlank(_ b: [UInt8], _ r: Range<Int>) -> Bool { r.allSatisfy { isSpace(b[$0]) } }
    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0a }

    /// The line's fields when it is `{"device":"..","hex":"..","at_ns":N}` in any order (at_ns
    /// optional) with no escapes and nothing else; nil sends the line to the JSON parser.
    static func read(_ b: [UInt8], _ r: Range<Int>) -> Fields? {
        var i = r.lowerBound
        let end = r.upperBound
        func skip() { while i < end && isSpace(b[i]) { i += 1 } }
        /// A string's contents (between its quotes), or nil for one with escapes or control bytes.
        func string() -> Range<Int>? {
            guard i < end && b[i] == 0x22 else { return nil }
            let s = i + 1
            i = s
            while i < end && b[i] != 0x22 {
                if b[i] == 0x5c || b[i] < 0x20 { return nil }
                i += 1
            }
            guard i < end else { return nil }
            i += 1
            return s..<(i - 1)
        }
        skip()
        guard i < end && b[i] == 0x7b else { return nil }
        i += 1
        var device: Range<Int>? = nil, hex: Range<Int>? = nil, at: UInt64? = nil, sawAt = false
        while true {
            skip()
            guard let key = string() else { return nil }
            skip()
            guard i < end && b[i] == 0x3a else { return nil }
            i += 1
            skip()
            switch key.count {
            case 6 where b[key].elementsEqual("device".utf8):
                guard device == nil, let v = string() else { return nil }
                device = v
            case 3 where b[key].elementsEqual("hex".utf8):
                guard hex == nil, let v = string() else { return nil }
                hex = v
            case 5 where b[key].elementsEqual("at_ns".utf8):
                guard !sawAt, i < end, b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                // JSON has no leading zeros; fractions, exponents and big values go the long way.
                if b[i] == 0x30 && i + 1 < end && b[i + 1] >= 0x30 && b[i + 1] <= 0x39 { return nil }
                var v: UInt64 = 0
                while i < end && b[i] >= 0x30 && b[i] <= 0x39 {
                    let (m, o1) = v.multipliedReportingOverflow(by: 10)
                    let (s, o2) = m.addingReportingOverflow(UInt64(b[i] - 0x30))
                    guard !o1 && !o2 else { return nil }
                    v = s
                    i += 1
                }
                if i < end && (b[i] == 0x2e || b[i] == 0x65 || b[i] == 0x45) { return nil }
                at = v
                sawAt = true
            default:
                return nil
            }
            skip()
            guard i < end else { return nil }
            if b[i] == 0x2c { i += 1; continue }
            guard b[i] == 0x7d else { return nil }
            i += 1
            break
        }
        skip()
        guard i == end, let device, let hex else { return nil }
        return Fields(device: device, hex: hex, at: at)
    }
}
