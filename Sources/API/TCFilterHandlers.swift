import BPF
import HTTPServer
import JSON
import Kernel

// tc BPF filters on clsact, in `tc filter` terms: `tc filter add dev DEV ingress|egress [pref N]
// bpf da obj FILE sec SEC`, `tc -j filter show`, `tc filter del`.
extension App {
    func registerTCFilterRoutes() {
        router.add("GET", "/v1/stacks/{stack}/tc/filters") { [unowned self] req, p throws(Problem) in try showTCFilters(req, p["stack"]!) }
        router.add("POST", "/v1/stacks/{stack}/tc/filters") { [unowned self] req, p throws(Problem) in try addTCFilter(req, p["stack"]!) }
        router.add("DELETE", "/v1/stacks/{stack}/tc/filters") { [unowned self] req, p throws(Problem) in try deleteTCFilters(req, p["stack"]!) }
    }

    /// `?dev=&direction=`: both optional; the answer lists each filter as `tc -j filter show`
    /// does (with `dev` and `direction` added), in hook and pref order.
    func showTCFilters(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let dev = q.string("dev"), dirText = q.string("direction")
        try q.finish()
        let direction = try Self.tcDirection(dirText)
        let list = try entry(name).withStack { (s: Stack) throws(Problem) -> JSONValue in
            if let dev, s.device(named: dev) == nil { throw Problem.notFound("no device named \(dev)") }
            return .array(Self.tcFilterDocuments(s, dev: dev, direction: direction))
        }
        return jsonResponse(200, list)
    }

    static func tcDirection(_ text: String?) throws(Problem) -> TCDirection? {
        guard let text else { return nil }
        guard let d = TCDirection(rawValue: text) else { throw Problem.badRequest("invalid-query", "direction must be ingress or egress") }
        return d
    }

    static func tcFilterDocuments(_ s: Stack, dev: String?, direction: TCDirection?) -> [JSONValue] {
        var out: [JSONValue] = []
        for d in s.devices where dev == nil || d.name == dev {
            guard let c = d.clsact else { continue }
            for (dir, filters) in [(TCDirection.ingress, c.ingress), (.egress, c.egress)] where direction == nil || direction == dir {
                for f in filters {
                    var o = JSONObject()
                    o.set("dev", d.name)
                    o.set("direction", dir.rawValue)
                    o.set("protocol", "all")
                    o.set("pref", f.pref)
                    o.set("kind", "bpf")
                    o.set("chain", 0)
                    var opts = JSONObject()
                    opts.set("handle", "0x1")
                    opts.set("bpf_name", f.name)
                    opts.set("direct-action", true)
                    opts.set("not_in_hw", true)
                    opts.set("prog", progDocument(f.program))
                    o.set("options", opts.value)
                    out.append(o.value)
                }
            }
        }
        return out
    }

    /// `{"dev", "direction", "pref"?, "object" (base64), "object_name", "section", "program", "maps"}`:
    /// `tc filter add dev DEV ingress|egress [pref N] bpf da obj FILE sec SEC` (clsact is added
    /// with the first filter). Answers the hook's filters.
    func addTCFilter(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let body = try parseJSONBody(req)
        let e = try entry(name)
        let existing = try e.withStack { (s: Stack) -> [TCFilterConfig] in s.config.tcFilters }
        let f: TCFilterConfig = try decoding { try StackDocument.decodeTCFilter(body, path: "", existing: existing) }
        let doc = try registry.change(e) { (s: Stack, c: inout StackConfig) throws(Problem) -> JSONValue in
            guard let dev = s.devices.firstIndex(where: { $0.name == f.dev }) else { throw Problem.notFound("no device named \(f.dev)") }
            if s.devices[dev].isLoopback { throw Problem.unprocessable("not supported yet: tc filters on lo", pointer: "/dev") }
            if c.tcFilters.contains(where: { $0.dev == f.dev && $0.direction == f.direction && $0.pref == f.pref }) {
                throw Problem(status: 409, slug: "conflict", detail: "\(f.dev) \(f.direction.rawValue) has a filter with pref \(f.pref) (RTNETLINK answers: File exists)")
            }
            let filter: TCBPFFilter
            do { filter = try s.loadTCFilter(f) } catch { throw Self.bpfProblem(error) }
            s.attachTCFilter(device: dev, f.direction, pref: f.pref, filter)
            c.tcFilters.append(f)
            if !c.clsact.contains(f.dev) { c.clsact.append(f.dev) }
            return .array(Self.tcFilterDocuments(s, dev: f.dev, direction: f.direction))
        }
        return jsonResponse(201, doc)
    }

    /// `DELETE ...?dev=eth0&direction=ingress[&pref=N]`: `tc filter del dev eth0 ingress [pref N]`.
    func deleteTCFilters(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        guard let dev = q.string("dev"), let dirText = q.string("direction") else {
            throw Problem.badRequest("invalid-query", "dev and direction are required, e.g. ?dev=eth0&direction=ingress")
        }
        let prefText = q.string("pref")
        try q.finish()
        let direction = try Self.tcDirection(dirText)!
        var pref: Int?
        if let prefText {
            guard let p = Int(prefText), p >= 1, p <= 0xffff else { throw Problem.badRequest("invalid-query", "pref must be 1-65535") }
            pref = p
        }
        try registry.change(try entry(name)) { (s: Stack, c: inout StackConfig) throws(Problem) in
            guard let i = s.devices.firstIndex(where: { $0.name == dev }) else { throw Problem.notFound("no device named \(dev)") }
            let gone = c.tcFilters.filter { $0.dev == dev && $0.direction == direction && (pref == nil || $0.pref == pref) }
            guard !gone.isEmpty else { throw Problem.notFound("\(dev) \(direction.rawValue) has no filter\(pref.map { " with pref \($0)" } ?? "")") }
            for f in gone { s.attachTCFilter(device: i, direction, pref: f.pref, nil) }
            c.tcFilters.removeAll { $0.dev == dev && $0.direction == direction && (pref == nil || $0.pref == pref) }
        }
        return HTTPResponse(status: 204)
    }
}
