// `ipsec in|out [spnum N] KEY [op] VALUE` (nftables' xfrm expression).
extension NFParser {
    mutating func ipsec(table: NFTable, anonymousSets: inout Int) throws(NFSyntaxError) -> NFStatement {
        i += 1
        let dt = tok
        let dir = try word("in or out")
        guard dir == "in" || dir == "out" else { throw err("syntax error, unexpected string, expecting in or out", at: dt) }
        var spnum: UInt8 = 0
        if isWord("spnum") {
            i += 1
            let nt = tok
            guard let n = NFConstants.number(try word("a state number")) else { throw err("expected a number", at: nt) }
            guard n <= 255 else { throw refused("spnum \(n) exceeds valid range 0-255", at: nt) }
            spnum = UInt8(n)
        }
        let kt = tok
        let k = try word("reqid, spi, ip or ip6")
        let key: NFSelector
        switch k {
        case "reqid": key = NFXfrm.reqid
        case "spi": key = NFXfrm.spi
        case "ip", "ip6":
            let at = tok
            let a = try word("saddr or daddr")
            guard a == "saddr" || a == "daddr" else { throw err("expected saddr or daddr", at: at) }
            key = NFSelector(rawValue: "\(k) \(a)")!
        default: throw err("expected reqid, spi, ip or ip6", at: kt)
        }
        let op = relationalOp()
        let value: NFValue
        if isPunct("{") {
            i += 1
            value = .set(try setElements(for: key))
            anonymousSets += 1
        } else {
            value = try scalar(for: key)
        }
        return .xfrm(NFXfrm(input: dir == "in", spnum: spnum, key: key), op: op, value: value)
    }
}
