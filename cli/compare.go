package cli

import (
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/run"
)

func newCompareCmd(stdout, stderr io.Writer, lookup env) *cobra.Command {
	var dir, format, out string
	cmd := &cobra.Command{
		Use:   "compare A B",
		Short: "Compare two recorded runs side by side",
		Long: `Compare two recorded runs (run files, or run ids under --runs-dir): what differs
in their setup (length, users, spawn rate, scenario, host) first, then per
request name and for the whole run the requests, rps, error rate and
p50/p95/p99/max of A and B, the change, and whether it is beyond the runs' own
noise (a Mann–Whitney rank test of their per-minute values, or per-10 s for
runs under 5 minutes), and the target's figures (memory growth in %/h).
--format text, json, markdown or html (a page with charts). See docs/soak.md.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags(), lookup); err != nil {
				return err
			}
			write, err := writerOf(outFormat(format, out, "text"), "text, json, markdown or html", map[string]func(io.Writer, *compare.Result) error{
				"text":     compare.WriteText,
				"json":     compare.WriteJSON,
				"markdown": compare.WriteMarkdown,
				"html":     compare.WriteHTML,
			})
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var runs [2]*compare.Run
			for i, a := range args {
				r, err := run.LoadCompared(ctx, run.Resolve(a, dir))
				if err != nil {
					return err
				}
				runs[i] = r
			}
			res := compare.Compare(runs[0], runs[1])
			return writeOut(stdout, out, func(w io.Writer) error { return write(w, res) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "runs-dir", run.DefaultRunsDir, "directory of the run files (for runs given by id)")
	f.StringVar(&format, "format", "", "text, json, markdown or html (default: from -o's extension, else text)")
	f.StringVarP(&out, "output", "o", "", "write to FILE (default: stdout)")
	return cmd
}

// outFormat is the output format --format names (by formatName), else
// the one -o's extension asks for, else def.
func outFormat(format, out, def string) string {
	if format == "" {
		return formatOfFile(out, def)
	}
	return formatName(format)
}

// formatOfFile is the report format an output file's extension asks for
// (.json, .md or .markdown, .html or .htm), or def for any other.
func formatOfFile(out, def string) string {
	switch strings.ToLower(filepath.Ext(out)) {
	case ".json":
		return "json"
	case ".md", ".markdown":
		return "markdown"
	case ".html", ".htm":
		return "html"
	}
	return def
}

// writerOf is the writer in writers for a --format (md for markdown), or
// a bad-input error that names the formats there are.
func writerOf[T any](format, names string, writers map[string]func(io.Writer, T) error) (func(io.Writer, T) error, error) {
	if w, ok := writers[format]; ok {
		return w, nil
	}
	return nil, badInput("--format: %q is not %s", format, names)
}
