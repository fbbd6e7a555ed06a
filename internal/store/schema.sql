-- horde run file, schema version 1. Times are unix milliseconds (UTC).
CREATE TABLE run (
	id        TEXT PRIMARY KEY,
	started   INTEGER NOT NULL,
	ended     INTEGER,            -- NULL while running (or when the process was killed)
	status    TEXT NOT NULL,      -- running, passed, failed, broken
	exit_code INTEGER,
	config    TEXT NOT NULL,      -- JSON, written by the command line
	scenario  TEXT NOT NULL       -- the scenario file's text ('' for Go users)
);
CREATE TABLE events (
	t      INTEGER NOT NULL,
	kind   TEXT NOT NULL,         -- start, spawn complete, stop, verdict, ...
	detail TEXT NOT NULL
);
-- One row per (method, name); Aggregated is method '' and name 'Aggregated'.
CREATE TABLE names (
	id     INTEGER PRIMARY KEY,
	method TEXT NOT NULL,
	name   TEXT NOT NULL,
	UNIQUE (method, name)
);
-- One row per tick.
CREATE TABLE ticks (
	t            INTEGER PRIMARY KEY,
	users        INTEGER NOT NULL,
	rps          REAL NOT NULL,   -- Aggregated, over the current window
	fail_per_sec REAL NOT NULL
) WITHOUT ROWID;
-- One row per tick and name: counts in the tick (deltas of the cumulative
-- counts), percentiles over the current window (stats.WindowSeconds), mean
-- and bytes over the tick.
CREATE TABLE intervals (
	t        INTEGER NOT NULL,
	name_id  INTEGER NOT NULL REFERENCES names(id),
	requests INTEGER NOT NULL,
	failures INTEGER NOT NULL,
	p50 REAL, p90 REAL, p95 REAL, p99 REAL, max REAL,
	mean     REAL,
	bytes    INTEGER NOT NULL,
	PRIMARY KEY (t, name_id)
) WITHOUT ROWID;
-- The latest cumulative statistics (a stats.Snapshot as JSON), replaced at
-- every tick, so a killed run keeps its full table.
CREATE TABLE latest (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	t        INTEGER NOT NULL,
	snapshot TEXT NOT NULL
);
-- The final error table, written when the run ends.
CREATE TABLE errors (
	method      TEXT NOT NULL,
	name        TEXT NOT NULL,
	message     TEXT NOT NULL,
	occurrences INTEGER NOT NULL
);
-- The target's metrics, from the monitor.
CREATE TABLE series (
	id     INTEGER PRIMARY KEY,
	name   TEXT NOT NULL UNIQUE,
	metric TEXT NOT NULL,
	memory INTEGER NOT NULL
);
CREATE TABLE samples (
	t         INTEGER NOT NULL,
	series_id INTEGER NOT NULL REFERENCES series(id),
	value     REAL NOT NULL,
	PRIMARY KEY (series_id, t)
) WITHOUT ROWID;
CREATE TABLE verdicts (
	kind   TEXT NOT NULL,
	name   TEXT NOT NULL,
	status TEXT NOT NULL,
	reason TEXT NOT NULL
);
