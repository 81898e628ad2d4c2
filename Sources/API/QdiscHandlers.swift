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
            return s.qdiscInfo(dev: dev)
        }
        if format == "text" {
            return HTTPResponse(status: 200, headers: [("content-type", "text/plain; charset=utf-8")],
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
        let cmd: TCCommand
        do throws(TCError) { cmd = try TC.parse(text) } catch { throw App.tcProblem(error) }
        return try applyTC(cmd, to: try entry(name), status: cmd.op == .add ? 201 : 200)
    }

    /// `DELETE ...?dev=eth1`: `tc qdisc del dev eth1 root`, back to the device's default.
    func deleteRootQdisc(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        guard let dev = q.string("dev") else { throw Problem.badRequest("invalid-query", "dev is required, e.g. ?dev=eth1") }
        try q.finish()
        _ = try applyTC(TCCommand(op: .del, dev: dev, parent: nil, handle: nil, spec: nil), to: try entry(name), status: 200)
        return HTTPResponse(status: 204)
    }

    private func applyTC(_ cmd: TCCommand, to e: StackEntry, status: Int) throws(Problem) -> HTTPResponse {
        let infos = try registry.change(e) { (s: Stack, c: inout StackConfig) throws(Problem) -> [QdiscInfo] in
            let list: [QdiscConfig]
            do throws(TCError) { list = try TC.apply(cmd, to: c.qdiscs, devices: s.devices.map(\.name)) } catch { throw App.tcProblem(error) }
            do throws(ConfigError) { try s.setQdiscs(list) } catch { throw Problem.unprocessable(error.message, pointer: "/command") }
            c.qdiscs = list
            return s.qdiscInfo(dev: cmd.dev)
        }
        return jsonResponse(status, TC.showJSON(infos, oneDev: true, stats: true))
    }

    /// tc's own refusals are the request's syntax (400, with the word at fault); the kernel's
    /// (RTNETLINK answers) are the stack's state (409 for what exists, 404 for what does not, else 422).
    static func tcProblem(_ e: TCError) -> Problem {
        guard e.kernel else {
            var p = Problem.badRequest("invalid-tc-command", e.message, pointer: "/command")
            if let w = e.word { p.extra.append(("word", .int(w))) }
            return p
        }
        if e.message.hasPrefix("Cannot find device") || e.message.contains("not found") || e.message.contains("Failed to find") || e.message.contains("handle of zero") {
            return Problem(status: 404, slug: "not-found", detail: e.message)
        }
        if e.message.contains("Exclusivity") || e.message.contains("NLM_F_REPLACE") {
            return Problem(status: 409, slug: "conflict", detail: e.message)
        }
        return Problem.unprocessable(e.message, pointer: "/command")
    }
}
