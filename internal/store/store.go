// Package store keeps a run in a file: one SQLite database per run, under a
// runs directory, written once per tick in one transaction so that a killed
// process loses nothing it had recorded. The schema is in schema.sql and
// documented in docs/runs.md.
//
// The driver is modernc.org/sqlite (pure Go, no cgo).
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// appID marks a horde run file (PRAGMA application_id): "hord".
const appID = 0x686f7264

// Ext is the extension of run files.
const Ext = ".db"

// Statuses of a run.
const (
	StatusRunning = "running"
	StatusPassed  = "passed"
	StatusFailed  = "failed"
	StatusBroken  = "broken"
)

//go:embed schema.sql
var schemaV1 string

//go:embed schema2.sql
var schemaV2 string

//go:embed schema3.sql
var schemaV3 string

//go:embed schema4.sql
var schemaV4 string

//go:embed schema5.sql
var schemaV5 string

//go:embed schema6.sql
var schemaV6 string

// migrations[i] takes a file from user_version i to i+1.
var migrations = []string{schemaV1, schemaV2, schemaV3, schemaV4, schemaV5, schemaV6}

// Version is the schema version this package writes.
var Version = len(migrations)

// ErrForeign is returned for a file that is not a horde run file.
var ErrForeign = errors.New("not a horde run file")

// Run is the run's own row.
type Run struct {
	ID string
	// Started is when the load of the run the file records started (its
	// last RunStartedEvent), else when the file was made: the time a web
	// UI waited for its Start button or a master for its workers is not
	// the run's.
	Started  time.Time
	Ended    time.Time // zero while running, or when the process was killed
	Status   string
	ExitCode int // valid when Ended is set
	Config   json.RawMessage
	Scenario string
}

// RunStartedEvent is the kind of the event a master records when a run's
// load starts.
const RunStartedEvent = "run started"

// Sample is one value of a target series (from the monitor).
type Sample struct {
	Series, Metric string
	Memory         bool
	T              time.Time
	V              float64
}

// Load is what ran and what the load shape asked for at a tick.
type Load struct {
	Users  int
	Target float64 // users, or iterations per second when Open
	Open   bool
	// SchedDelayMs is the load generator's own scheduling delay (the
	// worst worker's, ms; see stats.Tick).
	SchedDelayMs float64
}

// Store is an open run file. Its methods are safe for concurrent use.
type Store struct {
	path string
	db   *sql.DB

	lock   *os.File // the held lock file of a file open for writing
	closed bool     // Close or Discard was called

	mu     sync.Mutex
	id     string
	names  map[stats.Key]int64
	series map[string]int64
}

