-- The contents of the maps of a stack's XDP programs as last checkpointed (what programs wrote:
-- counters, learnt entries), so a restart puts them back after loading the programs again.
-- JSON: [{"dev", "map", "entries": [[key hex, [value hex per CPU]]]}].
ALTER TABLE stack_state ADD COLUMN bpf_maps TEXT NOT NULL DEFAULT '[]';
