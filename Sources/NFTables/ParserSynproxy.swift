// nft's synproxy statement and object (parser_bison.y's synproxy_arg and synproxy_config).
extension NFParser {
    /// `[mss N] [wscale N] [timestamp] [sack-perm]` in any order after `synproxy`, each setting its
    /// NF_SYNPROXY_OPT_* flag (a value given twice: the last). Numbers are nft's NUM, cut to the
    /// field's width as nft stores them (`mss 70000` is 4464).
    mutating func synproxyArgs() throws(NFSyntaxError) -> NFSynproxy {
        var info = NFSynproxy()
        while tok.kind == .word {
            switch tok.text {
            case "mss":
                i += 1
                info.mss = UInt16(truncatingIfNeeded: try synproxyNumber())
                info.flags |= NFSynproxy.optMSS
            case "wscale":
                i += 1
                info.wscale = UInt8(truncatingIfNeeded: try synproxyNumber())
                info.flags |= NFSynproxy.optWscale
            case "timestamp":
                i += 1
                info.flags |= NFSynproxy.optTimestamp
            case "sack-perm":
                i += 1
                info.flags |= NFSynproxy.optSackPerm
            default:
                return info
            }
        }
        return info
    }

    /// A synproxy object's body: `mss N` and `wscale N` (both required, on one line or apart),
    /// then `[timestamp] [sack-perm]`.
    mutating func synproxyObjectBody() throws(NFSyntaxError) -> NFStatement {
        var info = NFSynproxy(flags: NFSynproxy.optMSS | NFSynproxy.optWscale)
        try expectWord("mss")
        info.mss = UInt16(truncatingIfNeeded: try synproxyNumber())
        skipNewlines()
        try expectWord("wscale")
        info.wscale = UInt8(truncatingIfNeeded: try synproxyNumber())
        skipNewlines()
        if isWord("timestamp") { i += 1; info.flags |= NFSynproxy.optTimestamp }
        if isWord("sack-perm") { i += 1; info.flags |= NFSynproxy.optSackPerm }
        return .synproxy(info)
    }

    private mutating func synproxyNumber() throws(NFSyntaxError) -> UInt64 {
        let nt = tok
        guard let n = NFConstants.number(try word("a number")) else { throw err("expected a number", at: nt) }
        return n
    }
}
