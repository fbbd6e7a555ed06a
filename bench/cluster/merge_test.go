// Package cluster benchmarks the cost of distributed statistics: what a
// master spends to merge worker reports, and what a worker spends to make
// one. See README.md for the commands and docs/cluster.md for the numbers.
package cluster

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/horde-load/horde/internal/cluster"
	pb "github.com/horde-load/horde/internal/cluster/clusterpb"
	"github.com/horde-load/horde/internal/cluster/rpc"
	"github.com/horde-load/horde/internal/stats"
)

const (
	workers       = 500
	names         = 20
	reportEvery   = 2 * time.Second
	perNamePerRep = 500 // requests per name per report: 5,000 rps per worker
)

// record fills a recorder with one report's worth of samples.
func record(r *stats.Recorder, rng *rand.Rand) {
	for n := range names {
		name := fmt.Sprintf("/api/endpoint/%d", n)
		for range perNamePerRep {
			// log-normal around 20 ms, with a tail
			d := time.Duration(float64(20*time.Millisecond) * expNorm(rng))
			fail := ""
			if rng.IntN(1000) == 0 {
				fail = "HTTP 500"
			}
			r.Record(rng.IntN(16), &stats.Sample{Method: "GET", Name: name, Duration: d, Bytes: 1024, WireBytes: 1024, Failure: fail})
		}
	}
}

func expNorm(rng *rand.Rand) float64 {
	x := rng.NormFloat64() * 0.6
	if x > 5 {
		x = 5
	}
	return float64(1) * exp(x)
}

func exp(x float64) float64 {
	// small wrapper to keep math out of the hot loop's imports list
	r, term := 1.0, 1.0
	for i := 1; i < 20; i++ {
		term *= x / float64(i)
		r += term
	}
	return r
}

// wireReports makes k distinct reports as a worker sends them.
func wireReports(b *testing.B, k int) [][]byte {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][]byte, k)
	for i := range k {
		rec := stats.NewRecorder(16)
		record(rec, rng)
		iv := rec.Flush(time.Now(), time.Now())
		p, err := rpc.ReportToPB(&cluster.Report{Seq: uint64(i + 1), RunID: "r", Interval: iv})
		if err != nil {
			b.Fatal(err)
		}
		out[i], err = proto.Marshal(p)
		if err != nil {
			b.Fatal(err)
		}
	}
	return out
}

// BenchmarkMasterMerge is the master's cost per report: unmarshal, decode
// the histograms, merge into the tick's interval; plus, once per tick (one
// second: 250 reports from 500 workers every 2 s), Stats.Add and a snapshot.
func BenchmarkMasterMerge(b *testing.B) {
	reps := wireReports(b, 50)
	perTick := int(float64(workers) / reportEvery.Seconds())
	st := stats.New(time.Now())
	pending := &stats.Interval{}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var msg pb.Report
		if err := proto.Unmarshal(reps[i%len(reps)], &msg); err != nil {
			b.Fatal(err)
		}
		r, err := rpc.ReportFromPB(&msg)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.MergeInto(pending); err != nil {
			b.Fatal(err)
		}
		if (i+1)%perTick == 0 {
			pending.Start, pending.End = now, now.Add(time.Second)
			now = now.Add(time.Second)
			st.Add(pending)
			st.Snapshot(now)
			pending = &stats.Interval{}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}

// BenchmarkWorkerReport is a worker's cost per report: flush the recorder,
// encode the histograms, marshal (recording the samples is not counted).
func BenchmarkWorkerReport(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	rec := stats.NewRecorder(16)
	b.ReportAllocs()
	var bytes int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		record(rec, rng)
		b.StartTimer()
		iv := rec.Flush(time.Now(), time.Now())
		p, err := rpc.ReportToPB(&cluster.Report{Seq: uint64(i + 1), RunID: "r", Interval: iv})
		if err != nil {
			b.Fatal(err)
		}
		buf, err := proto.Marshal(p)
		if err != nil {
			b.Fatal(err)
		}
		bytes = len(buf)
	}
	b.ReportMetric(float64(bytes), "bytes/report")
}
