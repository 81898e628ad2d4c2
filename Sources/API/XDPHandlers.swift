import BPF
import HTTPServer
import JSON
import Kernel
import Wire

// XDP and BPF objects in the terms of `ip link set dev DEV xdp...`, `ip -j -d link show` and
// `bpftool -j prog|map show|dump|update|delete`.
extension App {
    func registerXDPRoutes() {
        router.add("GET", "/v1/stacks/{stack}/xdp") { [unowned self] req, p throws(Problem) in try listXDP(req, p["stack"]!) }
        router.add("POST", "/v1/stacks/{stack}/xdp") { [unowned self] req, p throws(Problem) in try attachXDP(req, p["stack"]!) }
        router.add("DELETE", "/v1/stacks/{stack}/xdp") { [unowned self] req, p throws(Problem) in try detachXDP(req, p["stack"]!) }
        router.add("GET", "/v1/stacks/{stack}/bpf/progs") { [unowned self] req, p throws(Problem) in try showProgs(req, p["stack"]!) }
        router.add("GET", "/v1/stacks/{stack}/bpf/maps") { [unowned self] req, p throws(Problem) in try showMaps(req, p["stack"]!) }
        router.add("GET", "/v1/stacks/{stack}/bpf/maps/{map}") { [unowned self] req, p throws(Problem) in try dumpMap(req, p["stack"]!, p["map"]!) }
        router.add("POST", "/v1/stacks/{stack}/bpf/maps/{map}") { [unowned self] req, p throws(Problem) in try updateMap(req, p["stack"]!, p["map"]!) }
        router.add("DELETE", "/v1/stacks/{stack}/bpf/maps/{map}") { [unowned self] req, p throws(Problem) in try deleteMapEntry(req, p["stack"]!, p["map"]!) }
    }

    /// The devices with a program, as `ip -j -d link show` lists them: `xdp.mode` 1 native (drv), 2 generic (skb).
    func listXDP(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let list = try entry(name).withStack { (s: Stack) -> JSONValue in
            .array(s.devices.filter { $0.xdp != nil }.map { Self.linkXDPDocument($0) })
        }
        return jsonResponse(200, list)
    }

    static func linkXDPDocument(_ d: NetDevice) -> JSONValue {
        var o = JSONObject()
        o.set("ifindex", d.ifindex)
        o.set("ifname", d.name)
        if let x = d.xdp {
            var xd = JSONObject()
            xd.set("mode", x.mode == .native ? 1 : 2)
            xd.set("prog", progDocument(x.program))
            o.set("xdp", xd.value)
        }
        return o.value
    }

    /// `bpftool -j prog show`'s fields that the model has.
    static func progDocument(_ p: BPFProgram) -> JSONValue {
        var o = JSONObject()
        o.set("id", p.id)
        o.set("type", p.type.rawValue)
        o.set("name", String(p.name.prefix(15)))
        o.set("gpl_compatible", p.gplCompatible)
        o.set("bytes_xlated", p.insns.count * 8)
        o.set("jited", false)
        o.set("map_ids", .array(p.maps.map { .int($0.id) }))
        o.set("section", p.section)
        return o.value
    }

    /// `{"dev", "mode", "object" (base64), "object_name", "section", "program", "maps", "force"}`:
    /// `ip [-force] link set dev DEV xdpdrv|xdpgeneric obj FILE sec SEC`. A device with a program
    /// keeps it unless `force` (as ip asks for -force).
    func attachXDP(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let body = try parseJSONBody(req)
        var force = false
        let x: XDPConfig = try decoding {
            guard case .object(var fields) = body else { throw JSONShapeError(path: "/", message: "expected an object, got \(body.typeName)") }
            if let i = fields.firstIndex(where: { $0.0 == "force" }) {
                guard case .bool(let b) = fields[i].1 else { throw JSONShapeError(path: "/force", message: "expected a boolean") }
                force = b
                fields.remove(at: i)
            }
            return try StackDocument.decodeXDP(.object(fields), path: "")
        }
        let doc = try registry.change(try entry(name)) { (s: Stack, c: inout StackConfig) throws(Problem) -> JSONValue in
            guard let dev = s.devices.firstIndex(where: { $0.name == x.dev }) else { throw Problem.notFound("no device named \(x.dev)") }
            if s.devices[dev].isLoopback { throw Problem.unprocessable("not supported yet: XDP on lo", pointer: "/dev") }
            if let old = s.devices[dev].xdp, !force {
                throw Problem(status: 409, slug: "conflict", detail: "\(x.dev) has XDP program \(old.program.name) attached (\(old.mode.rawValue)); detach it or set force")
            }
            let a: XDPAttachment
            do { a = try s.loadXDP(x) } catch { throw Self.bpfProblem(error) }
            s.attachXDP(device: dev, a)
            c.xdp.removeAll { $0.dev == x.dev }
            c.xdp.append(x)
            return Self.linkXDPDocument(s.devices[dev])
        }
        return jsonResponse(201, doc)
    }

