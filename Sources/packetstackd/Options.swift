import API
import Foundation
import HTTPServer
import Store

/// Command-line flags of packetstackd.
struct Options {
    var server: ServerConfig = {
        var c = ServerConfig()
        c.spooledMediaTypes = App.captureMediaTypes
        return c
    }()
    var dbPath = "packetstack.db"
    /// The API token (`--token`, or PACKETSTACK_TOKEN in the environment); never logged.
    var token: String? = ProcessInfo.processInfo.environment["PACKETSTACK_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    var protectReads = false
    var limits = App.Limits()
    var accessLog = RequestLog.Format.off
    var traceQueue = 262_144
    var traceQueueBytes = 64 << 20
    var traceOverflow = TraceOverflow.block

    static let usage = """
    usage: packetstackd [options]
      --listen HOST:PORT        address to serve on (default 127.0.0.1:8080; port 0 picks one)
      --db PATH                 SQLite database file (default ./packetstack.db)
      --max-body BYTES          largest request body (default 16777216)
      --max-capture BYTES       largest capture body (pcap, pcapng), written to a temporary file in
                                $TMPDIR as it arrives, not held in memory (default 68719476736)
      --max-header BYTES        largest request line + headers (default 16384)
      --header-timeout-ms MS    time allowed for a request's headers (default 10000)
      --body-timeout-ms MS      time allowed for a request's body after its head (default 30000)
      --idle-timeout-ms MS      idle keep-alive connections close after this (default 60000)
      --max-connections N       connections beyond this get 503 (default 1024)
      --workers N               handler threads (default 4; changes run on all but one)
      --token TOKEN             API token for requests that change anything (or PACKETSTACK_TOKEN);
                                required to listen on anything but loopback
      --protect-reads           reads need the token too
      --access-log FORMAT       one line per request on stderr: off (default), logfmt or json
      --max-stacks N            stacks the server holds (default 256)
      --max-devices N           devices per stack (default 64)
      --max-rules N             rules per stack's ruleset (default 100000)
      --max-set-elements N      set elements per stack's ruleset (default 1000000)
      --max-packets N           packets per injection (default 10000)
      --max-injections N        injections running at once; more get 429 (default 16)
      --max-traces N            traces stored per stack (default 1000000)
      --trace-queue N           trace rows that may wait for the database (default 262144)
      --trace-queue-bytes BYTES and their bytes at most (default 67108864): the memory they take
      --trace-overflow POLICY   when that queue is full: block (the injection waits; default) or drop
                                (rows dropped, counted in /metrics and as traces_dropped in the answer)
      --help                    this text
    """

    struct Bad: Error { var message: String }

    static func parse(_ args: [String]) throws(Bad) -> Options {
        var o = Options()
        var i = 0
        func value() throws(Bad) -> String {
            i += 1
            guard i < args.count else { throw Bad(message: "\(args[i - 1]) needs a value") }
            return args[i]
        }
        func number(_ flag: String, min: Int = 1) throws(Bad) -> Int {
            let v = try value()
            guard let n = Int(v), n >= min else { throw Bad(message: "\(flag) needs an integer ≥ \(min), got \(v)") }
            return n
        }
        while i < args.count {
            let a = args[i]
            switch a {
            case "--listen":
                let v = try value()
                guard let colon = v.lastIndex(of: ":"), let port = UInt16(v[v.index(after: colon)...]) else {
                    throw Bad(message: "--listen needs HOST:PORT, got \(v)")
                }
                o.server.host = String(v[..<colon]); o.server.port = port
            case "--db": o.dbPath = try value()
            case "--max-body": o.server.maxBodyBytes = try number(a)
            case "--max-capture": o.server.maxSpooledBodyBytes = try number(a)
            case "--max-header": o.server.maxHeaderBytes = try number(a, min: 256)
            case "--header-timeout-ms": o.server.headerTimeoutMs = try number(a)
            case "--idle-timeout-ms": o.server.idleTimeoutMs = try number(a)
            case "--body-timeout-ms": o.server.bodyTimeoutMs = try number(a)
            case "--max-connections": o.server.maxConnections = try number(a)
            case "--workers": o.server.workers = try number(a)
            case "--token":
                let t = try value()
                guard !t.isEmpty else { throw Bad(message: "--token needs a non-empty value") }
                o.token = t
            case "--protect-reads": o.protectReads = true
            case "--access-log":
                guard let f = RequestLog.Format(rawValue: try value()) else { throw Bad(message: "--access-log is off, logfmt or json") }
                o.accessLog = f
            case "--max-stacks": o.limits.maxStacks = try number(a)
            case "--max-devices": o.limits.maxDevices = try number(a)
            case "--max-rules": o.limits.maxRules = try number(a)
            case "--max-set-elements": o.limits.maxSetElements = try number(a)
            case "--max-packets": o.limits.maxPacketsPerRequest = try number(a)
            case "--max-injections": o.limits.maxConcurrentInjections = try number(a)
            case "--max-traces": o.limits.maxTracesPerStack = try number(a)
            case "--trace-queue": o.traceQueue = try number(a)
            case "--trace-queue-bytes": o.traceQueueBytes = try number(a)
            case "--trace-overflow":
                let v = try value()
                guard let p = TraceOverflow(rawValue: v) else { throw Bad(message: "--trace-overflow must be block or drop, not \(v)") }
                o.traceOverflow = p
            case "--help", "-h": throw Bad(message: "")
            default: throw Bad(message: "unknown option \(a)")
            }
            i += 1
        }
        // Anywhere but loopback, somebody else could drive the server: only with a token.
        let loopback = o.server.host == "localhost" || o.server.host == "::1" || o.server.host.hasPrefix("127.")
        if !loopback && o.token == nil {
            throw Bad(message: "listening on \(o.server.host) needs an API token (--token or PACKETSTACK_TOKEN); loopback needs none")
        }
        if o.protectReads && o.token == nil { throw Bad(message: "--protect-reads needs a token (--token or PACKETSTACK_TOKEN)") }
        return o
    }
}
