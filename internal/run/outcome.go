package run

import (
	"fmt"
	"strings"

	"github.com/horde-load/horde/internal/soak"
)

// Exit codes, documented in docs/cli.md.
const (
	ExitOK       = 0 // the run passed
	ExitFailures = 1 // requests failed (see ExitCodeOnError), or a threshold failed
	ExitBadInput = 2 // bad flags, environment or scenario
	ExitBroken   = 3 // the run itself broke
)

// Outcome is how a run ended, as a scheduled job sees it. Its ExitCode is
// the one rule for every door: the end of `horde run` and `horde master`,
// the web UI's report, `horde analyze`.
type Outcome struct {
	Verdicts   []soak.Verdict // thresholds and checks, failures first as judged
	Thresholds int            // thresholds judged
	Requests   int64
	Failures   int64 // failed requests
	Exceptions int   // distinct errors raised by user code
	// ExitCodeOnError is the code when requests failed or user code raised
	// an error and no threshold decides (Locust's --exit-code-on-error).
	ExitCodeOnError int
	// ChecksDecide makes a failed check fail the outcome too (`horde
	// analyze`: judging is what it is for); a run's checks only inform.
	ChecksDecide bool
	// Broken: the run could not write its results.
	Broken bool
	// HandedOver: the run was left going for the next master (no verdict).
	HandedOver bool
	// Differs says, for `horde analyze RUN`, where its verdicts differ
	// from those the run recorded, and why.
	Differs []string
}

// failed returns the names of the failed verdicts that decide.
func (o *Outcome) failed() []string {
	var out []string
	for _, v := range o.Verdicts {
		if v.Status == soak.Fail && (v.Kind == "threshold" || o.ChecksDecide) {
			out = append(out, v.Kind+" "+v.Name)
		}
	}
	return out
}

// ExitCode is the process's exit code for the outcome: a failed threshold
// (or check, when they decide) is 1; without thresholds, Locust's rule:
// any failed request or user-code error gives ExitCodeOnError.
func (o *Outcome) ExitCode() int {
	switch {
	case o.HandedOver:
		return ExitOK
	case o.Broken:
		return ExitBroken
	case len(o.failed()) > 0:
		return ExitFailures
	case o.Thresholds == 0 && !o.ChecksDecide && (o.Failures > 0 || o.Exceptions > 0):
		return o.ExitCodeOnError
	}
	return ExitOK
}

// Err says why the outcome is not ExitOK (nil when it is).
func (o *Outcome) Err() error {
	if o.ExitCode() == ExitOK {
		return nil
	}
	if f := o.failed(); len(f) > 0 {
		if !o.ChecksDecide {
			return fmt.Errorf("%d of %d thresholds failed", len(f), o.Thresholds)
		}
		return fmt.Errorf("%d failed: %s", len(f), strings.Join(f, "; "))
	}
	if o.Broken {
		return fmt.Errorf("the run's results could not be written")
	}
	return fmt.Errorf("%d of %d requests failed, %d exceptions", o.Failures, o.Requests, o.Exceptions)
}
