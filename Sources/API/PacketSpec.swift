import JSON
import Kernel
import Wire

/// One packet of `POST /v1/stacks/{stack}/packets`: a whole frame in `hex`, or layers with
/// defaults where lengths and checksums are computed unless given (as Scapy does).
struct PacketSpec {
    var device: NetDevice
    var frame: [UInt8]
    var atNs: UInt64?

    /// The device a packet at `path` names; a name the stack lacks is a 422 pointing at it.
    static func device(_ name: String, path: String, stack: Stack) throws(Problem) -> NetDevice {
        guard let dev = stack.device(named: name) else {
            throw Problem(status: 422, slug: "unknown-device", detail: "stack \(stack.config.name) has no device \(name)",
                          extra: [("pointer", .string(path + "/device"))])
        }
        return dev
    }

    /// A whole frame given in hex: not empty, and no longer than the largest IP packet with its
    /// Ethernet header and a VLAN tag.
    static func check(frame: [UInt8], path: String) throws(Problem) {
        guard !frame.isEmpty else { throw Problem.unprocessable("frame is empty", pointer: path + "/hex") }
        guard frame.count <= 65535 + 18 else { throw Problem.unprocessable("frame longer than 65553 bytes", pointer: path + "/hex") }
    }

    static func decode(_ v: JSONValue, path: String, stack: Stack) throws -> PacketSpec {
        var r = try FieldReader(v, path: path)
        let dev = try device(try r.requiredString("device"), path: path, stack: stack)
        let at = try r.int("at_ns", in: 0...Int(Stack.clockLimitNs)).map { UInt64($0) }
        let frame: [UInt8]
        if let hex = try r.string("hex") {
            for layer in ["eth", "vlan", "ipv4", "ipv6", "udp", "tcp", "icmp", "icmpv6", "arp", "payload_hex"] where r.raw(layer) != nil {
                throw JSONShapeError(path: path + "/" + layer, message: "cannot be combined with hex")
            }
            do { frame = try Hex.decode(hex) } catch {
                throw Problem.unprocessable("invalid hex: \(describe(error))", pointer: path + "/hex")
            }
            try check(frame: frame, path: path)
        } else {
            frame = try buildLayers(&r, path: path, device: dev)
        }
        try r.finish()
        return PacketSpec(device: dev, frame: frame, atNs: at)
    }

    private static func describe(_ e: WireError) -> String {
        switch e {
        case .badText(let s), .malformed(let s): s
        case .truncated: "truncated"
        case .checksum: "bad checksum"
        }
    }

    private static func mac(_ r: inout FieldReader, _ key: String, default d: MACAddress) throws -> MACAddress {
        guard let s = try r.string(key) else { return d }
        do { return try MACAddress(parsing: s) } catch { throw Problem.unprocessable("invalid MAC address \"\(s)\"", pointer: r.pointer(key)) }
    }
    private static func ip(_ r: inout FieldReader, _ key: String, default d: IPv4Address?) throws -> IPv4Address {
        guard let s = try r.string(key) else {
            guard let d else { throw JSONShapeError(path: r.pointer(key), message: "is required") }
            return d
        }
        do { return try IPv4Address(parsing: s) } catch { throw Problem.unprocessable("invalid IPv4 address \"\(s)\"", pointer: r.pointer(key)) }
    }
    private static func ip6(_ r: inout FieldReader, _ key: String, default d: IPv6Address?) throws -> IPv6Address {
        guard let s = try r.string(key) else {
            guard let d else { throw JSONShapeError(path: r.pointer(key), message: "is required") }
            return d
        }
        do { return try IPv6Address(parsing: s) } catch { throw Problem.unprocessable("invalid IPv6 address \"\(s)\"", pointer: r.pointer(key)) }
    }
    private static func hexField(_ r: inout FieldReader, _ key: String) throws -> [UInt8] {
        guard let s = try r.string(key) else { return [] }
        do { return try Hex.decode(s) } catch { throw Problem.unprocessable("invalid hex: \(describe(error))", pointer: r.pointer(key)) }
    }
    private static func u16(_ r: inout FieldReader, _ key: String) throws -> UInt16? {
        try r.int(key, in: 0...0xffff).map { UInt16($0) }
    }

