package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// parsedCase is what a CI reader takes from a <testcase>.
type parsedCase struct {
	Classname string `xml:"classname,attr"`
	Name      string `xml:"name,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
	SystemOut string `xml:"system-out"`
}

type parsedSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Time       string `xml:"time,attr"`
		Timestamp  string `xml:"timestamp,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []parsedCase `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestWriteJUnit(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	info := Info{
		ScenarioFile: "s.yaml", Host: "http://t", Start: start, End: start.Add(90 * time.Second), ExitCode: 1,
		Verdicts: []soak.Verdict{
			{Kind: "threshold", Name: "p95 < 1ms", Status: soak.Fail, Reason: "p95 < 1ms: actual 12ms <&> 1ms"},
			{Kind: "threshold", Name: "error_rate < 1%", Status: soak.Pass, Reason: "error_rate < 1%: actual 0%"},
			{Kind: "check", Name: "memory leak (rss)", Status: soak.Inconclusive, Reason: "too short"},
			{Kind: "check", Name: "latency drift", Status: soak.Warn, Reason: "p95 rose 5%"},
		},
	}
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, "horde run s.yaml", info, &stats.Snapshot{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), xml.Header) {
		t.Errorf("no XML header:\n%s", buf.String())
	}
	var doc parsedSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if doc.Tests != 5 || doc.Failures != 2 || doc.Skipped != 1 || len(doc.Suites) != 1 {
		t.Fatalf("testsuites: tests %d failures %d skipped %d suites %d; want 5, 2, 1, 1", doc.Tests, doc.Failures, doc.Skipped, len(doc.Suites))
	}
	su := doc.Suites[0]
	if su.Name != "horde run s.yaml" || su.Time != "90.000" || su.Timestamp != "2026-05-01T12:00:00Z" || su.Tests != 5 || su.Failures != 2 || su.Skipped != 1 {
		t.Errorf("testsuite: %+v", su)
	}
	props := map[string]string{}
	for _, p := range su.Properties {
		props[p.Name] = p.Value
	}
	if diff := cmp.Diff(map[string]string{"scenario": "s.yaml", "host": "http://t", "exit_code": "1"}, props); diff != "" {
		t.Errorf("properties (-want +got):\n%s", diff)
	}
	type row struct{ Class, Name, Failure, Skipped, Out string }
	var got []row
	for _, c := range su.Cases {
		r := row{Class: c.Classname, Name: c.Name, Out: c.SystemOut}
		if c.Failure != nil {
			r.Failure = c.Failure.Message
			if c.Failure.Text != c.Failure.Message {
				t.Errorf("%s: failure text %q, message %q", c.Name, c.Failure.Text, c.Failure.Message)
			}
		}
		if c.Skipped != nil {
			r.Skipped = c.Skipped.Message
		}
		got = append(got, r)
	}
	want := []row{
		{"horde.threshold", "p95 < 1ms", "p95 < 1ms: actual 12ms <&> 1ms", "", ""},
		{"horde.threshold", "error_rate < 1%", "", "", "pass: error_rate < 1%: actual 0%"},
		{"horde.check", "memory leak (rss)", "", "inconclusive: too short", ""},
		{"horde.check", "latency drift", "", "", "warn: p95 rose 5%"},
		{"horde.outcome", "exit code", "exit code 1: 1 of 4 thresholds and checks failed", "", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("test cases (-want +got):\n%s", diff)
	}
}

// A run failed by its requests alone (no threshold) fails the outcome case.
func TestWriteJUnit_RequestFailures(t *testing.T) {
	var buf bytes.Buffer
	s := &stats.Snapshot{Total: stats.Entry{Requests: 10, Failures: 3}}
	if err := WriteJUnit(&buf, "horde run", Info{ExitCode: 1}, s); err != nil {
		t.Fatal(err)
	}
	var doc parsedSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	cs := doc.Suites[0].Cases
	if len(cs) != 1 || cs[0].Failure == nil || cs[0].Failure.Message != "exit code 1: 3 of 10 requests failed" {
		t.Errorf("cases %+v", cs)
	}
	buf.Reset()
	if err := WriteJUnit(&buf, "horde run", Info{}, s); err != nil {
		t.Fatal(err)
	}
	doc = parsedSuites{}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil || doc.Failures != 0 || doc.Tests != 1 {
		t.Errorf("exit 0: %v %+v", err, doc)
	}
}
