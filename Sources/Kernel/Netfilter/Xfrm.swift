import NFTables

// net/netfilter/nft_xfrm.c, and nft_meta's NFT_META_SECPATH
extension Stack {
    /// The model has no IPsec states or policies (no `ip xfrm`), as a host that set none up: a
    /// packet never carries a secpath (`meta ipsec` reads 0, so `exists` fails and `missing`
    /// holds), and `nft_xfrm_get_eval_in` (no secpath) and `nft_xfrm_get_eval_out` (no
    /// transform on the route) break the rule.
    func secpath_exists(_ skb: SkBuff) -> UInt64 { 0 }
}
