import HTTPServer
import JSON
import Kernel
import Wire

// IPv4 policy routing: `ip rule` (list, add, delete) and the tables routes name.
extension App {
    func registerRuleRoutes() {
        router.add("GET", "/v1/stacks/{stack}/rules") { [unowned self] req, p throws(Problem) in try listPolicyRules(req, p["stack"]!) }
        router.add("POST", "/v1/stacks/{stack}/rules") { [unowned self] req, p throws(Problem) in try addPolicyRule(req, p["stack"]!) }
        router.add("DELETE", "/v1/stacks/{stack}/rules") { [unowned self] req, p throws(Problem) in try deletePolicyRule(req, p["stack"]!) }
        router.add("GET", "/v1/stacks/{stack}/routes/get") { [unowned self] req, p throws(Problem) in try routeGet(req, p["stack"]!) }
    }

    /// `ip -j route get DST [from SRC iif DEV] [mark M]`: the route a packet would take (IPv4).
    func routeGet(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        if let d = q.string("dst"), d.contains(":") { return try route6Get(&q, name, dst: d) }
        func address(_ key: String) throws(Problem) -> IPv4Address? {
            guard let t = q.string(key) else { return nil }
            guard let a = try? IPv4Address(parsing: t) else {
                throw Problem.badRequest("invalid-query", t.contains(":") ? "not supported yet: IPv6 route lookups" : "\(key) \(t) is not an IPv4 address")
            }
            return a
        }
        guard let dst = try address("dst") else { throw Problem.badRequest("invalid-query", "dst is required, e.g. ?dst=8.8.8.8") }
        let from = try address("from")
        let iifName = q.string("iif")
        let markText = q.string("mark")
        try q.finish()
        var mark: UInt32 = 0
        if let t = markText {
            do { mark = try StackDocument.decodeMark(.string(t), path: "") ?? 0 } catch { throw Problem.badRequest("invalid-query", "mark \(t) is not a 32-bit number") }
        }
        if iifName != nil && from == nil { throw Problem.badRequest("invalid-query", "iif needs from (ip route get ... from SRC iif DEV)") }
        let e = try entry(name)
        let answer: Result<JSONValue, Problem> = e.withStack { s in
            var iif: Int? = nil
            if let n = iifName {
                guard let d = s.devices.firstIndex(where: { $0.name == n }) else { return .failure(Problem.unprocessable("Cannot find device \"\(n)\"", pointer: "/iif")) }
                iif = d
            }
            switch s.ip_route_get(dst, from: from, iif: iif, mark: mark) {
            case .failure(let err): return .failure(Problem.unprocessable("RTNETLINK answers: \(err.message)", pointer: "/dst"))
            case .success(let r):
                var x = JSONObject()
                if r.type != .unicast { x.set("type", r.type.rawValue) }
                x.set("dst", r.dst.description)
                if let f = from { x.set("from", f.description) }
                if let g = r.gateway { x.set("gateway", g.description) }
                x.set("dev", r.dev)
                if r.table != FIB.main { x.set("table", StackDocument.tableName(r.table)) }
                if let p = r.prefsrc { x.set("prefsrc", p.description) }
                x.set("flags", JSONValue.array([]))
                if mark != 0 { x.set("mark", Int(mark)) }
                if iif == nil { x.set("uid", 0) }
                x.set("cache", JSONValue.array(r.cache.map { .string($0) }))
                if let e = r.expiresSec { x.set("expires", e) }
                if let m = r.mtu { x.set("metrics", JSONValue.array([.object([("mtu", .int(m))])])) }
                if let n = iifName { x.set("iif", n) }
                return .success(.array([x.value]))
            }
        }
        switch answer {
        case .success(let v): return jsonResponse(200, v)
        case .failure(let p): throw p
        }
    }

