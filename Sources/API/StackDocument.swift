import JSON
import Kernel
import Wire

/// The stack document of `POST /v1/stacks` <-> `StackConfig`.
enum StackDocument {
    static func decode(_ v: JSONValue) throws(Problem) -> StackConfig {
        try decoding {
            var r = try FieldReader(v)
            let name = try r.requiredString("name")
            guard isValidName(name, max: 64) else {
                throw Problem.unprocessable("name must be 1-64 characters of A-Z a-z 0-9 . _ -", pointer: "/name")
            }
            let cpus = try r.int("cpus", in: 1...64) ?? 1
            var devices: [DeviceConfig] = []
            for (i, d) in (try r.array("devices") ?? []).enumerated() {
                devices.append(try decodeDevice(d, path: "/devices/\(i)"))
            }
            var routes: [RouteConfig] = []
            for (i, x) in (try r.array("routes") ?? []).enumerated() {
                routes.append(try decodeRoute(x, path: "/routes/\(i)"))
            }
            let sysctls = try intMap(r.raw("sysctls"), path: "/sysctls")
            let costs = try intMap(r.raw("costs"), path: "/costs")
            try r.finish()
            return StackConfig(name: name, cpus: cpus, devices: devices, routes: routes, sysctls: sysctls, costs: costs)
        }
    }

    static func isValidName(_ s: String, max: Int) -> Bool {
        !s.isEmpty && s.utf8.count <= max && s.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d
        }
    }

    private static func decodeDevice(_ v: JSONValue, path: String) throws -> DeviceConfig {
        var r = try FieldReader(v, path: path)
        let name = try r.requiredString("name")
        guard isValidName(name, max: 15) else {
            throw Problem.unprocessable("device name must be 1-15 characters of A-Z a-z 0-9 . _ - (IFNAMSIZ)", pointer: path + "/name")
        }
        let macText = try r.requiredString("mac")
        let mac: MACAddress
        do { mac = try MACAddress(parsing: macText) } catch { throw Problem.unprocessable("invalid MAC address \"\(macText)\"", pointer: path + "/mac") }
        guard !mac.isMulticast else { throw Problem.unprocessable("MAC address \(mac) is a group address", pointer: path + "/mac") }
        var addrs: [IPv4CIDR] = []
        for (i, a) in (try r.array("addresses") ?? []).enumerated() {
            guard case .string(let s) = a else { throw JSONShapeError(path: path + "/addresses/\(i)", message: "expected a string, got \(a.typeName)") }
            do { addrs.append(try IPv4CIDR(parsing: s)) } catch {
                throw Problem.unprocessable("invalid IPv4 address/prefix \"\(s)\"", pointer: path + "/addresses/\(i)")
            }
        }
        let mtu = try r.int("mtu", in: 68...65535) ?? 1500
        let rxq = try r.int("rx_queues", in: 1...64) ?? 1
        let ring = try r.int("ring_size", in: 1...32768) ?? 256
        try r.finish()
        return DeviceConfig(name: name, mac: mac, addresses: addrs, mtu: mtu, rxQueues: rxq, ringSize: ring)
    }

    private static func decodeRoute(_ v: JSONValue, path: String) throws -> RouteConfig {
        var r = try FieldReader(v, path: path)
        let dstText = try r.requiredString("dst")
        let dst: IPv4CIDR
        if dstText == "default" { dst = IPv4CIDR(address: .any, prefixLength: 0) } else {
            do { dst = try IPv4CIDR(parsing: dstText) } catch { throw Problem.unprocessable("invalid destination prefix \"\(dstText)\"", pointer: path + "/dst") }
        }
        var via: IPv4Address? = nil
        if let v = try r.string("via") {
            do { via = try IPv4Address(parsing: v) } catch { throw Problem.unprocessable("invalid gateway \"\(v)\"", pointer: path + "/via") }
        }
        let dev = try r.requiredString("dev")
        let metric = try r.int("metric", in: 0...Int(UInt32.max)) ?? 0
        try r.finish()
        return RouteConfig(dst: dst, via: via, dev: dev, metric: metric)
    }

    private static func intMap(_ v: JSONValue?, path: String) throws -> [String: Int] {
        guard let v else { return [:] }
        guard case .object(let kv) = v else { throw JSONShapeError(path: path, message: "expected an object, got \(v.typeName)") }
        var out: [String: Int] = [:]
        for (k, x) in kv {
            guard case .int(let n) = x else { throw JSONShapeError(path: path + "/" + k, message: "expected an integer, got \(x.typeName)") }
            out[k] = n
        }
        return out
    }

    /// The stored and returned form: every default filled in, keys in a fixed order.
    static func encode(_ c: StackConfig) -> JSONValue {
        var o = JSONObject()
        o.set("name", c.name)
        o.set("cpus", c.cpus)
        o.set("devices", .array(c.devices.map { d in
            var x = JSONObject()
            x.set("name", d.name)
            x.set("mac", d.mac.description)
            x.set("addresses", .array(d.addresses.map { .string($0.description) }))
            x.set("mtu", d.mtu)
            x.set("rx_queues", d.rxQueues)
            x.set("ring_size", d.ringSize)
            return x.value
        }))
        o.set("routes", .array(c.routes.map { r in
            var x = JSONObject()
            x.set("dst", r.dst.description)
            if let via = r.via { x.set("via", via.description) }
            x.set("dev", r.dev)
            x.set("metric", r.metric)
            return x.value
        }))
        o.set("sysctls", .object(c.sysctls.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))
        o.set("costs", .object(c.costs.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))
        return o.value
    }
}