    /// Load failures: the verifier's refusal, an object the loader cannot use, a map it cannot make.
    static func bpfProblem(_ e: Error) -> Problem {
        switch e {
        case let v as BPFVerifierError: return Problem(status: 422, slug: "verifier-refused", detail: v.description)
        case let l as BPFLoadError: return Problem(status: 422, slug: "invalid-object", detail: l.description, extra: [("pointer", .string("/object"))])
        case let m as BPFMapError: return Problem(status: 422, slug: "invalid-map", detail: m.description)
        default: return Problem(status: 422, slug: "invalid-object", detail: "\(e)")
        }
    }

    /// `DELETE ...?dev=eth0`: `ip link set dev eth0 xdp off`.
    func detachXDP(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        guard let dev = q.string("dev") else { throw Problem.badRequest("invalid-query", "dev is required, e.g. ?dev=eth0") }
        try q.finish()
        try registry.change(try entry(name)) { (s: Stack, c: inout StackConfig) throws(Problem) in
            guard let i = s.devices.firstIndex(where: { $0.name == dev }) else { throw Problem.notFound("no device named \(dev)") }
            guard s.devices[i].xdp != nil else { throw Problem.notFound("\(dev) has no XDP program") }
            s.attachXDP(device: i, nil)
            c.xdp.removeAll { $0.dev == dev }
        }
        return HTTPResponse(status: 204)
    }

    func showProgs(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        return jsonResponse(200, try entry(name).withStack { (s: Stack) -> JSONValue in
            .array(s.bpfPrograms.map(Self.progDocument))
        })
    }

    static func mapDocument(_ m: BPFMap) -> JSONValue {
        var o = JSONObject()
        o.set("id", m.id)
        o.set("type", m.type.name)
        o.set("name", m.name)
        o.set("flags", Int(m.spec.flags))
        o.set("bytes_key", m.spec.keySize)
        o.set("bytes_value", m.spec.valueSize)
        o.set("max_entries", m.spec.maxEntries)
        return o.value
    }

    func showMaps(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        return jsonResponse(200, try entry(name).withStack { (s: Stack) -> JSONValue in .array(s.bpfMaps.map(Self.mapDocument)) })
    }

    /// A map by id or by name (a name two maps share is ambiguous).
    static func findMap(_ s: Stack, _ ref: String) throws(Problem) -> BPFMap {
        let maps = s.bpfMaps
        if let id = Int(ref), let m = maps.first(where: { $0.id == id }) { return m }
        let named = maps.filter { $0.name == ref }
        guard named.count < 2 else { throw Problem(status: 409, slug: "ambiguous-map", detail: "\(named.count) maps are named \(ref); use the id") }
        guard let m = named.first else { throw Problem.notFound("no map with id or name \(ref)") }
        return m
    }

    static func bytesDocument(_ b: [UInt8]) -> JSONValue { .array(b.map { .string("0x" + Hex.encode([$0])) }) }

    /// `bpftool -j map dump`: `{"key": ["0x.."], "value": [...]}`, per-CPU maps `"values": [{"cpu", "value"}]`.
    func dumpMap(_ req: HTTPRequest, _ name: String, _ ref: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let keyText = q.string("key")
        try q.finish()
        let doc = try entry(name).withStack { (s: Stack) throws(Problem) -> JSONValue in
            let m = try Self.findMap(s, ref)
            var entries = m.entries()
            if let keyText {
                let key = try Self.mapBytes(keyText, size: m.spec.keySize, what: "key")
                entries = entries.filter { $0.key == key }
                guard let e = entries.first else { throw Problem.notFound("map \(m.name): no entry with key \(keyText)") }
                return Self.entryDocument(m, e)
            }
            return .array(entries.map { Self.entryDocument(m, $0) })
        }
        return jsonResponse(200, doc)
    }

