-- Stacks as accepted by POST /v1/stacks, and the traces of the packets injected into them.
CREATE TABLE stacks (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    config     TEXT NOT NULL,          -- the stack document as JSON
    created_at TEXT NOT NULL           -- RFC 3339, UTC
);

CREATE TABLE traces (
    id          INTEGER PRIMARY KEY,
    stack_id    INTEGER NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    device      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    drop_reason TEXT,
    created_at  TEXT NOT NULL,
    body        TEXT NOT NULL          -- the full trace as JSON
);

CREATE INDEX traces_by_stack ON traces(stack_id, id);
CREATE INDEX traces_by_outcome ON traces(outcome, id);
CREATE INDEX traces_by_drop_reason ON traces(drop_reason, id);