// NewID returns a run id: the start time and 4 random hex digits.
func NewID(t time.Time) string {
	var b [2]byte
	rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

func dsn(path string, write bool) string {
	p := "?_pragma=busy_timeout(5000)"
	if write {
		// WAL: readers (horde runs, analyze) never block the writer; NORMAL
		// sync: a committed tick survives the process being killed.
		p += "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	}
	return path + p
}

// Create makes a new run file dir/<id>.db (an id from NewID when r.ID is
// empty) and records the run's row and a "start" event. It never
// overwrites an existing file.
func Create(ctx context.Context, dir string, r Run) (*Store, error) {
	if r.Started.IsZero() {
		r.Started = time.Now()
	}
	if r.ID == "" {
		r.ID = NewID(r.Started)
	}
	if r.Status == "" {
		r.Status = StatusRunning
	}
	if len(r.Config) == 0 {
		r.Config = json.RawMessage("{}")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("runs dir: %w", err)
	}
	path := filepath.Join(dir, r.ID+Ext)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run file: %w", err)
	}
	f.Close()
	lock, err := tryLock(path)
	if err != nil {
		return nil, err
	}
	s, err := open(ctx, path, true)
	if err != nil {
		unlock(lock)
		return nil, err
	}
	s.lock = lock
	if err := s.migrate(ctx); err != nil {
		s.closeDB()
		return nil, err
	}
	s.id = r.ID
	_, err = s.db.ExecContext(ctx, `INSERT INTO run (id, started, status, config, scenario) VALUES (?, ?, ?, ?, ?)`,
		r.ID, ms(r.Started), r.Status, string(r.Config), r.Scenario)
	if err == nil {
		err = s.Event(ctx, r.Started, "start", "")
	}
	if err != nil {
		s.closeDB()
		return nil, fmt.Errorf("run file %s: %w", path, err)
	}
	return s, nil
}

// Open opens an existing run file, to read it. A file that is not a horde
// run file (or made by a newer horde) is an error, and is left as it was.
func Open(ctx context.Context, path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	s, err := open(ctx, path, false)
	if err != nil {
		if strings.Contains(err.Error(), "not a database") {
			err = fmt.Errorf("%w (%v)", ErrForeign, err)
		}
		return nil, err
	}
	var id int64
	var ver int
	err = s.db.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&id)
	if err == nil {
		err = s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&ver)
	}
	switch {
	case err != nil:
		err = fmt.Errorf("%s: %w (%v)", path, ErrForeign, err)
	case id != appID:
		err = fmt.Errorf("%s: %w", path, ErrForeign)
	case ver > Version:
		err = fmt.Errorf("%s: schema version %d is newer than this horde's (%d)", path, ver, Version)
	case ver < Version:
		// An older file: bring it up to date (the migrations only add).
		err = s.migrate(ctx)
	}
	if err == nil {
		err = s.db.QueryRowContext(ctx, `SELECT id FROM run`).Scan(&s.id)
		if err != nil {
			err = fmt.Errorf("%s: no run row: %w", path, err)
		}
	}
	if err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

func open(ctx context.Context, path string, write bool) (*Store, error) {
	db, err := sql.Open("sqlite", dsn(path, write))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer; also keeps the pragmas on one connection
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Store{path: path, db: db, names: map[stats.Key]int64{}, series: map[string]int64{}}, nil
}

func (s *Store) migrate(ctx context.Context) error {
	var from int
	err := inTx(ctx, s.db, func(tx *sql.Tx) error {
		var ver int
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&ver); err != nil {
			return err
		}
		from = ver
		for v := ver; v < len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("%s: migration %d: %w", s.path, v+1, err)
			}
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA application_id = %d; PRAGMA user_version = %d`, appID, len(migrations)))
		return err
	})
	if err != nil || from >= 5 || from == 0 {
		return err
	}
	// A file of before the history table: its history as rebuilt from the
	// ticks, so a resumed run keeps its start.
	hist, err := s.tickHistory(ctx)
	if err != nil {
		return err
	}
	return inTx(ctx, s.db, func(tx *sql.Tx) error { return historyTx(ctx, tx, hist, false) })
}

// Path is the file's path.
func (s *Store) Path() string { return s.path }

// ID is the run's id.
func (s *Store) ID() string { return s.id }

// Close closes the file (checkpointing the write-ahead log into it). It
// does nothing once the file is closed or discarded.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return s.closeDB()
}

// Discard closes the file and removes it, with its write-ahead log: for a
// run that never started (a port in use, a bad flag found after the file
// was made), whose file would hold nothing but be listed by `horde runs`.
func (s *Store) Discard() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	err := s.closeDB()
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if e := os.Remove(s.path + suffix); e != nil && !errors.Is(e, fs.ErrNotExist) && err == nil {
			err = e
		}
	}
	return err
}

// closeDB closes the database, then gives up the lock.
func (s *Store) closeDB() error {
	s.closed = true
	err := s.db.Close()
	unlock(s.lock)
	s.lock = nil
	return err
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMs(v int64) time.Time { return time.UnixMilli(v) }

// Event records one event.
func (s *Store) Event(ctx context.Context, t time.Time, kind, detail string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO events (t, kind, detail) VALUES (?, ?, ?)`, ms(t), kind, detail)
	return err
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) nameID(ctx context.Context, tx execer, k stats.Key) (int64, error) {
	if id, ok := s.names[k]; ok {
		return id, nil
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO names (method, name) VALUES (?, ?)
		ON CONFLICT (method, name) DO UPDATE SET method = excluded.method RETURNING id`, k.Method, k.Name).Scan(&id)
	if err != nil {
		return 0, err
	}
	s.names[k] = id
	return id, nil
}

func (s *Store) seriesID(ctx context.Context, tx execer, sm Sample) (int64, error) {
	if id, ok := s.series[sm.Series]; ok {
		return id, nil
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO series (name, metric, memory) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET metric = excluded.metric RETURNING id`, sm.Series, sm.Metric, sm.Memory).Scan(&id)
	if err != nil {
		return 0, err
	}
	s.series[sm.Series] = id
	return id, nil
}