    /// The `udp` or `tcp` layer over either IP version: lengths and checksums computed unless given
    /// (patched at `l4Base` bytes from the IP header); nil when neither is there.
    private static func transport(_ r: inout FieldReader, payload: [UInt8], l4Base: Int, overrides: inout [(Int, [UInt8])]) throws -> (TransportRepr, UInt8)? {
        if var u = try r.object("udp") {
            let repr = UDPRepr(srcPort: try u16(&u, "sport") ?? 12345, dstPort: try u16(&u, "dport") ?? 0, payload: payload)
            if let len = try u16(&u, "length") { overrides.append((l4Base + 4, [UInt8(len >> 8), UInt8(len & 0xff)])) }
            if let c = try u16(&u, "checksum") { overrides.append((l4Base + 6, [UInt8(c >> 8), UInt8(c & 0xff)])) }
            try u.finish()
            return (.udp(repr), IPProtocol.udp)
        } else if var t = try r.object("tcp") {
            var flags: TCPFlags = []
            if let fl = try t.array("flags") {
                for (i, f) in fl.enumerated() {
                    guard case .string(let s) = f, let bit = TCPFlags(name: s.lowercased()) else {
                        throw Problem.unprocessable("unknown TCP flag; use fin syn rst psh ack urg ece cwr", pointer: t.pointer("flags") + "/\(i)")
                    }
                    flags.insert(bit)
                }
            } else { flags = .syn }
            let options = try hexField(&t, "options_hex")
            guard options.count % 4 == 0, options.count <= 40 else {
                throw Problem.unprocessable("options must be a multiple of 4 bytes, at most 40", pointer: t.pointer("options_hex"))
            }
            let repr = TCPRepr(srcPort: try u16(&t, "sport") ?? 12345, dstPort: try u16(&t, "dport") ?? 0,
                               seq: UInt32(try t.int("seq", in: 0...Int(UInt32.max)) ?? 0),
                               ack: UInt32(try t.int("ack", in: 0...Int(UInt32.max)) ?? 0),
                               flags: flags, window: try u16(&t, "window") ?? 64240, options: options, payload: payload)
            if let c = try u16(&t, "checksum") { overrides.append((l4Base + 16, [UInt8(c >> 8), UInt8(c & 0xff)])) }
            try t.finish()
            return (.tcp(repr), IPProtocol.tcp)
        }
        return nil
    }

    /// Default peer MAC for frames built from layers when `eth.src` is not given.
    static let defaultPeerMAC = MACAddress(0x02, 0, 0, 0, 0xff, 0x01)

