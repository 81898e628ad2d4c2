import HTTPServer
import JSON
import Kernel
import TC

// Traffic control in tc's terms: `tc -s qdisc show`, `tc qdisc add/replace/change/del`.
extension App {
    func registerQdiscRoutes() {
        router.add("GET", "/v1/stacks/{stack}/qdiscs") { [unowned self] req, p throws(Problem) in try showQdiscs(req, p["stack"]!) }
        router.add("POST", "/v1/stacks/{stack}/qdiscs") { [unowned self] req, p throws(Problem) in try tcQdisc(req, p["stack"]!) }
        router.add("DELETE", "/v1/stacks/{stack}/qdiscs") { [unowned self] req, p throws(Problem) in try deleteRootQdisc(req, p["stack"]!) }
        router.add("GET", "/v1/stacks/{stack}/classes") { [unowned self] req, p throws(Problem) in try showClasses(req, p["stack"]!) }
    }

    /// `tc -s class show [dev DEV]`: JSON by default, tc's text with `?format=text`.
    func showClasses(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let dev = q.string("dev")
        let format = q.string("format") ?? "json"
        try q.finish()
        guard format == "json" || format == "text" else { throw Problem.badRequest("invalid-query", "format must be json or text") }
        let infos = try entry(name).withStack { (s: Stack) throws(Problem) -> [(dev: String, classes: [HTBClassInfo])] in
            if let dev, s.device(named: dev) == nil { throw Problem.notFound("no device named \(dev)") }
            return s.classInfo(dev: dev)
        }
        if format == "text" {
            return HTTPResponse(status: 200, headers: [HTTPHeader("content-type", "text/plain; charset=utf-8")],
                                body: Array(TC.showClassesText(infos, oneDev: dev != nil, stats: true).utf8))
        }
        return jsonResponse(200, TC.showClassesJSON(infos, oneDev: dev != nil, stats: true))
    }

    /// `tc -s [-j] qdisc show [dev DEV]`: JSON by default, tc's text with `?format=text`.
    func showQdiscs(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let dev = q.string("dev")
        let format = q.string("format") ?? "json"
        try q.finish()
        guard format == "json" || format == "text" else { throw Problem.badRequest("invalid-query", "format must be json or text") }
        let infos: [QdiscInfo] = try entry(name).withStack { (s: Stack) throws(Problem) -> [QdiscInfo] in
            if let dev, s.device(named: dev) == nil { throw Problem.notFound("no device named \(dev)") }
            // By ifindex, as tc lists them: lo (1) first.
            let all = s.qdiscInfo(dev: dev)
            return all.filter { $0.dev == "lo" } + all.filter { $0.dev != "lo" }
        }
        if format == "text" {
            return HTTPResponse(status: 200, headers: [HTTPHeader("content-type", "text/plain; charset=utf-8")],
                                body: Array(TC.showText(infos, oneDev: dev != nil, stats: true).utf8))
        }
        return jsonResponse(200, TC.showJSON(infos, oneDev: dev != nil, stats: true))
    }

    /// `{"command": "qdisc replace dev eth1 root tbf rate 10mbit burst 32kb latency 400ms"}`:
    /// answers the device's qdiscs as `tc -s -j qdisc show dev DEV` prints them afterwards.
    func tcQdisc(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let body = try parseJSONBody(req)
        var text = ""
        try decoding {
            var r = try FieldReader(body)
            text = try r.requiredString("command")
            try r.finish()
        }
        let cmd: TCAnyCommand
        do throws(TCError) { cmd = try TC.parseAny(text) } catch { throw App.tcProblem(error) }
        let add: Bool
        switch cmd { case .qdisc(let q): add = q.op == .add; case .class(let k): add = k.op == .add; case .clsact(let op, _): add = op == .add }
        return try applyTC(cmd, to: try entry(name), status: add ? 201 : 200)
    }