// windowIdx are the indexes in stats.Percentiles of p50, p90, p95, p99, max.
var windowIdx = func() [5]int {
	var out [5]int
	for i, q := range []float64{0.50, 0.90, 0.95, 0.99, 1.0} {
		out[i] = -1
		for j, p := range stats.Percentiles {
			if p == q {
				out[i] = j
			}
		}
	}
	return out
}()

func nullable(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

// Tick is what one tick records.
type Tick struct {
	// Snapshot is the cumulative statistics at the tick: the latest
	// statistics, the tick's rates and each name's window percentiles.
	Snapshot *stats.Snapshot
	// Interval is what was recorded since the previous recorded tick, as
	// the master merged it from the workers' reports: each name's row
	// takes its integers (requests, failures, bytes, the latency sum for
	// the mean) from it. Its histograms are not read (see
	// stats.Interval.WithoutHistograms).
	Interval *stats.Interval
	Load     Load
	Samples  []Sample // the target's, not yet recorded
	// State, when not nil, replaces the resume state in the same
	// transaction: a restarted master finds statistics and state of the
	// same tick.
	State   *State
	Minutes []*stats.Minute // completed per-minute histograms
	// History is the run's history points since the previous recorded
	// tick (every one the live run kept); HistoryReset forgets the points
	// recorded before them (the statistics were reset).
	History      []stats.Tick
	HistoryReset bool
}

// Tick records one tick in one transaction: a row per name with the
// tick's interval, the latest cumulative snapshot, the target samples, the
// minutes and the resume state. A tick with no user and no request
// records only the samples, minutes and state (a master waiting for its
// start, or stopped).
func (s *Store) Tick(ctx context.Context, tk Tick) error {
	return s.inTx(ctx, tk.Samples, func(tx *sql.Tx) error { return s.tickTx(ctx, tx, tk) })
}

// inTx runs fn in one transaction, after writing the target samples, and
// commits unless fn fails. It holds s.mu.
func (s *Store) inTx(ctx context.Context, samples []Sample, fn func(*sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.samplesTx(ctx, tx, samples); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) tickTx(ctx context.Context, tx *sql.Tx, tk Tick) error {
	snap := tk.Snapshot
	for _, m := range tk.Minutes {
		if err := s.minuteTx(ctx, tx, m); err != nil {
			return err
		}
	}
	if st := tk.State; st != nil {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO state (id, t, stats, master) VALUES (1, ?, ?, ?)`,
			ms(snap.Time), string(st.Stats), string(st.Master)); err != nil {
			return err
		}
	}
	if err := historyTx(ctx, tx, tk.History, tk.HistoryReset); err != nil {
		return err
	}
	var entries map[stats.Key]*stats.IntervalEntry
	if tk.Interval != nil {
		entries = tk.Interval.Entries
	}
	var total stats.IntervalEntry
	for _, e := range entries {
		c := *e
		c.Latency.Hist, c.Uncorrected.Hist = nil, nil // only the integers are stored
		total.Merge(&c)
	}
	if tk.Load.Users == 0 && total.Count == 0 {
		return nil
	}
	t := ms(snap.Time)
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO ticks (t, users, rps, fail_per_sec, target, open, sched_delay) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t, tk.Load.Users, snap.Total.CurrentRPS, snap.Total.CurrentFailPerSec, tk.Load.Target, tk.Load.Open, tk.Load.SchedDelayMs); err != nil {
		return err
	}
	ins, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO intervals
		(t, name_id, requests, failures, p50, p90, p95, p99, max, mean, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	row := func(k stats.Key, iv *stats.IntervalEntry, window []float64) error {
		if iv == nil {
			iv = &stats.IntervalEntry{}
		}
		if iv.Count == 0 && iv.Failures == 0 && window == nil {
			return nil
		}
		id, err := s.nameID(ctx, tx, k)
		if err != nil {
			return err
		}
		var w [5]float64
		for i, j := range windowIdx {
			w[i] = math.NaN()
			if j >= 0 && j < len(window) {
				w[i] = window[j]
			}
		}
		mean := math.NaN()
		if iv.Count > 0 {
			mean = float64(iv.SumMicros) / float64(iv.Count) / 1000
		}
		_, err = ins.ExecContext(ctx, t, id, iv.Count, iv.Failures, nullable(w[0]), nullable(w[1]), nullable(w[2]), nullable(w[3]), nullable(w[4]),
			nullable(mean), iv.Bytes)
		return err
	}
	for i := range snap.Entries {
		e := &snap.Entries[i]
		k := stats.Key{Method: e.Method, Name: e.Name}
		if err := row(k, entries[k], e.CurrentPercentiles); err != nil {
			return err
		}
	}
	if err := row(stats.Key{Name: stats.AggregatedName}, &total, snap.Total.CurrentPercentiles); err != nil {
		return err
	}
	return s.latestTx(ctx, tx, snap)
}

func (s *Store) samplesTx(ctx context.Context, tx *sql.Tx, samples []Sample) error {
	for _, sm := range samples {
		id, err := s.seriesID(ctx, tx, sm)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO samples (t, series_id, value) VALUES (?, ?, ?)`, ms(sm.T), id, sm.V); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) latestTx(ctx context.Context, tx *sql.Tx, snap *stats.Snapshot) error {
	b, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO latest (id, t, snapshot) VALUES (1, ?, ?)`, ms(snap.Time), string(b))
	return err
}

// Final is what the end of a run records.
type Final struct {
	End      time.Time
	Status   string // StatusPassed, StatusFailed or StatusBroken
	ExitCode int
	// Snapshot is the final statistics and errors (nil: keep the latest).
	Snapshot   *stats.Snapshot
	Verdicts   []soak.Verdict
	Samples    []Sample // the target's last, not yet recorded
	Exceptions []stats.Exception
}

// Finish records the end of the run: the final statistics and errors, the
// last target samples, the exceptions and the verdicts (both replacing
// earlier ones), a "stop" and a "verdict" event, and the run's end, status
// and exit code.
func (s *Store) Finish(ctx context.Context, f Final) error {
	return s.inTx(ctx, f.Samples, func(tx *sql.Tx) error { return s.finishTx(ctx, tx, f) })
}

func (s *Store) finishTx(ctx context.Context, tx *sql.Tx, f Final) error {
	end, status, exitCode, final, verdicts, exceptions := f.End, f.Status, f.ExitCode, f.Snapshot, f.Verdicts, f.Exceptions
	if final != nil {
		if err := s.latestTx(ctx, tx, final); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM errors`); err != nil {
			return err
		}
		for _, e := range final.Errors {
			if _, err := tx.ExecContext(ctx, `INSERT INTO errors (method, name, message, occurrences) VALUES (?, ?, ?, ?)`,
				e.Method, e.Name, e.Message, e.Occurrences); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM exceptions`); err != nil {
		return err
	}
	for _, e := range exceptions {
		if _, err := tx.ExecContext(ctx, `INSERT INTO exceptions (message, count, traceback, nodes) VALUES (?, ?, ?, ?)`,
			e.Message, e.Count, e.Traceback, e.Nodes); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM verdicts`); err != nil {
		return err
	}
	failed := 0
	for _, v := range verdicts {
		if v.Status == "fail" {
			failed++
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO verdicts (kind, name, status, reason) VALUES (?, ?, ?, ?)`,
			v.Kind, v.Name, v.Status, v.Reason); err != nil {
			return err
		}
	}
	for _, ev := range []stats.Event{
		{T: end, Kind: "stop"},
		{T: end, Kind: "verdict", Detail: fmt.Sprintf("%s, exit code %d, %d of %d verdicts failed", status, exitCode, failed, len(verdicts))},
	} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (t, kind, detail) VALUES (?, ?, ?)`, ms(ev.T), ev.Kind, ev.Detail); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE run SET ended = ?, status = ?, exit_code = ?`, ms(end), status, exitCode); err != nil {
		return err
	}
	return nil
}

// Exceptions reads the run's exceptions, the most frequent first (none
// until the run has ended).
func (s *Store) Exceptions(ctx context.Context) ([]stats.Exception, error) {
	return queryAll(ctx, s.db, `SELECT message, count, traceback, nodes FROM exceptions ORDER BY count DESC, message`,
		func(rows *sql.Rows) (e stats.Exception, err error) {
			return e, rows.Scan(&e.Message, &e.Count, &e.Traceback, &e.Nodes)
		})
}

// queryAll runs query and returns each row as scan reads it.
func queryAll[T any](ctx context.Context, db *sql.DB, query string, scan func(*sql.Rows) (T, error)) ([]T, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Run reads the run's row.
func (s *Store) Run(ctx context.Context) (Run, error) {
	var r Run
	var started int64
	var ended, code sql.NullInt64
	var cfg string
	err := s.db.QueryRowContext(ctx, `SELECT id, started, ended, status, exit_code, config, scenario FROM run`).
		Scan(&r.ID, &started, &ended, &r.Status, &code, &cfg, &r.Scenario)
	if err != nil {
		return r, err
	}
	r.Started, r.Config, r.ExitCode = fromMs(started), json.RawMessage(cfg), int(code.Int64)
	if ended.Valid {
		r.Ended = fromMs(ended.Int64)
	}
	// The load's start: a web UI waits for its Start button, a master for
	// its workers, and the statistics a run file keeps are those of its
	// last run (each run of a web UI session resets them).
	var load sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT max(t) FROM events WHERE kind = ?`, RunStartedEvent).Scan(&load); err != nil {
		return r, err
	}
	if load.Valid && load.Int64 > started {
		r.Started = fromMs(load.Int64)
	}
	return r, nil
}

// historyTx records history points (after forgetting the earlier ones
// when reset).
func historyTx(ctx context.Context, tx *sql.Tx, pts []stats.Tick, reset bool) error {
	if reset {
		if _, err := tx.ExecContext(ctx, `DELETE FROM history`); err != nil {
			return err
		}
	}
	if len(pts) == 0 {
		return nil
	}
	ins, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO history
		(t, users, rps, fail_per_sec, p50, p95, p99, requests, failures, target, open, sched_delay, load_cpu) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	z := func(v float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0
		}
		return v
	}
	for _, p := range pts {
		if _, err := ins.ExecContext(ctx, ms(p.Time), p.Users, z(p.RPS), z(p.FailPerSec), z(p.P50Ms), z(p.P95Ms), z(p.P99Ms),
			p.Requests, p.Failures, z(p.Target), p.Open, z(p.SchedDelayMs), z(p.LoadCPUPct)); err != nil {
			return err
		}
	}
	return nil
}

