package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/horde-load/horde/internal/engine"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/run"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/script"
)

// DefaultBodyLimit is how much of each body `horde try` prints.
const DefaultBodyLimit = 2048

// newTryCmd is `horde try FILE`: one user of the scenario, once, with
// every request, response, check and capture printed (k6's --http-debug,
// Locust's run_single_user).
func newTryCmd(stdout, stderr io.Writer, lookup env) *cobra.Command {
	var (
		host, class string
		bodyLimit   int
		timeout     durationValue

		targetCA, targetCert, targetKey string
		insecure                        bool
	)
	cmd := &cobra.Command{
		Use:   "try FILE",
		Short: "Run one user of a scenario once and print every request, response, check and capture",
		Long: `Run one user of a scenario once, against the real host, to write and debug it:
the user's feeders and on_start, then each task once in the listed order
(whatever its weight), then on_stop, without waits. Each request is printed with
its headers and body, its response with status, headers, body (cut at
--body-limit bytes) and time, then each check's result and each capture's value.

Exit codes: 0 every request passed its checks; 1 a request failed (a check,
a capture, a status >= 400 without a status check, or no response); 2 bad
input (the scenario, a flag, or a template that cannot render).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags(), lookup); err != nil {
				return err
			}
			if bodyLimit < 0 {
				return badInput("--body-limit: %d is negative", bodyLimit)
			}
			tlsFlags, err := readTargetTLS(targetCA, targetCert, targetKey, insecure)
			if err != nil {
				return err
			}
			plan, err := script.LoadFile(args[0], scenario.Options{Host: host, TLS: tlsFlags})
			if err != nil {
				return badInput("%v", err)
			}
			h := host
			if h == "" {
				h = plan.Host
			}
			if h == "" {
				return badInput("%s has no host: give -H URL", args[0])
			}
			ci := 0
			if class != "" {
				ci = -1
				var names []string
				for i, c := range plan.Classes {
					names = append(names, c.Name)
					if c.Name == class {
						ci = i
					}
				}
				if ci < 0 {
					return badInput("--class %q: the scenario's user classes are %s", class, strings.Join(names, ", "))
				}
			}
			return runTry(cmd.Context(), stdout, args[0], plan, h, ci, bodyLimit, timeout.d)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&host, "host", "H", "", "base URL of the system under test (overrides the scenario's host)")
	f.StringVar(&class, "class", "", "the user class to run (default: the first)")
	f.IntVar(&bodyLimit, "body-limit", DefaultBodyLimit, "print at most this many bytes of each body (0: none)")
	f.Var(&timeout, "request-timeout", "timeout of a request (default 60s; a step's timeout overrides it)")
	addTargetTLSFlags(f, &targetCA, &targetCert, &targetKey, &insecure)
	return cmd
}

// runTry runs the user and prints its exchanges; a failed request is exit 1.
func runTry(ctx context.Context, w io.Writer, file string, plan *scenario.Plan, host string, class, bodyLimit int, timeout time.Duration) error {
	c := plan.Classes[class]
	fmt.Fprintf(w, "horde try %s: user class %s, host %s\n", file, c.Name, host)
	var requests, failed int
	tc := engine.TryConfig{
		Plan:  plan,
		Host:  host,
		Class: class,
		Phase: func(p string) { fmt.Fprintf(w, "\n=== %s\n", p) },
		Trace: func(x *engine.Exchange) {
			requests++
			if x.Failure != "" {
				failed++
			}
			printExchange(w, x, bodyLimit)
		},
	}
	if timeout > 0 {
		tc.HTTP = httpload.Options{Timeout: timeout}
	}
	err := engine.Try(ctx, tc)
	fmt.Fprintf(w, "\n%d requests, %d failed\n", requests, failed)
	switch {
	case err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, httpload.ErrStopped)):
		return &run.ExitError{Code: run.ExitFailures, Err: errors.New("interrupted")}
	case err != nil && errors.As(err, new(*engine.FailedStepError)):
		return &run.ExitError{Code: run.ExitFailures, Err: err} // a failed setup or teardown request
	case err != nil:
		return badInput("%v", err)
	case failed > 0:
		return &run.ExitError{Code: run.ExitFailures, Err: fmt.Errorf("%d of %d requests failed", failed, requests)}
	}
	return nil
}

// printExchange writes one request and its response, checks and captures.
func printExchange(w io.Writer, x *engine.Exchange, limit int) {
	where := ""
	if x.Pos.File != "" {
		where = fmt.Sprintf(", %s:%d", x.Pos.File, x.Pos.Line)
	}
	fmt.Fprintf(w, "%s %s  (name %s%s)\n", x.Method, x.URL, x.Name, where)
	if x.FinalURL != "" {
		fmt.Fprintf(w, "  redirected to %s; the last request's headers:\n", x.FinalURL)
	}
	for _, h := range x.RequestHeader() {
		fmt.Fprintf(w, "> %s: %s\n", h[0], h[1])
	}
	printBody(w, "> ", x.RequestBody(), limit)
	if x.Err != "" {
		fmt.Fprintf(w, "< no response after %s: %s\n", fmtTook(x), x.Err)
	} else {
		if x.StatusLine != "" {
			fmt.Fprintf(w, "< %s  %s\n", x.StatusLine, fmtTook(x))
		} else {
			fmt.Fprintf(w, "< %d %s  %s\n", x.Status, statusText(x.Status), fmtTook(x))
		}
		for _, h := range x.ResponseHeader() {
			fmt.Fprintf(w, "< %s: %s\n", h[0], h[1])
		}
		printBody(w, "< ", x.ResponseBody(), limit)
	}
	if ev := x.Eval; ev != nil {
		for _, c := range ev.Checks {
			if c.Failure == "" {
				fmt.Fprintf(w, "  check    %s: ok\n", c.What)
			} else {
				fmt.Fprintf(w, "  check    %s: FAILED: %s\n", c.What, c.Failure)
			}
		}
		for _, c := range ev.Captures {
			switch {
			case c.Skipped:
				fmt.Fprintf(w, "  capture  %s: not run (a check failed)\n", c.What)
			case c.Failure != "":
				fmt.Fprintf(w, "  capture  %s: FAILED: %s\n", c.What, c.Failure)
			default:
				fmt.Fprintf(w, "  capture  %s = %q\n", c.What, c.Value)
			}
		}
	}
	if x.Failure != "" {
		fmt.Fprintf(w, "  FAIL     %s\n", x.Failure)
	} else {
		fmt.Fprintf(w, "  PASS\n")
	}
}

// printBody writes a body after a blank marker line, cut at limit bytes.
func printBody(w io.Writer, prefix string, b []byte, limit int) {
	if len(b) == 0 {
		return
	}
	fmt.Fprintln(w, strings.TrimRight(prefix, " "))
	shown := b
	if len(shown) > limit {
		shown = shown[:limit]
	}
	if !utf8.Valid(shown) && utf8.Valid(b) {
		for len(shown) > 0 && !utf8.Valid(shown) { // a cut inside a character
			shown = shown[:len(shown)-1]
		}
	}
	if !utf8.Valid(shown) {
		fmt.Fprintf(w, "%s(%d bytes, not text)\n", prefix, len(b))
		return
	}
	for _, line := range strings.Split(strings.TrimRight(string(shown), "\n"), "\n") {
		fmt.Fprintf(w, "%s%s\n", prefix, line)
	}
	if len(shown) < len(b) {
		fmt.Fprintf(w, "%s... (%d more bytes; --body-limit %d)\n", prefix, len(b)-len(shown), limit)
	}
}

func fmtTook(x *engine.Exchange) string {
	return fmt.Sprintf("%.2f ms", float64(x.Took.Microseconds())/1000)
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "(unknown status)"
}
