package locust

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/cluster"
)

// A Locust 2.12 worker's session, message by message, as the master sees it.
func TestSession_Lifecycle(t *testing.T) {
	f := newFakeMaster()
	addr, _ := serve(t, f)
	d := dialDealer(t, addr, "host1_abc")
	d.send("client_ready", "") // Debian's 2.12.1
	var conn cluster.MasterConn
	select {
	case conn = <-f.conns:
	case <-time.After(10 * time.Second):
		t.Fatal("no session")
	}
	j := f.next(t, func(m *cluster.WorkerMessage) bool { return m.Join != nil }).Join
	if j.WorkerID != "host1_abc" || j.Hostname != "host1" || j.Version != "v1" || j.Protocol != cluster.Protocol {
		t.Fatalf("join %+v", j)
	}
	conn.Send(&cluster.MasterMessage{Welcome: &cluster.Welcome{Index: 3, Classes: []string{"A", "B"}}})
	if ack := d.expect("ack"); cmp.Diff(map[any]any{"index": int64(3)}, ack.Data) != "" {
		t.Fatalf("ack %v", ack.Data)
	}
	conn.Send(&cluster.MasterMessage{Heartbeat: &cluster.Heartbeat{}}) // not for a 2.12 worker
	conn.Send(&cluster.MasterMessage{Assignment: &cluster.Assignment{
		RunID: "r1", Generation: 1, Running: true, ClassUsers: []int{2, 1}, Host: "http://h", StopTimeout: 2 * time.Second,
	}})
	spawn := d.recv()
	if spawn.Type != "spawn" {
		t.Fatalf("got %s, want spawn (and no heartbeat for Locust 2.12)", spawn.Type)
	}
	sd := spawn.Data.(map[any]any)
	if diff := cmp.Diff(map[any]any{"A": int64(2), "B": int64(1)}, sd["user_classes_count"]); diff != "" {
		t.Errorf("user_classes_count (-want +got):\n%s", diff)
	}
	if sd["host"] != "http://h" || sd["stop_timeout"] != 2.0 {
		t.Errorf("host %v stop_timeout %v", sd["host"], sd["stop_timeout"])
	}
	if ts, ok := sd["timestamp"].(float64); !ok || ts < float64(time.Now().Unix()-60) {
		t.Errorf("timestamp %v", sd["timestamp"])
	}
	if diff := cmp.Diff(map[any]any{"tags": []any{"a"}, "exclude_tags": nil}, sd["parsed_options"]); diff != "" {
		t.Errorf("parsed_options (-want +got):\n%s", diff)
	}
	d.send("spawning", nil)
	d.send("spawning_complete", map[string]any{"user_classes_count": map[string]any{"A": 2, "B": 1}, "user_count": 3})
	hb := f.next(t, func(m *cluster.WorkerMessage) bool { return m.Heartbeat != nil && m.Heartbeat.Status.RampDone }).Heartbeat.Status
	if hb.RunID != "r1" || hb.Generation != 1 || hb.State != cluster.StateRunning || cmp.Diff([]int{2, 1}, hb.ClassUsers) != "" {
		t.Errorf("status %+v", hb)
	}
	stats, _ := os.ReadFile("testdata/stats_2.12.msgpack")
	d.raw(0, stats)
	r := f.next(t, func(m *cluster.WorkerMessage) bool { return m.Report != nil }).Report
	seq1 := r.Seq
	if seq1 < uint64(time.Now().Add(-time.Minute).UnixNano()) || r.RunID != "r1" || r.Final || r.Interval == nil || len(r.Interval.Entries) != 2 {
		t.Errorf("report %+v", r)
	}
	d.send("exception", map[string]any{"msg": "KeyError('token')", "traceback": "tb"})
	d.send("exception", map[string]any{"msg": "KeyError('token')", "traceback": "tb"})
	d.send("heartbeat", map[string]any{"state": "running", "current_cpu_usage": 3.0, "current_memory_usage": 1000})
	r = f.next(t, func(m *cluster.WorkerMessage) bool { return m.Report != nil }).Report
	if r.Seq <= seq1 || len(r.Exceptions) != 1 || r.Exceptions[0].Message != "KeyError('token')" || r.Exceptions[0].Traceback != "tb" ||
		r.Exceptions[0].Count != 2 || r.Status.CPUPercent != 3 {
		t.Errorf("exception report %+v", r)
	}
	d.send("my_custom_message", map[string]any{"x": 1}) // refused in the log, no harm

	conn.Send(&cluster.MasterMessage{Assignment: &cluster.Assignment{RunID: "r1", Generation: 2}})
	d.expect("stop")
	d.send("client_stopped", nil)
	d.raw(0, stats) // the report after the stop: the run's last
	r = f.next(t, func(m *cluster.WorkerMessage) bool { return m.Report != nil }).Report
	if !r.Final || r.RunID != "r1" || r.Seq <= seq1 {
		t.Errorf("final report %+v", r)
	}
	d.send("client_ready", "")
	d.expect("ack")

	conn.Send(&cluster.MasterMessage{Quit: &cluster.Quit{Reason: "done"}})
	d.expect("quit")
	d.send("quit", nil)
	if _, err := conn.Recv(); err == nil {
		for {
			if _, err := conn.Recv(); err != nil {
				break
			}
		}
	}
}

