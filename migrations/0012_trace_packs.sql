-- Traces without events or frames of their own (the summary rows of every mode) packed many to a
-- row, instead of a traces row, its rules rows and a dozen index entries each: a row per packet
-- held durable summary ingest to tens of thousands a second (SQLite's B-tree work per index per
-- row), where a pack costs one insert and a few key rows for hundreds of packets. A pack holds one
-- stack's rows from one writer batch, encoded by Store/TracePack.swift (each row as a difference
-- from the one before it); its ids need not be consecutive, and two packs' id spans may overlap.
-- Queries find candidate packs by these columns and keys, then test each row exactly.
CREATE TABLE trace_packs (
    first_id  INTEGER PRIMARY KEY,        -- its lowest trace id
    last_id   INTEGER NOT NULL,           -- its highest
    stack_id  INTEGER NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    n         INTEGER NOT NULL,           -- traces in it
    start_min INTEGER, start_max INTEGER, -- virtual start times (NULL: no row has one)
    wall_min  TEXT NOT NULL, wall_max TEXT NOT NULL,
    stages_lo INTEGER NOT NULL,           -- the stages any of its rows reached (as traces.stages_lo/hi)
    stages_hi INTEGER NOT NULL,
    rows      BLOB NOT NULL
);
-- A stack's packs oldest first (retention), and newest first by their highest id (pages).
CREATE INDEX trace_packs_by_stack ON trace_packs(stack_id, first_id);
CREATE INDEX trace_packs_by_stack_last ON trace_packs(stack_id, last_id);
CREATE INDEX trace_packs_by_last ON trace_packs(last_id);

-- What a pack's rows hold, one row per distinct value and kind, with how many rows (or, for rules
-- and hooks, rule events) have it; kinds are TracePack.Key. Addresses are kept as their network
-- (an IPv4 /24, an IPv6 /64) on either side, before or after NAT. A NULL value is an empty blob.
CREATE TABLE trace_pack_keys (
    pack  INTEGER NOT NULL,
    kind  INTEGER NOT NULL,
    value NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (pack, kind, value)
) WITHOUT ROWID;
CREATE INDEX trace_pack_keys_by_value ON trace_pack_keys(kind, value, pack);

CREATE TRIGGER trace_pack_keys_go_with_their_pack AFTER DELETE ON trace_packs BEGIN
    DELETE FROM trace_pack_keys WHERE pack = OLD.first_id;
END;
