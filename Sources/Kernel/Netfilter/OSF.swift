import NFTables
import Wire

// net/netfilter/nft_osf.c, nfnetlink_osf.c; the string keys of nft_meta.c
extension Stack {
    /// `nft_osf_eval` with no fingerprints loaded (the kernel starts with none; `nfnl_osf -f
    /// pf.os` loads them, which the model does not offer yet): an IPv4 TCP segment with SYN set
    /// reads "unknown" (`nf_osf_find` matches nothing), with the version flag too; any other
    /// packet breaks the rule. Recorded: `osf_1`.
    func nft_osf_eval(_ skb: SkBuff, _ p: PktInfo) -> String? {
        guard p.ipv4, p.proto == IPProtocol.tcp, p.len >= p.th + 20, skb.data[p.th + 13] & 0x02 != 0 else { return nil }
        return "unknown"
    }

    /// The string a string key reads: the name of the interface (`iifname`, `oifname`, and `iif`
    /// or `oif` written with a name), osf's guess, or the VRF slave device (`meta sdif|sdifname`:
    /// the model has no l3mdev devices, so none). nft_meta_get_eval reads a device the hook does
    /// not have (an output one in prerouting) as the empty name: `oifname != "x"` holds there.
    func readName(_ sel: NFSelector, _ skb: SkBuff, _ p: PktInfo, inDev: Int?, outDev: Int?) -> String? {
        if sel.isOSF { return nft_osf_eval(skb, p) }
        if sel.isSdif { return "" }
        // nft_fib_store_result for NFT_FIB_RESULT_OIFNAME: the interface oif finds, or the empty name.
        if sel.isFibName {
            guard let oif = p.ipv6 ? nft_fib6_eval(sel.fibOif, skb, p) : nft_fib4_eval(sel.fibOif, skb, p) else { return nil }
            return oif >= 2 ? devices[Int(oif) - 2].name : ""
        }
        guard let dev = (sel == .iifname || sel == .iif) ? inDev : outDev else { return "" }
        return devices[dev].name
    }

    /// Whether a name is one of the value's strings (`eth*` matches by prefix, as nft's string
    /// compare of the bytes before the `*`).
    static func nameMatches(_ v: NFValue, _ name: String) -> Bool {
        CRule.names(v).contains { $0.hasSuffix("*") ? name.hasPrefix(String($0.dropLast())) : $0 == name }
    }
}
