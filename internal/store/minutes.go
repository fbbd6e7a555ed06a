package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/horde-load/horde/internal/stats"
)

// Minute records one minute's histograms (adding to a minute already
// recorded, which a resumed run can meet).
func (s *Store) Minute(ctx context.Context, m *stats.Minute) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return inTx(ctx, s.db, func(tx *sql.Tx) error { return s.minuteTx(ctx, tx, m) })
}

// inTx runs do in a transaction of db, committed when do succeeds.
func inTx(ctx context.Context, db *sql.DB, do func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := do(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// minuteTx records m in tx, adding to what the file holds of its minute.
func (s *Store) minuteTx(ctx context.Context, tx *sql.Tx, m *stats.Minute) error {
	for k, h := range m.Hists {
		id, err := s.nameID(ctx, tx, k)
		if err != nil {
			return err
		}
		var old []byte
		err = tx.QueryRowContext(ctx, `SELECT hist FROM minutes WHERE t = ? AND name_id = ?`, ms(m.Start), id).Scan(&old)
		if err == nil {
			// Merge into a copy: m stays as it was if the transaction fails.
			h = hdrCopy(h)
			if err := stats.DecodeCoarse(old, h); err != nil {
				return fmt.Errorf("minute %v: %w", m.Start, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO minutes (t, name_id, count, hist) VALUES (?, ?, ?, ?)`,
			ms(m.Start), id, h.TotalCount(), stats.EncodeCoarse(h)); err != nil {
			return err
		}
	}
	return nil
}

// hdrCopy returns a histogram of the per-minute geometry holding what h holds.
func hdrCopy(h *hdr.PackedHistogram) *hdr.PackedHistogram {
	c := stats.NewCoarse()
	c.Merge(h)
	return c
}

// Window merges the per-minute histograms of the minutes that start in
// [from, to), per name (Aggregated included). It returns the minutes it
// found too.
func (s *Store) Window(ctx context.Context, from, to time.Time) (map[stats.Key]*hdr.PackedHistogram, int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.t, n.method, n.name, m.hist FROM minutes m JOIN names n ON n.id = m.name_id
		WHERE m.t >= ? AND m.t < ? ORDER BY m.t`, ms(from), ms(to))
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := map[stats.Key]*hdr.PackedHistogram{}
	seen := map[int64]bool{}
	for rows.Next() {
		var t int64
		var k stats.Key
		var b []byte
		if err := rows.Scan(&t, &k.Method, &k.Name, &b); err != nil {
			return nil, 0, err
		}
		seen[t] = true
		h := out[k]
		if h == nil {
			h = stats.NewCoarse()
			out[k] = h
		}
		if err := stats.DecodeCoarse(b, h); err != nil {
			return nil, 0, fmt.Errorf("minute %v %s: %w", fromMs(t), k.Name, err)
		}
	}
	return out, len(seen), rows.Err()
}
