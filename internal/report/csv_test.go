package report

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/horde-load/horde/internal/stats"
)

// Headers copied from LOCUST.md (Locust 2.x).
const (
	// hordeStatsColumns follow Locust's in the stats CSV.
	hordeStatsColumns      = "Bytes Sent,Bytes Received,Connecting Avg,Connecting Max,TLS Handshaking Avg,TLS Handshaking Max,Waiting Avg,Waiting Max,Receiving Avg,Receiving Max"
	locustStatsHeader      = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
	locustFailuresHeader   = "Method,Name,Error,Occurrences"
	locustExceptionsHeader = "Count,Message,Traceback,Nodes"
	locustHistoryHeader    = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size"
)

// lines splits CSV output on "\r\n" after checking that every line ends so.
func lines(t *testing.T, out string) []string {
	t.Helper()
	if !strings.HasSuffix(out, "\r\n") {
		t.Fatalf("output %q does not end with \\r\\n", out)
	}
	return strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
}

func TestWriteStatsCSV(t *testing.T) {
	var b strings.Builder
	if err := WriteStatsCSV(&b, testSnapshot()); err != nil {
		t.Fatal(err)
	}
	got := lines(t, b.String())
	want := []string{
		locustStatsHeader + "," + hordeStatsColumns,
		`POST,"/api/a,""b""",10,0,2,2.0,1.5,3.0,12.0,0.25,0.0,2,2,2,2,3,3,3,3,3,3,3,0,0,0,0,0,0,0,0,0,0`,
		`GET,/api/items,100,2,10,12.5,0.7513569998991443,250.5,1234.0,10.0,0.2,10,12,15,18,30,60,100,150,240,251,251,9000,140000,0.25,0.5,2.5,3.0,11.5,240.0,0.75,10.0`,
		`GET,/empty,0,0,0,0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0,0,0,0,0,0,0,0,0`,
		`,Aggregated,110,2,10,11.545454545454545,0.7513569998991443,250.5,1122.909090909091,10.25,0.2,10,12,15,17,29,58,100,149,240,251,251,9000,140000,0.25,0.5,2.5,3.0,11.5,240.0,0.75,10.0`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats csv mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteStatsCSV_noRequests(t *testing.T) {
	s := &stats.Snapshot{Total: stats.Entry{Name: "Aggregated"}}
	var b strings.Builder
	if err := WriteStatsCSV(&b, s); err != nil {
		t.Fatal(err)
	}
	got := lines(t, b.String())
	want := []string{
		locustStatsHeader + "," + hordeStatsColumns,
		",Aggregated,0,0,0,0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0,0,0,0,0,0,0,0,0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats csv mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteFailuresCSV(t *testing.T) {
	s := testSnapshot()
	s.Errors = append(s.Errors, stats.Error{Method: "POST", Name: `/api/a,"b"`, Message: `ConnectionError("refused")`, Occurrences: 1})
	var b strings.Builder
	if err := WriteFailuresCSV(&b, s); err != nil {
		t.Fatal(err)
	}
	got := lines(t, b.String())
	want := []string{
		locustFailuresHeader,
		`GET,/api/items,HTTPError('404 Client Error: Not Found for url: /api/items'),2`,
		`POST,"/api/a,""b""","ConnectionError(""refused"")",1`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failures csv mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteExceptionsCSV(t *testing.T) {
	tests := []struct {
		name string
		ex   []stats.Exception
		want string
	}{
		{"none", nil, locustExceptionsHeader + "\r\n"},
		{
			"multi-line traceback",
			testExceptions(),
			locustExceptionsHeader + "\r\n" +
				`3,"ValueError(""bad, value"")","Traceback (most recent call last):` + "\r\n" +
				`  File ""x"", line 1` + "\r\n" + `ValueError","worker-1,worker-2"` + "\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteExceptionsCSV(&b, tt.ex); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			// And a CSV reader gets the fields back.
			recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(tt.ex)+1 {
				t.Fatalf("got %d records, want %d", len(recs), len(tt.ex)+1)
			}
			for i, e := range tt.ex {
				if got := recs[i+1][2]; got != e.Traceback {
					t.Errorf("traceback read back as %q, want %q", got, e.Traceback)
				}
			}
		})
	}
}

func TestHistoryCSV_Row(t *testing.T) {
	tests := []struct {
		name string
		full bool
		want []string
	}{
		{
			name: "aggregated only, cumulative percentiles",
			full: false,
			want: []string{
				locustHistoryHeader,
				`1714564865,20,,Aggregated,13.000000,0.100000,10,12,15,17,29,58,100,149,240,251,251,110,2,10,11.545454545454545,0.7513569998991443,250.5,1122.909090909091`,
				`1714564865,20,,Aggregated,13.000000,0.100000,10,12,15,17,29,58,100,149,240,251,251,110,2,10,11.545454545454545,0.7513569998991443,250.5,1122.909090909091`,
			},
		},
		{
			name: "full history, current percentiles",
			full: true,
			want: []string{
				locustHistoryHeader,
				`1714564865,20,POST,"/api/a,""b""",0.500000,0.000000,2,2,2,2,2,2,2,2,2,2,2,10,0,2,2.0,1.5,3.0,12.0`,
				`1714564865,20,GET,/api/items,12.500000,0.100000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,100,2,10,12.5,0.7513569998991443,250.5,1234.0`,
				`1714564865,20,GET,/empty,0.000000,0.000000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0,0,0,0,0,0`,
				`1714564865,20,,Aggregated,13.000000,0.100000,2,4,6,8,10,12,14,16,18,20,22,110,2,10,11.545454545454545,0.7513569998991443,250.5,1122.909090909091`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			h := NewHistoryCSV(&b, tt.full)
			if err := h.Row(testSnapshot(), 20); err != nil {
				t.Fatal(err)
			}
			if !tt.full {
				// A second moment: the header is not repeated.
				if err := h.Row(testSnapshot(), 20); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tt.want, lines(t, b.String())); diff != "" {
				t.Errorf("history csv mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