// History is the run's history: every point the live run kept (schema 5,
// the load generator's CPU from schema 6;
// a file recorded before has the points tickHistory rebuilds from its
// ticks, written when it was brought up to date).
func (s *Store) History(ctx context.Context) ([]stats.Tick, error) {
	kept, err := queryAll(ctx, s.db, `SELECT t, users, rps, fail_per_sec, p50, p95, p99, requests, failures, target, open, sched_delay, coalesce(load_cpu, 0) FROM history ORDER BY t`,
		func(rows *sql.Rows) (tk stats.Tick, err error) {
			var t int64
			err = rows.Scan(&t, &tk.Users, &tk.RPS, &tk.FailPerSec, &tk.P50Ms, &tk.P95Ms, &tk.P99Ms, &tk.Requests, &tk.Failures, &tk.Target, &tk.Open, &tk.SchedDelayMs, &tk.LoadCPUPct)
			tk.Time = fromMs(t)
			return tk, err
		})
	if err != nil {
		return nil, err
	}
	if len(kept) == 0 {
		// A file whose backfill (migrate) did not happen, or a run reset
		// and not yet ticked again.
		return s.tickHistory(ctx)
	}
	return kept, nil
}

// tickHistory rebuilds the run's history from its ticks and the Aggregated
// interval rows: each tick with its window percentiles and the cumulative
// request and failure counts (0 for a percentile whose window was empty).
func (s *Store) tickHistory(ctx context.Context) ([]stats.Tick, error) {
	ticks, err := s.Ticks(ctx)
	if err != nil {
		return nil, err
	}
	ivs, err := s.Intervals(ctx)
	if err != nil {
		return nil, err
	}
	agg := map[int64]stats.Row{}
	for _, iv := range ivs {
		if iv.Method == "" && iv.Name == stats.AggregatedName {
			agg[iv.T.UnixMilli()] = iv
		}
	}
	z := func(v float64) float64 {
		if math.IsNaN(v) {
			return 0
		}
		return v
	}
	var reqs, fails int64
	for i := range ticks {
		tk := &ticks[i]
		iv := agg[tk.Time.UnixMilli()]
		reqs += iv.Requests
		fails += iv.Failures
		tk.P50Ms, tk.P95Ms, tk.P99Ms = z(iv.P50), z(iv.P95), z(iv.P99)
		tk.Requests, tk.Failures = reqs, fails
	}
	return ticks, nil
}

