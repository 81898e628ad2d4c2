import Wire

// net/netfilter/nf_conntrack_ftp.c: the ftp helper reads the control connection's commands
// (PORT, EPRT from the client; 227, 229 replies from the server) and expects the data connection
// they announce. Lines are only read where one starts: the helper remembers the sequence numbers
// after the last newlines it saw each way, so the first line each way is never parsed.

extension Stack {
    /// `nf_confirm`: the connection's helper sees the packet (not an ICMP error or a packet the
    /// stack made about it: IP_CT_RELATED_REPLY), then a new entry is confirmed. A helper may drop
    /// the packet (a command cut off at the packet's end, an expectation refused).
    func nf_confirm(_ skb: SkBuff) -> PathEnd? {
        if let c = skb.conn, let helper = c.help?.helper, skb.ctInfo != .related && skb.ctInfo != .relatedReply || isExpectedOriginal(skb, c) {
            let reason = switch helper {
            case "ftp": nf_conntrack_ftp_help(skb, c)
            case "tftp": nf_conntrack_tftp_help(skb, c)
            default: String?.none
            }
            if let reason { return drop(.NETFILTER_DROP, reason) }
        }
        // A connection whose numbers were moved (a helper changed a line's length, synproxy
        // answered for the server): every later segment's move, except what came in on lo.
        if let c = skb.conn, c.seqAdjust != nil, skb.ctInfo == .established || skb.ctInfo == .reply, !(skb.looped && skb.dev == lo) {
            nf_ct_seq_adjust(skb, c, dir: skb.ctInfo == .reply ? 1 : 0)
        }
        return nf_conntrack_confirm(skb)
    }

    /// The ftp helper's `help`: nil to accept, or why it drops the packet. Only once there has
    /// been traffic both ways.
    private func nf_conntrack_ftp_help(_ skb: SkBuff, _ c: Conn) -> String? {
        guard skb.ctInfo == .established || skb.ctInfo == .reply else { return nil }
        let dir = skb.ctInfo == .reply ? 1 : 0
        let b = skb.data
        guard let (th, proto) = get_l4proto(skb), proto == IPProtocol.tcp, skb.len >= th + 20, let help = c.help else { return nil }
        let dataoff = th + Int(b[th + 12] >> 4) * 4
        guard dataoff < skb.len else { return nil }
        let start = b.be32(th + 4), datalen = skb.len - dataoff, endsInNewline = b[skb.len - 1] == 0x0a
        let parsed = ftpParse(skb, c, help, dataoff: dataoff, seq: start, dir: dir)
        // out_update_nl: where the next line starts (in the sender's numbers, whatever NAT made of
        // the line), unless the packet was cut inside a command.
        if parsed != .partial, endsInNewline { help.updateSeqAfterNewline(start &+ UInt32(datalen), dir: dir) }
        switch parsed {
        case .partial: return "nf_conntrack_ftp: partial command at seq \(start)"
        case .refused: return "nf_conntrack_ftp: cannot add expectation"
        case .unmangled: return "nf_nat_ftp: cannot mangle packet"
        case .accepted: return nil
        }
    }

    enum FTPParse { case accepted, partial, refused, unmangled }

