-- horde run file, schema version 4: the load generator's own scheduling
-- delay at each tick (ms, the worst worker's), which the latency checks
-- weigh against a rise in latency.
ALTER TABLE ticks ADD COLUMN sched_delay REAL;
