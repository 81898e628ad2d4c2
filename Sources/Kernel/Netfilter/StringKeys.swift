import NFTables

// The string keys of nft_meta.c, nft_fib.c and nft_osf.c: what a rule compares names against.
extension Stack {
    /// The string a string key reads: the name of the interface (`iifname`, `oifname`, and `iif`
    /// or `oif` written with a name), osf's guess, or the VRF slave device (`meta sdif|sdifname`:
    /// the model has no l3mdev devices, so none). nft_meta_get_eval reads a device the hook does
    /// not have (an output one in prerouting) as the empty name: `oifname != "x"` holds there.
    func readName(_ sel: NFSelector, _ skb: SkBuff, _ p: PktInfo, inDev: Int?, outDev: Int?) -> String? {
        switch sel {
        case .iifname, .iif: return inDev.map { devices[$0].name } ?? ""
        case .oifname, .oif: return outDev.map { devices[$0].name } ?? ""
        case _ where sel.isOSF: return nft_osf_eval(skb, p)
        // NFT_CT_HELPER: the helper of the connection's master; an entry not expected has none.
        case NFSelector.ctHelper: return skb.conn?.master?.help?.helper
        // nft_fib_store_result for NFT_FIB_RESULT_OIFNAME: the interface oif finds, or the empty name.
        case _ where sel.isFibName:
            guard let oif = p.ipv6 ? nft_fib6_eval(sel, skb, p) : nft_fib4_eval(sel, skb, p) else { return nil }
            return oif >= 2 ? devices[Int(oif) - 2].name : ""
        default: return ""   // meta sdif|sdifname
        }
    }

    /// Whether a name is one of the value's strings (`eth*` matches by prefix, as nft's string
    /// compare of the bytes before the `*`).
    static func nameMatches(_ v: NFValue, _ name: String) -> Bool {
        CRule.names(v).contains { $0.hasSuffix("*") ? name.hasPrefix(String($0.dropLast())) : $0 == name }
    }
}
