package web

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzSwarm posts arbitrary bodies to /swarm: the answer is never a 500, a
// refusal names the field, and what is accepted decodes the same again from
// its own encoding.
func FuzzSwarm(f *testing.F) {
	f.Add("user_count=10&spawn_rate=2&host=http://h&run_time=1h20m", form)
	f.Add("user_count=1&spawn_rate=1e308&run_time=9999999999d", form)
	f.Add("user_count=&spawn_rate=", form)
	f.Add("user_count=1;spawn_rate=1", form)
	f.Add("--B\r\nContent-Disposition: form-data; name=\"user_count\"\r\n\r\n3\r\n--B--\r\n", "multipart/form-data; boundary=B")
	f.Add("user_count=1&spawn_rate=1", "multipart/form-data")
	f.Add("user_count=1&spawn_rate=1&host=%3C%3E", "text/plain")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		rc := newFakeRun()
		s, err := New(rc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/swarm", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var reply struct {
			Success bool   `json:"success"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
			t.Fatalf("status %d, body %q: not JSON: %v", rec.Code, rec.Body, err)
		}
		switch rec.Code {
		case http.StatusOK:
			starts := rc.startsCopy()
			if len(starts) != 1 || !reply.Success {
				t.Fatalf("200 but starts %v, reply %+v", starts, reply)
			}
			sp := starts[0]
			if sp.Users < 0 || !(sp.SpawnRate > 0) || math.IsInf(sp.SpawnRate, 0) || sp.RunTime < 0 {
				t.Fatalf("accepted a bad spec %+v", sp)
			}
			again := url.Values{
				"user_count": {strconv.Itoa(sp.Users)},
				"spawn_rate": {strconv.FormatFloat(sp.SpawnRate, 'g', -1, 64)},
				"host":       {sp.Host},
			}
			if sp.RunTime > 0 {
				again.Set("run_time", sp.RunTime.String())
			}
			f2, ferr := decodeSwarm(again)
			if ferr != nil || !reflect.DeepEqual(f2.spec, sp) {
				t.Fatalf("round trip of %+v: got %+v, %v", sp, f2.spec, ferr)
			}
		case http.StatusBadRequest:
			if reply.Success || !hasFieldPrefix(reply.Message) {
				t.Fatalf("400 reply %+v does not name a field", reply)
			}
			if n := len(rc.startsCopy()); n != 0 {
				t.Fatalf("a refused request started %d runs", n)
			}
		default:
			t.Fatalf("status %d for %q (%s): %s", rec.Code, body, contentType, rec.Body)
		}
	})
}

// FuzzRunJSON posts arbitrary bodies to /api/v1/run: never a 500, every
// refusal lists errors that each name a field.
func FuzzRunJSON(f *testing.F) {
	f.Add(`{"users": 10, "spawn_rate": 2, "host": "https://x", "run_time": "90s"}`)
	f.Add(`{"users": 1, "spawn_rate": 1, "run_time": 1e300}`)
	f.Add(`{"users": 1e30, "spawn_rate": -0}`)
	f.Add(`{"users": 1, "spawn_rate": 1, "run_time": {}}`)
	f.Add(`{"users": 1, "spawn_rate": 1, "host": null}`)
	f.Add(`{"USERS": 1, "Spawn_Rate": 1}`)
	f.Add(`null`)
	f.Add(`{"users": 1, "spawn_rate": 1`)
	f.Fuzz(func(t *testing.T, body string) {
		rc := newFakeRun()
		s, err := New(rc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/api/v1/run", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			starts := rc.startsCopy()
			if len(starts) != 1 {
				t.Fatalf("200 but starts %v", starts)
			}
			if sp := starts[0]; sp.Users < 0 || !(sp.SpawnRate > 0) || sp.RunTime < 0 {
				t.Fatalf("accepted a bad spec %+v", sp)
			}
		case http.StatusBadRequest:
			var doc apiErrorsDoc
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatalf("400 body %q: %v", rec.Body, err)
			}
			if len(doc.Errors) == 0 {
				t.Fatalf("400 without errors: %s", rec.Body)
			}
			for _, e := range doc.Errors {
				if e.Field == "" || e.Detail == "" {
					t.Fatalf("error without a field or detail: %+v", e)
				}
			}
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}
