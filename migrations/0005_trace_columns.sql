-- What trace queries filter and count on (GET /v1/traces, /v1/traces/aggregate, DELETE by filter):
-- virtual start and end, length, the last stage and every stage reached (bit n of stages_lo, or
-- bit n-64 of stages_hi, for the nth stage of Kernel.Stage), the 5-tuple as the packet arrived
-- and as its path ended (after NAT). Addresses are 16 bytes, IPv4 as IPv4-mapped, most significant
-- first, so byte order is numeric order and a CIDR is a range. Rows stored before this migration
-- are filled in from their bodies when the store opens (indexed = 0 until then).
ALTER TABLE traces ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN start_ns INTEGER;
ALTER TABLE traces ADD COLUMN end_ns INTEGER;
ALTER TABLE traces ADD COLUMN length INTEGER;
ALTER TABLE traces ADD COLUMN last_stage TEXT;
ALTER TABLE traces ADD COLUMN stages_lo INTEGER NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN stages_hi INTEGER NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN proto INTEGER;
ALTER TABLE traces ADD COLUMN saddr BLOB;
ALTER TABLE traces ADD COLUMN daddr BLOB;
ALTER TABLE traces ADD COLUMN sport INTEGER;
ALTER TABLE traces ADD COLUMN dport INTEGER;
ALTER TABLE traces ADD COLUMN nat_saddr BLOB;
ALTER TABLE traces ADD COLUMN nat_daddr BLOB;
ALTER TABLE traces ADD COLUMN nat_sport INTEGER;
ALTER TABLE traces ADD COLUMN nat_dport INTEGER;

CREATE INDEX traces_by_start ON traces(stack_id, start_ns);
CREATE INDEX traces_by_created ON traces(stack_id, created_at);
CREATE INDEX traces_by_last_stage ON traces(last_stage, id);
CREATE INDEX traces_by_saddr ON traces(saddr);
CREATE INDEX traces_by_daddr ON traces(daddr);
CREATE INDEX traces_by_nat_saddr ON traces(nat_saddr);
CREATE INDEX traces_by_nat_daddr ON traces(nat_daddr);
CREATE INDEX traces_by_dport ON traces(dport);
CREATE INDEX traces_by_nat_dport ON traces(nat_dport);
CREATE INDEX traces_unindexed ON traces(id) WHERE indexed = 0;

-- The rules (and base-chain policies) each trace hit, in order: "which packets did rule 7 take?"
CREATE TABLE trace_rules (
    trace_id INTEGER NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    hook     TEXT NOT NULL,
    family   TEXT NOT NULL,              -- ip, ip6, inet, arp, bridge, netdev
    tbl      TEXT NOT NULL,
    chain    TEXT NOT NULL,
    handle   INTEGER,                    -- NULL: the chain's policy
    verdict  TEXT NOT NULL,
    PRIMARY KEY (trace_id, seq)
) WITHOUT ROWID;
CREATE INDEX trace_rules_by_rule ON trace_rules(family, tbl, chain, handle, trace_id);
CREATE INDEX trace_rules_by_table ON trace_rules(tbl, chain, handle, trace_id);
CREATE INDEX trace_rules_by_hook ON trace_rules(hook, trace_id);

