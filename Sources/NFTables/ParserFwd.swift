// nft's `fwd` statement (parser_bison.y's fwd_stmt): netdev tables only.
extension NFParser {
    /// `fwd to DEVICE`, `fwd to KEY map { K : DEVICE, ... }` or `fwd ip|ip6 to ADDR device DEVICE`.
    mutating func fwdBody(table: NFTable, context: RuleContext, anonymousSets: inout Int, at t: NFToken) throws(NFSyntaxError) -> NFStatement {
        i += 1
        guard table.family == .netdev else { throw refused("unsupported family", at: t) }
        var family: NFFamily? = nil
        if isWord("ip") || isWord("ip6") { family = NFFamily(rawValue: tok.text); i += 1 }
        try expectWord("to")
        if family == nil, tok.kind == .word, mapAhead(context) {
            var f = NFFwd(device: "")
            (f.key, f.devices) = try deviceMap(context: context, anonymousSets: &anonymousSets)
            return .fwd(f)
        }
        guard let family else {
            guard tok.kind == .word || tok.kind == .string else { throw err("expected a device name") }
            return .fwd(NFFwd(device: try deviceName()))
        }
        let at = tok
        var f = NFFwd(device: "")
        if family == .ip6 {
            guard case .range6(let lo, let hi, let text) = try ipv6Value(at: at), lo == hi else { throw err("expected an IPv6 address", at: at) }
            f.addr6 = lo; f.addrText = text
        } else {
            let w = try word("an IPv4 address")
            guard let a = NFConstants.ipv4(w) else { throw err("expected an IPv4 address", at: at) }
            f.addr = a; f.addrText = NFConstants.ipv4Text(a)
        }
        f.family = family
        try expectWord("device")
        guard tok.kind == .word || tok.kind == .string else { throw err("expected a device name") }
        f.device = try deviceName()
        return .fwd(f)
    }

    /// `KEY map { K : "DEVICE", ... }` (fwd's and netdev dup's device from an anonymous map).
    mutating func deviceMap(context: RuleContext, anonymousSets: inout Int) throws(NFSyntaxError) -> (NFSelector, [(NFValue, String)]) {
        let kt = tok
        let key = try concatSelector(context: context)
        if key.isString { throw unsupported("a device map keyed by \(key.printed)", at: kt) }
        try expectWord("map")
        try expectPunct("{")
        let entries = try braceList { (p: inout NFParser) throws(NFSyntaxError) -> (NFValue, String) in
            let k = try p.scalar(for: key)
            try p.expectPunct(":")
            guard p.tok.kind == .word || p.tok.kind == .string else { throw p.err("expected a device name") }
            return (k, try p.deviceName())
        }
        anonymousSets += 1   // the anonymous map takes a handle
        return (key, entries)
    }
}
