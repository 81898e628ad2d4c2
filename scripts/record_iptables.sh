#!/bin/sh
# Records what the real iptables-nft 1.8.9 and nft 1.0.6 make of each Tests/IPTablesTests/Files/*.save:
# NAME.saved (iptables-nft-save after iptables-nft-restore, date lines dropped) and NAME.kernel.nft
# (nft list ruleset: how the kernel holds the rules) and NAME.kernel.json (nft -j list ruleset, one
# line). Root; a network namespace of its own.
set -eu
cd "$(dirname "$0")/../Tests/IPTablesTests/Files"
ns=psiptables$$
trap 'ip netns del $ns 2>/dev/null || true' EXIT
for f in *.save; do
    n=${f%.save}
    # A namespace per file: table handles count from 1 in each.
    ip netns del $ns 2>/dev/null || true
    ip netns add $ns
    ip netns exec $ns iptables-nft-restore < "$f"
    ip netns exec $ns iptables-nft-save | grep -v '^#' > "$n.saved"
    ip netns exec $ns nft list ruleset 2>/dev/null | grep -v '^# Warning: table ip .* is managed by iptables-nft' > "$n.kernel.nft"
    ip netns exec $ns nft -j list ruleset > "$n.kernel.json"
done
