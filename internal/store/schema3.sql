-- horde run file, schema version 3: the run's exceptions (errors of user code,
-- Locust's exceptions CSV), written when the run ends.
CREATE TABLE exceptions (
	message   TEXT PRIMARY KEY,
	count     INTEGER NOT NULL,
	traceback TEXT NOT NULL DEFAULT '',
	nodes     TEXT NOT NULL DEFAULT ''  -- "local" or the worker ids, comma-joined
);
