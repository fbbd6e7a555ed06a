package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/shape"
)

const loadUsers = "users:\n  - name: a\n    tasks:\n      - get: /\n"

func TestParse_LoadShapes(t *testing.T) {
	tests := []struct {
		name string
		load string
		want shape.Shape
	}{
		{"closed constant", "load:\n  users: 10\n", shape.Shape{Start: 10}},
		{"closed stages", "load:\n  stages:\n    - {duration: 1m, target: 50}\n    - {duration: 2m, target: 0}\n",
			shape.Shape{Stages: []shape.Stage{{Duration: time.Minute, Target: 50}, {Duration: 2 * time.Minute, Target: 0}}}},
		{"cycle", "load:\n  cycle: {min: 5, max: 50, period: 24h}\n", shape.Shape{Cycle: &shape.Cycle{Min: 5, Max: 50, Period: 24 * time.Hour}}},
		{"spike", "load:\n  users: 3\n  spike: {base: 3, peak: 30, at: 10m, duration: 1m}\n",
			shape.Shape{Start: 3, Spike: &shape.Spike{Base: 3, Peak: 30, At: 10 * time.Minute, Duration: time.Minute}}},
		{"open rate", "load:\n  rate: 2000\n  pre_allocated_vus: 50\n  max_vus: 500\n", shape.Shape{Open: true, Start: 2000}},
		{"open ramp", "load:\n  rate: 0\n  stages:\n    - {duration: 30s, target: 100}\n",
			shape.Shape{Open: true, Stages: []shape.Stage{{Duration: 30 * time.Second, Target: 100}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("l.yaml", ".", []byte("host: http://127.0.0.1:1\n"+tt.load+loadUsers), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p.Load.Shape()); diff != "" {
				t.Errorf("shape (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse_LoadErrors(t *testing.T) {
	tests := []struct {
		load string
		want string
	}{
		{"load:\n  users: 5\n  rate: 10\n", "l.yaml:4:3: rate (open model) and users (closed model) exclude each other"},
		{"load:\n  max_vus: 10\n", "l.yaml:3:3: max_vus needs rate:"},
		{"load:\n  rate: 10\n  pre_allocated_vus: 20\n  max_vus: 10\n", "l.yaml:5:12: max_vus (10) is below pre_allocated_vus (20)"},
		{"load:\n  stages:\n    - {duration: 0s, target: 5}\n", "stage duration must be > 0"},
		{"load:\n  stages:\n    - {durration: 1s, target: 5}\n", `unknown key "durration" in stage; did you mean "duration"?`},
		{"load:\n  cycle: {min: 9, max: 1, period: 1h}\n", "cycle wants 0 <= min <= max"},
		{"load:\n  spike: {base: 1, peak: 5, at: 1m}\n", "spike needs duration"},
		{"load:\n  cycle: {min: 1, max: 2, period: 1h}\n  spike: {base: 1, peak: 5, at: 1m, duration: 1s}\n", "stages, cycle and spike exclude each other"},
		{"load:\n  rate: -1\n", "rate must be >= 0"},
	}
	for _, tt := range tests {
		_, err := Parse("l.yaml", ".", []byte("host: http://127.0.0.1:1\n"+tt.load+loadUsers), Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("load %q: got %v, want an error containing %q", tt.load, err, tt.want)
		}
	}
}
