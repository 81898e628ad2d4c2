-- Links between two stacks' devices (POST /v1/links): a frame sent on one end arrives at the other
-- after the sender's wire time and the link's delay; loss drawn from the link's seed. A link goes
-- with either stack.
CREATE TABLE links (
    id         INTEGER PRIMARY KEY,
    a_stack_id INTEGER NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    a_dev      TEXT NOT NULL,
    b_stack_id INTEGER NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    b_dev      TEXT NOT NULL,
    delay_ns   INTEGER NOT NULL,
    rate_mbps  INTEGER NOT NULL,          -- 0: no bottleneck of its own
    loss_ppm   INTEGER NOT NULL,          -- lost frames per million
    reorder_ppm INTEGER NOT NULL,         -- frames per million sent without the delay (netem's reorder)
    seed       INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
