import Foundation
import HTTPServer
import JSON
import Kernel
import Store

/// The application behind the HTTP server: routes requests to handlers and turns errors into problem+json.
public final class App: HTTPHandler, @unchecked Sendable {
    let registry: Registry
    let store: Store
    var router = Router()
    public let limits: Limits
    let auth: Auth
    let requestLog: RequestLog
    /// Each route's slot in the request log (by route index), and the slot of unmatched requests:
    /// counted without hashing the route's name per request.
    private var routeSlots: [Int] = []
    private var unmatchedSlot = 0
    /// The HTTP server's refusals, evictions, timeouts and cancellations, for /metrics.
    let serverCounters: ServerCounters

    /// What one server, stack or request may hold, so no client can exhaust the others (each a flag).
    public struct Limits: Sendable {
        /// Most packets in one injection request.
        public var maxPacketsPerRequest = 10_000
        /// Most stacks the server holds, and devices one stack has.
        public var maxStacks = 256
        public var maxDevices = 64
        /// Most rules, and set elements (named and anonymous), one stack's ruleset holds.
        public var maxRules = 100_000
        public var maxSetElements = 1_000_000
        /// Injections running at once; more are answered 429.
        public var maxConcurrentInjections = 16
        /// Most traces stored per stack; an injection that would pass it is refused whole.
        public var maxTracesPerStack = 1_000_000
        public init() {}
    }

    /// Injections running now (bounded by `limits.maxConcurrentInjections`).
    let running = RunningCount()
    /// Trace rows the retention pass deleted, for /metrics.
    let retentionDeleted = Tally()

    /// Opens the registry from the store; returns the app and any stored stack it could not rebuild.
    public init(store: Store, limits: Limits = Limits(), auth: Auth = Auth(), requestLog: RequestLog = RequestLog(),
                serverCounters: ServerCounters = ServerCounters()) throws {
        self.store = store
        self.serverCounters = serverCounters
        self.requestLog = requestLog
        self.limits = limits
        self.auth = auth
        self.registry = Registry(store: store, limits: limits)
        loadProblems = try registry.load()
        _ = try TraceIndexing.backfill(store)
        _ = try TraceStorage.backfill(store)
        router = Router()
        registerRoutes()
        routeSlots = router.routes.map { requestLog.slot(for: "\($0.method) \($0.template)") }
        unmatchedSlot = requestLog.slot(for: "unmatched")
    }

    /// What the start-up could not rebuild as stored (a stack kept in the store only, a checkpoint
    /// that did not load), reported on stderr.
    public private(set) var loadProblems: [String] = []

    /// Every route as "METHOD /template", for the OpenAPI parity test.
    public var routeList: [String] { router.routes.map { "\($0.method) \($0.template)" } }

    public func isInline(_ request: HTTPRequest) -> Bool {
        if case .found(let r, _) = router.match(method: request.method, path: request.path) { return router.routes[r].inline }
        return true
    }

    /// Answers one request, gives it a request id (echoed as X-Request-Id), logs and counts it.
    public func respond(to request: HTTPRequest) -> HTTPResponse {
        respond(to: request, router.match(method: request.method, path: request.path))!
    }

    public func respondInline(to request: HTTPRequest) -> HTTPResponse? {
        let match = router.match(method: request.method, path: request.path)
        if case .found(let r, _) = match, !router.routes[r].inline {
            // A worker's hand-off (a wake-up each way) costs more than a small injection itself.
            guard router.routes[r].tryInline != nil else { return nil }
            return respond(to: request, match, tryingInline: true)
        }
        return respond(to: request, match)
    }

    /// `tryingInline`: nil when the route's inline attempt declines (then a worker answers).
    private func respond(to request: HTTPRequest, _ match: Router.Match, tryingInline: Bool = false) -> HTTPResponse? {
        let start = DispatchTime.now().uptimeNanoseconds
        var slot = unmatchedSlot
        guard var response = route(request, match, slot: &slot, tryingInline: tryingInline) else { return nil }
        let id = requestLog.requestID(request)
        response.requestID = id
        let seconds = Double(DispatchTime.now().uptimeNanoseconds &- start) / 1e9
        requestLog.record(request, slot: slot, response: response, id: id, seconds: seconds)
        return response
    }

