package locust

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/cluster"
)

// The bytes of the messages a master sends newer workers, as Locust 2.12.1's
// own Message.serialize writes them (Debian's python3-locust, the same
// msgpack.dumps as every 2.x; data keys in sorted order):
//
//	Message("update_user_class", {"host": "http://h", "tasks": ["t1"], "user_class_name": "A", "weight": 2}, "w_1").serialize()
//	Message("spawning_complete", {"user_count": 3}, "w_1").serialize()
func TestEncode_NewerMastersMessages(t *testing.T) {
	for _, c := range []struct {
		m    Message
		want string
	}{
		{Message{"update_user_class", map[string]any{"user_class_name": "A", "weight": int64(2), "host": "http://h", "tasks": []any{"t1"}}, "w_1"},
			"93b17570646174655f757365725f636c61737384a4686f7374a8687474703a2f2f68a57461736b7391a27431af757365725f636c6173735f6e616d65a141a677656967687402a3775f31"},
		{Message{"spawning_complete", map[string]any{"user_count": 3}, "w_1"},
			"93b1737061776e696e675f636f6d706c65746581aa757365725f636f756e7403a3775f31"},
	} {
		b, err := Encode(&c.m)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(b); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.m.Type, got, c.want)
		}
		back, err := Decode(b)
		if err != nil || back.Type != c.m.Type || back.NodeID != "w_1" {
			t.Errorf("%s: decoded back %+v, %v", c.m.Type, back, err)
		}
	}
}