    /// `ip -j -6 route get DST [from SRC [iif DEV]] [mark M]`.
    private func route6Get(_ q: inout Query, _ name: String, dst text: String) throws(Problem) -> HTTPResponse {
        guard let dst = try? IPv6Address(parsing: text) else { throw Problem.badRequest("invalid-query", "dst \(text) is not an IPv6 address") }
        let fromText = q.string("from")
        let from: IPv6Address?
        if let t = fromText {
            guard let a = try? IPv6Address(parsing: t) else { throw Problem.badRequest("invalid-query", "from \(t) is not an IPv6 address") }
            from = a
        } else { from = nil }
        let iifName = q.string("iif")
        let markText = q.string("mark")
        try q.finish()
        var mark: UInt32 = 0
        if let t = markText {
            do { mark = try StackDocument.decodeMark(.string(t), path: "") ?? 0 } catch { throw Problem.badRequest("invalid-query", "mark \(t) is not a 32-bit number") }
        }
        if iifName != nil && from == nil { throw Problem.badRequest("invalid-query", "iif needs from (ip -6 route get ... from SRC iif DEV)") }
        let answer: Result<Route6GetResult?, Problem> = try entry(name).withStack { s in
            var iif: Int? = nil
            if let n = iifName {
                guard let d = s.devices.firstIndex(where: { $0.name == n }) else { return .failure(Problem.unprocessable("Cannot find device \"\(n)\"", pointer: "/iif")) }
                iif = d
            }
            return .success(s.ip6_route_get(dst, from: from, iif: iif, mark: mark))
        }
        let found: Route6GetResult?
        switch answer {
        case .success(let r): found = r
        case .failure(let p): throw p
        }
        guard let r = found else { throw Problem.unprocessable("RTNETLINK answers: Network is unreachable", pointer: "/dst") }
        if r.type == "unreachable" { throw Problem.unprocessable("RTNETLINK answers: No route to host", pointer: "/dst") }
        var x = JSONObject()
        if r.type != "unicast" { x.set("type", r.type) }
        x.set("dst", dst.description)
        x.set("from", (from ?? .any).description)
        if let g = r.gateway { x.set("gateway", g.description) }
        x.set("dev", r.dev)
        if r.table != FIB.main { x.set("table", StackDocument.tableName(r.table)) }
        if let p = r.proto { x.set("protocol", p) }
        if let p = r.prefsrc { x.set("prefsrc", p.description) }
        x.set("metric", r.metric)
        x.set("flags", JSONValue.array([]))
        if let e = r.expiresSec { x.set("expires", e) }
        if let m = r.mtu { x.set("metrics", JSONValue.array([.object([("mtu", .int(m))])])) }
        // rt6_fill_node has no RTA_MARK: ip prints no mark for IPv6.
        if let n = iifName { x.set("iif", n) }
        x.set("pref", "medium")
        return jsonResponse(200, .array([x.value]))
    }

    /// `ip -j [-6] rule` (`?family=inet6`): the rules every stack has with the user's, in the order they are tried.
    func listPolicyRules(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let v6 = try App.ruleFamily(&q)
        try q.finish()
        let e = try entry(name)
        let items: [JSONValue] = e.withStack { s in
            let devices = s.devices.map(\.name)
            if v6 { return (s.fib6.rules.isEmpty ? FIB6.defaultRules : s.fib6.rules).map { StackDocument.encodeRule6AsIP($0, devices: devices) } }
            return (s.fib.rules.isEmpty ? FIB.defaultRules : s.fib.rules).map { StackDocument.encodeRuleAsIP($0, devices: devices) }
        }
        return jsonResponse(200, .object([("items", .array(items))]))
    }

    /// `family=inet|inet6` of a rules query (inet when absent).
    private static func ruleFamily(_ q: inout Query) throws(Problem) -> Bool {
        switch q.string("family") {
        case nil, "inet"?: return false
        case "inet6"?: return true
        case let f?: throw Problem.badRequest("invalid-query", "family \(f) is not inet or inet6")
        }
    }

    /// `ip [-6] rule add`: without a priority, one below the first rule after the local one's
    /// (fib_default_rule_pref: 32765, then 32764...).
    func addPolicyRule(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let e = try entry(name)
        let body = try parseJSONBody(req)
        var rule = try decoding { try StackDocument.decodeRule(body, path: "", defaultPriority: -1) }
        try registry.change(e) { (s, c) throws(Problem) in
            switch rule {
            case .v4(var r):
                if r.priority < 0 { r.priority = App.defaultPriority(s.fib.rules.map(\.priority)) }
                let rules = c.rules + [r]
                do throws(ConfigError) { try s.setRules(rules) } catch {
                    throw Problem.unprocessable(error.message, pointer: error.path.replacingOccurrences(of: "/rules/\(rules.count - 1)", with: ""))
                }
                c.rules = rules
                rule = .v4(r)
            case .v6(var r):
                if r.priority < 0 { r.priority = App.defaultPriority(s.fib6.rules.map(\.priority)) }
                let rules = c.rules6 + [r]
                do throws(ConfigError) { try s.setRules6(rules) } catch {
                    throw Problem.unprocessable(error.message, pointer: error.path.replacingOccurrences(of: "/rules6/\(rules.count - 1)", with: ""))
                }
                c.rules6 = rules
                rule = .v6(r)
            }
        }
        return jsonResponse(201, StackDocument.encodeRule(rule))
    }

    /// fib_default_rule_pref: one below the second rule's priority (the first after local's).
    private static func defaultPriority(_ priorities: [Int]) -> Int {
        let second = priorities.count > 1 ? priorities[1] : 32766
        return second > 0 ? second - 1 : 0
    }

