// Package scenario turns a YAML scenario file into a validated, compiled
// Plan. Templates are compiled once here; executing a request never parses
// a template. Errors name their place as file:line:col.
//
// The file format is described in docs/scenario.md. This file holds the
// types the engine codes against; parsing and validation live in parse.go,
// templates in template.go and funcs.go, checks and captures in evaluate.go.
package scenario

import (
	"context"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/shape"
	"github.com/horde-load/horde/internal/srcaddr"
)

// Plan is a compiled scenario.
type Plan struct {
	File    string
	Host    string // may be empty when the CLI supplies -H
	Classes []*Class
	Load    Load
	// Feeders are the CSV data sources, by name, loaded at compile time.
	Feeders map[string]*Feeder
	// Thresholds decide whether the run passed (docs/soak.md).
	Thresholds []*Threshold
	// Monitor names the target's metrics to record beside the statistics.
	Monitor Monitor
	// Files are the files the scenario read besides its data: section
	// (scripts, the modules they load, their feeders' CSV files), relative
	// to its directory; set by the script loader (internal/script), shipped
	// to workers with the scenario.
	Files []string
	// Setup runs once per test before any user starts; its captures are
	// variables of every user. Teardown runs once after the last user
	// stopped, with the setup's captures.
	Setup, Teardown []*Step
	// SourceAddrs are defaults: source_addrs:, the local addresses the
	// users' connections are made from in turn; nil: the kernel chooses.
	SourceAddrs *srcaddr.Addrs
}

// Monitor is the scenario's monitor: section.
type Monitor struct {
	Interval   time.Duration
	Scrapes    []MonitorScrape
	Prometheus MonitorPrometheus
	Processes  []int
	// Limits are the limits of series by metric (or query name), given as
	// numbers: `limits: {process_resident_memory_bytes: 512MiB}`.
	Limits map[string]float64
	Pos    Pos
}

// MonitorPrometheus is a Prometheus server and the PromQL queries
// evaluated on it at every monitor interval (URL is empty without one).
type MonitorPrometheus struct {
	URL     string
	Queries []MonitorQuery
}

// MonitorQuery is one PromQL query; Name names its series in the run.
// Memory, when set, says whether its series are memory (judged for
// leaks); unset, a name or query mentioning memory decides.
type MonitorQuery struct {
	Name   string
	Query  string
	Memory *bool
	// Kind is what the series measure for the leak check: "heap" (a
	// garbage-collected heap: its drops are collections, never restarts),
	// "os" (RSS, a working set: a drop to the baseline is a restart),
	// "count"; empty or "auto": told by the metric names in the query.
	Kind string
	Pos  Pos
}

// MonitorScrape is a Prometheus text endpoint and the metrics kept from it
// (none: memory, CPU and goroutines).
type MonitorScrape struct {
	URL     string
	Metrics []string
}

// TargetMetrics are the target.* names thresholds may use.
var TargetMetrics = []string{"memory_growth", "time_to_exhaustion"}

// RegressionTargets are the target figures regression(target.X) compares
// with the baseline runs': TargetMetrics, the CPU per request and each
// resource's lasting growth (the checks' figures a run file keeps).
var RegressionTargets = []string{"memory_growth", "time_to_exhaustion", "cpu_per_request", "open_fds_growth",
	"goroutines_growth", "threads_growth", "open_connections_growth", "pool_slots_growth", "disk_growth"}

