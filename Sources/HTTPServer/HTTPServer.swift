import CSystem
import Foundation
import Glibc

/// HTTP/1.1 and HTTP/2 (h2c) on one epoll loop thread; handlers run inline or on a worker pool.
public final class HTTPServer: @unchecked Sendable {
    public let config: ServerConfig
    let handler: HTTPHandler
    private var listenFD: Int32 = -1
    /// Out of descriptors (EMFILE/ENFILE): the listening socket is left unwatched until then, so a
    /// pending connection does not wake the loop again and again (accept would fail each time).
    private var acceptPausedUntil: UInt64 = 0
    private var epollFD: Int32 = -1
    private var signalFD: Int32 = -1
    private let completions: CompletionQueue
    private let pool: WorkerPool
    private var connections: [Int32: Connection] = [:]
    private var byID: [UInt64: Connection] = [:]
    private var nextID: UInt64 = 1
    private var inflight = 0
    private let cancellations: Cancellations
    /// Refusals, evictions, timeouts and cancellations, shared with whoever reports them (/metrics).
    public let counters: ServerCounters
    private var draining = false
    private var drainDeadline: UInt64 = 0
    private var lastSweep: UInt64 = 0
    /// The time this loop turn began: every timestamp a connection keeps comes from it, so the
    /// sweep's differences never run backwards.
    private var loopNowMs: UInt64 = 0
    var date = DateCache()
    /// The port actually bound (useful with port 0).
    public private(set) var boundPort: UInt16 = 0

    public enum StartError: Error, CustomStringConvertible {
        case system(String)
        public var description: String { if case .system(let s) = self { return s }; return "" }
    }

    public init(config: ServerConfig, handler: HTTPHandler, counters: ServerCounters = ServerCounters()) throws {
        self.config = config
        self.handler = handler
        self.counters = counters
        self.cancellations = Cancellations(counters: counters)
        let efd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard efd >= 0 else { throw StartError.system("eventfd: \(String(cString: strerror(errno)))") }
        completions = CompletionQueue(eventFD: efd)
        pool = WorkerPool(threads: config.workers)
        try bind()
    }

