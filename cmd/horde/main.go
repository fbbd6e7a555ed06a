// Command horde is the load and soak testing tool: the standalone runner,
// the sample target, the scenario validator (and, as they land, the master,
// the worker and the soak analyser).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/horde-load/horde/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