    /// The line at `seq`, when one starts there: a command with an address and port expects the
    /// data connection from the peer.
    private func ftpParse(_ skb: SkBuff, _ c: Conn, _ help: CTHelp, dataoff: Int, seq: UInt32, dir: Int) -> FTPParse {
        // Not just after a newline: only where the next line starts is learnt.
        guard help.seqAfterNewline[dir].contains(seq) else { return .accepted }
        let data = Array(skb.data[dataoff..<skb.len])
        let own = dir == 0 ? c.orig : c.reply, other = dir == 0 ? c.reply : c.orig
        var cmd = FTPCommand(addr: own.src, v6: c.orig.v6, port: 0)
        var found = FTPCommand.Found.none, type = 0
        for (k, p) in FTPCommand.search[dir].enumerated() {
            found = FTPCommand.findPattern(data, p, &cmd)
            type = k
            if found != .none { break }
        }
        guard case .command(let matchOff, let matchLen) = found else { return found == .partial ? .partial : .accepted }
        // An address other than the sender's opens nothing (the helper's `loose` is off).
        guard cmd.addr == own.src else { return .accepted }
        let e = CTExpectation(proto: IPProtocol.tcp, v6: c.orig.v6, src: other.src, dst: other.dst, dport: cmd.port,
                              zone: c.zone.id(reply: false), master: c, expires: clocks[skb.cpu] + 300 * 1_000_000_000)
        // A NATed connection: nf_nat_ftp writes the address the peer must use into the line.
        if c.status & (IPS.srcNAT | IPS.dstNAT) != 0 {
            return nf_nat_ftp(skb, c, e, dir: dir, type: FTPCommand.Kind(dir: dir, index: type), at: dataoff + matchOff, length: matchLen)
        }
        // ftp_exp_policy: one expectation at a time, for 5 minutes.
        return nf_ct_expect_related(e, maxExpected: 1) ? .accepted : .refused
    }
}

extension CTHelp {
    /// `update_nl_seq`: remember where the next line starts, NUM_SEQ_TO_REMEMBER (2) at most, the
    /// oldest replaced by a later one.
    func updateSeqAfterNewline(_ seq: UInt32, dir: Int) {
        guard !seqAfterNewline[dir].contains(seq) else { return }
        if seqAfterNewline[dir].count < 2 { seqAfterNewline[dir].append(seq); return }
        let s = seqAfterNewline[dir]
        let oldest = Int32(bitPattern: s[0] &- s[1]) < 0 ? 0 : 1
        if Int32(bitPattern: seq &- s[oldest]) > 0 { seqAfterNewline[dir][oldest] = seq }
    }
}

/// `struct nf_conntrack_man` as the ftp parsers fill it: the address and port a command names.
struct FTPCommand {
    var addr: UInt128
    var v6: Bool
    var port: UInt16

    /// One of the helper's `search` patterns: the text a line starts with (any case), the
    /// character after which the numbers start (0: none), the one that must end them, and the
    /// parser for them.
    struct Pattern: Sendable {
        /// The parsers: try_rfc959, try_eprt, try_rfc1123 (rfc959 from the first digit), try_epsv_response.
        enum Numbers: Sendable { case rfc959, eprt, rfc1123, epsvResponse }
        let text: [UInt8]
        let skip: UInt8, term: UInt8
        let parse: Numbers
    }
    /// Per direction: the client's PORT and EPRT, the server's 227 and 229 replies.
    static let search: [[Pattern]] = [
        [Pattern(text: Array("PORT".utf8), skip: 0x20, term: 0x0d, parse: .rfc959),
         Pattern(text: Array("EPRT".utf8), skip: 0x20, term: 0x0d, parse: .eprt)],
        [Pattern(text: Array("227 ".utf8), skip: 0, term: 0, parse: .rfc1123),
         Pattern(text: Array("229 ".utf8), skip: 0x28, term: 0x29, parse: .epsvResponse)],
    ]

    /// What `find_pattern` found: the pattern's command with its numbers at `offset` (in the
    /// payload) for `length` bytes, another line, or the command cut short or malformed (-1).
    enum Found: Equatable { case command(offset: Int, length: Int), none, partial }

