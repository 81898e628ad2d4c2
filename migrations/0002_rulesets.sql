-- Every version of every stack's ruleset: the change that made it and the whole text after it.
CREATE TABLE ruleset_versions (
    id         INTEGER PRIMARY KEY,
    stack_id   INTEGER NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    summary    TEXT NOT NULL,
    ruleset    TEXT NOT NULL,           -- nft syntax, as `nft -f` reads it
    UNIQUE (stack_id, version)
);