// Ticks reads every tick, in time order: the users, rates and load-shape
// target of each (History adds the percentiles and totals).
func (s *Store) Ticks(ctx context.Context) ([]stats.Tick, error) {
	return queryAll(ctx, s.db, `SELECT t, users, rps, fail_per_sec, coalesce(target, 0), open, coalesce(sched_delay, 0) FROM ticks ORDER BY t`,
		func(rows *sql.Rows) (tk stats.Tick, err error) {
			var t int64
			err = rows.Scan(&t, &tk.Users, &tk.RPS, &tk.FailPerSec, &tk.Target, &tk.Open, &tk.SchedDelayMs)
			tk.Time = fromMs(t)
			return tk, err
		})
}

func nanOr(v sql.NullFloat64) float64 {
	if !v.Valid {
		return math.NaN()
	}
	return v.Float64
}

// Intervals reads every interval row, in time order (then name).
func (s *Store) Intervals(ctx context.Context) ([]stats.Row, error) {
	return queryAll(ctx, s.db, `SELECT i.t, n.method, n.name, i.requests, i.failures, i.p50, i.p90, i.p95, i.p99, i.max, i.mean, i.bytes
		FROM intervals i JOIN names n ON n.id = i.name_id ORDER BY i.t, n.name, n.method`,
		func(rows *sql.Rows) (iv stats.Row, err error) {
			var t int64
			var p [6]sql.NullFloat64
			err = rows.Scan(&t, &iv.Method, &iv.Name, &iv.Requests, &iv.Failures, &p[0], &p[1], &p[2], &p[3], &p[4], &p[5], &iv.Bytes)
			iv.T = fromMs(t)
			iv.P50, iv.P90, iv.P95, iv.P99, iv.Max, iv.Mean = nanOr(p[0]), nanOr(p[1]), nanOr(p[2]), nanOr(p[3]), nanOr(p[4]), nanOr(p[5])
			return iv, err
		})
}

