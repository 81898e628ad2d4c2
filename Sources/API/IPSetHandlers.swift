import HTTPServer
import JSON
import Kernel

// ipset in its own terms: `ipset save` to read the sets, `ipset restore` text to change them.
extension App {
    func registerIPSetRoutes() {
        router.add("GET", "/v1/stacks/{stack}/ipsets") { [unowned self] req, p throws(Problem) in try saveIPSets(req, p["stack"]!) }
        router.add("PUT", "/v1/stacks/{stack}/ipsets") { [unowned self] req, p throws(Problem) in try restoreIPSets(req, p["stack"]!, replace: true) }
        router.add("POST", "/v1/stacks/{stack}/ipsets/commands") { [unowned self] req, p throws(Problem) in
            try restoreIPSets(req, p["stack"]!, replace: false)
        }
    }

    /// `ipset save [NAME]`.
    func saveIPSets(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let only = q.string("name")
        try q.finish()
        let text = try entry(name).withStack { (s: Stack) throws(Problem) -> String in
            if let only, s.ipsets[only] == nil { throw Problem.notFound("The set with the given name does not exist") }
            return s.saveIPSets(only: only)
        }
        return self.text(200, text)
    }

    /// PUT: the sets become what the text makes from none (`ipset destroy` then `ipset restore`);
    /// POST: the text's commands on the sets there are. Whole or not at all; stored before it
    /// takes effect. Answers `ipset save` afterwards.
    func restoreIPSets(_ req: HTTPRequest, _ name: String, replace: Bool) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let e = try entry(name)
        guard let text = String(validating: req.body, as: UTF8.self) else { throw Problem.badRequest("invalid-encoding", "the body is not UTF-8") }
        guard text.contains(where: { !$0.isWhitespace }) else {
            throw Problem.badRequest("empty-ipsets", replace ? "no commands; to remove every set POST 'destroy' to /ipsets/commands" : "no commands")
        }
        let saved = try registry.change(e, { (s: Stack, c: inout StackConfig) throws(Problem) -> IPSets in
            let sets: IPSets
            do throws(IPSetError) { sets = try s.preparedIPSets(text, replace: replace) } catch { throw Self.ipsetProblem(error) }
            c.ipsets = IPSetText.save(sets, now: s.clockNs, own: true)
            c.ipsetsGeneration += 1
            return sets
        }, then: { (s: Stack, c: StackConfig, sets: IPSets) in s.setIPSets(sets, generation: c.ipsetsGeneration) })
        return self.text(200, e.withStack { s in IPSetText.save(saved, now: s.clockNs) })
    }

    /// As ipset restore reports it: the line and the message; what the model does not do is a 422.
    static func ipsetProblem(_ e: IPSetError) -> Problem {
        let (status, slug) = e.unsupported ? (422, "not-supported") : (400, "ipset-restore")
        return Problem(status: status, slug: slug, detail: "ipset restore refused line \(e.line): \(e.message)",
                       extra: [("line", .int(e.line)), ("ipset", .string("ipset v7.17: Error in line \(e.line): \(e.message)"))])
    }
}