// Load is the scenario's load section; zero fields are unset (the CLI's
// flags and defaults apply).
type Load struct {
	Users       int
	SpawnRate   float64
	RunTime     time.Duration
	StopTimeout time.Duration

	// Open is true when the file asks for the open model (a rate: key):
	// Rate iterations per second (Stages then ramp the rate), started by a
	// pool of PreAllocatedVUs growing up to MaxVUs.
	Open            bool
	Rate            float64
	PreAllocatedVUs int
	MaxVUs          int
	// Stages, Cycle and Spike shape the users (closed) or the rate (open);
	// at most one is set.
	Stages []shape.Stage
	Cycle  *shape.Cycle
	Spike  *shape.Spike
	Pos    Pos // of the load: section, for errors found later
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
	// Tags apply to every task of the class (--tags, --exclude-tags).
	Tags   []string
	OnStop []*Step
	// Feeds names feeders whose next row is stored in the user's Vars under
	// the feeder's name when the user starts, before OnStart.
	Feeds []string
	// IterationFeeds names feeders whose next row is stored in the user's
	// Vars at the start of every task (feed: {name: per_iteration}).
	IterationFeeds []string
	// Script, when set, is a user class of a Starlark script that runs
	// instead of steps (script: {file, user}); New, set by the script
	// loader (internal/script), makes its users. A .star scenario has only
	// such classes.
	Script *Script
	New    func() horde.User
	Pos    Pos
}

// Script names a function (or, for a class, a user class) of a Starlark
// script file (docs/scripting.md). The scenario parser records File, Name
// and Pos; the script loader (internal/script) compiles the file and sets
// Run for a task.
type Script struct {
	File string // as written, relative to the scenario's directory
	Name string // the function (task) or user class (class)
	Pos  Pos
	// Run calls the function for one user; vars are the user's variables,
	// shared with the YAML steps of its class.
	Run func(ctx context.Context, vu horde.VU, vars Vars) error
}

// Task is a weighted unit of work: one request or a sequence of requests.
type Task struct {
	Name   string
	Weight int
	Steps  []*Step
	Tags   []string // its own; the class's apply too
	Script *Script  // a script function instead of Steps (script: {file, function})
}

// Body kinds.
const (
	BodyNone = iota
	BodyJSON
	BodyForm
	BodyRaw
	BodyMultipart
)

// On failure policies of a step.
const (
	FailContinue = "continue"  // the task goes on with its next step (default)
	FailStopTask = "stop_task" // the rest of the task's steps are skipped
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
	// BasicUser and BasicPass are set for auth: {basic: [user, pass]} when
	// either is templated; a static pair is an Authorization header instead.
	BasicUser, BasicPass *Template
	// Cookies are sent with the request, beside (and before) the jar's.
	Cookies []Param
	// NoRedirect is follow_redirects: false: a 3xx answer is the response.
	NoRedirect bool
	// StopOnFailure is on_failure: stop_task: when this step fails, the rest
	// of its task (or of on_start, on_stop) is skipped.
	StopOnFailure bool
	// Sleep marks a think-time step (- sleep: 500ms or [200ms, 1s]): it
	// sends nothing and pauses for a uniform time in [SleepMin, SleepMax].
	Sleep              bool
	SleepMin, SleepMax time.Duration
	// Transport is how the request reaches its host (nil only for a sleep step); steps
	// with the same settings share one.
	Transport *Transport
	// Compression: send Accept-Encoding: gzip, deflate unless a header
	// sets one (compressed answers are decoded whatever it is).
	Compression bool
	Pos         Pos // where the step is defined
	// Script, when set, is a .star file's setup or teardown function,
	// run (once per test) in place of a request.
	Script *Script
	// WS and SSE, when set, make the step a WebSocket or server-sent
	// events step (parse_ws.go) instead of an HTTP request.
	WS  *WSStep
	SSE *SSEStep
	// GRPC, when set, makes this step a gRPC call (grpc:, parse_grpc.go)
	// instead of an HTTP request; Method is "GRPC".
	GRPC *GRPCCall
	// MQTT, when set, makes this step an MQTT step (parse_mqtt.go); Method is "MQTT".
	MQTT *MQTTStep
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
	// exactly one source is set by the compiler.
	kind   int            // captureJSON, captureHeader, captureCookie or captureRegex
	path   *jsonPath      // captureJSON
	header string         // captureHeader: the header name; captureCookie: the cookie name
	re     *regexp.Regexp // captureRegex; with captureHeader or captureCookie, applied to the value
	src    string         // the path, header name or pattern, for messages
	pos    Pos
}

