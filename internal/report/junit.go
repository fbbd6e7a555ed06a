package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// JUnit XML, as CI systems read it (Jenkins, GitLab, GitHub Actions
// reporters): the schema of Ant's JUnit task, the common subset they share.
// One <testsuite> per run; one <testcase> per threshold and per check; a
// last one, "exit code", holds the run's outcome.

type junitSuites struct {
	XMLName xml.Name `xml:"testsuites"`
	Name    string   `xml:"name,attr"`
	junitCounts
	Suites []junitSuite `xml:"testsuite"`
}

// junitCounts are the attributes a suite and the suites share.
type junitCounts struct {
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Skipped  int    `xml:"skipped,attr"`
	Time     string `xml:"time,attr"`
}

type junitSuite struct {
	Name string `xml:"name,attr"`
	junitCounts
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes info's verdicts as JUnit XML, one test suite named
// suite ("horde run seed-api.yaml"). Each threshold and check is a test
// case of class horde.threshold or horde.check, named by its verdict's
// name: pass passes; warn passes with the reason in <system-out>;
// inconclusive is <skipped> (the data cannot tell); fail is a <failure>
// whose message is the reason. The last case, horde.outcome "exit code",
// fails when info.ExitCode is not 0, so a run failed by its requests
// (Locust's rule, no threshold) fails the suite too. s, when not nil,
// gives that failure's figures.
func WriteJUnit(w io.Writer, suite string, info Info, s *stats.Snapshot) error {
	secs := 0.0
	if !info.Start.IsZero() && info.End.After(info.Start) {
		secs = info.End.Sub(info.Start).Seconds()
	}
	ts := ""
	if !info.Start.IsZero() {
		ts = info.Start.UTC().Format(time.RFC3339)
	}
	su := junitSuite{Name: suite, junitCounts: junitCounts{Time: junitSeconds(secs)}, Timestamp: ts}
	for _, p := range []junitProperty{
		{"scenario", info.ScenarioFile}, {"host", info.Host}, {"exit_code", strconv.Itoa(info.ExitCode)},
	} {
		if p.Value != "" {
			su.Properties = append(su.Properties, p)
		}
	}
	failedVerdicts := 0
	for _, v := range info.Verdicts {
		c := junitCase{Name: v.Name, Classname: "horde." + v.Kind, Time: "0"}
		switch v.Status {
		case soak.Fail:
			c.Failure = &junitMessage{Message: v.Reason, Type: v.Kind, Text: v.Reason}
			su.Failures++
			failedVerdicts++
		case soak.Inconclusive:
			c.Skipped = &junitMessage{Message: "inconclusive: " + v.Reason}
			su.Skipped++
		case soak.Warn:
			c.SystemOut = "warn: " + v.Reason
		default:
			c.SystemOut = string(v.Status) + ": " + v.Reason
		}
		su.Cases = append(su.Cases, c)
	}
	out := junitCase{Name: "exit code", Classname: "horde.outcome", Time: junitSeconds(secs)}
	if info.ExitCode != 0 {
		msg := fmt.Sprintf("exit code %d", info.ExitCode)
		switch {
		case failedVerdicts > 0:
			msg += fmt.Sprintf(": %d of %d thresholds and checks failed", failedVerdicts, len(info.Verdicts))
		case s != nil && s.Total.Failures > 0:
			msg += fmt.Sprintf(": %d of %d requests failed", s.Total.Failures, s.Total.Requests)
		case len(info.Exceptions) > 0:
			msg += fmt.Sprintf(": %d errors raised by user code", len(info.Exceptions))
		}
		out.Failure = &junitMessage{Message: msg, Type: "outcome", Text: msg}
		su.Failures++
	} else {
		out.SystemOut = "exit code 0"
	}
	su.Cases = append(su.Cases, out)
	su.Tests = len(su.Cases)
	doc := junitSuites{Name: "horde", junitCounts: junitCounts{Tests: su.Tests, Failures: su.Failures, Skipped: su.Skipped, Time: su.Time},
		Suites: []junitSuite{su}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitSeconds formats seconds as JUnit's time attribute (decimal, ms).
func junitSeconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }
