import NFTables
import Wire

// net/netfilter/nft_osf.c, nfnetlink_osf.c
extension Stack {
    /// `nft_osf_eval` with no fingerprints loaded (the kernel starts with none; `nfnl_osf -f
    /// pf.os` loads them, which the model does not offer yet): an IPv4 TCP segment with SYN set
    /// reads "unknown" (`nf_osf_find` matches nothing), with the version flag too; any other
    /// packet breaks the rule. Recorded: `osf_1`.
    func nft_osf_eval(_ skb: SkBuff, _ p: PktInfo) -> String? {
        guard p.ipv4, p.proto == IPProtocol.tcp, p.len >= p.th + 20, skb.data[p.th + 13] & 0x02 != 0 else { return nil }
        return "unknown"
    }
}
