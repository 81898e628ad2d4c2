import Foundation

/// Limits and sizes of the server; every one is a packetstackd flag.
public struct ServerConfig: Sendable {
    public var host: String = "127.0.0.1"
    public var port: UInt16 = 8080
    /// Largest request body (413 above it).
    public var maxBodyBytes: Int = 16 << 20
    /// Bodies of these media types (lower case) are written to a temporary file in
    /// `spoolDirectory` as they arrive, up to `maxSpooledBodyBytes` instead of `maxBodyBytes`, and
    /// reach the handler as `HTTPRequest.spooled`: uploads too big for memory (captures).
    /// HTTP/1.1 bodies need a Content-Length for this; chunked ones are read into memory.
    public var spooledMediaTypes: Set<String> = []
    public var maxSpooledBodyBytes: Int = 64 << 30
    public var spoolDirectory: String = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    /// Largest request line plus header block (431 above it).
    public var maxHeaderBytes: Int = 16 << 10
    /// Time allowed from a request's first byte to the end of its header block (408 after it).
    public var headerTimeoutMs: Int = 10_000
    /// Time allowed for a request's body once its head is in (408 after it): a head whose body
    /// never comes no longer holds the connection forever. A spooled body (any size) has this
    /// long between its pieces instead.
    public var bodyTimeoutMs: Int = 30_000
    /// An idle keep-alive connection is closed after this.
    public var idleTimeoutMs: Int = 60_000
    /// Connections over this number are answered 503 and closed.
    public var maxConnections: Int = 1024
    /// Threads that run non-inline handlers. Changes run on all but one, so a long one (a trace
    /// delete, a big injection) holds one of three, not the only one; they mostly wait on SQLite.
    public var workers: Int = 4
    /// How long a shutdown waits for in-flight requests.
    public var shutdownGraceMs: Int = 10_000

    public init() {}
}
