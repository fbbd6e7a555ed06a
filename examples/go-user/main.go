// Command go-user is a load test written in Go instead of YAML: a custom
// horde.User built into its own binary around cli.Main. It understands every
// flag of `horde run`:
//
//	go run ./examples/go-user run --headless -u 10 -r 10 -t 30s -H http://127.0.0.1:8080
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/cli"
)

// apiUser logs in once, then reads data and lists items, 3 to 1.
type apiUser struct {
	token string
}

func (u *apiUser) OnStart(ctx context.Context, vu horde.VU) error {
	body := fmt.Sprintf(`{"username":"go_user_%d","password":"test123"}`, vu.ID())
	resp, err := vu.Do(ctx, &horde.Request{
		Method: http.MethodPost,
		URL:    "/api/login",
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(body),
	})
	if err != nil {
		return err
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || out.Token == "" {
		return fmt.Errorf("login: no token in %q", resp.Body)
	}
	u.token = out.Token
	return nil
}

func (u *apiUser) Task(ctx context.Context, vu horde.VU) error {
	h := http.Header{"Authorization": {"Bearer " + u.token}}
	if vu.Rand().IntN(4) < 3 {
		_, err := vu.Do(ctx, &horde.Request{
			Method: http.MethodGet,
			URL:    "/api/data/" + strconv.Itoa(1+vu.Rand().IntN(1000)),
			Name:   "/api/data/[id]",
			Header: h,
		})
		return err
	}
	_, err := vu.Do(ctx, &horde.Request{Method: http.MethodGet, URL: "/api/items?page=1&limit=20", Header: h})
	return err
}

func (u *apiUser) OnStop(ctx context.Context, vu horde.VU) error {
	_, err := vu.Do(ctx, &horde.Request{
		Method: http.MethodPost,
		URL:    "/api/logout",
		Header: http.Header{"Authorization": {"Bearer " + u.token}},
	})
	return err
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }()
	classes := []horde.Class{{
		Name:   "api",
		Weight: 1,
		Wait:   horde.Between(100*time.Millisecond, 300*time.Millisecond),
		New:    func() horde.User { return &apiUser{} },
	}}
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, classes...)
	stop()
	os.Exit(code)
}
