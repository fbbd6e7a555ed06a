// Package shape describes how load changes over a run: a number of users
// (the closed model) or a rate of iterations per second (the open model) as
// a pure function of the time since the start, like vegeta's pacers. It does
// no I/O and keeps no clock, so shapes are table-tested without sleeping.
package shape

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Stage ramps the value linearly from the previous stage's target (or the
// shape's Start) to Target over Duration, like k6's stages and Locust's
// LoadTestShape.
type Stage struct {
	Duration time.Duration
	Target   float64
}

// Cycle follows a sine between Min and Max over Period, starting at Min and
// peaking at Period/2: a day of traffic for a soak test.
type Cycle struct {
	Min, Max float64
	Period   time.Duration
}

// Spike holds Base, jumps to Peak at At for Duration, then returns to Base.
type Spike struct {
	Base, Peak float64
	At         time.Duration
	Duration   time.Duration
}

// Shape is one load shape. At most one of Stages, Cycle and Spike is set;
// with none, the value is Start throughout.
type Shape struct {
	// Open selects the open model: the value is a rate of iterations per
	// second, started whether or not earlier ones finished. Otherwise it is
	// a number of concurrent users.
	Open   bool
	Start  float64
	Stages []Stage
	Cycle  *Cycle
	Spike  *Spike
}

// Validate reports what is wrong with s, naming the field.
func (s Shape) Validate() error {
	var errs []error
	set := 0
	if len(s.Stages) > 0 {
		set++
	}
	if s.Cycle != nil {
		set++
	}
	if s.Spike != nil {
		set++
	}
	if set > 1 {
		errs = append(errs, errors.New("stages, cycle and spike exclude each other: choose one"))
	}
	if s.Start < 0 || math.IsNaN(s.Start) || math.IsInf(s.Start, 0) {
		errs = append(errs, fmt.Errorf("start: %v is not a number >= 0", s.Start))
	}
	for i, st := range s.Stages {
		if st.Duration <= 0 {
			errs = append(errs, fmt.Errorf("stages[%d].duration: must be > 0", i))
		}
		if st.Target < 0 || math.IsNaN(st.Target) || math.IsInf(st.Target, 0) {
			errs = append(errs, fmt.Errorf("stages[%d].target: %v is not a number >= 0", i, st.Target))
		}
	}
	if c := s.Cycle; c != nil {
		if c.Period <= 0 {
			errs = append(errs, errors.New("cycle.period: must be > 0"))
		}
		if c.Min < 0 || c.Max < c.Min {
			errs = append(errs, fmt.Errorf("cycle: want 0 <= min <= max, got min %v, max %v", c.Min, c.Max))
		}
	}
	if p := s.Spike; p != nil {
		if p.Duration <= 0 {
			errs = append(errs, errors.New("spike.duration: must be > 0"))
		}
		if p.At < 0 {
			errs = append(errs, errors.New("spike.at: must be >= 0"))
		}
		if p.Base < 0 || p.Peak < 0 {
			errs = append(errs, errors.New("spike: base and peak must be >= 0"))
		}
	}
	return errors.Join(errs...)
}

// Duration is how long the shape lasts: the sum of the stages, or 0 when
// it has no end of its own (the run time decides).
func (s Shape) Duration() time.Duration {
	var d time.Duration
	for _, st := range s.Stages {
		d += st.Duration
	}
	return d
}

// At returns the value at elapsed time t since the start, and whether the
// shape has ended (only stages end).
func (s Shape) At(t time.Duration) (v float64, ended bool) {
	if t < 0 {
		t = 0
	}
	switch {
	case len(s.Stages) > 0:
		from := s.Start
		for _, st := range s.Stages {
			if t < st.Duration {
				f := float64(t) / float64(st.Duration)
				return from + (st.Target-from)*f, false
			}
			t -= st.Duration
			from = st.Target
		}
		return from, true
	case s.Cycle != nil:
		c := s.Cycle
		phase := 2 * math.Pi * float64(t%c.Period) / float64(c.Period)
		return c.Min + (c.Max-c.Min)*(1-math.Cos(phase))/2, false
	case s.Spike != nil:
		p := s.Spike
		if t >= p.At && t < p.At+p.Duration {
			return p.Peak, false
		}
		return p.Base, false
	default:
		return s.Start, false
	}
}

// Max returns the largest value the shape reaches (to size pools).
func (s Shape) Max() float64 {
	m := s.Start
	for _, st := range s.Stages {
		m = max(m, st.Target)
	}
	if s.Cycle != nil {
		m = max(m, s.Cycle.Max)
	}
	if s.Spike != nil {
		m = max(m, s.Spike.Peak, s.Spike.Base)
	}
	return m
}

// Scale returns the shape with every value multiplied by f, for one
// worker's share of the load.
func (s Shape) Scale(f float64) Shape {
	out := s
	out.Start *= f
	if len(s.Stages) > 0 {
		out.Stages = make([]Stage, len(s.Stages))
		for i, st := range s.Stages {
			out.Stages[i] = Stage{Duration: st.Duration, Target: st.Target * f}
		}
	}
	if s.Cycle != nil {
		c := *s.Cycle
		c.Min, c.Max = c.Min*f, c.Max*f
		out.Cycle = &c
	}
	if s.Spike != nil {
		p := *s.Spike
		p.Base, p.Peak = p.Base*f, p.Peak*f
		out.Spike = &p
	}
	return out
}

// Dynamic reports whether the value changes over time.
func (s Shape) Dynamic() bool {
	return len(s.Stages) > 0 || s.Cycle != nil || s.Spike != nil
}

// Schedule yields the intended start times of open-model iterations: the
// k-th iteration starts when the integral of the rate since the start
// reaches k. It is a pure function of the shape and the count so far.
type Schedule struct {
	shape Shape
	t     time.Duration // intended time of the next iteration
}

// NewSchedule returns a schedule for an open shape.
func NewSchedule(s Shape) *Schedule { return &Schedule{shape: s} }

// NewScheduleAt returns a schedule for an open shape whose first iteration
// is at offset t from the start (a schedule taken up part-way through).
func NewScheduleAt(s Shape, t time.Duration) *Schedule {
	return &Schedule{shape: s, t: max(t, 0)}
}

// idleStep is how far the schedule looks ahead when the rate is zero.
const idleStep = 10 * time.Millisecond

// Next returns the intended offset of the next iteration from the start,
// or ended=true when the shape has ended before it.
func (sc *Schedule) Next() (at time.Duration, ended bool) {
	for {
		rate, end := sc.shape.At(sc.t)
		if end {
			return sc.t, true
		}
		if rate <= 0 {
			sc.t += idleStep
			continue
		}
		// Integrate over one interval at the rate at its midpoint, which
		// is exact for constant and linear ramps to first order.
		step := time.Duration(float64(time.Second) / rate)
		mid, end := sc.shape.At(sc.t + step/2)
		if !end && mid > 0 {
			step = time.Duration(float64(time.Second) / mid)
		}
		at = sc.t
		sc.t += step
		return at, false
	}
}