// Latest reads the latest cumulative statistics (nil when no tick was
// recorded).
func (s *Store) Latest(ctx context.Context) (*stats.Snapshot, error) {
	var b string
	err := s.db.QueryRowContext(ctx, `SELECT snapshot FROM latest WHERE id = 1`).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	snap := &stats.Snapshot{}
	if err := json.Unmarshal([]byte(b), snap); err != nil {
		return nil, fmt.Errorf("latest statistics: %w", err)
	}
	return snap, nil
}

// Series reads the target series, each in time order.
func (s *Store) Series(ctx context.Context) ([]series.Series, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.name, s.metric, s.memory, p.t, p.value
		FROM samples p JOIN series s ON s.id = p.series_id ORDER BY s.id, p.t`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []series.Series
	for rows.Next() {
		var name, metric string
		var mem bool
		var t int64
		var v float64
		if err := rows.Scan(&name, &metric, &mem, &t, &v); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, series.Series{Name: name, Metric: metric, Memory: mem})
		}
		last := &out[len(out)-1]
		last.Points = append(last.Points, series.Point{T: fromMs(t), V: v})
	}
	return out, rows.Err()
}

// Events reads the events, in time order.
func (s *Store) Events(ctx context.Context) ([]stats.Event, error) {
	return queryAll(ctx, s.db, `SELECT t, kind, detail FROM events ORDER BY t, rowid`,
		func(rows *sql.Rows) (e stats.Event, err error) {
			var t int64
			err = rows.Scan(&t, &e.Kind, &e.Detail)
			e.T = fromMs(t)
			return e, err
		})
}

// Verdicts reads the verdicts recorded at the end of the run.
func (s *Store) Verdicts(ctx context.Context) ([]soak.Verdict, error) {
	return queryAll(ctx, s.db, `SELECT kind, name, status, reason FROM verdicts ORDER BY rowid`,
		func(rows *sql.Rows) (v soak.Verdict, err error) {
			return v, rows.Scan(&v.Kind, &v.Name, &v.Status, &v.Reason)
		})
}

// Summary is one line of `horde runs`.
type Summary struct {
	Path               string
	Run                Run
	LastTick           time.Time // zero when no tick was recorded
	Requests, Failures int64
	Err                error // the file could not be read (foreign, corrupt)
}

// Summarize reads one file's summary.
func Summarize(ctx context.Context, path string) Summary {
	sm := Summary{Path: path}
	s, err := Open(ctx, path)
	if err != nil {
		sm.Err = err
		return sm
	}
	defer s.Close(ctx)
	if sm.Run, err = s.Run(ctx); err != nil {
		sm.Err = err
		return sm
	}
	var last sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT coalesce(sum(i.requests), 0), coalesce(sum(i.failures), 0), max(i.t)
		FROM intervals i JOIN names n ON n.id = i.name_id WHERE n.method = '' AND n.name = ?`, stats.AggregatedName).
		Scan(&sm.Requests, &sm.Failures, &last)
	if err != nil {
		sm.Err = err
	}
	if last.Valid {
		sm.LastTick = fromMs(last.Int64)
	}
	return sm
}

// List summarizes every run file in dir, oldest first. A missing dir has
// no runs.
func List(ctx context.Context, dir string) ([]Summary, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Summary
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), Ext) {
			continue
		}
		out = append(out, Summarize(ctx, filepath.Join(dir, e.Name())))
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Run.Started.Equal(out[j].Run.Started) {
			return out[i].Run.Started.Before(out[j].Run.Started)
		}
		return out[i].Path < out[j].Path
	})
	return out, nil
}
