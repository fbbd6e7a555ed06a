-- horde run file, schema version 2: what a restarted master needs to go on
-- with the run (docs/runs.md, "Resume"), replaced at every tick in the same
-- transaction as the tick's statistics.
CREATE TABLE state (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	t      INTEGER NOT NULL,
	stats  TEXT NOT NULL,         -- stats.State as JSON (HDR histograms, V2 encoding)
	master TEXT NOT NULL          -- the master's checkpoint as JSON
);
-- Per-minute latency histograms of every name (and Aggregated), at 2
-- significant digits: percentiles over any window of whole minutes.
-- hist is the populated buckets as uvarint pairs (value delta, count).
-- What the load shape asked for at each tick (users, or iterations/s when
-- open is 1): NULL in rows written before version 2.
ALTER TABLE ticks ADD COLUMN target REAL;
ALTER TABLE ticks ADD COLUMN open INTEGER NOT NULL DEFAULT 0;
CREATE TABLE minutes (
	t       INTEGER NOT NULL,     -- the minute's start
	name_id INTEGER NOT NULL REFERENCES names(id),
	count   INTEGER NOT NULL,
	hist    BLOB NOT NULL,
	PRIMARY KEY (t, name_id)
) WITHOUT ROWID;