    /// `ip [-6] rule del priority N`: the first of the user's rules with that priority.
    func deletePolicyRule(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        guard q.string("priority") != nil else { throw Problem.badRequest("invalid-query", "priority is required, e.g. ?priority=100") }
        let priority = try q.int("priority", in: 0...Int(UInt32.max), default: 0)
        let v6 = try App.ruleFamily(&q)
        try q.finish()
        let e = try entry(name)
        let missing = Problem.notFound("no rule of priority \(priority) (the local, main\(v6 ? "" : " and default") rules stay)")
        try registry.change(e) { (s, c) throws(Problem) in
            if v6 {
                guard let i = c.rules6.firstIndex(where: { $0.priority == priority }) else { throw missing }
                var rules = c.rules6
                rules.remove(at: i)
                do throws(ConfigError) { try s.setRules6(rules) } catch { throw Problem.unprocessable(error.message, pointer: error.path) }
                c.rules6 = rules
                return
            }
            guard let i = c.rules.firstIndex(where: { $0.priority == priority }) else { throw missing }
            var rules = c.rules
            rules.remove(at: i)
            do throws(ConfigError) { try s.setRules(rules) } catch { throw Problem.unprocessable(error.message, pointer: error.path) }
            c.rules = rules
        }
        return HTTPResponse(status: 204)
    }
}

extension StackDocument {
    /// A table by number or by the name `ip` gives it (local, main, default).
    static func decodeTable(_ v: JSONValue?, path: String) throws -> Int {
        switch v {
        case nil: return FIB.main
        case .string(let name)?:
            if let t = ["local": FIB.local, "main": FIB.main, "default": FIB.defaultTable][name] { return t }
            if let n = Int(name), (1...Int(UInt32.max)).contains(n) { return n }
            throw Problem.unprocessable("table must be a number 1-4294967295, local, main or default", pointer: path)
        case .int(let n)? where (1...Int(UInt32.max)).contains(n): return n
        default: throw Problem.unprocessable("table must be a number 1-4294967295, local, main or default", pointer: path)
        }
    }

    static func tableName(_ t: Int) -> String {
        [FIB.local: "local", FIB.main: "main", FIB.defaultTable: "default"][t] ?? String(t)
    }

    /// A mark as a number, or as text in decimal or hex ("0x1"), as `ip` takes it.
    static func decodeMark(_ v: JSONValue?, path: String) throws -> UInt32? {
        switch v {
        case nil: return nil
        case .int(let n)? where (0...Int(UInt32.max)).contains(n): return UInt32(n)
        case .string(let s)?: if let n = s.hasPrefix("0x") ? UInt32(s.dropFirst(2), radix: 16) : UInt32(s) { return n }
        default: break
        }
        throw Problem.unprocessable("expected a 32-bit mark (a number or 0x hex)", pointer: path)
    }

    enum PolicyRule { case v4(RuleConfig), v6(Rule6Config) }

    /// `{"priority": 100, "from": "10.0.0.0/8", "to": ..., "fwmark": "0x1", "fwmask": "0xff", "iif": "eth0", "table": 100,
    /// "not": true, "suppress_prefixlength": 0}`; an IPv6 rule has IPv6 prefixes or `"family": "inet6"` (`ip -6 rule`).
    static func decodeRule(_ v: JSONValue, path: String, defaultPriority: Int) throws -> PolicyRule {
        var r = try FieldReader(v, path: path)
        let priority = try r.int("priority", in: 0...Int(UInt32.max)) ?? defaultPriority
        let family = try r.string("family")
        let fromText = try r.string("from"), toText = try r.string("to")
        guard family == nil || family == "inet" || family == "inet6" else { throw Problem.unprocessable("family must be inet or inet6", pointer: path + "/family") }
        let v6 = family == "inet6" || (family == nil && (fromText?.contains(":") == true || toText?.contains(":") == true))
        func prefix4(_ key: String, _ t: String?) throws -> IPv4CIDR? {
            guard let t, t != "all" else { return nil }
            guard let p = try? IPv4CIDR(parsing: t.contains("/") ? t : t + "/32"), p.address == p.network else {
                throw Problem.unprocessable("\(key) must be an IPv4 prefix such as 10.0.0.0/8", pointer: path + "/" + key)
            }
            return p
        }
        func prefix6(_ key: String, _ t: String?) throws -> IPv6CIDR? {
            guard let t, t != "all" else { return nil }
            guard let p = try? IPv6CIDR(parsing: t.contains("/") ? t : t + "/128"), p.address == p.network else {
                throw Problem.unprocessable("\(key) must be an IPv6 prefix such as 2001:db8::/32", pointer: path + "/" + key)
            }
            // A zero-length prefix selects everything, as `all` does (r->src.plen 0).
            return p.prefixLength == 0 ? nil : p
        }
        let fwmark = try decodeMark(r.raw("fwmark"), path: path + "/fwmark")
        let fwmask = try decodeMark(r.raw("fwmask"), path: path + "/fwmask")
        if fwmask != nil && fwmark == nil { throw Problem.unprocessable("fwmask goes with fwmark", pointer: path + "/fwmask") }
        let iif = try r.string("iif")
        let table = try decodeTable(r.raw("table"), path: path + "/table")
        let invert = try r.bool("not") ?? false
        let suppress = try r.int("suppress_prefixlength", in: 0...(v6 ? 128 : 32))
        try r.finish()
        if v6 {
            return .v6(Rule6Config(priority: priority, from: try prefix6("from", fromText), to: try prefix6("to", toText), fwmark: fwmark, fwmask: fwmask ?? .max,
                                   iif: iif, table: table, invert: invert, suppressPrefixLength: suppress))
        }
        return .v4(RuleConfig(priority: priority, from: try prefix4("from", fromText), to: try prefix4("to", toText), fwmark: fwmark, fwmask: fwmask ?? .max,
                              iif: iif, table: table, invert: invert, suppressPrefixLength: suppress))
    }

