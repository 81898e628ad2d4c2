-- A full trace's events as two JSON arrays in one row, its stages and its netfilter events each as
-- the trace document shows them, instead of a row per event: one insert per trace rather than
-- sixteen, which doubled durable full-trace ingest. Nothing queries single events (a trace is
-- found by its columns and trace_rules); SQLite's json_each still opens the arrays. Migration 9's
-- rows are moved here, in their order.
CREATE TABLE trace_event_lists (
    trace_id  INTEGER PRIMARY KEY,
    stages    TEXT NOT NULL,               -- [{"function":..,"cpu":..,"time_ns":..[,"generated":true]}, ...]
    netfilter TEXT NOT NULL                -- [{"hook":..,"table":..,"chain":..,...}, ...]
);

INSERT INTO trace_event_lists (trace_id, stages, netfilter)
SELECT trace_id,
       json_group_array(CASE WHEN detail IS NULL THEN json_object('function', name, 'cpu', cpu, 'time_ns', time_ns)
                             ELSE json_object('function', name, 'cpu', cpu, 'time_ns', time_ns, 'generated', json('true')) END)
           FILTER (WHERE kind = 'stage'),
       json_group_array(json(detail)) FILTER (WHERE kind = 'netfilter')
FROM (SELECT * FROM trace_events ORDER BY trace_id, seq)
GROUP BY trace_id;

DROP TRIGGER trace_parts_go_with_their_trace;
DROP TABLE trace_events;
CREATE TRIGGER trace_parts_go_with_their_trace AFTER DELETE ON traces BEGIN
    DELETE FROM trace_event_lists WHERE trace_id = OLD.id;
    DELETE FROM trace_frames WHERE trace_id = OLD.id;
END;