    /// `DELETE ...?dev=eth1`: `tc qdisc del dev eth1 root`, back to the device's default.
    func deleteRootQdisc(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        guard let dev = q.string("dev") else { throw Problem.badRequest("invalid-query", "dev is required, e.g. ?dev=eth1") }
        try q.finish()
        _ = try applyTC(.qdisc(TCCommand(op: .del, dev: dev, parent: nil, handle: nil, spec: nil)), to: try entry(name), status: 200)
        return HTTPResponse(status: 204)
    }

    /// A qdisc command answers the device's qdiscs (`tc -s -j qdisc show dev DEV`), a class
    /// command its classes.
    private func applyTC(_ cmd: TCAnyCommand, to e: StackEntry, status: Int) throws(Problem) -> HTTPResponse {
        let answer = try registry.change(e) { (s: Stack, c: inout StackConfig) throws(Problem) -> JSONValue in
            var list = c.qdiscs, classes = c.classes
            // lo transmits by loopback_xmit straight away: the model gives it no qdisc of its own
            // (what tc would delete there it answers as the kernel does: lo has only noqueue).
            let refuseLo = Problem.unprocessable("not supported yet: qdiscs, classes and clsact on lo (its noqueue root is fixed)", pointer: "/command")
            if case .clsact(let op, "lo") = cmd, op != .del { throw refuseLo }
            do throws(TCError) {
                switch cmd {
                case .qdisc(let q):
                    list = try TC.apply(q, to: list, devices: s.devices.map(\.name), classes: classes)
                    classes = TC.pruneClasses(classes, qdiscs: list)
                case .class(let k):
                    (list, classes) = try TC.applyClass(k, qdiscs: list, classes: classes, devices: s.devices.map(\.name))
                case .clsact(let op, let dev):
                    c.clsact = try TC.applyClsact(op, dev: dev, to: c.clsact, devices: s.devices.map(\.name))
                    guard let i = s.devices.firstIndex(where: { $0.name == dev }) else { break }
                    s.setClsact(device: i, op != .del)
                    // Deleting clsact takes its filters with it.
                    if op == .del { c.tcFilters.removeAll { $0.dev == dev } }
                    return TC.showJSON(s.qdiscInfo(dev: dev), oneDev: true, stats: true)
                }
            } catch { throw App.tcProblem(error) }
            if list.contains(where: { $0.dev == "lo" }) || classes.contains(where: { $0.dev == "lo" }) { throw refuseLo }
            do throws(ConfigError) { try s.setQdiscs(list, classes: classes) } catch { throw Problem.unprocessable(error.message, pointer: "/command") }
            c.qdiscs = list
            c.classes = classes
            if case .class = cmd { return TC.showClassesJSON(s.classInfo(dev: cmd.dev), oneDev: true, stats: true) }
            return TC.showJSON(s.qdiscInfo(dev: cmd.dev), oneDev: true, stats: true)
        }
        return jsonResponse(status, answer)
    }

    /// tc's own refusals are the request's syntax (400, with the word at fault); the kernel's
    /// (RTNETLINK answers) are the stack's state (409 for what exists, 404 for what does not, else 422).
    static func tcProblem(_ e: TCError) -> Problem {
        guard e.kernel else {
            var p = Problem.badRequest("invalid-tc-command", e.message, pointer: "/command")
            if let w = e.word { p.extra.append(("word", .int(w))) }
            return p
        }
        if e.message.hasPrefix("Cannot find device") || e.message.contains("Cannot find specified qdisc") || e.message.contains("not found") || e.message.contains("No such file") || e.message.contains("Failed to find") || e.message.contains("handle of zero") {
            return Problem(status: 404, slug: "not-found", detail: e.message)
        }
        if e.message.contains("Exclusivity") || e.message.contains("NLM_F_REPLACE") {
            return Problem(status: 409, slug: "conflict", detail: e.message)
        }
        return Problem.unprocessable(e.message, pointer: "/command")
    }
}
