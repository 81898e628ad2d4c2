-- A full trace's events and frames in tables of their own: the stages it passed (kernel function,
-- CPU, virtual time) and its netfilter events, in order, and its frames as bytes: the one it began
-- with and those the stack sent because of it. Such a trace's body keeps the rest of its document,
-- with "stages", "frame_hex", "netfilter" and "emitted" null (parts = 1): reading it puts these
-- rows back there. Full bodies stored before this migration (parts = -1) are moved into these
-- tables when the store opens. Links' hops stay in the body.
ALTER TABLE traces ADD COLUMN parts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE trace_events (
    trace_id INTEGER NOT NULL,
    seq      INTEGER NOT NULL,             -- stages first, then netfilter events, each in order
    kind     TEXT NOT NULL,                -- stage | netfilter
    name     TEXT NOT NULL,                -- stage: the kernel function; netfilter: the hook
    cpu      INTEGER,                      -- stage: the CPU it ran on
    time_ns  INTEGER,                      -- stage: virtual time
    detail   TEXT,                         -- JSON: a netfilter event as the trace shows it; {"generated":true} for a stage of a packet the stack made
    PRIMARY KEY (trace_id, seq)
) WITHOUT ROWID;

CREATE TABLE trace_frames (
    trace_id  INTEGER NOT NULL,
    seq       INTEGER NOT NULL,            -- 0: the packet the trace began with; 1...: what the stack sent, in order
    direction TEXT NOT NULL,               -- in: arrived on the device; local: a socket's datagram; out: sent on the device
    device    TEXT NOT NULL,
    time_ns   INTEGER NOT NULL,
    frame     BLOB NOT NULL,
    PRIMARY KEY (trace_id, seq)
) WITHOUT ROWID;

-- They go with their trace (its stack's delete included). A trigger rather than a foreign key:
-- the key's check of the parent on every insert halved full-trace ingest.
CREATE TRIGGER trace_parts_go_with_their_trace AFTER DELETE ON traces BEGIN
    DELETE FROM trace_events WHERE trace_id = OLD.id;
    DELETE FROM trace_frames WHERE trace_id = OLD.id;
END;

UPDATE traces SET parts = -1 WHERE CASE WHEN json_valid(body) THEN json_type(body, '$.stages') END = 'array';
CREATE INDEX traces_unsplit ON traces(id) WHERE parts = -1;
