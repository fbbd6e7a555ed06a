package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/scenario"
)

// FieldError is a bad request field: Field names it ("user_count",
// "spawn_rate", ... or "body" for the request as a whole).
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Detail }

// runTimeFormats is Locust's hint for a bad run_time.
const runTimeFormats = "valid run_time formats are: 20, 20s, 3m, 2h, 1h20m, 3h30m10s, 7d"

// readForm parses the body of a POST /swarm: URL-encoded or multipart form
// data, at most maxBody bytes. A malformed body is a FieldError for "body".
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *FieldError) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxBody)
		if r.MultipartForm != nil {
			defer r.MultipartForm.RemoveAll()
		}
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		return nil, &FieldError{Field: "body", Detail: "not a form: " + err.Error()}
	}
	return r.PostForm, nil
}

// swarmForm is a decoded POST /swarm.
type swarmForm struct {
	spec         cluster.RunSpec
	runTimeGiven bool
}

// decodeSwarm reads Locust's /swarm fields: user_count (int, required),
// spawn_rate (float, required), host (optional; < and > are stripped) and
// run_time (optional; empty is ignored). Other fields are ignored, as Locust
// ignores unknown ones. The first bad field is returned.
func decodeSwarm(form url.Values) (swarmForm, *FieldError) {
	var f swarmForm
	users, ferr := formField(form, "user_count", true)
	if ferr != nil {
		return f, ferr
	}
	if f.spec.Users, ferr = parseUsers("user_count", users); ferr != nil {
		return f, ferr
	}
	rate, ferr := formField(form, "spawn_rate", true)
	if ferr != nil {
		return f, ferr
	}
	if f.spec.SpawnRate, ferr = parseRate("spawn_rate", rate); ferr != nil {
		return f, ferr
	}
	host, _ := formField(form, "host", false)
	host = strings.NewReplacer("<", "", ">", "").Replace(host)
	if f.spec.Host, ferr = parseHost("host", host); ferr != nil {
		return f, ferr
	}
	if rt, _ := formField(form, "run_time", false); rt != "" {
		d, err := scenario.ParseDuration(rt)
		if err != nil {
			return f, &FieldError{Field: "run_time", Detail: err.Error() + "; " + runTimeFormats}
		}
		f.spec.RunTime, f.runTimeGiven = d, true
	}
	for _, c := range form["user_classes"] {
		if c = strings.TrimSpace(c); c != "" {
			f.spec.Classes = append(f.spec.Classes, c)
		}
	}
	return f, nil
}

// formField returns the trimmed first value of name.
func formField(form url.Values, name string, required bool) (string, *FieldError) {
	v := strings.TrimSpace(form.Get(name))
	if v == "" && required {
		return "", &FieldError{Field: name, Detail: "required"}
	}
	return v, nil
}

func parseUsers(field, s string) (int, *FieldError) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, &FieldError{Field: field, Detail: fmt.Sprintf("must be an integer, got %q", s)}
	}
	if n < 0 {
		return 0, &FieldError{Field: field, Detail: "must be >= 0"}
	}
	return n, nil
}

func parseRate(field, s string) (float64, *FieldError) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, &FieldError{Field: field, Detail: fmt.Sprintf("must be a number, got %q", s)}
	}
	return checkRate(field, f)
}

func checkRate(field string, f float64) (float64, *FieldError) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return 0, &FieldError{Field: field, Detail: "must be a number > 0"}
	}
	return f, nil
}

// parseHost accepts "" (keep the configured host) or an http(s) URL with a
// host, or an MQTT broker's (mqtt://, mqtts://) for scenarios of MQTT devices.
func parseHost(field, s string) (string, *FieldError) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mqtt" && u.Scheme != "mqtts") || u.Host == "" {
		return "", &FieldError{Field: field, Detail: fmt.Sprintf("want an http://, https://, mqtt:// or mqtts:// URL, got %q", s)}
	}
	return s, nil
}

