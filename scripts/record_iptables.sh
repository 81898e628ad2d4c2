#!/bin/sh
# Records what the real iptables-nft 1.8.9 and nft 1.0.6 make of each Tests/IPTablesTests/Files/*.save:
# NAME.saved (iptables-nft-save after iptables-nft-restore, date lines dropped) and NAME.kernel.nft
# (nft list ruleset: how the kernel holds the rules). Root; a network namespace of its own.
set -eu
cd "$(dirname "$0")/../Tests/IPTablesTests/Files"
ns=psiptables$$
ip netns add $ns
trap 'ip netns del $ns' EXIT
for f in *.save; do
    n=${f%.save}
    ip netns exec $ns nft flush ruleset
    ip netns exec $ns iptables-nft-restore < "$f"
    ip netns exec $ns iptables-nft-save | grep -v '^#' > "$n.saved"
    ip netns exec $ns nft list ruleset 2>/dev/null > "$n.kernel.nft"
done
