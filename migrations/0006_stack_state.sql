-- A stack's runtime state as last checkpointed (every few seconds while it changes, and at a clean
-- shutdown): its virtual clock, the ruleset as it stands (rule and named counters, quotas used,
-- set elements rules added, handles, iptables origins) for the ruleset version it grew from, and
-- its conntrack entries.
-- A restart restores them, so stored traces and live state agree on time and counters.
CREATE TABLE stack_state (
    stack_id   INTEGER PRIMARY KEY REFERENCES stacks(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,         -- the ruleset version in force (0: none)
    clock_ns   INTEGER NOT NULL,
    ruleset    TEXT NOT NULL,            -- nft syntax with live state, as `nft -f` reads it
    conntrack  TEXT NOT NULL,            -- JSON: the entries in insertion order
    saved_at   TEXT NOT NULL
);
