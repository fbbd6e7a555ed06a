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
	var latency, growth durationValue
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
