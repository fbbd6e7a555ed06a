//go:build e2e

package e2e

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// junitDoc is what a CI system reads of a JUnit XML file.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: not JUnit XML: %v\n%s", path, err, b)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%s: %d test suites, want 1\n%s", path, len(doc.Suites), b)
	}
	return doc
}

// caseResults maps "classname/name" to "" (passed) or the failure's message.
func caseResults(doc junitDoc) map[string]string {
	out := map[string]string{}
	for _, c := range doc.Suites[0].Cases {
		msg := ""
		if c.Failure != nil {
			msg = "FAIL " + c.Failure.Message
		}
		out[c.Classname+"/"+c.Name] = msg
	}
	return out
}

// --junit writes the thresholds and checks as JUnit test cases: a passing
// threshold passes, a failing one fails with its reason, and so does the
// outcome; horde analyze and horde report write the same from the run file.
func TestJUnit_RunAnalyzeReport(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "j.yaml", "users:\n  - name: a\n    tasks:\n      - get: /delay/20\n        name: slow\n")
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-H", host, "-u", "2", "-r", "10", "-t", "3s",
		"--only-summary", "--runs-dir", "runs", "--threshold", "error_rate < 1%", "--threshold", "p95 < 5ms",
		"--junit", "out/junit.xml")
	if code := p.wait(t, 30*time.Second); code != 1 {
		t.Fatalf("run: exit code %d, want 1 (a failed threshold)\n%s\n%s", code, p.stdout, p.stderr)
	}
	doc := readJUnit(t, filepath.Join(dir, "out", "junit.xml"))
	su := doc.Suites[0]
	if su.Name != "horde run j.yaml" {
		t.Errorf("suite name %q, want \"horde run j.yaml\"", su.Name)
	}
	got := caseResults(doc)
	if got["horde.threshold/error_rate < 1%"] != "" {
		t.Errorf("error_rate < 1%%: %q, want a pass", got["horde.threshold/error_rate < 1%"])
	}
	if f := got["horde.threshold/p95 < 5ms"]; !strings.HasPrefix(f, "FAIL p95 < 5ms") || !strings.Contains(f, "actual") {
		t.Errorf("p95 < 5ms: %q, want a failure with the actual value", f)
	}
	if f := got["horde.outcome/exit code"]; !strings.HasPrefix(f, "FAIL exit code 1") {
		t.Errorf("exit code: %q, want a failure", f)
	}
	if doc.Failures != 2 || su.Failures != 2 || su.Tests != len(su.Cases) || su.Tests < 3 {
		t.Errorf("counts: %d failures (suite %d), %d tests of %d cases; want 2 failures", doc.Failures, su.Failures, su.Tests, len(su.Cases))
	}
	for k := range got {
		if strings.HasPrefix(k, "horde.check/") {
			t.Logf("check case %s: %q", k, got[k])
		}
	}

	path := runFileOf(t, p, dir)
	code, out, errOut := hordeIn(t, dir, "analyze", path, "--junit", "analyze.xml", "--threshold", "p95 < 10s")
	if code != 1 {
		t.Errorf("analyze: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	ad := caseResults(readJUnit(t, filepath.Join(dir, "analyze.xml")))
	if ad["horde.threshold/p95 < 10s"] != "" || !strings.HasPrefix(ad["horde.threshold/p95 < 5ms"], "FAIL") || !strings.HasPrefix(ad["horde.outcome/exit code"], "FAIL exit code 1") {
		t.Errorf("analyze's JUnit: %v", ad)
	}
	code, _, errOut = hordeIn(t, dir, "report", path, "-o", "r.html", "--junit", "report.xml")
	if code != 0 {
		t.Errorf("report: exit %d\n%s", code, errOut)
	}
	rd := caseResults(readJUnit(t, filepath.Join(dir, "report.xml")))
	if !strings.HasPrefix(rd["horde.threshold/p95 < 5ms"], "FAIL") || rd["horde.threshold/error_rate < 1%"] != "" {
		t.Errorf("report's JUnit: %v", rd)
	}

	// A passing run: every case passes.
	p = start(t, dir, nil, hordeBin, "run", file, "--headless", "-H", host, "-u", "1", "-r", "10", "-t", "2s",
		"--only-summary", "--runs-dir", "runs", "--threshold", "p95 < 10s", "--junit", "pass.xml")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("passing run: exit code %d\n%s\n%s", code, p.stdout, p.stderr)
	}
	pd := readJUnit(t, filepath.Join(dir, "pass.xml"))
	if pd.Failures != 0 || caseResults(pd)["horde.threshold/p95 < 10s"] != "" {
		t.Errorf("passing run's JUnit: %d failures, %v", pd.Failures, caseResults(pd))
	}

	// An unwritable --junit is bad input, naming the flag.
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = hordeIn(t, dir, "report", path, "-o", "r2.html", "--junit", "file/x.xml")
	if code == 0 || !strings.Contains(errOut, "--junit") {
		t.Errorf("report --junit file/x.xml: exit %d, want an error naming --junit\n%s", code, errOut)
	}
}