    private func route(_ request: HTTPRequest, _ match: Router.Match, slot: inout Int, tryingInline: Bool) -> HTTPResponse? {
        switch match {
        case .found(let route, let params):
            slot = routeSlots[route]
            if let denied = auth.check(request) { return denied.response }
            if let c = router.routes[route].constant { return c }
            if tryingInline, let attempt = router.routes[route].tryInline {
                do { return try attempt(request, params) } catch { return error.response }
            }
            do { return try router.routes[route].handler(request, params) } catch { return error.response }
        case .wrongMethod(let allowed):
            if let denied = auth.check(request) { return denied.response }
            var p = Problem(status: 405, slug: "method-not-allowed", detail: "\(request.method) is not allowed on \(request.path)")
            p.headers = [HTTPHeader("allow", allowed.joined(separator: ", "))]
            return p.response
        case .none:
            if let denied = auth.check(request) { return denied.response }
            return Problem.notFound("no resource at \(request.path)").response
        }
    }

    private func registerRoutes() {
        let health = jsonResponse(200, .object([("status", .string("ok"))]))
        router.add("GET", "/healthz", constant: health)
        router.add("GET", "/readyz") { [unowned self] req, _ throws(Problem) in try ready(req) }
        let spec = HTTPResponse(status: 200, headers: [HTTPHeader("content-type", "application/yaml")], body: Array(OpenAPIDocument.yaml.utf8))
        router.add("GET", "/openapi.yaml", constant: spec)
        router.add("POST", "/v1/stacks") { [unowned self] req, _ throws(Problem) in try createStack(req) }
        router.add("GET", "/v1/stacks") { [unowned self] req, _ throws(Problem) in try listStacks(req) }
        router.add("GET", "/v1/stacks/{stack}") { [unowned self] req, p throws(Problem) in try getStack(req, p["stack"]!) }
        router.add("DELETE", "/v1/stacks/{stack}") { [unowned self] req, p throws(Problem) in try deleteStack(req, p["stack"]!) }
        router.add("POST", "/v1/stacks/{stack}/packets", tryInline: { [unowned self] req, p throws(Problem) in try injectPacketsInline(req, p["stack"]!) }) {
            [unowned self] req, p throws(Problem) in try injectPackets(req, p["stack"]!)
        }
        router.add("DELETE", "/v1/stacks/{stack}/traces") { [unowned self] req, p throws(Problem) in try deleteTraces(req, p["stack"]!) }
        router.add("GET", "/v1/stacks/{stack}/stats") { [unowned self] req, p throws(Problem) in try stats(req, p["stack"]!) }
        registerResourceRoutes()
        registerQdiscRoutes()
        registerIPSetRoutes()
        registerSendRoutes()
        registerTCPRoutes()
        registerSetsockoptRoute()
        registerLinkRoutes()
        registerRulesetRoutes()
        registerRuleRoutes()
        registerMetricsRoute()
        registerXDPRoutes()
        registerTCFilterRoutes()
        router.add("GET", "/v1/traces") { [unowned self] req, _ throws(Problem) in try listTraces(req) }
        router.add("GET", "/v1/stacks/{stack}/devices/{device}/wire") { [unowned self] req, p throws(Problem) in try deviceWire(req, p["stack"]!, p["device"]!) }
        router.add("POST", "/v1/stacks/{stack}/fork") { [unowned self] req, p throws(Problem) in try forkStack(req, p["stack"]!) }
        router.add("POST", "/v1/stacks/{stack}/whatif") { [unowned self] req, p throws(Problem) in try whatIf(req, p["stack"]!) }
        router.add("DELETE", "/v1/traces") { [unowned self] req, _ throws(Problem) in try deleteTracesByFilter(req) }
        router.add("GET", "/v1/traces/aggregate") { [unowned self] req, _ throws(Problem) in try aggregateTraces(req) }
        router.add("GET", "/v1/drop_reasons") { [unowned self] req, _ throws(Problem) in try dropReasons(req) }
        router.add("GET", "/v1/traces/{trace}") { [unowned self] req, p throws(Problem) in try getTrace(req, p["trace"]!) }
    }

    /// Ready when a worker can take the request and the database answers (unlike /healthz, which
    /// the event loop answers alone).
    func ready(_ req: HTTPRequest) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        guard store.ping() else {
            return jsonResponse(503, .object([("status", .string("database not answering"))]))
        }
        return jsonResponse(200, .object([("status", .string("ready")), ("stacks", .int(registry.all().count))]))
    }

    func entry(_ name: String) throws(Problem) -> StackEntry {
        guard let e = registry.get(name) else { throw Problem.notFound("no stack named \(name)") }
        return e
    }
}

/// A counter several threads add to.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add(_ k: Int) { lock.lock(); n += k; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// A count of work in progress, taken and given back under a lock.
final class RunningCount: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    /// Takes a place if fewer than `max` are taken.
    func enter(max: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard n < max else { return false }
        n += 1
        return true
    }
    func leave() { lock.lock(); n -= 1; lock.unlock() }
}