    /// `find_pattern`.
    static func findPattern(_ data: [UInt8], _ p: Pattern, _ cmd: inout FTPCommand) -> Found {
        let plen = p.text.count
        func caseEqual(_ n: Int) -> Bool { (0..<n).allSatisfy { lower(data[$0]) == lower(p.text[$0]) } }
        if data.count <= plen { return caseEqual(data.count) ? .partial : .none }
        guard caseEqual(plen) else { return .none }
        var i = plen
        if p.skip != 0 {
            while data[i] != p.skip {
                if i == data.count - 1 { return .partial }
                i += 1
            }
            i += 1
        }
        let rest = Array(data[i...])
        var len: Int
        switch p.parse {
        case .rfc959: len = rfc959(rest, p.term, &cmd)
        case .eprt: len = eprt(rest, p.term, &cmd)
        case .epsvResponse: len = epsvResponse(rest, p.term, &cmd)
        case .rfc1123:
            // try_rfc1123: the numbers start at the first digit, which moves the offset.
            guard let d = rest.firstIndex(where: isDigit) else { return .partial }
            i += d
            len = rfc959(Array(rest[d...]), 0, &cmd)
        }
        return len == 0 ? .partial : .command(offset: i, length: len)
    }
    private static func lower(_ c: UInt8) -> UInt8 { (0x41...0x5a).contains(c) ? c | 0x20 : c }
    private static func isDigit(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) }

    /// `try_number`: `count` numbers separated by `sep`, ended by `term` (any character when 0):
    /// the length read, or 0.
    static func numbers(_ d: [UInt8], _ count: Int, sep: UInt8, term: UInt8) -> (Int, [UInt32]) {
        var a = [UInt32](repeating: 0, count: count), i = 0, len = 0
        while len < d.count && i < count {
            let c = d[len]
            if isDigit(c) { a[i] = a[i] &* 10 &+ UInt32(c - 0x30) }
            else if c == sep { i += 1 }
            else { return ((c == term || term == 0) && i == count - 1 ? len : 0, a) }
            len += 1
        }
        return (0, a)
    }

    /// `try_rfc959`: `h1,h2,h3,h4,p1,p2` (PORT, and 227 after its text).
    static func rfc959(_ d: [UInt8], _ term: UInt8, _ cmd: inout FTPCommand) -> Int {
        let (len, a) = numbers(d, 6, sep: 0x2c, term: term)
        guard len != 0 else { return 0 }
        cmd.addr = UInt128(a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3])
        cmd.port = UInt16(truncatingIfNeeded: a[4] << 8 | a[5])
        return len
    }

    /// `get_port`: digits up to `delim`, not zero.
    static func port(_ d: [UInt8], from start: Int, delim: UInt8, _ cmd: inout FTPCommand) -> Int {
        var p: UInt16 = 0
        var i = start
        while i < d.count {
            if d[i] == delim {
                guard p != 0 else { return 0 }
                cmd.port = p
                return i + 1
            }
            guard isDigit(d[i]) else { return 0 }
            p = p &* 10 &+ UInt16(d[i] - 0x30)
            i += 1
        }
        return 0
    }

    /// `try_eprt`: `|1|a.b.c.d|port|` (or `|2|IPv6|port|`), any printable delimiter but a digit;
    /// the protocol number must be the connection's family.
    static func eprt(_ d: [UInt8], _ term: UInt8, _ cmd: inout FTPCommand) -> Int {
        guard d.count > 3 else { return 0 }
        let delim = d[0]
        guard !isDigit(delim), (33...126).contains(delim), d[2] == delim, d[1] == (cmd.v6 ? 0x32 : 0x31) else { return 0 }
        let rest = Array(d[3...])
        var length: Int
        if !cmd.v6 {
            let (len, a) = numbers(rest, 4, sep: 0x2e, term: delim)
            length = len
            if len != 0 { cmd.addr = UInt128(a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]) }
        } else {
            // get_ipv6_addr: in6_pton up to the delimiter.
            guard let end = rest.firstIndex(of: delim), let text = String(bytes: rest[..<end], encoding: .ascii),
                  let a = IPv6Address.parse(text) else { return 0 }
            cmd.addr = a
            length = end
        }
        guard length != 0 else { return 0 }
        return port(d, from: 3 + length + 1, delim: delim, &cmd)
    }

    /// `try_epsv_response`: `(|||port|)`, the address being the server's own.
    static func epsvResponse(_ d: [UInt8], _ term: UInt8, _ cmd: inout FTPCommand) -> Int {
        guard d.count > 3 else { return 0 }
        let delim = d[0]
        guard !isDigit(delim), (33...126).contains(delim), d[1] == delim, d[2] == delim else { return 0 }
        return port(d, from: 3, delim: delim, &cmd)
    }
}
