-- The highest trace id handed out when traces were last deleted with their stack, so that after
-- a restart no id an answer named is handed to another packet (MAX(id) alone forgets deleted ones).
CREATE TABLE trace_id_watermark (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO trace_id_watermark (id, value) SELECT 1, COALESCE(MAX(id), 0) FROM traces;