// Check turns a response into a failure when it does not hold.
type Check struct {
	kind     int       // checkStatus, checkBodyContains, checkJSON, checkHeader or checkDuration
	statuses []int     // checkStatus
	text     string    // checkBodyContains; the JSON path for checkJSON; the name for checkHeader
	needle   []byte    // checkBodyContains
	path     *jsonPath // checkJSON
	want     any       // checkJSON: expected value, decoded with json.Number
	wantText string    // checkJSON: expected value as JSON text
	// cmp compares a JSON value (checkJSON with operators) or a header
	// (checkHeader) instead of want.
	cmp      []compare
	hasEqual bool          // checkHeader: equals is set (to equal)
	equal    string        // checkHeader
	max      time.Duration // checkDuration
	pos      Pos
	name     string // describe(), made once by the parser
}

// Name is the check's name in the checks summary and in a checks("...")
// threshold: the check as written, e.g. `status 200`, `body_contains
// "ok"`, `json "$.id" == 7`, `header "X-A" == "b"`, `max_duration 500ms`.
func (c *Check) Name() string { return c.name }

// Response is what checks and captures read of a response.
type Response interface {
	Status() int
	Header(name string) string // first value; "" when absent
	Body() []byte
	// Cookie is the value of the cookie the response sets (Set-Cookie).
	Cookie(name string) (string, bool)
	// Duration is how long the request took.
	Duration() time.Duration
}

// Vars are a user's variables: captured values and feeder rows. Templates
// read them as {{ .name }}; a feeder row's columns as {{ .feeder.column }}.
type Vars map[string]any

// Env is everything a template may read while rendering for one user.
// Template functions draw random numbers from the lock-free top-level
// math/rand/v2 functions, not from Rand, which is the user's own source for
// the engine (wait times, task choice, random feeders).
type Env struct {
	Vars   Vars
	Rand   *rand.Rand
	UserID int
	// Seq, when set, draws {{ seq }} values cluster-wide (a worker's
	// leases); nil: the process's own counter.
	Seq func() (int64, error)
}

// Template is a compiled template. It is immutable and safe for concurrent
// use; see template.go.
type Template struct {
	src    string // the source text (for a JSON or form body: the rendered static text when static)
	static bool
	single bool      // the text is exactly one action (the JSON-literal rule)
	ops    []op      // the fast path; nil when slow is set
	slow   *slowPath // text/template execution for constructs the fast path lacks
}

// Feeder is a CSV data source; rows are handed to users in order
// (mode "sequential", cycling), at random ("random"), or each row once
// ("unique"; a user that finds none left fails its on_start). It is safe
// for concurrent use; see feeder.go.
type Feeder struct {
	Name string
	// Prefetch is how many rows a worker of a distributed run leases
	// beyond what its waiting users need (the data: entry's prefetch).
	Prefetch int
	mode     string
	columns  []string
	rows     []map[string]string
	next     atomic.Uint64
}

// Options adjust loading.
type Options struct {
	// Host overrides the file's host (the CLI's -H). When both are empty,
	// the missing host is reported as an error at the top of the file.
	Host string
	// TLS is the command line's TLS settings, over the file's; checked by
	// TLSFlags.Check before.
	TLS TLSFlags
	// Tags and ExcludeTags select tasks as Locust's --tags and
	// --exclude-tags do (see Plan.selectTags).
	Tags, ExcludeTags []string
}

// Error is one problem at a place. Error() is "file:line:col: message".
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string {
	return e.Pos.String() + ": " + e.Msg
}

// String formats the place as "file:line:col" ("line:col" without a file).
func (p Pos) String() string {
	s := strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
	if p.File != "" {
		s = p.File + ":" + s
	}
	return s
}

// ErrorList is every problem found in a file; its Error() joins them one
// per line as "file:line:col: message".
type ErrorList []*Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}
