// Package horde is the public contract between the load engine and the code
// that describes what a virtual user does.
//
// The YAML scenario format is one implementation of it; Go users implement
// User themselves and build their own binary with cli.Main (see
// examples/go-user). Both go through the same engine.
package horde

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"
)

// Sample is one measured request (or any other timed operation).
type Sample struct {
	Method   string        // "GET", "POST", or any protocol verb
	Name     string        // statistics group, e.g. "/api/data/[id]"
	Duration time.Duration // response time, from send to the end of the body
	Bytes    int64         // content length received
	Failure  string        // empty on success; otherwise a message, grouped in the error report
}

// Request is an HTTP request sent through VU.Do.
type Request struct {
	Method  string
	URL     string // absolute, or a path joined to the run's host
	Name    string // statistics group; empty means the URL's path
	Header  http.Header
	Body    []byte
	Timeout time.Duration // zero means the engine's default
}

// Response is the answer to a Request.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Duration time.Duration
}

// VU is what user code sees of its virtual user. A VU belongs to one
// goroutine; its methods are not safe for concurrent use.
type VU interface {
	// ID is the user's number, unique within the process, starting at 1.
	ID() int
	// Rand is the user's own random source.
	Rand() *rand.Rand
	// Host is the base URL of the system under test.
	Host() string
	// Do sends req over the user's own keep-alive connection and cookie
	// jar, records it, and returns the response. A status of 400 or more is
	// recorded as a failure. An error means no response was received (it is
	// recorded as a failure too).
	Do(ctx context.Context, req *Request) (*Response, error)
	// Record reports a sample measured by the caller, for other protocols.
	Record(s Sample)
}

// User is the behaviour of one virtual user. The engine calls OnStart once,
// then Task repeatedly with Class.Wait between calls, then OnStop once when
// the user is stopped. An error from OnStart or Task is counted in the error
// report and the user carries on; it does not stop the run.
type User interface {
	OnStart(ctx context.Context, vu VU) error
	Task(ctx context.Context, vu VU) error
	OnStop(ctx context.Context, vu VU) error
}

// Class is a kind of user. Users are spread over classes by Weight, as in
// Locust; a class with Count > 0 gets exactly that many users first.
type Class struct {
	Name   string
	Weight int
	Count  int
	Wait   Wait
	New    func() User
}

// WaitKind selects how Wait computes the pause between tasks.
type WaitKind int

// The wait kinds of Locust's wait_time functions.
const (
	WaitConstant WaitKind = iota // always Min
	WaitBetween                  // uniform in [Min, Max]
	WaitPacing                   // Min minus the time the task took, never below zero
)

// Wait is the pause between two tasks of a user. The zero value waits not at all.
type Wait struct {
	Kind     WaitKind
	Min, Max time.Duration
}

// Constant waits d after each task.
func Constant(d time.Duration) Wait { return Wait{Kind: WaitConstant, Min: d, Max: d} }

// Between waits a uniform random time in [lo, hi] after each task.
func Between(lo, hi time.Duration) Wait { return Wait{Kind: WaitBetween, Min: lo, Max: hi} }

// Pacing starts tasks every d, whatever they take (Locust's constant_pacing).
func Pacing(d time.Duration) Wait { return Wait{Kind: WaitPacing, Min: d, Max: d} }

// Next returns the pause before the next task, given how long the last one took.
func (w Wait) Next(r *rand.Rand, took time.Duration) time.Duration {
	switch w.Kind {
	case WaitBetween:
		if w.Max <= w.Min {
			return w.Min
		}
		return w.Min + time.Duration(r.Int64N(int64(w.Max-w.Min)+1))
	case WaitPacing:
		if d := w.Min - took; d > 0 {
			return d
		}
		return 0
	default:
		return w.Min
	}
}