    private static func buildLayers(_ r: inout FieldReader, path: String, device: NetDevice) throws -> [UInt8] {
        var ethR = try r.object("eth") ?? FieldReader(.object([]), path: path + "/eth")
        let dst = try mac(&ethR, "dst", default: device.mac)
        let src = try mac(&ethR, "src", default: defaultPeerMAC)
        let ethType = try u16(&ethR, "type")
        try ethR.finish()

        var vlan: VLANTagRepr? = nil
        if var v = try r.object("vlan") {
            let vid = try v.int("vid", in: 0...4095) ?? 0
            let pcp = try v.int("pcp", in: 0...7) ?? 0
            try v.finish()
            vlan = VLANTagRepr(pcp: UInt8(pcp), vid: UInt16(vid), innerEthertype: 0)
        }
        let payload = try hexField(&r, "payload_hex")

        var network: NetworkRepr
        // (offset from the IP header, bytes) patched after emit: lengths first, then checksums.
        var overrides: [(Int, [UInt8])] = []
        var ipChecksumGiven = false
        var ipOffsetInFrame = 0
        if var a = try r.object("arp") {
            let op = try a.string("op") ?? "request"
            guard op == "request" || op == "reply" else { throw Problem.unprocessable("op must be request or reply", pointer: a.pointer("op")) }
            let repr = ARPRepr(operation: op == "request" ? ARPRepr.request : ARPRepr.reply,
                               senderMAC: try mac(&a, "sender_mac", default: src), senderIP: try ip(&a, "sender_ip", default: nil),
                               targetMAC: try mac(&a, "target_mac", default: .zero),
                               targetIP: try ip(&a, "target_ip", default: device.config.addresses.first?.address))
            try a.finish()
            network = .arp(repr)
        } else if var ipR = try r.object("ipv4") {
            let srcIP = try ip(&ipR, "src", default: nil)
            let dstIP = try ip(&ipR, "dst", default: device.config.addresses.first?.address)
            let ttl = try ipR.int("ttl", in: 0...255) ?? 64
            let tos = try ipR.int("tos", in: 0...255) ?? 0
            let ident = try u16(&ipR, "id") ?? 0
            let df = try ipR.bool("df") ?? false
            let mf = try ipR.bool("mf") ?? false
            let fragOff = try ipR.int("frag_offset", in: 0...65528) ?? 0
            guard fragOff % 8 == 0 else { throw Problem.unprocessable("frag_offset must be a multiple of 8", pointer: ipR.pointer("frag_offset")) }
            let options = try hexField(&ipR, "options_hex")
            guard options.count % 4 == 0, options.count <= 40 else {
                throw Problem.unprocessable("options must be a multiple of 4 bytes, at most 40", pointer: ipR.pointer("options_hex"))
            }
            let protoOverride = try ipR.int("protocol", in: 0...255)
            if let tl = try u16(&ipR, "total_length") { overrides.append((2, [UInt8(tl >> 8), UInt8(tl & 0xff)])) }
            if let c = try u16(&ipR, "checksum") { overrides.append((10, [UInt8(c >> 8), UInt8(c & 0xff)])); ipChecksumGiven = true }
            try ipR.finish()

            let l4: TransportRepr
            var proto: UInt8
            let l4Base = 20 + options.count
            if let (t4, p4) = try transport(&r, payload: payload, l4Base: l4Base, overrides: &overrides) {
                l4 = t4; proto = p4
            } else if var c = try r.object("icmp") {
                let type = try c.int("type", in: 0...255) ?? Int(ICMPv4Repr.echoRequest)
                let code = try c.int("code", in: 0...255) ?? 0
                let id = try u16(&c, "id") ?? 0
                let seq = try u16(&c, "seq") ?? 0
                if let cs = try u16(&c, "checksum") { overrides.append((l4Base + 2, [UInt8(cs >> 8), UInt8(cs & 0xff)])) }
                try c.finish()
                l4 = .icmp(ICMPv4Repr(type: UInt8(type), code: UInt8(code), restOfHeader: UInt32(id) << 16 | UInt32(seq), data: payload))
                proto = IPProtocol.icmp
            } else {
                l4 = .raw(payload)
                proto = 0xfd // RFC 3692 experimental, when no transport layer is given
            }
            if let p = protoOverride { proto = UInt8(p) }
            let l4Length = l4.bufferLength
            // The total length field is 16 bits: a bigger datagram cannot be built.
            guard l4Base + l4Length <= 65535 else {
                throw Problem.unprocessable("the IPv4 datagram would be \(l4Base + l4Length) bytes; at most 65535 (payload at most \(65535 - l4Base - l4Length + payload.count) bytes here)",
                                            pointer: path + "/payload_hex")
            }
            let ipRepr = IPv4Repr(src: srcIP, dst: dstIP, proto: proto, ttl: UInt8(ttl), tos: UInt8(tos), ident: ident,
                                  dontFragment: df, moreFragments: mf, fragmentOffset: fragOff, options: options, payloadLength: 0)
            network = .ipv4(ipRepr, l4)
            ipOffsetInFrame = EthernetFrame.headerLength + (vlan == nil ? 0 : VLANTagRepr.length)
        } else if var ipR = try r.object("ipv6") {
            if r.raw("icmp") != nil { throw JSONShapeError(path: path + "/icmp", message: "ICMP over IPv6 is icmpv6") }
            let srcIP = try ip6(&ipR, "src", default: nil)
            let dstIP = try ip6(&ipR, "dst", default: device.config.addresses6.first?.address)
            let hop = try ipR.int("hop_limit", in: 0...255) ?? 64
            let tclass = try ipR.int("traffic_class", in: 0...255) ?? 0
            let flow = try ipR.int("flow_label", in: 0...0xf_ffff) ?? 0
            let nextOverride = try ipR.int("next_header", in: 0...255)
            if let pl = try u16(&ipR, "payload_length") { overrides.append((4, [UInt8(pl >> 8), UInt8(pl & 0xff)])) }
            try ipR.finish()
            let l4: TransportRepr
            var next: UInt8
            if let (t, p) = try transport(&r, payload: payload, l4Base: 40, overrides: &overrides) {
                l4 = t; next = p
            } else if var c = try r.object("icmpv6") {
                let type = try c.int("type", in: 0...255) ?? Int(ICMPv6Repr.echoRequest)
                let code = try c.int("code", in: 0...255) ?? 0
                // Echo: identifier and sequence; errors: the MTU (packet too big) or pointer (parameter problem).
                let id = try u16(&c, "id") ?? 0, seq = try u16(&c, "seq") ?? 0
                let rest = try c.int("rest", in: 0...Int(UInt32.max)).map { UInt32($0) } ?? (UInt32(id) << 16 | UInt32(seq))
                if let cs = try u16(&c, "checksum") { overrides.append((42, [UInt8(cs >> 8), UInt8(cs & 0xff)])) }
                try c.finish()
                l4 = .icmpv6(ICMPv6Repr(type: UInt8(type), code: UInt8(code), restOfHeader: rest, data: payload))
                next = IPProtocol.icmpv6
            } else {
                l4 = .raw(payload)
                next = IPProtocol.noNextHeader
            }
            if let n = nextOverride { next = UInt8(n) }
            guard l4.bufferLength <= 65535 else {
                throw Problem.unprocessable("the IPv6 payload would be \(l4.bufferLength) bytes; at most 65535 (jumbograms are not built)", pointer: path + "/payload_hex")
            }
            network = .ipv6(IPv6Repr(src: srcIP, dst: dstIP, nextHeader: next, hopLimit: UInt8(hop), trafficClass: UInt8(tclass), flowLabel: UInt32(flow)), [], l4)
            ipOffsetInFrame = EthernetFrame.headerLength + (vlan == nil ? 0 : VLANTagRepr.length)
        } else {
            for l in ["udp", "tcp", "icmp", "icmpv6"] where r.raw(l) != nil {
                throw JSONShapeError(path: path + "/" + l, message: l == "icmpv6" ? "needs an ipv6 layer" : "needs an ipv4 or ipv6 layer")
            }
            guard ethType != nil || !payload.isEmpty else {
                throw JSONShapeError(path: path, message: "give hex, or layers (eth, vlan, ipv4 or ipv6 with udp/tcp/icmp/icmpv6, arp, payload_hex)")
            }
            guard payload.count <= 65535 else {
                throw Problem.unprocessable("payload longer than 65535 bytes", pointer: path + "/payload_hex")
            }
            network = .raw(payload)
        }
        var eth = EthernetRepr(dst: dst, src: src, ethertype: ethType ?? 0)
        if ethType == nil {
            switch network {
            case .ipv4: eth.ethertype = EtherType.ipv4
            case .ipv6: eth.ethertype = EtherType.ipv6
            case .arp: eth.ethertype = EtherType.arp
            case .raw: break
            }
        }
        if var v = vlan { v.innerEthertype = eth.ethertype; vlan = v }
        var bytes = FrameRepr(ethernet: eth, vlan: vlan, network: network).emit()
        for (off, patch) in overrides {
            for (k, b) in patch.enumerated() { bytes[ipOffsetInFrame + off + k] = b }
        }
        if !overrides.isEmpty && !ipChecksumGiven, case .ipv4 = network {
            // A given total length still gets a header checksum that matches it.
            var p = try IPv4Packet(checking: bytes, at: ipOffsetInFrame)
            p.fillChecksum()
            bytes = p.buffer
        }
        return bytes
    }
}
