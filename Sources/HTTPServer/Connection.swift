import CSystem
import Glibc

/// One accepted socket: HTTP/1.1 until a preface or an Upgrade makes it HTTP/2.
/// Confined to the loop thread; the server drives it.
final class Connection {
    struct Pending {
        var seq: UInt64
        var isHead: Bool
        var keepAlive: Bool
        var response: HTTPResponse?
        /// A streamed answer: pieces not yet written (it may wait behind earlier answers), whether
        /// its end came, whether its head is out, and the credit its worker waits on.
        var pieces: [[UInt8]] = []
        var ended = false
        var headSent = false
        var credit: StreamCredit? = nil
    }

    let id: UInt64
    let fd: Int32
    unowned let server: HTTPServer
    var input: [UInt8] = []
    var output: [UInt8] = []
    var outputSent = 0
    var parser: HTTP1Parser
    var h2: H2Session?
    var pending: [Pending] = []
    var nextSeq: UInt64 = 0
    /// Close once everything owed is written (error, Connection: close, shutdown).
    var closing = false
    /// Requests handed to workers and not yet answered.
    var inflight = 0
    var headStartedMs: UInt64 = 0
    /// When the current request's head was complete and its body began to be awaited (0: not waiting).
    var bodyStartedMs: UInt64 = 0
    var lastActivityMs: UInt64
    var pollingOut = false
    /// EPOLLIN is being watched (it is dropped while `readPaused`).
    var pollingIn = true
    var decidedProtocol = false
    /// After a 101 the answer to the upgraded request waits for the client's first HTTP/2 bytes:
    /// curl 7.88 cannot buffer more than 32 KiB arriving right behind the 101.
    var awaitingPreface = false
    var upgradeAnswer: HTTPResponse?
    /// The HTTP/2 session failed: close once its last frames are out.
    var h2Failed = false
    /// Credits of streamed answers whose pieces are written but not yet taken by the client: given
    /// back when the output drains below the high-water mark.
    var owedCredits: [StreamCredit] = []
    /// A body on its way to a file (a spooled media type): its request waits for `remaining` bytes.
    var spooling: (body: SpooledBody, remaining: Int, request: HTTPRequest, keepAlive: Bool)?

    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    init(id: UInt64, fd: Int32, server: HTTPServer, now: UInt64) {
        self.id = id; self.fd = fd; self.server = server
        self.parser = HTTP1Parser(maxHeaderBytes: server.config.maxHeaderBytes, maxBodyBytes: server.config.maxBodyBytes,
                                  spooledMediaTypes: server.config.spooledMediaTypes, maxSpooledBodyBytes: server.config.maxSpooledBodyBytes)
        self.lastActivityMs = now
    }

    /// Answers not yet taken by the client above which the connection stops reading and parsing:
    /// a client that never reads holds at most this much (plus one answer) of server memory.
    static let outputHighWater = 1 << 20
    /// Pipelined HTTP/1.1 requests parsed ahead of their answers.
    static let maxPending = 64
    var outputBacklog: Int { output.count - outputSent }
    /// Nothing more is read until the client takes its answers (or the pipeline drains).
    var readPaused: Bool { outputBacklog > Connection.outputHighWater || (h2 == nil && pending.count >= Connection.maxPending) }

    var isIdle: Bool { pending.isEmpty && inflight == 0 && input.isEmpty && spooling == nil && outputSent == output.count && (h2?.openStreams ?? 0) == 0 }

    // MARK: input

    func received(_ bytes: UnsafeRawBufferPointer, now: UInt64) {
        lastActivityMs = now
        if closing && h2 == nil { return }
        if let h2 {
            if h2Failed { return }
            // A fatal session error (flood, protocol violation, too many CONTINUATION frames):
            // nghttp2 has queued its GOAWAY; once that is written the connection closes, whatever
            // streams were left half-open.
            if !h2.receive(bytes) { closing = true; h2Failed = true; input.removeAll(); return }
            if awaitingPreface {
                awaitingPreface = false
                if let a = upgradeAnswer { upgradeAnswer = nil; h2.submit(a, stream: 1, date: server.date.value) }
            }
            return
        }
        if input.isEmpty { headStartedMs = now }
        input.append(contentsOf: bytes)
        if !decidedProtocol {
            let n = min(input.count, Connection.preface.count)
            if input[0..<n].elementsEqual(Connection.preface[0..<n]) {
                guard n == Connection.preface.count else { return }
                startH2(initial: input)
                return
            }
            decidedProtocol = true
        }
        processHTTP1(now: now)
    }

