package scenario

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
)

// Feeder modes.
const (
	FeedSequential = "sequential"
	FeedRandom     = "random"
	FeedUnique     = "unique"
)

var feedModes = []string{FeedSequential, FeedRandom, FeedUnique}

// Next returns the next row for a user, or ok=false if a unique feeder ran
// out. r picks rows in random mode; nil means the top-level math/rand/v2
// functions. The row is shared: callers must not modify it.
func (f *Feeder) Next(r *rand.Rand) (row map[string]string, ok bool) {
	n := uint64(len(f.rows))
	if n == 0 {
		return nil, false
	}
	switch f.mode {
	case FeedRandom:
		if r != nil {
			return f.rows[r.Uint64N(n)], true
		}
		return f.rows[rand.Uint64N(n)], true
	case FeedUnique:
		i := f.next.Add(1) - 1
		if i >= n {
			f.next.Store(n) // keep the counter from wrapping
			return nil, false
		}
		return f.rows[i], true
	default:
		return f.rows[(f.next.Add(1)-1)%n], true
	}
}

// Row returns row i (0-based) modulo the rows, as handed out by a master
// that owns the feeder in a distributed run. The row is shared: callers
// must not modify it.
func (f *Feeder) Row(i int) map[string]string {
	if len(f.rows) == 0 {
		return nil
	}
	return f.rows[uint(i)%uint(len(f.rows))]
}

// Mode returns the feeder's mode: FeedSequential, FeedRandom or FeedUnique.
func (f *Feeder) Mode() string { return f.mode }

// Columns returns the column names of the CSV header row.
func (f *Feeder) Columns() []string { return slices.Clone(f.columns) }

// Len returns the number of data rows.
func (f *Feeder) Len() int { return len(f.rows) }

// NewFeeder builds a feeder from a header and rows, for Go users and tests.
// mode is FeedSequential (also for ""), FeedRandom or FeedUnique.
func NewFeeder(name, mode string, columns []string, rows [][]string) (*Feeder, error) {
	if mode == "" {
		mode = FeedSequential
	}
	if !slices.Contains(feedModes, mode) {
		return nil, fmt.Errorf("unknown feeder mode %q", mode)
	}
	f := &Feeder{Name: name, mode: mode, columns: slices.Clone(columns)}
	for i, r := range rows {
		if len(r) != len(columns) {
			return nil, fmt.Errorf("row %d has %d fields, want %d", i+1, len(r), len(columns))
		}
		m := make(map[string]string, len(columns))
		for j, c := range columns {
			m[c] = r[j]
		}
		f.rows = append(f.rows, m)
	}
	return f, nil
}

// readCSV reads a CSV file whose first row names the columns.
func readCSV(path string) (columns []string, rows [][]string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(data))
	columns, err = cr.Read()
	if err == io.EOF {
		return nil, nil, errors.New("file is empty")
	}
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, c := range columns {
		if c == "" {
			return nil, nil, errors.New("header row has an empty column name")
		}
		if seen[c] {
			return nil, nil, fmt.Errorf("header row names column %q twice", c)
		}
		seen[c] = true
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				return nil, nil, fmt.Errorf("line %d has %d fields, the header has %d", pe.StartLine, len(rec), len(columns))
			}
			return nil, nil, err
		}
		rows = append(rows, rec)
	}
	if len(rows) == 0 {
		return nil, nil, errors.New("file has a header but no rows")
	}
	return columns, rows, nil
}

// LoadFeeder reads a CSV file (a header row, then rows) into a feeder, as
// the data: section does; scripts (internal/script) use it for feeder().
func LoadFeeder(name, mode, path string) (*Feeder, error) {
	cols, rows, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	return NewFeeder(name, mode, cols, rows)
}