    static func entryDocument(_ m: BPFMap, _ e: (key: [UInt8], values: [[UInt8]])) -> JSONValue {
        var o = JSONObject()
        o.set("key", bytesDocument(e.key))
        if e.values.count > 1 {
            o.set("values", .array(e.values.enumerated().map { .object([("cpu", .int($0.offset)), ("value", bytesDocument($0.element))]) }))
        } else {
            o.set("value", bytesDocument(e.values.first ?? []))
        }
        return o.value
    }

    static func mapBytes(_ hex: String, size: Int, what: String) throws(Problem) -> [UInt8] {
        guard let b = try? Hex.decode(hex.replacingOccurrences(of: " ", with: "")) else {
            throw Problem.badRequest("invalid-\(what)", "\(what) must be hex bytes, e.g. 0a000001")
        }
        guard b.count == size else { throw Problem.unprocessable("\(what) must be \(size) bytes, got \(b.count)", pointer: "/\(what)") }
        return b
    }

    /// `{"key": hex, "value": hex, "flags": "any"|"noexist"|"exist"}`: `bpftool map update`. The
    /// entry is kept with the stack's attachment, so a restart writes it again.
    func updateMap(_ req: HTTPRequest, _ name: String, _ ref: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let body = try parseJSONBody(req)
        let (keyText, valueText, flagText): (String, String, String) = try decoding {
            var r = try FieldReader(body)
            let k = try r.requiredString("key"), v = try r.requiredString("value"), f = try r.string("flags") ?? "any"
            try r.finish()
            return (k, v, f)
        }
        guard let flags = ["any": UInt64(0), "noexist": 1, "exist": 2][flagText] else {
            throw Problem.unprocessable("flags must be any, noexist or exist", pointer: "/flags")
        }
        let doc = try registry.change(try entry(name)) { (s: Stack, c: inout StackConfig) throws(Problem) -> JSONValue in
            let m = try Self.findMap(s, ref)
            let key = try Self.mapBytes(keyText, size: m.spec.keySize, what: "key"), value = try Self.mapBytes(valueText, size: m.spec.valueSize, what: "value")
            if let why = s.refusedMapUpdate(m, key: key, value: value) { throw Problem(status: 422, slug: "invalid-value", detail: why) }
            if m.type == .progArray { return try Self.setProgArray(&c, s, map: m, key: key, value: value, flags: flags) }
            let r = m.update(key, value: value, flags: flags)
            switch r {
            case 0: break
            case -Errno.EEXIST: throw Problem(status: 409, slug: "exists", detail: "map \(m.name): the key exists (EEXIST)")
            case -Errno.ENOENT: throw Problem.notFound("map \(m.name): no entry with that key (ENOENT)")
            case -Errno.E2BIG: throw Problem(status: 422, slug: "map-full", detail: "map \(m.name): full or index out of range (E2BIG)")
            default: throw Problem(status: 422, slug: "invalid-value", detail: "map \(m.name): update failed (\(r))")
            }
            Self.remember(&c, s, map: m) { $0.removeAll { $0.0 == key }; $0.append((key, value)) }
            return Self.entryDocument(m, (key, m.slot(key).map { slot in (0..<m.cpus).map { m.value(slot: slot, cpu: $0) } } ?? [value]))
        }
        return jsonResponse(200, doc)
    }

    /// `DELETE ...?key=hex`: `bpftool map delete`.
    func deleteMapEntry(_ req: HTTPRequest, _ name: String, _ ref: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        guard let keyText = q.string("key") else { throw Problem.badRequest("invalid-query", "key is required, e.g. ?key=0a000001") }
        try q.finish()
        try registry.change(try entry(name)) { (s: Stack, c: inout StackConfig) throws(Problem) in
            let m = try Self.findMap(s, ref)
            let key = try Self.mapBytes(keyText, size: m.spec.keySize, what: "key")
            let r = m.delete(key)
            if r == -Errno.EINVAL { throw Problem(status: 422, slug: "not-deletable", detail: "map \(m.name): \(m.type.name) entries cannot be deleted (EINVAL)") }
            if r != 0 { throw Problem.notFound("map \(m.name): no entry with that key (ENOENT)") }
            if m.type == .progArray {
                let index = UInt32(key[0]) | UInt32(key[1]) << 8 | UInt32(key[2]) << 16 | UInt32(key[3]) << 24
                Self.rememberProgArray(&c, s, map: m) { $0.removeAll { $0.index == index } }
            } else {
                Self.remember(&c, s, map: m) { $0.removeAll { $0.0 == key } }
            }
        }
        return HTTPResponse(status: 204)
    }

