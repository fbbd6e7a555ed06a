// Package scenario turns a YAML scenario file into a validated, compiled
// Plan. Templates are compiled once here; executing a request never parses
// a template. Errors name their place as file:line:col.
//
// CONTRACT FILE: the types and signatures below are what the engine codes
// against. Parsing, validation and template compilation live in the other
// files of this package.
package scenario

import (
	"math/rand/v2"
	"time"

	"github.com/horde-load/horde"
)

// Plan is a compiled scenario.
type Plan struct {
	File    string
	Host    string // may be empty when the CLI supplies -H
	Classes []*Class
	Load    Load
	// Feeders are the CSV data sources, by name, loaded at compile time.
	Feeders map[string]*Feeder
}

// Load is the scenario's load section; zero fields are unset (the CLI's
// flags and defaults apply).
type Load struct {
	Users       int
	SpawnRate   float64
	RunTime     time.Duration
	StopTimeout time.Duration
}

// Class is a kind of user (Locust's User class).
type Class struct {
	Name       string
	Weight     int
	Count      int // fixed count (0: by weight)
	Wait       horde.Wait
	OnStart    []*Step
	Tasks      []*Task
	Sequential bool // run tasks in the listed order, cycling, instead of weighted random
	OnStop     []*Step
	// Feeds names feeders whose next row is stored in the user's Vars under
	// the feeder's name when the user starts, before OnStart.
	Feeds []string
	Pos   Pos
}

// Task is a weighted unit of work: one request or a sequence of requests.
type Task struct {
	Name   string
	Weight int
	Steps  []*Step
}

// Body kinds.
const (
	BodyNone = iota
	BodyJSON
	BodyForm
	BodyRaw
)

// Step is one compiled HTTP request.
type Step struct {
	Method string
	// URL renders the path (or absolute URL) including any query string
	// given inline; Query params are appended, URL-encoded.
	URL   *Template
	Query []Param
	// Name groups statistics; empty means the rendered URL without query.
	Name     string
	Header   []Param
	BodyKind int
	Body     *Template // rendered body (already JSON/form-encoded); nil for BodyNone
	// ContentType is the Content-Type to send unless a header overrides it
	// ("application/json", "application/x-www-form-urlencoded" or "").
	ContentType string
	Timeout     time.Duration // 0: engine default
	Captures    []*Capture
	Checks      []*Check
	Pos         Pos // where the step is defined
}

// Param is a header or query parameter with a templated value.
type Param struct {
	Name  string
	Value *Template
}

// Pos is a place in a scenario file.
type Pos struct {
	File      string
	Line, Col int
}

// Capture stores part of a response in a per-user variable.
type Capture struct {
	Var string
	// exactly one source is set by the compiler; see Apply.
}

// Check turns a response into a failure when it does not hold.
type Check struct{}

// Response is what checks and captures read of a response.
type Response interface {
	Status() int
	Header(name string) string // first value; "" when absent
	Body() []byte
}

// Vars are a user's variables: captured values and feeder rows. Templates
// read them as {{ .name }}; a feeder row's columns as {{ .feeder.column }}.
type Vars map[string]any

// Env is everything a template may read while rendering for one user.
type Env struct {
	Vars   Vars
	Rand   *rand.Rand
	UserID int
}

// Template is a compiled template.
type Template struct{}

// Static reports the template's text when it contains no action.
func (t *Template) Static() (string, bool) { panic("todo") }

// Append renders the template for env and appends the result to dst.
func (t *Template) Append(dst []byte, env *Env) ([]byte, error) { panic("todo") }

// Evaluate runs the step's checks and then its captures against resp,
// storing captured values in vars. It returns "" when every check and
// capture held, otherwise one failure message, e.g.
// `check status: got 500, want 200` or `capture token: json path "token" not found`.
// When no status check is given, a status >= 400 fails as "HTTP 404 Not Found".
func (s *Step) Evaluate(resp Response, vars Vars) string { panic("todo") }

// Feeder is a CSV data source; rows are handed to users in order
// (mode "sequential", cycling), at random ("random"), or each row once
// ("unique"; a user that finds none left fails its on_start).
type Feeder struct{ Name string }

// Next returns the next row for a user, or ok=false if a unique feeder ran out.
func (f *Feeder) Next(r *rand.Rand) (row map[string]string, ok bool) { panic("todo") }

// Options adjust loading.
type Options struct {
	// Host overrides the file's host (the CLI's -H). When both are empty,
	// the missing host is reported as an error at the top of the file.
	Host string
}

// LoadFile reads, validates and compiles a scenario file. On bad input it
// returns an ErrorList with every problem found, each with file:line:col.
func LoadFile(path string, opts Options) (*Plan, error) { panic("todo") }

// Parse is LoadFile for bytes already read; name is used in error messages
// and relative data file paths are resolved against dir.
func Parse(name, dir string, src []byte, opts Options) (*Plan, error) { panic("todo") }

// ParseDuration accepts what scenario files and the CLI accept: a bare
// number of seconds ("20"), Go durations ("90s", "1h30m", "250ms") and days
// ("7d", "1d12h").
func ParseDuration(s string) (time.Duration, error) { panic("todo") }

// Error is one problem at a place.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { panic("todo") }

// ErrorList is every problem found in a file; its Error() joins them one
// per line as "file:line:col: message".
type ErrorList []*Error

func (l ErrorList) Error() string { panic("todo") }
