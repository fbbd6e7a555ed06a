package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/horde-load/horde/internal/run"
	"github.com/horde-load/horde/internal/target"
)

func newTargetCmd(stdout, stderr io.Writer, lookup env) *cobra.Command {
	cfg := target.Config{}
	var latency, growth, cpu, cpuGrowth durationValue
	var maxFDs uint64
	var logLevel string
	cmd := &cobra.Command{
		Use:   "target",
		Short: "Serve the sample system under test (REST API, device API, /delay) with fault knobs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags(), lookup); err != nil {
				return err
			}
			log, err := newLogger(stderr, logLevel)
			if err != nil {
				return err
			}
			cfg.Latency, cfg.LatencyGrowth, cfg.Logger = latency.d, growth.d, log
			cfg.Resources.CPUPerRequest, cfg.Resources.CPUGrowth = cpu.d, cpuGrowth.d
			if maxFDs > 0 {
				if err := target.SetMaxFDs(maxFDs); err != nil {
					return badInput("--max-fds: %v", err)
				}
			}
			srv, err := target.New(cfg)
			if err != nil {
				return badInput("%v", err)
			}
			return serveTarget(cmd.Context(), srv, stdout, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", target.DefaultAddr, "address of the API listener")
	f.StringVar(&cfg.AdminAddr, "admin-addr", target.DefaultAdminAddr, `address of the admin listener with Prometheus /metrics ("off" to disable)`)
	f.Int64Var(&cfg.LeakBytesPerRequest, "leak-bytes-per-request", 0, "retain this many bytes per request, forever (a memory leak to find)")
	f.Int64Var(&cfg.LeakBytesPerSecond, "leak-bytes-per-second", 0, "retain this many bytes every second, forever")
	f.Var(&latency, "latency", "add this latency to every response")
	f.Var(&growth, "latency-growth", "add this much more latency for every minute the target has run")
	f.Float64Var(&cfg.ErrorRate, "error-rate", 0, "answer this fraction of requests (0..1) with HTTP 500")
	f.IntVar(&cfg.Resources.LeakFDEvery, "leak-fd-every", 0, "open a file and never close it on every Nth request (a descriptor leak)")
	f.IntVar(&cfg.Resources.LeakGoroutineEvery, "leak-goroutine-every", 0, "start a goroutine that never returns on every Nth request")
	f.IntVar(&cfg.Resources.LeakPoolEvery, "leak-pool-every", 0, "keep the pool slot of every Nth request; with none left, answer 503")
	f.IntVar(&cfg.Resources.PoolSize, "pool-size", 0, "slots of the pool (default 100 with --leak-pool-every)")
	f.StringVar(&cfg.Resources.WriteDir, "write-dir", "", "directory the disk knob writes to")
	f.Int64Var(&cfg.Resources.WriteBytesPerSecond, "write-bytes-per-second", 0, "append this many bytes a second to a file in --write-dir (removed at exit)")
	f.Int64Var(&cfg.Resources.WriteMax, "write-max", 0, "quota of the disk knob in bytes: past it, writing stops and requests get 507")
	f.Var(&cpu, "cpu-per-request", "spend this much CPU time on every request")
	f.Var(&cpuGrowth, "cpu-growth", "spin this much longer per request for every minute the target has run")
	f.Uint64Var(&maxFDs, "max-fds", 0, "lower the open-files limit (RLIMIT_NOFILE) to this, so a descriptor leak reaches it")
	f.StringVarP(&logLevel, "loglevel", "L", "info", "log level: debug, info, warn, error")
	return cmd
}

func serveTarget(ctx context.Context, srv *target.Server, stdout io.Writer, log *slog.Logger) error {
	err := srv.Run(ctx, func(addr, admin string) {
		fmt.Fprintf(stdout, "horde target listening on http://%s", addr)
		if admin != "" {
			fmt.Fprintf(stdout, " (metrics on http://%s/metrics)", admin)
		}
		fmt.Fprintln(stdout)
	})
	if err != nil {
		return &run.ExitError{Code: ExitBroken, Err: err}
	}
	return nil
}
