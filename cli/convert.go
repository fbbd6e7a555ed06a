package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/horde-load/horde/internal/har"
	"github.com/horde-load/horde/internal/locustfile"
	"github.com/horde-load/horde/internal/run"
)

func newConvertCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		out         string
		tags        []string
		excludeTags []string
		opts        har.Options
		gap         = durationValue{har.DefaultGap}
		minSleep    = durationValue{har.DefaultMinSleep}
	)
	cmd := &cobra.Command{
		Use:   "convert RECORDING.har | locustfile.py",
		Short: "Turn a browser's HAR recording or a locustfile into a scenario file",
		Long: `convert reads a HAR 1.2 recording (Chromium's DevTools: Network, "Save all as HAR
with content") and writes a scenario: one user class whose tasks are the
recorded pages, run in order, with the think times as sleep steps. Static
assets and other hosts are left out unless asked; values a response handed
out (a login's token, a created item's id) are captured and sent back as
templates. A locustfile.py becomes a Starlark scenario (.star): its user
classes, tasks, weights, waits and requests, translated without running it;
what cannot be translated is listed and left as fail("not converted: ...").
See docs/convert.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Name != "" && !identName(opts.Name) {
				return badInput("--name %q: use letters, digits, _ and - only", opts.Name)
			}
			if isLocustfile(args[0]) {
				return convertLocustfile(args[0], out, tags, excludeTags, stdout, stderr)
			}
			opts.Gap, opts.MinSleep = gap.d, minSleep.d
			data, err := os.ReadFile(args[0])
			if err != nil {
				return badInput("%v", err)
			}
			log, err := har.Parse(args[0], data)
			if err != nil {
				fmt.Fprintln(stderr, err)
				return &run.ExitError{Code: ExitBadInput, Err: fmt.Errorf("%s is not a valid HAR file", args[0])}
			}
			opts.Source = args[0]
			res, err := har.Convert(log, opts)
			if err != nil {
				return badInput("%s: %v", args[0], err)
			}
			w := stdout
			if out != "" && out != "-" {
				if err := os.WriteFile(out, res.YAML, 0o644); err != nil {
					return &run.ExitError{Code: ExitBroken, Err: err}
				}
			} else if _, err := w.Write(res.YAML); err != nil {
				return &run.ExitError{Code: ExitBroken, Err: err}
			}
			summary(stderr, args[0], out, res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "write the scenario to this file (default: standard output)")
	f.StringSliceVarP(&tags, "tags", "T", nil, "locustfile: keep only the tasks with one of these tags (as Locust's --tags)")
	f.StringSliceVarP(&excludeTags, "exclude-tags", "E", nil, "locustfile: leave out the tasks with one of these tags")
	f.StringVar(&opts.Host, "host", "", "the recorded host to test (host, host:port or URL; default: the one most requests went to)")
	f.StringSliceVar(&opts.IncludeHosts, "include-host", nil, "also keep the requests to this host (repeatable)")
	f.BoolVar(&opts.IncludeStatic, "include-static", false, "keep images, style sheets, scripts, fonts and media")
	f.StringVar(&opts.Name, "name", har.DefaultName, "name of the user class")
	f.Var(&gap, "gap", "without pages in the recording, a pause this long starts a new task")
	f.Var(&minSleep, "min-sleep", "shorter pauses between requests are not written as sleep steps")
	return cmd
}

func identName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return s != ""
}

// summary tells on stderr what was kept and what was left out.
func summary(w io.Writer, in, out string, res *har.Result) {
	dest := "standard output"
	if out != "" && out != "-" {
		dest = out
	}
	fmt.Fprintf(w, "%s: %d of %d entries kept: %d requests to %s in %d tasks, %d captures; written to %s\n",
		in, res.Requests, res.Entries, res.Requests, res.Host, res.Tasks, res.Captures, dest)
	var rs []string
	for r, n := range res.Dropped {
		rs = append(rs, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(rs)
	if len(rs) > 0 {
		fmt.Fprintf(w, "left out: %s\n", strings.Join(rs, "; "))
	}
	for _, n := range res.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

// convertLocustfile is horde convert for a locustfile.py.
func convertLocustfile(in, out string, tags, excludeTags []string, stdout, stderr io.Writer) error {
	if ext := strings.ToLower(filepath.Ext(out)); ext == ".yaml" || ext == ".yml" {
		return badInput("-o %s: a locustfile converts to a Starlark scenario (.star): its tasks are Python code, which YAML cannot say; use -o %s.star", out, strings.TrimSuffix(out, filepath.Ext(out)))
	}
	src, err := os.ReadFile(in)
	if err != nil {
		return badInput("%v", err)
	}
	res, err := locustfile.Convert(in, src, locustfile.Options{Tags: tags, ExcludeTags: excludeTags})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return &run.ExitError{Code: ExitBadInput, Err: fmt.Errorf("%s could not be converted", in)}
	}
	star := res.Star
	dest := "standard output"
	if out != "" && out != "-" {
		star = []byte(strings.ReplaceAll(string(star), "horde run FILE.star", "horde run "+out))
		if err := os.WriteFile(out, star, 0o644); err != nil {
			return &run.ExitError{Code: ExitBroken, Err: err}
		}
		dest = out
	} else if _, err := stdout.Write(star); err != nil {
		return &run.ExitError{Code: ExitBroken, Err: err}
	}
	var names []string
	for _, u := range res.Users {
		names = append(names, u.Name)
	}
	fmt.Fprintf(stderr, "%s: %d user classes (%s) converted to %s; %d things not converted\n", in, len(res.Users), strings.Join(names, ", "), dest, res.Lost())
	printNotes(stderr, in, res)
	return nil
}
