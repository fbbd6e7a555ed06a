// Package cli is horde's command line: it parses flags (with Locust's names
// and HORDE_* environment variables) and wires the packages together.
//
// Go users who write their own horde.User build their own binary around
// Main, passing their classes; see examples/go-user.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/run"
)

// Exit codes, documented in docs/cli.md (run's).
const (
	ExitOK       = run.ExitOK       // the run passed
	ExitFailures = run.ExitFailures // requests failed (see --exit-code-on-error), or a threshold failed
	ExitBadInput = run.ExitBadInput // bad flags, environment or scenario
	ExitBroken   = run.ExitBroken   // the run itself broke
)

// Version is horde's version, set at build time with -ldflags "-X".
var Version = "0.1.0-dev"

// Interrupted is the cause of a context that a signal cancelled (as
// cmd/horde sets it): `horde master --sigterm handover` tells SIGTERM (a pod
// deleted) from an interrupt (Ctrl-C).
type Interrupted = run.Interrupted

func badInput(format string, args ...any) error {
	return &run.ExitError{Code: ExitBadInput, Err: fmt.Errorf(format, args...)}
}

// env is how the process environment is read; tests replace it.
type env func(string) (string, bool)

// Main runs the horde command line with args (without the program name)
// and returns the process exit code. classes, if given, are Go user
// classes that `horde run` uses when no scenario file is named.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, classes ...horde.Class) int {
	root := newRoot(ctx, stdout, stderr, os.LookupEnv, classes)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *run.ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil && ee.Err.Error() != "" {
			fmt.Fprintln(stderr, "horde:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, "horde:", err)
	return ExitBadInput // cobra's own errors: unknown flags and commands
}

func newRoot(ctx context.Context, stdout, stderr io.Writer, lookup env, classes []horde.Class) *cobra.Command {
	root := &cobra.Command{
		Use:           "horde",
		Short:         "Distributed load and soak testing",
		Long:          "horde runs load and soak tests described in YAML scenario files (or in Go), standalone or distributed.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(flagError) // every command: a sentence, not a bare "unknown flag"
	root.AddCommand(
		newRunCmd(stdout, stderr, lookup, classes),
		newValidateCmd(stdout, stderr),
		newConvertCmd(stdout, stderr),
		newTargetCmd(stdout, stderr, lookup),
		newDemoCmd(stdout, stderr, lookup),
		newMasterCmd(stdout, stderr, lookup, classes), newWorkerCmd(stdout, stderr, lookup, classes),
		newRunsCmd(stdout, stderr, lookup), newAnalyzeCmd(stdout, stderr, lookup), newReportCmd(stdout, stderr, lookup),
		newPercentilesCmd(stdout, stderr, lookup), newTryCmd(stdout, stderr, lookup),
		newCompareCmd(stdout, stderr, lookup), newHistoryCmd(stdout, stderr, lookup),
	)
	return root
}

// bindEnv gives every flag of fs not set on the command line the value of
// HORDE_<NAME> (dashes become underscores), so Kubernetes manifests can
// configure horde through the environment. Precedence: flag > env > default.
func bindEnv(fs *pflag.FlagSet, lookup env) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" {
			return
		}
		name := "HORDE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := lookup(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("environment %s=%q: %v", name, v, err))
		}
	})
	if len(errs) > 0 {
		return &run.ExitError{Code: ExitBadInput, Err: errors.Join(errs...)}
	}
	return nil
}