// Locust 2.19 and later expect the master's heartbeats; a worker that
// joins without client_ready (a master restarted) is taken in by its id.
func TestSession_HeartbeatsAndAdoption(t *testing.T) {
	f := newFakeMaster()
	addr, _ := serve(t, f)
	d := dialDealer(t, addr, "w_new")
	d.send("client_ready", "2.31.0")
	conn := <-f.conns
	conn.Send(&cluster.MasterMessage{Welcome: &cluster.Welcome{Classes: []string{"A"}}})
	d.expect("ack")
	conn.Send(&cluster.MasterMessage{Heartbeat: &cluster.Heartbeat{}})
	if m := d.recv(); m.Type != "heartbeat" {
		t.Fatalf("got %s, want heartbeat", m.Type)
	}

	d2 := dialDealer(t, addr, "w_old")
	d2.send("heartbeat", map[string]any{"state": "running", "current_cpu_usage": 1.0, "current_memory_usage": 1})
	conn2 := <-f.conns
	f.next(t, func(m *cluster.WorkerMessage) bool { return m.Join != nil && m.Join.WorkerID == "w_old" })
	conn2.Send(&cluster.MasterMessage{Welcome: &cluster.Welcome{Classes: []string{"A"}}})
	conn2.Send(&cluster.MasterMessage{Assignment: &cluster.Assignment{}}) // no run: its users are stopped
	d2.expect("ack")
	d2.expect("stop")
}

func TestSession_PreLocust2Refused(t *testing.T) {
	addr, _ := serve(t, newFakeMaster())
	d := dialDealer(t, addr, "w")
	d.send("client_ready", nil) // what Locust 1.x sends
	d.expect("quit")
}

func TestSession_Ramp(t *testing.T) {
	f := newFakeMaster()
	addr, _ := serve(t, f)
	d := dialDealer(t, addr, "w")
	d.send("client_ready", "2.12.1")
	conn := <-f.conns
	conn.Send(&cluster.MasterMessage{Welcome: &cluster.Welcome{Classes: []string{"A", "B"}}})
	d.expect("ack")
	conn.Send(&cluster.MasterMessage{Assignment: &cluster.Assignment{RunID: "r", Generation: 1, Running: true, ClassUsers: []int{4, 2}, SpawnRate: 12}})
	var totals []int64
	for {
		m := d.expect("spawn")
		uc := m.Data.(map[any]any)["user_classes_count"].(map[any]any)
		totals = append(totals, uc["A"].(int64)+uc["B"].(int64))
		if uc["A"] == int64(4) && uc["B"] == int64(2) {
			break
		}
	}
	if len(totals) < 2 || totals[0] >= 6 {
		t.Errorf("spawn totals %v: want a ramp, not one step", totals)
	}
	for i := 1; i < len(totals); i++ {
		if totals[i] < totals[i-1] {
			t.Errorf("spawn totals %v go down", totals)
		}
	}
}

func TestRampCounts(t *testing.T) {
	for _, c := range []struct {
		from, to []int
		k, add   int
		want     []int
	}{
		{[]int{0, 0}, []int{6, 3}, 3, 9, []int{2, 1}},
		{[]int{0, 0}, []int{6, 3}, 9, 9, []int{6, 3}},
		{[]int{0, 0}, []int{1, 1}, 1, 2, []int{1, 0}},
		{[]int{5, 0}, []int{2, 4}, 2, 4, []int{2, 2}}, // a decrease at once
		{nil, []int{3}, 1, 3, []int{1}},
	} {
		if got := rampCounts(c.from, c.to, c.k, c.add); cmp.Diff(c.want, got) != "" {
			t.Errorf("rampCounts(%v, %v, %d, %d) = %v, want %v", c.from, c.to, c.k, c.add, got, c.want)
		}
	}
}