    /// Keeps what the API wrote into a map with the attachment that owns it (its pre-fill).
    static func remember(_ c: inout StackConfig, _ s: Stack, map m: BPFMap, _ change: (inout [([UInt8], [UInt8])]) -> Void) {
        forEachSource(&c, s, owning: m) { src in
            var list = src.prefill[m.name] ?? []
            change(&list)
            src.prefill[m.name] = list.isEmpty ? nil : list
        }
    }

    /// The stored source of every attachment whose program has `m` (XDP's, then tc filters').
    static func forEachSource(_ c: inout StackConfig, _ s: Stack, owning m: BPFMap, _ change: (inout BPFSource) -> Void) {
        for d in s.devices {
            if let x = d.xdp, x.program.maps.contains(where: { $0 === m }), let i = c.xdp.firstIndex(where: { $0.dev == d.name }) {
                change(&c.xdp[i].source)
            }
            guard let cl = d.clsact else { continue }
            for (dir, filters) in [(TCDirection.ingress, cl.ingress), (.egress, cl.egress)] {
                for f in filters where f.program.maps.contains(where: { $0 === m }) {
                    guard let i = c.tcFilters.firstIndex(where: { $0.dev == d.name && $0.direction == dir && $0.pref == f.pref }) else { continue }
                    change(&c.tcFilters[i].source)
                }
            }
        }
    }

    /// `bpftool map update ... key K value id N` on a program array: the slot takes program N,
    /// which must be one of the programs loaded with the map's object (the same type).
    static func setProgArray(_ c: inout StackConfig, _ s: Stack, map m: BPFMap, key: [UInt8], value: [UInt8], flags: UInt64) throws(Problem) -> JSONValue {
        let index = UInt32(key[0]) | UInt32(key[1]) << 8 | UInt32(key[2]) << 16 | UInt32(key[3]) << 24
        let id = Int(UInt32(value[0]) | UInt32(value[1]) << 8 | UInt32(value[2]) << 16 | UInt32(value[3]) << 24)
        guard Int(index) < m.spec.maxEntries else { throw Problem(status: 422, slug: "map-full", detail: "map \(m.name): index \(index) out of range (E2BIG)") }
        guard let p = s.bpfPrograms.first(where: { $0.id == id }) else { throw Problem(status: 422, slug: "invalid-value", detail: "no program with id \(id) (ENOENT)") }
        guard p.maps.contains(where: { $0 === m }) else {
            throw Problem(status: 422, slug: "invalid-value", detail: "program \(id) (\(p.name)) was not loaded with map \(m.name); the model fills a program array with its own object's programs")
        }
        if flags == 1 && m.programs[Int(index)] != nil { throw Problem(status: 409, slug: "exists", detail: "map \(m.name): the key exists (EEXIST)") }
        if flags == 2 && m.programs[Int(index)] == nil { throw Problem.notFound("map \(m.name): no entry with that key (ENOENT)") }
        m.programs[Int(index)] = p
        rememberProgArray(&c, s, map: m) { list in
            list.removeAll { $0.index == index }
            list.append(ProgArrayEntry(index: index, program: p.name))
        }
        return entryDocument(m, (key, [value]))
    }

    /// Keeps a program array's entries with the attachment that owns the map.
    static func rememberProgArray(_ c: inout StackConfig, _ s: Stack, map m: BPFMap, _ change: (inout [ProgArrayEntry]) -> Void) {
        forEachSource(&c, s, owning: m) { src in
            var list = src.progArrays[m.name] ?? []
            change(&list)
            src.progArrays[m.name] = list.isEmpty ? nil : list
        }
    }
}
