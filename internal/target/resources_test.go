package target

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func knobMetric(t *testing.T, admin http.Handler, name string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	admin.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, name+" ") {
			return strings.TrimPrefix(line, name+" ")
		}
	}
	return ""
}

func TestResourceKnobs_PoolAndFDs(t *testing.T) {
	s, err := New(Config{Resources: ResourceKnobs{LeakPoolEvery: 2, PoolSize: 3, LeakFDEvery: 1, LeakGoroutineEvery: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.res.close()
	codes := []int{}
	for range 8 {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		codes = append(codes, rec.Code)
	}
	// Requests 2, 4, 6 keep their slots: the 7th and later find none.
	if codes[5] != 200 || codes[6] != http.StatusServiceUnavailable {
		t.Errorf("codes %v", codes)
	}
	if v := knobMetric(t, s.AdminHandler(), "horde_target_pool_in_use"); v != "3" {
		t.Errorf("pool in use %q", v)
	}
	if v := knobMetric(t, s.AdminHandler(), "horde_target_pool_max"); v != "3" {
		t.Errorf("pool max %q", v)
	}
	s.res.mu.Lock()
	n := len(s.res.fds)
	s.res.mu.Unlock()
	if n < 6 {
		t.Errorf("leaked %d fds, want ≥ 6", n)
	}
}

func TestResourceKnobs_Disk(t *testing.T) {
	dir := t.TempDir()
	s, err := New(Config{Addr: "127.0.0.1:0", AdminAddr: AdminOff, Resources: ResourceKnobs{WriteDir: dir, WriteBytesPerSecond: 1000, WriteMax: 1500}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx, func(a, _ string) { addrc <- a }) }()
	addr := <-addrc
	deadline := time.Now().Add(10 * time.Second)
	for !s.res.full.Load() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := s.res.written.Load(); got != 1500 || !s.res.full.Load() {
		t.Errorf("written %d, full %v", got, s.res.full.Load())
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInsufficientStorage {
		t.Errorf("status %d, want 507", resp.StatusCode)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left %d files", len(ents))
	}
}

func TestResourceKnobs_Validate(t *testing.T) {
	_, err := New(Config{Resources: ResourceKnobs{LeakFDEvery: -1, WriteBytesPerSecond: 5}})
	if err == nil || !strings.Contains(err.Error(), "LeakFDEvery") || !strings.Contains(err.Error(), "WriteDir") {
		t.Errorf("err %v", err)
	}
}