    private func startH2(initial: [UInt8]) {
        decidedProtocol = true
        let s = H2Session(connection: self, maxHeaderBytes: server.config.maxHeaderBytes, maxBodyBytes: server.config.maxBodyBytes)
        h2 = s
        input.removeAll()
        s.submitSettings()
        if !initial.withUnsafeBytes({ s.receive($0) }) { closing = true }
    }

    func processHTTP1(now: UInt64) {
        while !closing && !readPaused {
            if spooling != nil {
                guard spoolInput(now: now) else { return }
                continue
            }
            switch parser.next(input, from: 0) {
            case .needMore:
                if parser.inBody && bodyStartedMs == 0 { bodyStartedMs = now }
                return
            case .wantsContinue:
                output.append(contentsOf: Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
                return
            case .error(let status, let detail):
                refuse(status, detail)
                return
            case .request(let req, let consumed, let keepAlive, let h2cSettings):
                input.removeFirst(consumed)
                headStartedMs = input.isEmpty ? 0 : now
                bodyStartedMs = 0
                if let settings = h2cSettings, pending.isEmpty, inflight == 0 {
                    upgradeToH2(settings: settings, request: req)
                    return
                }
                start(req, keepAlive: keepAlive)
            case .spool(let req, let consumed, let length, let keepAlive, let expectContinue):
                input.removeFirst(consumed)
                guard let body = SpooledBody(directory: server.config.spoolDirectory) else {
                    refuse(500, "no temporary file for the body in \(server.config.spoolDirectory): \(String(cString: strerror(errno)))")
                    return
                }
                spooling = (body, length, req, keepAlive)
                bodyStartedMs = now
                if expectContinue && input.isEmpty { output.append(contentsOf: Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) }
            }
        }
    }

    private func start(_ req: HTTPRequest, keepAlive: Bool) {
        let seq = nextSeq; nextSeq += 1
        pending.append(Pending(seq: seq, isHead: req.method == "HEAD", keepAlive: keepAlive, response: nil))
        if !keepAlive { closing = true }
        server.dispatch(req, connection: self, target: .h1(seq))
    }

    /// Answers a request that cannot go on with a problem, then closes.
    private func refuse(_ status: Int, _ detail: String) {
        let seq = nextSeq; nextSeq += 1
        pending.append(Pending(seq: seq, isHead: false, keepAlive: false, response: .problem(status, title: HTTPStatus.reason(status), detail: detail)))
        input.removeAll()
        spooling = nil
        closing = true
        flushHTTP1()
    }

    /// Moves what arrived of a spooled body to its file; true once it is whole and dispatched.
    /// Its timeout counts from the last piece: a big upload takes as long as it takes.
    private func spoolInput(now: UInt64) -> Bool {
        guard let s = spooling else { return true }
        let n = min(input.count, s.remaining)
        if n > 0 {
            guard input.withUnsafeBytes({ s.body.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) else {
                refuse(507, "the body could not be written to \(server.config.spoolDirectory): \(String(cString: strerror(errno)))")
                return false
            }
            input.removeFirst(n)
            spooling!.remaining -= n
            bodyStartedMs = now
        }
        guard spooling!.remaining == 0 else { return false }
        spooling = nil
        var req = s.request
        req.spooled = s.body
        headStartedMs = input.isEmpty ? 0 : now
        bodyStartedMs = 0
        start(req, keepAlive: s.keepAlive)
        return true
    }

    private func upgradeToH2(settings: [UInt8], request: HTTPRequest) {
        output.append(contentsOf: Array("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".utf8))
        let s = H2Session(connection: self, maxHeaderBytes: server.config.maxHeaderBytes, maxBodyBytes: server.config.maxBodyBytes)
        h2 = s
        guard s.upgrade(settings: settings, request: request) else { closing = true; h2 = nil; return }
        var req = request
        req.version = "HTTP/2"
        let rest = input
        input.removeAll()
        awaitingPreface = rest.isEmpty
        server.dispatch(req, connection: self, target: .h2(1))
        if !rest.isEmpty && !rest.withUnsafeBytes({ s.receive($0) }) { closing = true }
    }

    /// Called by nghttp2 (through H2Session) when a stream's request is whole.
    func h2RequestComplete(stream id: Int32, _ s: H2Stream) {
        if s.headersTooLarge {
            h2?.submit(.problem(431, title: HTTPStatus.reason(431), detail: "header block exceeds \(server.config.maxHeaderBytes) bytes"),
                       stream: id, date: server.date.value)
            return
        }
        if let r = s.refusal {
            h2?.submit(.problem(r.status, title: HTTPStatus.reason(r.status), detail: r.detail), stream: id, date: server.date.value)
            return
        }
        var req = HTTPRequest(method: s.method, target: s.path, headers: s.headers, body: s.body, version: "HTTP/2")
        req.spooled = s.spool
        server.dispatch(req, connection: self, target: .h2(id))
    }

    // MARK: output

    /// A worker's answer, or a piece of a streamed one.
    func deliver(_ item: CompletionQueue.Item) {
        switch item.part {
        case .whole:
            complete(item.target, item.response)
        case .head(let credit):
            switch item.target {
            case .h1(let seq):
                guard let i = pending.firstIndex(where: { $0.seq == seq }) else { return credit.cancel() }
                pending[i].response = item.response
                pending[i].credit = credit
                flushHTTP1()
            case .h2(let id):
                guard let h2, h2.submitStreaming(item.response, stream: id, date: server.date.value) else { return credit.cancel() }
            }
        case .chunk(let piece, let credit):
            switch item.target {
            case .h1(let seq):
                guard let i = pending.firstIndex(where: { $0.seq == seq }) else { return credit.cancel() }
                pending[i].pieces.append(piece)
                flushHTTP1()
            case .h2(let id):
                guard let h2, h2.appendPiece(piece, stream: id, end: false) else { return credit.cancel() }
                owedCredits.append(credit)
            }
        case .end:
            switch item.target {
            case .h1(let seq):
                guard let i = pending.firstIndex(where: { $0.seq == seq }) else { return }
                pending[i].ended = true
                flushHTTP1()
            case .h2(let id):
                _ = h2?.appendPiece([], stream: id, end: true)
            }
        }
    }

    func complete(_ target: ResponseTarget, _ response: HTTPResponse) {
        switch target {
        case .h1(let seq):
            guard let i = pending.firstIndex(where: { $0.seq == seq }) else { return }
            pending[i].response = response
            flushHTTP1()
        case .h2(let id):
            if id == 1 && awaitingPreface { upgradeAnswer = response; return }
            h2?.submit(response, stream: id, date: server.date.value)
        }
    }

    /// Serializes answered requests in request order (pipelining); a streamed answer goes out as
    /// its pieces come (chunked), and the answers behind it wait for its end.
    private func flushHTTP1() {
        while let first = pending.first, let r = first.response {
            if let credit = first.credit {
                if !first.headSent {
                    pending[0].headSent = true
                    serializeHead(r, chunked: true, close: !first.keepAlive)
                }
                for piece in pending[0].pieces where !first.isHead && !piece.isEmpty {
                    output.append(contentsOf: String(piece.count, radix: 16).utf8)
                    output.append(contentsOf: [0x0d, 0x0a])
                    output.append(contentsOf: piece)
                    output.append(contentsOf: [0x0d, 0x0a])
                }
                owedCredits.append(contentsOf: Array(repeating: credit, count: pending[0].pieces.count))
                pending[0].pieces.removeAll()
                guard pending[0].ended else { return }
                if !first.isHead { output.append(contentsOf: Array("0\r\n\r\n".utf8)) }
                pending.removeFirst()
                continue
            }
            pending.removeFirst()
            let last = !first.keepAlive || (closing && pending.isEmpty && inflight == 0)
            serialize(r, isHead: first.isHead, close: last)
        }
    }

    /// The head straight into the output bytes (building it as a String, header names split and
    /// re-cased per response, was a third of a small request's time).
    private func serializeHead(_ r: HTTPResponse, chunked: Bool, close: Bool) {
        output.append(contentsOf: "HTTP/1.1 ".utf8)
        appendDecimal(r.status)
        output.append(0x20)
        output.append(contentsOf: HTTPStatus.reason(r.status).utf8)
        output.append(contentsOf: "\r\nDate: ".utf8)
        output.append(contentsOf: server.date.value.utf8)
        output.append(contentsOf: [0x0d, 0x0a])
        for h in r.headers {
            Connection.appendCanonical(h.name, to: &output)
            output.append(contentsOf: [0x3a, 0x20])
            output.append(contentsOf: h.value.utf8)
            output.append(contentsOf: [0x0d, 0x0a])
        }
        if let id = r.requestID {
            output.append(contentsOf: "X-Request-Id: ".utf8)
            output.append(contentsOf: id.utf8)
            output.append(contentsOf: [0x0d, 0x0a])
        }
        if chunked {
            output.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
        } else {
            output.append(contentsOf: "Content-Length: ".utf8)
            appendDecimal(r.body.count)
            output.append(contentsOf: [0x0d, 0x0a])
        }
        if close { output.append(contentsOf: "Connection: close\r\n".utf8) }
        output.append(contentsOf: [0x0d, 0x0a])
    }

    private func appendDecimal(_ v: Int) {
        if v >= 10 { appendDecimal(v / 10) }
        output.append(UInt8(ascii: "0") + UInt8(v % 10))
    }

    /// One case for every header name on the wire: Content-Type, Location, Retry-After.
    private func serialize(_ r: HTTPResponse, isHead: Bool, close: Bool) {
        serializeHead(r, chunked: false, close: close)
        if !isHead { output.append(contentsOf: r.body) }
    }

    /// `content-type` as `Content-Type` (names are ASCII tokens: each letter after the start or
    /// a `-` upper case, the rest lower case).
    static func appendCanonical(_ name: String, to out: inout [UInt8]) {
        var name = name
        let start = out.count
        name.withUTF8 { out.append(contentsOf: $0) }
        out.withUnsafeMutableBufferPointer { p in
            var upper = true
            for i in start..<p.count {
                let c = p[i]
                let isLower = c >= 0x61 && c <= 0x7a, isUpper = c >= 0x41 && c <= 0x5a
                p[i] = upper && isLower ? c - 0x20 : !upper && isUpper ? c + 0x20 : c
                upper = c == 0x2d
            }
        }
    }

    /// Writes what it can; true when the connection should now be closed.
    func writeOut() -> Bool {
        // nghttp2 hands over output up to the high-water mark; each time the socket has taken all
        // of it, fetch again until nghttp2 has nothing more (or waits for the peer's window). An
        // answer stalled when nothing fetched the rest: at 1 MiB, or wherever a write began with
        // the buffer already past the mark, since nothing then asked for EPOLLOUT.
        if let h2 { h2.flush(into: &output, sent: outputSent) }
        while true {
            while outputSent < output.count {
                let n = output.withUnsafeBytes { p in
                    send(fd, p.baseAddress! + outputSent, output.count - outputSent, Int32(MSG_NOSIGNAL))
                }
                if n > 0 { outputSent += n; continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
                if n < 0 && errno == EINTR { continue }
                return true
            }
            guard outputSent == output.count else { break }
            output.removeAll(keepingCapacity: output.count < 1 << 20)
            outputSent = 0
            guard let h2 else { break }
            h2.flush(into: &output, sent: 0)
            if output.isEmpty { break }
        }
        // The client takes what streams sent: their workers may make the next pieces.
        if !owedCredits.isEmpty && outputBacklog < Connection.outputHighWater / 4 && (h2?.bufferedPieces ?? 0) < Connection.outputHighWater / 4 {
            for c in owedCredits { c.release() }
            owedCredits.removeAll()
        }
        if let h2 {
            if h2.isDone || h2Failed && outputSent == output.count { return true }
            return closing && inflight == 0 && outputSent == output.count && h2.openStreams == 0
        }
        return closing && pending.isEmpty && inflight == 0 && outputSent == output.count
    }
}