    static func encodeRule(_ rule: PolicyRule) -> JSONValue {
        var x = JSONObject()
        switch rule {
        case .v4(let c):
            x.set("priority", c.priority)
            if let f = c.from { x.set("from", f.description) }
            if let t = c.to { x.set("to", t.description) }
            selectors(&x, c.fwmark, c.fwmask, c.iif, c.table, c.invert, c.suppressPrefixLength)
        case .v6(let c):
            x.set("family", "inet6")
            x.set("priority", c.priority)
            if let f = c.from { x.set("from", f.description) }
            if let t = c.to { x.set("to", t.description) }
            selectors(&x, c.fwmark, c.fwmask, c.iif, c.table, c.invert, c.suppressPrefixLength)
        }
        return x.value
    }

    private static func selectors(_ x: inout JSONObject, _ fwmark: UInt32?, _ fwmask: UInt32, _ iif: String?, _ table: Int, _ invert: Bool, _ suppress: Int?) {
        if let m = fwmark { x.set("fwmark", hex(m)) }
        if fwmark != nil, fwmask != .max { x.set("fwmask", hex(fwmask)) }
        if let i = iif { x.set("iif", i) }
        x.set("table", tableName(table))
        if invert { x.set("not", true) }
        if let n = suppress { x.set("suppress_prefixlength", n) }
    }

    /// As `ip -j -6 rule` prints a rule.
    static func encodeRule6AsIP(_ r: FIB6Rule, devices: [String]) -> JSONValue {
        ipRuleJSON(priority: r.priority, invert: r.invert, from: r.from.map { ($0.address.description, $0.prefixLength) }, to: r.to.map { ($0.address.description, $0.prefixLength) },
                   fwmark: r.fwmark, fwmask: r.fwmask, iif: r.iif.map { $0 == FIBEntry.loopback ? "lo" : devices[$0] }, table: r.table, suppress: r.suppressPrefixLength)
    }

    /// As `ip -j rule` prints a rule.
    static func encodeRuleAsIP(_ r: FIBRule, devices: [String]) -> JSONValue {
        ipRuleJSON(priority: r.priority, invert: r.invert, from: r.from.map { ($0.address.description, $0.prefixLength) }, to: r.to.map { ($0.address.description, $0.prefixLength) },
                   fwmark: r.fwmark, fwmask: r.fwmask, iif: r.iif.map { $0 == FIBEntry.loopback ? "lo" : devices[$0] }, table: r.table, suppress: r.suppressPrefixLength)
    }

    /// One rule in `ip -j [-6] rule`'s words and order.
    private static func ipRuleJSON(priority: Int, invert: Bool, from: (String, Int)?, to: (String, Int)?, fwmark: UInt32?, fwmask: UInt32,
                                   iif: String?, table: Int, suppress: Int?) -> JSONValue {
        var x = JSONObject()
        x.set("priority", priority)
        // ip -j prints `not` as a key without a value.
        if invert { x.set("not", JSONValue.null) }
        x.set("src", from?.0 ?? "all")
        if let f = from { x.set("srclen", f.1) }
        if let t = to { x.set("dst", t.0); x.set("dstlen", t.1) }
        if let m = fwmark { x.set("fwmark", hex(m)) }
        if fwmark != nil, fwmask != .max { x.set("fwmask", hex(fwmask)) }
        if let i = iif { x.set("iif", i) }
        x.set("table", tableName(table))
        if let n = suppress { x.set("suppress_prefixlen", n) }
        return x.value
    }

    private static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
}
