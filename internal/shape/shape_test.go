package shape

import (
	"math"
	"testing"
	"time"
)

func TestShape_At(t *testing.T) {
	stages := Shape{Start: 0, Stages: []Stage{{10 * time.Second, 100}, {20 * time.Second, 100}, {10 * time.Second, 0}}}
	cycle := Shape{Cycle: &Cycle{Min: 10, Max: 110, Period: 24 * time.Hour}}
	spike := Shape{Spike: &Spike{Base: 5, Peak: 50, At: time.Minute, Duration: 30 * time.Second}}
	tests := []struct {
		name      string
		s         Shape
		t         time.Duration
		want      float64
		wantEnded bool
	}{
		{"constant", Shape{Start: 7}, time.Hour, 7, false},
		{"stage start", stages, 0, 0, false},
		{"stage ramp middle", stages, 5 * time.Second, 50, false},
		{"stage hold", stages, 25 * time.Second, 100, false},
		{"stage ramp down", stages, 35 * time.Second, 50, false},
		{"stages ended", stages, 40 * time.Second, 0, true},
		{"cycle start at min", cycle, 0, 10, false},
		{"cycle peak at half period", cycle, 12 * time.Hour, 110, false},
		{"cycle quarter", cycle, 6 * time.Hour, 60, false},
		{"cycle repeats", cycle, 36 * time.Hour, 110, false},
		{"spike before", spike, 59 * time.Second, 5, false},
		{"spike during", spike, 61 * time.Second, 50, false},
		{"spike after", spike, 90 * time.Second, 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ended := tt.s.At(tt.t)
			if math.Abs(got-tt.want) > 1e-9 || ended != tt.wantEnded {
				t.Errorf("At(%v) = %v, %v; want %v, %v", tt.t, got, ended, tt.want, tt.wantEnded)
			}
		})
	}
}

func TestShape_Validate(t *testing.T) {
	bad := []Shape{
		{Start: -1},
		{Stages: []Stage{{0, 10}}},
		{Stages: []Stage{{time.Second, -1}}},
		{Cycle: &Cycle{Min: 5, Max: 1, Period: time.Hour}},
		{Cycle: &Cycle{Min: 1, Max: 5}},
		{Spike: &Spike{Duration: 0}},
		{Stages: []Stage{{time.Second, 1}}, Cycle: &Cycle{Min: 1, Max: 2, Period: time.Hour}},
	}
	for _, s := range bad {
		if err := s.Validate(); err == nil {
			t.Errorf("Validate(%+v): no error", s)
		}
	}
	if err := (Shape{Start: 3, Stages: []Stage{{time.Second, 5}}}).Validate(); err != nil {
		t.Errorf("good shape: %v", err)
	}
}

// count returns how many iterations the schedule starts before d.
func count(s Shape, d time.Duration) int {
	sc := NewSchedule(s)
	n := 0
	for {
		at, ended := sc.Next()
		if ended || at >= d {
			return n
		}
		n++
	}
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		name string
		s    Shape
		d    time.Duration
		want int
	}{
		{"constant 2000/s for 1 s", Shape{Open: true, Start: 2000}, time.Second, 2000},
		{"constant 3/s for 10 s", Shape{Open: true, Start: 3}, 10 * time.Second, 30},
		{"ramp 0 to 100/s over 10 s", Shape{Open: true, Stages: []Stage{{10 * time.Second, 100}}}, 10 * time.Second, 500},
		{"ramp then hold", Shape{Open: true, Stages: []Stage{{10 * time.Second, 100}, {10 * time.Second, 100}}}, time.Hour, 1500},
		{"zero rate", Shape{Open: true, Start: 0, Stages: []Stage{{time.Second, 0}}}, time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := count(tt.s, tt.d)
			if math.Abs(float64(got-tt.want)) > 0.01*float64(tt.want)+1 {
				t.Errorf("iterations: got %d, want %d (±1%%)", got, tt.want)
			}
		})
	}
}

func TestShape_Scale(t *testing.T) {
	s := Shape{Start: 10, Stages: []Stage{{time.Second, 100}}}
	h := s.Scale(0.5)
	if h.Start != 5 || h.Stages[0].Target != 50 || s.Stages[0].Target != 100 {
		t.Errorf("Scale(0.5): %+v (original %+v)", h, s)
	}
}