// runRequest is the body of POST /api/v1/run.
type runRequest struct {
	Users     *int            `json:"users"`
	SpawnRate *float64        `json:"spawn_rate"`
	Host      *string         `json:"host"`
	RunTime   json.RawMessage `json:"run_time"` // "90s", "1h30m", or seconds as a number
	// Iterations per user (-i) and the user classes to run (none: all).
	Iterations  *int     `json:"iterations"`
	UserClasses []string `json:"user_classes"`
}

// decodeRun reads a POST /api/v1/run body: one JSON object with users
// (required, >= 0), spawn_rate (required, > 0), host and run_time; unknown
// fields are refused. It returns every problem found.
func decodeRun(body io.Reader) (cluster.RunSpec, []*FieldError) {
	var req runRequest
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return cluster.RunSpec{}, []*FieldError{jsonError(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return cluster.RunSpec{}, []*FieldError{{Field: "body", Detail: "want one JSON object, found more after it"}}
	}
	var (
		spec cluster.RunSpec
		errs []*FieldError
	)
	switch {
	case req.Users == nil:
		errs = append(errs, &FieldError{Field: "users", Detail: "required"})
	case *req.Users < 0:
		errs = append(errs, &FieldError{Field: "users", Detail: "must be >= 0"})
	default:
		spec.Users = *req.Users
	}
	if req.SpawnRate == nil {
		errs = append(errs, &FieldError{Field: "spawn_rate", Detail: "required"})
	} else if r, ferr := checkRate("spawn_rate", *req.SpawnRate); ferr != nil {
		errs = append(errs, ferr)
	} else {
		spec.SpawnRate = r
	}
	if req.Host != nil {
		h, ferr := parseHost("host", strings.TrimSpace(*req.Host))
		if ferr != nil {
			errs = append(errs, ferr)
		}
		spec.Host = h
	}
	if d, ferr := decodeRunTime(req.RunTime); ferr != nil {
		errs = append(errs, ferr)
	} else {
		spec.RunTime = d
	}
	if req.Iterations != nil {
		if *req.Iterations < 0 {
			errs = append(errs, &FieldError{Field: "iterations", Detail: "must be >= 0"})
		} else {
			spec.Iterations = *req.Iterations
		}
	}
	spec.Classes = req.UserClasses
	if len(errs) > 0 {
		return cluster.RunSpec{}, errs
	}
	return spec, nil
}

// decodeRunTime reads run_time: absent or null (until stopped), a duration
// string, or a number of seconds.
func decodeRunTime(raw json.RawMessage) (time.Duration, *FieldError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, &FieldError{Field: "run_time", Detail: "want a duration string or a number of seconds"}
		}
		if strings.TrimSpace(s) == "" {
			return 0, nil
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, &FieldError{Field: "run_time", Detail: "want a duration string or a number of seconds"}
		}
		s = n.String()
	}
	d, err := scenario.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, &FieldError{Field: "run_time", Detail: err.Error()}
	}
	return d, nil
}

// jsonError turns a decoding error into a FieldError naming the field when
// the decoder knows it.
func jsonError(err error) *FieldError {
	var (
		typeErr *json.UnmarshalTypeError
		maxErr  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &maxErr):
		return &FieldError{Field: "body", Detail: fmt.Sprintf("larger than %d bytes", maxErr.Limit)}
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return &FieldError{Field: typeErr.Field, Detail: "want " + jsonType(typeErr.Field) + ", got " + typeErr.Value}
	case errors.As(err, &typeErr):
		return &FieldError{Field: "body", Detail: "want a JSON object, got " + typeErr.Value}
	case errors.Is(err, io.EOF):
		return &FieldError{Field: "body", Detail: "empty; want a JSON object"}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		if f, err := strconv.Unquote(name); err == nil {
			if f == "" {
				f = name // `""`: still names it
			}
			return &FieldError{Field: f, Detail: "unknown field (want users, spawn_rate, host, run_time)"}
		}
	}
	return &FieldError{Field: "body", Detail: "not valid JSON: " + strings.TrimPrefix(msg, "json: ")}
}

// jsonType describes what a field of runRequest takes.
func jsonType(field string) string {
	switch field {
	case "users":
		return "an integer"
	case "spawn_rate":
		return "a number"
	case "host":
		return "a string"
	}
	return "another type"
}
