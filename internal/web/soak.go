package web

// GET /api/v1/soak: what the report shows at the end of a run about the
// system under test, while the run goes on: every recorded target series
// (memory, CPU, others) with the leak check's fitted line, the p95 with the
// degradation check's, and the running verdict of each threshold and check
// (pass, warn, inconclusive or fail, with its reason). The web UI's Soak tab
// draws it.

import (
	"net/http"
	"sync"
	"time"

	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
)

// soakBuckets bounds each series to about 2 × soakBuckets points (the
// lowest and highest of each time bucket), so a week of samples stays a
// small document that keeps the floor and the peaks.
const soakBuckets = 600

// soakCacheFor is how long one judgement serves every poll: judging a
// week of samples takes tens of milliseconds.
const soakCacheFor = 2 * time.Second

type apiSoakDoc struct {
	Time     string               `json:"time"`
	State    string               `json:"state"`
	Verdicts []soak.Verdict       `json:"verdicts"`
	Charts   []report.TargetChart `json:"charts"`
	// P95Trend is the degradation check's fitted line over the p95 (ms);
	// absent when it fitted none.
	P95Trend *apiTrend `json:"p95_trend,omitempty"`
	// Overall is the worst status of the verdicts; empty before the run
	// has data (no verdict before data).
	Overall soak.Status `json:"overall"`
	// Baseline is the run so far against its --baseline runs: "compared
	// with the last N runs" (absent without a baseline).
	Baseline *compare.Summary `json:"baseline,omitempty"`
}

type apiTrend struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	Start       float64 `json:"start"`
	SlopePerSec float64 `json:"slope_per_sec"`
	Note        string  `json:"note"`
}

type soakCache struct {
	mu  sync.Mutex
	at  time.Time
	doc apiSoakDoc
}

func (s *Server) apiSoak(w http.ResponseWriter, r *http.Request) {
	c := &s.soak
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); c.at.IsZero() || now.Sub(c.at) >= soakCacheFor {
		c.doc, c.at = s.soakDoc(now), now
	}
	writeJSON(w, http.StatusOK, c.doc)
}

func (s *Server) soakDoc(now time.Time) apiSoakDoc {
	snap := s.rc.Snapshot()
	info := s.reportInfo(snap)
	doc := apiSoakDoc{Time: now.UTC().Format(time.RFC3339Nano), State: s.rc.State(), Verdicts: info.Verdicts, Overall: soak.Pass, Baseline: info.Baseline}
	if snap == nil || snap.Total.Requests == 0 {
		// No verdict before data: nothing has been judged yet, and a
		// "pass" badge on a run that has not started would be a lie.
		doc.Verdicts, doc.Overall = nil, ""
	}
	if doc.Verdicts == nil {
		doc.Verdicts = []soak.Verdict{}
	}
	for _, v := range doc.Verdicts {
		if worse(v.Status, doc.Overall) {
			doc.Overall = v.Status
		}
	}
	ts := make([]report.TargetSeries, len(info.Target))
	for i, t := range info.Target {
		t.Points = series.Thin(t.Points, soakBuckets)
		ts[i] = t
	}
	doc.Charts = report.TargetCharts(ts)
	if doc.Charts == nil {
		doc.Charts = []report.TargetChart{}
	}
	if tr := info.P95Trend; tr != nil {
		doc.P95Trend = &apiTrend{From: tr.From.UTC().Format(time.RFC3339Nano), To: tr.To.UTC().Format(time.RFC3339Nano),
			Start: tr.Start, SlopePerSec: tr.SlopePerSec, Note: tr.Note}
	}
	return doc
}

// worse orders the statuses: fail > warn > inconclusive > pass.
func worse(a, b soak.Status) bool {
	rank := func(s soak.Status) int {
		switch s {
		case soak.Fail:
			return 3
		case soak.Warn:
			return 2
		case soak.Inconclusive:
			return 1
		}
		return 0
	}
	return rank(a) > rank(b)
}
