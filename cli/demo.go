package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/horde-load/horde/examples"
	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/run"
	"github.com/horde-load/horde/internal/target"
)

// The demo's defaults: the seed workload, 50 users for 30 s.
const (
	demoUsers   = 50
	demoRate    = 10
	demoRunTime = 30 * time.Second
)

func newDemoCmd(stdout, stderr io.Writer, lookup env) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start the sample target on a free loopback port and load-test it with examples/seed-api.yaml",
		Long: `demo starts the sample system under test (horde target) on a free loopback port
and runs the seed workload (examples/seed-api.yaml, built into the binary)
against it: 50 users for 30 s, then prints the summary. Nothing to configure.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags(), lookup); err != nil {
				return err
			}
			return runDemo(cmd.Context(), cmd, o, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.users, "users", "u", demoUsers, "peak number of concurrent users")
	f.Float64VarP(&o.spawnRate, "spawn-rate", "r", demoRate, "users started per second")
	o.runTime.d = demoRunTime
	f.VarP(&o.runTime, "run-time", "t", "how long to run")
	f.StringVar(&o.csvPrefix, "csv", "", "also write the CSV files with this prefix")
	f.StringVar(&o.html, "html", "", "also write an HTML report")
	f.StringVar(&o.jsonFile, "json", "", "also write a JSON summary")
	f.BoolVar(&o.onlySummary, "only-summary", false, "print only the final summary")
	f.StringVar(&o.runsDir, "runs-dir", run.DefaultRunsDir, "record the run into a file in this directory (see docs/runs.md)")
	o.exitCodeOnError = ExitFailures
	o.metrics.nativeFactor = monitor.DefaultNativeFactor // the flags' defaults for what demo does not expose
	o.runsInterval.d = run.DefaultRunsInterval
	o.logLevel = "info"
	o.headless = true
	return cmd
}

func runDemo(ctx context.Context, cmd *cobra.Command, o *runOptions, stdout, stderr io.Writer) error {
	srv, err := target.New(target.Config{Addr: "127.0.0.1:0", AdminAddr: "off", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return &run.ExitError{Code: ExitBroken, Err: err}
	}
	tctx, stopTarget := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- srv.Run(tctx, func(addr, _ string) { ready <- addr })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-served:
		stopTarget()
		return &run.ExitError{Code: ExitBroken, Err: fmt.Errorf("sample target: %v", err)}
	}
	defer func() { stopTarget(); <-served }()
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return &run.ExitError{Code: ExitBroken, Err: err}
	}
	o.host = "http://" + addr
	fmt.Fprintf(stdout, "horde demo: sample target on %s; running examples/seed-api.yaml with %d users for %s\n\n", o.host, o.users, o.runTime.d)
	c, err := o.config(cmd, scenarioSource{file: "examples/seed-api.yaml", dir: ".", text: examples.SeedAPI}, nil, stdout, stderr)
	if err != nil {
		return err
	}
	return runRun(ctx, c)
}
