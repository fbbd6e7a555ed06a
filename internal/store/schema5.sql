-- horde run file, schema version 5: the run's history, every point the
-- live run kept (a tick a second while a test runs): the series its
-- verdicts were judged on, so `horde analyze` judges the same data. The
-- ticks and intervals tables keep a row every --runs-interval.
CREATE TABLE history (
	t            INTEGER PRIMARY KEY, -- unix ms
	users        INTEGER NOT NULL,
	rps          REAL NOT NULL,
	fail_per_sec REAL NOT NULL,
	p50          REAL NOT NULL,
	p95          REAL NOT NULL,
	p99          REAL NOT NULL,
	requests     INTEGER NOT NULL,
	failures     INTEGER NOT NULL,
	target       REAL NOT NULL,
	open         INTEGER NOT NULL,
	sched_delay  REAL NOT NULL
);
