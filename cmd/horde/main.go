// Command horde is the load and soak testing tool: the standalone runner,
// the master and the worker, the sample target, the scenario validator and
// the soak analyser.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/horde-load/horde/cli"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		signal.Stop(sigs) // a second signal ends the process at once
		cancel(cli.Interrupted{Signal: sig})
	}()
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel(nil)
	os.Exit(code)
}
