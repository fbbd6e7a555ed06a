package run

import (
	"testing"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/master"
)

// A standalone run is never distributed, also before its in-process
// worker has joined: /stats/requests then carried an empty "workers"
// list, a key Locust's local runner never sends (TestAPI_LocustRoutes
// failed on it once, on a loaded machine). A master with a cluster
// listener is distributed whether or not a worker has joined.
func TestWebControl_StandaloneIsNeverDistributed(t *testing.T) {
	classes := []horde.Class{{Name: "u", Weight: 1, Wait: horde.Constant(time.Millisecond), New: func() horde.User { return &sampler{} }}}
	local, err := master.New(master.Config{Classes: classes})
	if err != nil {
		t.Fatal(err)
	}
	if ws, distributed := (webControl{Master: local}).Workers(); distributed || ws != nil {
		t.Errorf("standalone master before its worker joined: Workers() = %v, %v; want none, not distributed", ws, distributed)
	}
	clustered, err := master.New(master.Config{Classes: classes, Cluster: &master.ClusterConfig{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if ws, distributed := (webControl{Master: clustered}).Workers(); !distributed || len(ws) != 0 {
		t.Errorf("master with a cluster listener and no worker: Workers() = %v, %v; want an empty list, distributed", ws, distributed)
	}
}