func TestParseConfigUsers(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/users.json", []byte("[\n  {\"user_class_name\": \"B\", \"fixed_count\": 1},\n  {\"user_class_name\": \"A\", \"weight\": 3, \"ratio\": 0.5, \"opts\": {\"k\": [1, true, null]}}\n]\n"), 0o644)
	os.WriteFile(dir+"/bad.json", []byte("{\n  \"user_class_name\": \"A\",\n  \"weight\": 3,,\n}\n"), 0o644)
	got, err := ParseConfigUsers([]string{`{"user_class_name": "A", "host": "http://x", "tasks": ["t1", "t2"]}`, dir + "/users.json"}, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	want := []UserSettings{
		{Class: "A", Data: map[string]any{"user_class_name": "A", "host": "http://x", "tasks": []any{"t1", "t2"}}, Where: `--config-users "{\"user_class_name\": \"A\", \"host\": \"htt..."`},
		{Class: "B", Data: map[string]any{"user_class_name": "B", "fixed_count": int64(1)}, Where: dir + "/users.json[0]"},
		{Class: "A", Data: map[string]any{"user_class_name": "A", "weight": int64(3), "ratio": 0.5, "opts": map[string]any{"k": []any{int64(1), true, nil}}}, Where: dir + "/users.json[1]"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, c := range []struct{ arg, want string }{
		{`{"weight": 2}`, "must specify a user_class_name"},
		{`[1]`, `[0]: a user config is a JSON object, not a number`},
		{`{"user_class_name": "A"} x`, "not valid JSON"},
		{`{"user_class_name": `, "not valid JSON"},
		{dir + "/bad.json", dir + "/bad.json:3:15: not valid JSON"},
		{dir + "/missing.json", "--config-users: open"},
	} {
		_, err := ParseConfigUsers([]string{c.arg}, os.ReadFile)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q in it", c.arg, err, c.want)
		}
	}
}

func TestApplyUserSettings(t *testing.T) {
	classes := []UserClass{{Name: "A", Weight: 1}, {Name: "B", Weight: 1, Host: "http://b"}}
	s, err := ParseConfigUsers([]string{`[{"user_class_name": "A", "weight": 3, "host": "http://a"}, {"user_class_name": "B", "fixed_count": 2}, {"user_class_name": "A", "weight": 4, "some_attr": false}]`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ApplyUserSettings(classes, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []UserClass{{Name: "A", Weight: 4, Host: "http://a"}, {Name: "B", Weight: 1, FixedCount: 2, Host: "http://b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if classes[0].Weight != 1 {
		t.Error("the classes given were changed")
	}
	for _, c := range []struct{ arg, want string }{
		{`{"user_class_name": "C"}`, `user class "C" is not in the locustfile (its classes: A, B)`},
		{`{"user_class_name": "A", "weight": -1}`, "weight must be a whole number >= 0"},
		{`{"user_class_name": "A", "weight": 1.5}`, "weight must be a whole number >= 0"},
		{`{"user_class_name": "A", "fixed_count": "2"}`, "fixed_count must be a whole number >= 0"},
		{`{"user_class_name": "A", "host": 1}`, "host must be a string"},
		{`{"user_class_name": "A", "tasks": "t1"}`, "tasks must be a list of task names"},
		{`{"user_class_name": "A", "tasks": [1]}`, "tasks must be a list of task names"},
	} {
		s, err := ParseConfigUsers([]string{c.arg}, nil)
		if err == nil {
			_, err = ApplyUserSettings(classes, s)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--config-users") {
			t.Errorf("%s: error %v, want %q in it, naming --config-users", c.arg, err, c.want)
		}
	}
}

// A worker of 2.25 or later gets --config-users in update_user_class
// messages after its ack and before its first spawn; a 2.12 worker gets
// none (it would log "Unknown message type").
func TestSession_UpdateUserClass(t *testing.T) {
	settings, err := ParseConfigUsers([]string{`{"user_class_name": "A", "weight": 2, "tasks": ["t1"], "some_attr": "x"}`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeMaster()
	addr := serveConfig(t, f, Config{Version: "v1", UserSettings: settings})
	for _, c := range []struct {
		version string
		want    bool
	}{{"2.25.0", true}, {"2.46.3", true}, {"2.24.1", false}, {"", false}} {
		d := dialDealer(t, addr, "w_"+c.version)
		d.send("client_ready", c.version)
		conn := <-f.conns
		conn.Send(&cluster.MasterMessage{Welcome: &cluster.Welcome{Classes: []string{"A"}}})
		d.expect("ack")
		if c.want {
			m := d.expect("update_user_class")
			if diff := cmp.Diff(map[any]any{"user_class_name": "A", "weight": int64(2), "tasks": []any{"t1"}, "some_attr": "x"}, m.Data); diff != "" {
				t.Errorf("%s: update_user_class (-want +got):\n%s", c.version, diff)
			}
		}
		conn.Send(&cluster.MasterMessage{Assignment: &cluster.Assignment{RunID: "r", Generation: 1, Running: true, ClassUsers: []int{1}}})
		d.expect("spawn") // fails on an update_user_class where none is due
	}
}

// Once every Locust worker has reported its share, workers of 2.29 and
// later get spawning_complete with the users of the run, once per dispatch;
// older ones get none.
func TestSession_SpawningComplete(t *testing.T) {
	f := newFakeMaster()
	addr := serveConfig(t, f, Config{Version: "v1"})
	type worker struct {
		d    *dealer
		conn cluster.MasterConn
	}
	var ws []worker
	for _, v := range []string{"2.29.0", "2.28.0"} {
		d := dialDealer(t, addr, "w_"+v)
		d.send("client_ready", v)
		conn := <-f.conns
		conn.Send(&cluster.MasterMessage{Welcome: &cluster.Welcome{Classes: []string{"A", "B"}}})
		d.expect("ack")
		ws = append(ws, worker{d, conn})
	}
	assign := func(gen uint64, users []int) {
		for _, w := range ws {
			w.conn.Send(&cluster.MasterMessage{Assignment: &cluster.Assignment{RunID: "r", Generation: gen, Running: true, ClassUsers: users}})
			w.d.expect("spawn")
		}
	}
	report := func(w worker, a, b int) {
		w.d.send("spawning_complete", map[string]any{"user_classes_count": map[string]any{"A": a, "B": b}, "user_count": a + b})
	}
	assign(1, []int{1, 0})
	report(ws[0], 1, 0)
	time.Sleep(200 * time.Millisecond) // the other has not reported: nothing is sent yet
	report(ws[1], 1, 0)
	if m := ws[0].d.expect("spawning_complete"); cmp.Diff(map[any]any{"user_count": int64(2)}, m.Data) != "" {
		t.Errorf("spawning_complete %v, want user_count 2", m.Data)
	}
	report(ws[1], 1, 0) // a duplicate report sends nothing again
	assign(2, []int{1, 1})
	report(ws[0], 1, 1)
	report(ws[1], 1, 1)
	if m := ws[0].d.expect("spawning_complete"); cmp.Diff(map[any]any{"user_count": int64(4)}, m.Data) != "" {
		t.Errorf("spawning_complete %v, want user_count 4", m.Data)
	}
	// The 2.28 worker got none: its next message is the stop.
	for _, w := range ws {
		w.conn.Send(&cluster.MasterMessage{Assignment: &cluster.Assignment{RunID: "r", Generation: 3}})
		w.d.expect("stop")
	}
}

func serveConfig(t *testing.T, acc cluster.Acceptor, cfg Config) string {
	t.Helper()
	addr, s := serve(t, acc)
	s.cfg = cfg
	return addr
}

// ParseConfigUsers and ApplyUserSettings never panic; what they accept has a
// class and data that encode as a Locust message.
func FuzzParseConfigUsers(f *testing.F) {
	seed, err := os.ReadFile("testdata/config-users/users.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add(`{"user_class_name": "A", "weight": 2}`)
	f.Add(`{"user_class_name": "A", "weight": 1e400}`)
	f.Add(`[{"user_class_name": "A"}, 3]`)
	f.Add(`{"user_class_name": "A", "tasks": [[]]}`)
	f.Add(`users.json`)
	classes := []UserClass{{Name: "A", Weight: 1}, {Name: "APIUser", Weight: 1}, {Name: "Admin", Weight: 1}}
	f.Fuzz(func(t *testing.T, arg string) {
		s, err := ParseConfigUsers([]string{arg}, nil)
		if err != nil {
			return
		}
		for _, us := range s {
			if us.Class == "" || us.Data["user_class_name"] != us.Class {
				t.Fatalf("accepted %q with class %q, data %v", arg, us.Class, us.Data)
			}
			if _, err := Encode(&Message{Type: "update_user_class", Data: us.Data, NodeID: "w"}); err != nil {
				t.Fatalf("%q: %v", arg, err)
			}
		}
		out, err := ApplyUserSettings(classes, s)
		if err == nil && len(out) != len(classes) {
			t.Fatalf("%d classes out of %d", len(out), len(classes))
		}
	})
}
