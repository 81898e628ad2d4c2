-- The rest of a stack's runtime state as last checkpointed: device, SNMP and softnet counters,
-- learnt neighbours with their pending timers, what router advertisements taught, the random
-- state, IP ID counters and the ICMP and redirect rate limiters (JSON: Kernel's StackRuntime).
-- '{}' for a checkpoint made before this column: those start from zero, as they did.
ALTER TABLE stack_state ADD COLUMN runtime TEXT NOT NULL DEFAULT '{}';
