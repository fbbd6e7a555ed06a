package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/horde-load/horde/internal/stats"
)

// State is what a restarted master needs to go on with a run: the
// cumulative statistics (stats.State) and the master's own checkpoint,
// both JSON.
type State struct {
	T      time.Time // the tick it was written at
	Stats  json.RawMessage
	Master json.RawMessage
}

// ErrLocked is returned for a run file another live process writes.
var ErrLocked = errors.New("run file is in use by another process")

// tryLock takes the lock that marks path as written by this process: an
// flock on path+".lock", released by the kernel when the process dies,
// however it dies. (Not on the database file itself: closing any
// descriptor of it would drop SQLite's own POSIX locks.)
func tryLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// unlock releases and removes a lock from tryLock (nil is a no-op).
func unlock(f *os.File) {
	if f == nil {
		return
	}
	os.Remove(f.Name())
	f.Close()
}

// Locked reports whether a live process writes the run file at path.
func Locked(path string) bool {
	f, err := tryLock(path)
	if err != nil {
		return errors.Is(err, ErrLocked)
	}
	f.Close() // keep the lock file: removing it could race with its owner-to-be
	return false
}

// Reopen opens an unfinished run file to go on writing it (a restarted
// master): it takes the file's lock, checks that it is a horde run file
// that has not ended, and reloads what the next tick's deltas are computed
// from. Foreign, newer and finished files are errors and stay untouched.
func Reopen(ctx context.Context, path string) (*Store, error) {
	lock, err := tryLock(path)
	if err != nil {
		return nil, err
	}
	ro, err := Open(ctx, path) // validates (application id, version) and migrates
	if err != nil {
		unlock(lock)
		return nil, err
	}
	r, err := ro.Run(ctx)
	ro.Close(ctx)
	if err != nil {
		unlock(lock)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !r.Ended.IsZero() || r.Status != StatusRunning {
		unlock(lock)
		return nil, fmt.Errorf("%s: run %s has ended (%s); only an unfinished run can be resumed", path, r.ID, r.Status)
	}
	s, err := open(ctx, path, true)
	if err != nil {
		unlock(lock)
		return nil, err
	}
	s.lock, s.id = lock, r.ID
	if err := s.reload(ctx); err != nil {
		s.closeDB()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// reload fills the name and series ids of a reopened file.
func (s *Store) reload(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, method, name FROM names`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var k stats.Key
		if err := rows.Scan(&id, &k.Method, &k.Name); err != nil {
			rows.Close()
			return err
		}
		s.names[k] = id
	}
	rows.Close()
	if rows, err = s.db.QueryContext(ctx, `SELECT id, name FROM series`); err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return err
		}
		s.series[name] = id
	}
	rows.Close()
	return nil
}

// State reads the resume state (nil when none was written).
func (s *Store) State(ctx context.Context) (*State, error) {
	var t int64
	var st, m string
	err := s.db.QueryRowContext(ctx, `SELECT t, stats, master FROM state WHERE id = 1`).Scan(&t, &st, &m)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &State{T: fromMs(t), Stats: json.RawMessage(st), Master: json.RawMessage(m)}, nil
}

// LastTick is the time of the last recorded tick (zero when none).
func (s *Store) LastTick(ctx context.Context) (time.Time, error) {
	var t sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT max(t) FROM ticks`).Scan(&t); err != nil {
		return time.Time{}, err
	}
	if !t.Valid {
		return time.Time{}, nil
	}
	return fromMs(t.Int64), nil
}

// Unfinished lists the runs in dir that have not ended and that no live
// process writes: those a restarted master can resume, oldest first.
// Files that cannot be read are skipped (horde runs shows why).
func Unfinished(ctx context.Context, dir string) ([]Summary, error) {
	all, err := List(ctx, dir)
	if err != nil {
		return nil, err
	}
	var out []Summary
	for _, sm := range all {
		if sm.Err == nil && sm.Run.Ended.IsZero() && sm.Run.Status == StatusRunning && !Locked(sm.Path) {
			out = append(out, sm)
		}
	}
	return out, nil
}