    /// Blocks SIGINT/SIGTERM in the calling thread (and threads it starts later) so that the
    /// loop receives them through a signalfd. Call first thing in main.
    public static func blockShutdownSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    private func bind() throws {
        listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listenFD >= 0 else { throw StartError.system("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(listenFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = config.port.bigEndian
        guard inet_pton(AF_INET, config.host, &addr.sin_addr) == 1 else {
            throw StartError.system("listen address \(config.host) is not an IPv4 address")
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw StartError.system("bind \(config.host):\(config.port): \(String(cString: strerror(errno)))") }
        guard listen(listenFD, 1024) == 0 else { throw StartError.system("listen: \(String(cString: strerror(errno)))") }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listenFD, $0, &len) }
        }
        boundPort = UInt16(bigEndian: bound.sin_port)
    }

    private func watch(_ fd: Int32, _ events: UInt32, op: Int32 = EPOLL_CTL_ADD) {
        var ev = epoll_event()
        ev.events = events
        ev.data.fd = fd
        epoll_ctl(epollFD, op, fd, &ev)
    }

    /// Runs the loop until SIGINT/SIGTERM, then drains in-flight requests and returns.
    public func run() {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        var set = sigset_t()
        sigemptyset(&set); sigaddset(&set, SIGINT); sigaddset(&set, SIGTERM)
        signalFD = signalfd(-1, &set, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        watch(listenFD, EPOLLIN.rawValue)
        watch(completions.eventFD, EPOLLIN.rawValue)
        watch(signalFD, EPOLLIN.rawValue)
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var buf = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = epoll_wait(epollFD, &events, Int32(events.count), 100)
            date.refresh()
            let now = monotonicMs()
            loopNowMs = now
            if n > 0 {
                for i in 0..<Int(n) {
                    let fd = events[i].data.fd
                    let ev = events[i].events
                    if fd == listenFD { acceptAll(now: now) }
                    else if fd == completions.eventFD {
                        deliverCompletions()
                        if completions.stopRequested { startDrain(now: now) }
                    }
                    else if fd == signalFD { startDrain(now: now) }
                    else if let c = connections[fd] { service(c, events: ev, buffer: &buf, now: now) }
                }
            }
            if now - lastSweep >= 100 { sweep(now: now); lastSweep = now }
            if acceptPausedUntil != 0 && now >= acceptPausedUntil && !draining {
                acceptPausedUntil = 0
                watch(listenFD, EPOLLIN.rawValue)
            }
            if draining && ((connections.isEmpty && inflight == 0) || now >= drainDeadline) { break }
        }
        for c in Array(connections.values) { close(c) }
        pool.stop()
        Glibc.close(epollFD); Glibc.close(signalFD); Glibc.close(completions.eventFD)
    }

    /// Starts a graceful stop as SIGTERM would; callable from any thread (tests, embedding).
    public func stop() { completions.requestStop() }

    private func acceptAll(now: UInt64) {
        while !draining {
            let fd = accept4(listenFD, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE {
                    epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
                    acceptPausedUntil = now + 100
                }
                return
            }
            if connections.count >= config.maxConnections && !evictOne() {
                refuse(fd)
                counters.add(\.refused)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let c = Connection(id: nextID, fd: fd, server: self, now: now)
            nextID += 1
            connections[fd] = c
            byID[c.id] = c
            watch(fd, EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
        }
    }

    /// At the connection limit, the connection waiting longest with nothing to do for it (idle
    /// keep-alive, or a request head or body still trickling in, no request running and no answer
    /// unsent) is closed to admit the new one, as Apache's event MPM closes keep-alive connections:
    /// idle and slowloris connections cannot lock out new clients. False when every connection
    /// has work in progress (then the new one gets 503).
    private func evictOne() -> Bool {
        var victim: Connection? = nil
        for c in connections.values where c.inflight == 0 && c.pending.isEmpty && c.outputSent == c.output.count && (c.h2?.openStreams ?? 0) == 0 {
            if victim == nil || (c.lastActivityMs, c.id) < (victim!.lastActivityMs, victim!.id) { victim = c }
        }
        guard let victim else { return false }
        close(victim)
        counters.add(\.evicted)
        return true
    }

    /// Over the connection limit: a one-shot 503 with a problem body, then close.
    private func refuse(_ fd: Int32) {
        let p = HTTPResponse.problem(503, title: "Service Unavailable", detail: "too many connections (limit \(config.maxConnections))")
        var s = "HTTP/1.1 503 Service Unavailable\r\nDate: \(date.value)\r\nContent-Type: application/problem+json\r\n"
        s += "Content-Length: \(p.body.count)\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
        let bytes = Array(s.utf8) + p.body
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        shutdown(fd, Int32(SHUT_WR))
        Glibc.close(fd)
    }

    private func service(_ c: Connection, events: UInt32, buffer: inout [UInt8], now: UInt64) {
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            var eof = false
            while !c.readPaused {
                let n = buffer.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    buffer.withUnsafeBytes { c.received(UnsafeRawBufferPointer(rebasing: $0[0..<n]), now: now) }
                    if n < buffer.count { break }
                } else if n == 0 {
                    eof = true; break
                } else {
                    if errno == EINTR { continue }
                    if errno != EAGAIN && errno != EWOULDBLOCK { eof = true }
                    break
                }
            }
            if eof {
                // The peer closed its side. Answers already made are still written; requests still
                // running or queued are abandoned, as nginx treats a client that closes early (499):
                // the queued ones are skipped by the workers, so a flood of abandoned requests
                // costs nothing. (A client that half-closes must wait with its side open.)
                if c.isIdle || c.inflight > 0 || c.h2 != nil { close(c); return }
                c.closing = true
            }
        }
        flush(c)
    }

    func flush(_ c: Connection) {
        if c.writeOut() { close(c); return }
        // Answers drained below the mark: parse the requests already buffered behind them.
        if c.h2 == nil && c.decidedProtocol && !c.closing && !c.readPaused && !c.input.isEmpty {
            c.processHTTP1(now: loopNowMs)
            if c.writeOut() { close(c); return }
        }
        let wantOut = c.outputSent < c.output.count
        // While paused the socket is not read, so level-triggered EPOLLIN would wake the loop
        // without end: it is dropped until the client takes its answers.
        let wantIn = !c.readPaused
        if wantOut != c.pollingOut || wantIn != c.pollingIn {
            c.pollingOut = wantOut; c.pollingIn = wantIn
            watch(c.fd, (wantIn ? EPOLLIN.rawValue | EPOLLRDHUP.rawValue : 0) | (wantOut ? EPOLLOUT.rawValue : 0), op: EPOLL_CTL_MOD)
        }
    }

    private func close(_ c: Connection) {
        guard connections[c.fd] === c else { return }
        epoll_ctl(epollFD, EPOLL_CTL_DEL, c.fd, nil)
        cancellations.cancel(connection: c.id, outstanding: c.inflight)
        // Workers making streamed answers for it stop (the next piece they ask for is refused).
        for credit in c.owedCredits { credit.cancel() }
        for p in c.pending { p.credit?.cancel() }
        c.owedCredits.removeAll()
        connections[c.fd] = nil
        byID[c.id] = nil
        c.h2 = nil
        Glibc.close(c.fd)
    }

    func cancel(connection id: UInt64, stream: Int32) { cancellations.cancel(connection: id, stream: stream) }

    /// Runs the handler inline or on a worker; the answer returns through `complete`.
    func dispatch(_ request: HTTPRequest, connection c: Connection, target: ResponseTarget) {
        if let r = handler.respondInline(to: request) {
            c.complete(target, r)
            return
        }
        c.inflight += 1
        inflight += 1
        let id = c.id
        let handler = self.handler
        let completions = self.completions
        let cancellations = self.cancellations
        pool.submit(heavy: handler.isHeavy(request)) {
            let r = cancellations.shouldSkip(connection: id, target: target)
                ? HTTPResponse.problem(499, title: "Client Closed Request", detail: "the client went away before the request ran")
                : handler.respond(to: request)
            guard let stream = r.stream else { return completions.push(.init(connection: id, target: target, response: r)) }
            // A streamed body: the head, then each piece as the loop gives credit, then the end.
            let credit = StreamCredit()
            completions.push(.init(connection: id, target: target, response: r, part: .head(credit)))
            while credit.acquire() {
                guard let piece = stream.next() else { break }
                completions.push(.init(connection: id, target: target, response: HTTPResponse(status: 0), part: .chunk(piece, credit)))
            }
            completions.push(.init(connection: id, target: target, response: HTTPResponse(status: 0), part: .end(credit)))
        }
    }

    private func deliverCompletions() {
        for item in completions.drain() {
            var finished = true
            switch item.part {
            case .head(let credit), .chunk(_, let credit):
                finished = false
                // The client is gone: the worker stops making pieces.
                if byID[item.connection] == nil { credit.cancel() }
            case .whole, .end: break
            }
            if finished {
                inflight -= 1
                cancellations.finished(connection: item.connection, target: item.target)
            }
            guard let c = byID[item.connection] else { continue }
            if finished { c.inflight -= 1 }
            c.deliver(item)
            flush(c)
        }
    }

    private func sweep(now: UInt64) {
        for c in Array(connections.values) {
            if c.h2 == nil, c.headStartedMs != 0, !c.input.isEmpty, !c.closing,
               now > c.headStartedMs + UInt64(config.headerTimeoutMs), c.parser.inHead(c.input, from: 0) {
                c.timeOut("request headers not received within \(config.headerTimeoutMs) ms")
                counters.add(\.timedOut)
                flush(c)
            } else if c.h2 == nil, c.bodyStartedMs != 0, !c.closing, c.parser.inBody || c.spooling != nil,
                      now > c.bodyStartedMs + UInt64(config.bodyTimeoutMs) {
                c.timeOut("request body not received within \(config.bodyTimeoutMs) ms")
                counters.add(\.timedOut)
                flush(c)
            } else if c.isIdle && now > c.lastActivityMs + UInt64(config.idleTimeoutMs) {
                close(c)
            } else if draining && c.isIdle {
                close(c)
            }
        }
    }

    private func startDrain(now: UInt64) {
        var info = signalfd_siginfo()
        _ = withUnsafeMutableBytes(of: &info) { read(signalFD, $0.baseAddress, $0.count) }
        guard !draining else { return }
        draining = true
        drainDeadline = now + UInt64(config.shutdownGraceMs)
        epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
        Glibc.close(listenFD)
        for c in Array(connections.values) {
            if let h2 = c.h2 { h2.goAway(); c.closing = true; flush(c) }
            else if c.isIdle { close(c) }
            else { c.closing = true; flush(c) }
        }
    }
}

extension Connection {
    /// Answers 408 to a request whose head or body did not arrive in time, then closes.
    func timeOut(_ detail: String) {
        pending.append(Pending(seq: nextSeq, isHead: false, keepAlive: false,
                               response: .problem(408, title: "Request Timeout", detail: detail)))
        nextSeq += 1
        input.removeAll()
        spooling = nil
        closing = true
        complete(.h1(nextSeq - 1), pending.last!.response!)
    }
}
