#!/usr/bin/env bash
# Records what `list` prints inside an nft -f batch (nft 1.0.6): the cache after the whole batch's
# evaluation, printed before the batch is sent. Three batches onto a loaded table (rules, elements,
# a flushed chain and a rename not reflected; tables, chains, sets, objects added or deleted and a
# flushed set reflected; a chain declared without a policy listed without one), and one with a
# `flush ruleset` (the cache starts empty). Kept as RulesetAPITests.testListInABatchPrintsNftsCache.
set -e
ns=pslist$$
trap 'ip netns del $ns 2>/dev/null || true' EXIT
ip netns add $ns
run() { echo "--- $1"; ip netns exec $ns nft -f - <<< "$2"; }
run load 'table ip pre {
	counter k { }
	set s { type ipv4_addr; elements = { 9.9.9.9 } }
	set s3 { type ipv4_addr; elements = { 8.8.8.8 } }
	chain c { counter; tcp dport 1 accept; }
	chain e { }
}'
run batch1 'add rule ip pre c udp dport 53 accept
add element ip pre s { 2.2.2.2 }
delete element ip pre s { 9.9.9.9 }
flush chain ip pre c
rename chain ip pre e e2
add chain ip pre d { type filter hook output priority 0; policy drop; }
table ip t { set n { type inet_service; elements = { 22, 80 }; }; chain c { type filter hook input priority 0; tcp dport 22 accept; }; }
add table ip new
list ruleset
delete table ip new
list tables'
run batch2 'flush set ip pre s
delete set ip pre s3
delete counter ip pre k
delete chain ip pre d
add counter ip pre k2
list table ip pre'
run batch3 'table ip x { chain y { type filter hook input priority 0; policy drop; }; }
list ruleset
flush ruleset'
echo "--- after"; ip netns exec $ns nft list ruleset
