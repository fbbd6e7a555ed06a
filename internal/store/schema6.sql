-- horde run file, schema version 6: the load generator's own CPU use at
-- each history point (the sum over its workers of each one's CPU use in %
-- of its cores), the control the CPU-per-request check weighs the
-- target's against. NULL in points recorded before.
ALTER TABLE history ADD COLUMN load_cpu REAL;
