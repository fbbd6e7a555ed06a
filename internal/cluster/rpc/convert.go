package rpc

import (
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/horde-load/horde/internal/cluster"
	pb "github.com/horde-load/horde/internal/cluster/clusterpb"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/shape"
	"github.com/horde-load/horde/internal/stats"
)

// The conversions between cluster's messages and the wire's. Histograms
// travel as their populated buckets (value deltas and counts); a report
// from an older worker may carry HdrHistogram's V2 encoding instead
// (Entry.histogram), which is still read.

func ms(d time.Duration) int64   { return d.Milliseconds() }
func dur(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

func ints64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func ints(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// WorkerToPB converts a worker's message for the wire.
func WorkerToPB(m *cluster.WorkerMessage) (*pb.WorkerMessage, error) {
	switch {
	case m.Join != nil:
		j := m.Join
		return &pb.WorkerMessage{Body: &pb.WorkerMessage_Join{Join: &pb.Join{
			WorkerId: j.WorkerID, Hostname: j.Hostname, Version: j.Version, Protocol: uint32(j.Protocol), Token: j.Token,
		}}}, nil
	case m.Heartbeat != nil:
		return &pb.WorkerMessage{Body: &pb.WorkerMessage_Heartbeat{Heartbeat: &pb.Heartbeat{Status: statusToPB(&m.Heartbeat.Status)}}}, nil
	case m.Report != nil:
		r, err := ReportToPB(m.Report)
		if err != nil {
			return nil, err
		}
		return &pb.WorkerMessage{Body: &pb.WorkerMessage_Report{Report: r}}, nil
	case m.Lease != nil:
		return leaseRequestToPB(m.Lease), nil
	case m.Return != nil:
		return leaseReturnToPB(m.Return), nil
	case m.Goodbye != nil:
		return &pb.WorkerMessage{Body: &pb.WorkerMessage_Goodbye{Goodbye: &pb.Goodbye{Reason: m.Goodbye.Reason}}}, nil
	}
	return nil, fmt.Errorf("empty worker message")
}

// WorkerFromPB converts a worker's message from the wire.
func WorkerFromPB(m *pb.WorkerMessage) (*cluster.WorkerMessage, error) {
	switch b := m.Body.(type) {
	case *pb.WorkerMessage_Join:
		j := b.Join
		return &cluster.WorkerMessage{Join: &cluster.Join{
			WorkerID: j.WorkerId, Hostname: j.Hostname, Version: j.Version, Protocol: int(j.Protocol), Token: j.Token,
		}}, nil
	case *pb.WorkerMessage_Heartbeat:
		return &cluster.WorkerMessage{Heartbeat: &cluster.Heartbeat{Status: statusFromPB(b.Heartbeat.GetStatus())}}, nil
	case *pb.WorkerMessage_Report:
		r, err := ReportFromPB(b.Report)
		if err != nil {
			return nil, err
		}
		return &cluster.WorkerMessage{Report: r}, nil
	case *pb.WorkerMessage_LeaseRequest:
		return leaseRequestFromPB(b.LeaseRequest), nil
	case *pb.WorkerMessage_LeaseReturn:
		return leaseReturnFromPB(b.LeaseReturn), nil
	case *pb.WorkerMessage_Goodbye:
		return &cluster.WorkerMessage{Goodbye: &cluster.Goodbye{Reason: b.Goodbye.GetReason()}}, nil
	}
	return nil, fmt.Errorf("unknown worker message %T", m.Body)
}

// MasterToPB converts a master's message for the wire.
func MasterToPB(m *cluster.MasterMessage) (*pb.MasterMessage, error) {
	switch {
	case m.Welcome != nil:
		w := m.Welcome
		out := &pb.Welcome{
			Index: uint32(w.Index), MasterId: w.MasterID, MasterVersion: w.MasterVersion, Classes: w.Classes,
			ReportIntervalMs: ms(w.ReportInterval), HeartbeatIntervalMs: ms(w.HeartbeatInterval), HeartbeatTimeoutMs: ms(w.HeartbeatTimeout),
		}
		if s := w.Scenario; s != nil {
			out.Scenario = &pb.Scenario{Name: s.Name, Source: s.Source, Files: s.Files, Hash: s.Hash, Host: s.Host, Tags: s.Tags, ExcludeTags: s.ExcludeTags, TargetTls: targetTLSToPB(s.TLS)}
		}
		return &pb.MasterMessage{Body: &pb.MasterMessage_Welcome{Welcome: out}}, nil
	case m.Refusal != nil:
		r := m.Refusal
		return &pb.MasterMessage{Body: &pb.MasterMessage_Refusal{Refusal: &pb.Refusal{
			Reason: r.Reason, MasterVersion: r.MasterVersion, MasterProtocol: uint32(r.MasterProtocol),
		}}}, nil
	case m.Assignment != nil:
		a := m.Assignment
		return &pb.MasterMessage{Body: &pb.MasterMessage_Assignment{Assignment: &pb.Assignment{
			RunId: a.RunID, Generation: a.Generation, Running: a.Running, ClassUsers: ints64(a.ClassUsers),
			SpawnRate: a.SpawnRate, Host: a.Host, StopTimeoutMs: ms(a.StopTimeout), RequestTimeoutMs: ms(a.RequestTimeout),
			OpenShape: shapeToPB(a.OpenShape), PreAllocatedVus: int64(a.PreAllocatedVUs), MaxVus: int64(a.MaxVUs),
			OpenShapeElapsedMs: ms(a.OpenElapsed), Iterations: int64(a.Iterations), Vars: a.Vars,
		}}}, nil
	case m.Ack != nil:
		return &pb.MasterMessage{Body: &pb.MasterMessage_Ack{Ack: &pb.Ack{Seq: m.Ack.Seq}}}, nil
	case m.Heartbeat != nil:
		return &pb.MasterMessage{Body: &pb.MasterMessage_Heartbeat{Heartbeat: &pb.Heartbeat{}}}, nil
	case m.Quit != nil:
		return &pb.MasterMessage{Body: &pb.MasterMessage_Quit{Quit: &pb.Quit{Reason: m.Quit.Reason}}}, nil
	case m.Lease != nil:
		return leaseToPB(m.Lease), nil
	case m.Recall != nil:
		return recallToPB(m.Recall), nil
	}
	return nil, fmt.Errorf("empty master message")
}

// MasterFromPB converts a master's message from the wire.
func MasterFromPB(m *pb.MasterMessage) (*cluster.MasterMessage, error) {
	switch b := m.Body.(type) {
	case *pb.MasterMessage_Welcome:
		w := b.Welcome
		out := &cluster.Welcome{
			Index: int(w.Index), MasterID: w.MasterId, MasterVersion: w.MasterVersion, Classes: w.Classes,
			ReportInterval: dur(w.ReportIntervalMs), HeartbeatInterval: dur(w.HeartbeatIntervalMs), HeartbeatTimeout: dur(w.HeartbeatTimeoutMs),
		}
		if s := w.Scenario; s != nil {
			out.Scenario = &cluster.Scenario{Name: s.Name, Source: s.Source, Files: s.Files, Hash: s.Hash, Host: s.Host, Tags: s.Tags, ExcludeTags: s.ExcludeTags, TLS: targetTLSFromPB(s.TargetTls)}
			if out.Scenario.Files == nil {
				out.Scenario.Files = map[string][]byte{}
			}
		}
		return &cluster.MasterMessage{Welcome: out}, nil
	case *pb.MasterMessage_Refusal:
		r := b.Refusal
		return &cluster.MasterMessage{Refusal: &cluster.Refusal{Reason: r.Reason, MasterVersion: r.MasterVersion, MasterProtocol: int(r.MasterProtocol)}}, nil
	case *pb.MasterMessage_Assignment:
		a := b.Assignment
		return &cluster.MasterMessage{Assignment: &cluster.Assignment{
			RunID: a.RunId, Generation: a.Generation, Running: a.Running, ClassUsers: ints(a.ClassUsers),
			SpawnRate: a.SpawnRate, Host: a.Host, StopTimeout: dur(a.StopTimeoutMs), RequestTimeout: dur(a.RequestTimeoutMs),
			OpenShape: shapeFromPB(a.OpenShape), PreAllocatedVUs: int(a.PreAllocatedVus), MaxVUs: int(a.MaxVus),
			OpenElapsed: dur(a.OpenShapeElapsedMs), Iterations: int(a.Iterations), Vars: a.Vars,
		}}, nil
	case *pb.MasterMessage_Ack:
		return &cluster.MasterMessage{Ack: &cluster.Ack{Seq: b.Ack.Seq}}, nil
	case *pb.MasterMessage_Heartbeat:
		return &cluster.MasterMessage{Heartbeat: &cluster.Heartbeat{}}, nil
	case *pb.MasterMessage_Quit:
		return &cluster.MasterMessage{Quit: &cluster.Quit{Reason: b.Quit.Reason}}, nil
	case *pb.MasterMessage_Lease:
		return leaseFromPB(b.Lease), nil
	case *pb.MasterMessage_Recall:
		return recallFromPB(b.Recall), nil
	}
	return nil, fmt.Errorf("unknown master message %T", m.Body)
}

func statusToPB(s *cluster.Status) *pb.Status {
	return &pb.Status{
		State: string(s.State), RunId: s.RunID, Generation: s.Generation, RampDone: s.RampDone,
		ClassUsers: ints64(s.ClassUsers), CpuPercent: s.CPUPercent, MemoryBytes: s.MemoryBytes,
		OpenIterations: s.Open.Iterations, OpenDropped: s.Open.Dropped,
		OpenLagMeanUs: s.Open.LagMean.Microseconds(), OpenLagMaxUs: s.Open.LagMax.Microseconds(),
		UsersDone: int64(s.UsersDone), SchedDelayUs: s.SchedDelay.Microseconds(),
	}
}

func statusFromPB(s *pb.Status) cluster.Status {
	if s == nil {
		return cluster.Status{}
	}
	return cluster.Status{
		State: cluster.State(s.State), RunID: s.RunId, Generation: s.Generation, RampDone: s.RampDone,
		ClassUsers: ints(s.ClassUsers), CPUPercent: s.CpuPercent, MemoryBytes: s.MemoryBytes, UsersDone: int(s.UsersDone),
		SchedDelay: time.Duration(s.SchedDelayUs) * time.Microsecond,
		Open: cluster.OpenStats{
			Iterations: s.OpenIterations, Dropped: s.OpenDropped,
			LagMean: time.Duration(s.OpenLagMeanUs) * time.Microsecond, LagMax: time.Duration(s.OpenLagMaxUs) * time.Microsecond,
		},
	}
}

func shapeToPB(s shape.Shape) *pb.Shape {
	if !s.Open && !s.Dynamic() && s.Start == 0 {
		return nil
	}
	out := &pb.Shape{Open: s.Open, Start: s.Start}
	for _, st := range s.Stages {
		out.Stages = append(out.Stages, &pb.Stage{DurationMs: ms(st.Duration), Target: st.Target})
	}
	if c := s.Cycle; c != nil {
		out.Cycle = &pb.Cycle{Min: c.Min, Max: c.Max, PeriodMs: ms(c.Period)}
	}
	if p := s.Spike; p != nil {
		out.Spike = &pb.Spike{Base: p.Base, Peak: p.Peak, AtMs: ms(p.At), DurationMs: ms(p.Duration)}
	}
	return out
}

func shapeFromPB(p *pb.Shape) shape.Shape {
	if p == nil {
		return shape.Shape{}
	}
	out := shape.Shape{Open: p.Open, Start: p.Start}
	for _, st := range p.Stages {
		out.Stages = append(out.Stages, shape.Stage{Duration: dur(st.DurationMs), Target: st.Target})
	}
	if c := p.Cycle; c != nil {
		out.Cycle = &shape.Cycle{Min: c.Min, Max: c.Max, Period: dur(c.PeriodMs)}
	}
	if s := p.Spike; s != nil {
		out.Spike = &shape.Spike{Base: s.Base, Peak: s.Peak, At: dur(s.AtMs), Duration: dur(s.DurationMs)}
	}
	return out
}

// ReportToPB converts a report for the wire, encoding its histograms.
func ReportToPB(r *cluster.Report) (*pb.Report, error) {
	out := &pb.Report{Seq: r.Seq, RunId: r.RunID, Final: r.Final, Status: statusToPB(&r.Status), Used: usedToPB(r.Used)}
	for _, e := range r.Exceptions {
		out.Exceptions = append(out.Exceptions, &pb.Exception{Message: e.Message, Count: e.Count, Traceback: e.Traceback})
	}
	iv, err := IntervalToPB(r.Interval)
	if err != nil {
		return nil, err
	}
	out.Interval = iv
	return out, nil
}

// ReportFromPB converts a report from the wire, decoding its histograms.
func ReportFromPB(r *pb.Report) (*cluster.Report, error) {
	out := &cluster.Report{Seq: r.Seq, RunID: r.RunId, Final: r.Final, Status: statusFromPB(r.Status), Used: usedFromPB(r.Used)}
	for _, e := range r.Exceptions {
		out.Exceptions = append(out.Exceptions, stats.Exception{Message: e.Message, Count: e.Count, Traceback: e.Traceback})
	}
	out.Encoded = wireInterval{r.Interval}
	return out, nil
}

// IntervalToPB converts an interval for the wire (its times stay behind:
// the master times intervals by its own clock). Histograms go as their
// populated buckets.
func IntervalToPB(iv *stats.Interval) (*pb.Interval, error) {
	out := &pb.Interval{}
	if iv == nil {
		return out, nil
	}
	out.ErrorsDropped = iv.ErrorsDropped
	out.Entries = make([]*pb.Entry, 0, len(iv.Entries))
	var sp *hdr.PackedHistogram
	for k, e := range iv.Entries {
		if e == nil || e.Count == 0 {
			continue
		}
		pe := &pb.Entry{
			Method: k.Method, Name: k.Name, Count: e.Count, Failures: e.Failures, SumMicros: e.SumMicros,
			MinMicros: e.MinMicros, MaxMicros: e.MaxMicros, Bytes: e.Bytes, WireBytes: e.WireBytes, OutOfRange: e.OutOfRange,
			SentBytes: e.SentBytes, RecvBytes: e.RecvBytes,
			Connecting: phaseToPB(e.Phases.Connecting), TlsHandshaking: phaseToPB(e.Phases.TLSHandshaking),
			Waiting: phaseToPB(e.Phases.Waiting), Receiving: phaseToPB(e.Phases.Receiving),
		}
		if sp == nil {
			sp = hdr.NewPacked(stats.LowestMicros, stats.HighestMicros, stats.SignificantFigures)
		}
		if e.Hist != nil {
			pe.BucketValues, pe.BucketCounts = bucketsToPB(e.Hist, sp)
		}
		if u := &e.Uncorrected; u.Count > 0 && u.Hist != nil {
			pe.UncorrectedCount, pe.UncorrectedSumMicros = u.Count, u.SumMicros
			pe.UncorrectedMinMicros, pe.UncorrectedMaxMicros = u.MinMicros, u.MaxMicros
			pe.UncorrectedBucketValues, pe.UncorrectedBucketCounts = bucketsToPB(u.Hist, sp)
		}
		out.Entries = append(out.Entries, pe)
	}
	for k, c := range iv.Errors {
		out.Errors = append(out.Errors, &pb.ErrorCount{Method: k.Method, Name: k.Name, Message: k.Message, Count: c})
	}
	for n, c := range iv.Checks {
		out.Checks = append(out.Checks, &pb.CheckCount{Name: n, Passes: c.Passes, Fails: c.Fails})
	}
	return out, nil
}

// phaseToPB encodes a phase's summary; nil when it counted nothing.
func phaseToPB(s stats.Summary) *pb.Phase {
	if s.Count == 0 {
		return nil
	}
	return &pb.Phase{Count: s.Count, SumMicros: s.SumMicros, MinMicros: s.MinMicros, MaxMicros: s.MaxMicros}
}

func phaseFromPB(p *pb.Phase) stats.Summary {
	if p.GetCount() <= 0 {
		return stats.Summary{}
	}
	return stats.Summary{Count: p.Count, SumMicros: p.SumMicros, MinMicros: p.MinMicros, MaxMicros: p.MaxMicros}
}

// bucketsToPB encodes h's populated buckets as value deltas and counts,
// using sp as scratch.
func bucketsToPB(h *hdr.Histogram, sp *hdr.PackedHistogram) (values, counts []uint64) {
	sp.Reset()
	sp.MergeFrom(h)
	n := sp.Populated()
	values, counts = make([]uint64, 0, n), make([]uint64, 0, n)
	prev := int64(0)
	sp.ForEachBucket(func(v, c int64) bool {
		values = append(values, uint64(v-prev))
		counts = append(counts, uint64(c))
		prev = v
		return true
	})
	return values, counts
}

// recordBuckets adds buckets encoded by bucketsToPB to h.
func recordBuckets(h *hdr.Histogram, values, counts []uint64) error {
	if len(values) != len(counts) {
		return fmt.Errorf("%d bucket values but %d counts", len(values), len(counts))
	}
	v := int64(0)
	for i, dv := range values {
		v += int64(dv)
		if err := h.RecordValues(v, int64(counts[i])); err != nil {
			return fmt.Errorf("bucket %d: %w", v, err)
		}
	}
	return nil
}

// wireInterval is an interval as it came over the wire, merged without
// building dense histograms.
type wireInterval struct{ p *pb.Interval }

// Requests returns the interval's request count.
func (w wireInterval) Requests() int64 {
	var n int64
	for _, e := range w.p.GetEntries() {
		n += e.Count
	}
	return n
}

// MergeInto adds the interval to dst: the counters and errors through
// Interval.Merge (its one merge and error cap), the histograms' buckets
// straight into dst's histograms, without building dense ones.
func (w wireInterval) MergeInto(dst *stats.Interval) error {
	p := w.p
	if p == nil {
		return nil
	}
	tmp := &stats.Interval{Entries: make(map[stats.Key]*stats.IntervalEntry, len(p.Entries)), ErrorsDropped: p.ErrorsDropped}
	for _, pe := range p.Entries {
		if len(pe.BucketValues) != len(pe.BucketCounts) {
			return fmt.Errorf("%s %s: %d bucket values but %d counts", pe.Method, pe.Name, len(pe.BucketValues), len(pe.BucketCounts))
		}
		if len(pe.UncorrectedBucketValues) != len(pe.UncorrectedBucketCounts) {
			return fmt.Errorf("%s %s uncorrected: %d bucket values but %d counts", pe.Method, pe.Name, len(pe.UncorrectedBucketValues), len(pe.UncorrectedBucketCounts))
		}
		k := stats.Key{Method: pe.Method, Name: pe.Name}
		if tmp.Entries[k] != nil {
			return fmt.Errorf("%s %s: repeated entry", pe.Method, pe.Name)
		}
		e := &stats.IntervalEntry{Failures: pe.Failures, Bytes: pe.Bytes, WireBytes: pe.WireBytes, OutOfRange: pe.OutOfRange,
			SentBytes: pe.SentBytes, RecvBytes: pe.RecvBytes, Phases: stats.Phases{
				Connecting: phaseFromPB(pe.Connecting), TLSHandshaking: phaseFromPB(pe.TlsHandshaking),
				Waiting: phaseFromPB(pe.Waiting), Receiving: phaseFromPB(pe.Receiving),
			}}
		e.Summary = stats.Summary{Count: pe.Count, SumMicros: pe.SumMicros, MinMicros: pe.MinMicros, MaxMicros: pe.MaxMicros}
		if pe.UncorrectedCount > 0 {
			e.Uncorrected.Summary = stats.Summary{Count: pe.UncorrectedCount, SumMicros: pe.UncorrectedSumMicros,
				MinMicros: pe.UncorrectedMinMicros, MaxMicros: pe.UncorrectedMaxMicros}
		}
		if len(pe.Histogram) > 0 {
			h, err := hdr.Decode(pe.Histogram)
			if err != nil {
				return fmt.Errorf("decode histogram of %s %s: %w", pe.Method, pe.Name, err)
			}
			e.Hist = h
		}
		tmp.Entries[k] = e
	}
	if len(p.Errors) > 0 {
		tmp.Errors = make(map[stats.ErrorKey]int64, len(p.Errors))
		for _, pe := range p.Errors {
			tmp.Errors[stats.ErrorKey{Method: pe.Method, Name: pe.Name, Message: pe.Message}] += pe.Count
		}
	}
	for _, pc := range p.Checks {
		if pc.Passes < 0 || pc.Fails < 0 {
			return fmt.Errorf("check %q: negative count", pc.Name)
		}
		tmp.AddCheck(pc.Name, stats.CheckCount{Passes: pc.Passes, Fails: pc.Fails})
	}
	dst.Merge(tmp) // counters, errors, checks, and V2 histograms if any
	for _, pe := range p.Entries {
		if pe.Count == 0 {
			continue
		}
		de := dst.Entries[stats.Key{Method: pe.Method, Name: pe.Name}]
		if err := recordBuckets(de.Histogram(), pe.BucketValues, pe.BucketCounts); err != nil {
			return fmt.Errorf("%s %s: %w", pe.Method, pe.Name, err)
		}
		if pe.UncorrectedCount > 0 {
			if err := recordBuckets(de.Uncorrected.Histogram(), pe.UncorrectedBucketValues, pe.UncorrectedBucketCounts); err != nil {
				return fmt.Errorf("%s %s uncorrected: %w", pe.Method, pe.Name, err)
			}
		}
	}
	return nil
}

// IntervalFromPB converts an interval from the wire into a dense Interval
// (for tests and tools; the master merges the wire form directly).
func IntervalFromPB(p *pb.Interval) (*stats.Interval, error) {
	iv := &stats.Interval{}
	if err := (wireInterval{p}).MergeInto(iv); err != nil {
		return nil, err
	}
	return iv, nil
}

func targetTLSToPB(t scenario.TLSFlags) *pb.TargetTLS {
	if t.CA.Data == nil && t.Cert.Data == nil && t.Key.Data == nil && !t.InsecureSkipVerify {
		return nil
	}
	return &pb.TargetTLS{
		CaName: t.CA.Name, Ca: t.CA.Data, CertName: t.Cert.Name, Cert: t.Cert.Data,
		KeyName: t.Key.Name, Key: t.Key.Data, InsecureSkipVerify: t.InsecureSkipVerify,
	}
}

func targetTLSFromPB(t *pb.TargetTLS) scenario.TLSFlags {
	if t == nil {
		return scenario.TLSFlags{}
	}
	file := func(name string, data []byte) scenario.File {
		if data == nil {
			return scenario.File{}
		}
		return scenario.File{Name: name, Data: data}
	}
	return scenario.TLSFlags{
		CA: file(t.CaName, t.Ca), Cert: file(t.CertName, t.Cert), Key: file(t.KeyName, t.Key),
		InsecureSkipVerify: t.InsecureSkipVerify,
	}
}
