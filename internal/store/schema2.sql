-- horde run file, schema version 2: what a restarted master needs to go on
-- with the run (docs/runs.md, "Resume"), replaced at every tick in the same
-- transaction as the tick's statistics.
CREATE TABLE state (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	t      INTEGER NOT NULL,
	stats  TEXT NOT NULL,         -- stats.State as JSON (HDR histograms, V2 encoding)
	master TEXT NOT NULL          -- the master's checkpoint as JSON
);
