package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/run"
	"github.com/horde-load/horde/internal/store"
)

func newHistoryCmd(stdout, stderr io.Writer, lookup env) *cobra.Command {
	var dir, format string
	var o compare.HistoryOptions
	cmd := &cobra.Command{
		Use:   "history [SCENARIO | DIR]",
		Short: "Each run's headline figures in time order, with change points",
		Long: `List the finished runs of a scenario (a scenario file: the runs in --runs-dir
recorded with the same scenario text), or every finished run of a runs
directory, oldest first: requests, rps, error rate, p50/p95/p99 and the
target's memory growth (%/h). Change points, where a figure's level moved and
stayed, are marked: E-divisive (as Apache Otava/Hunter) with a permutation
test, so a slow drift over weeks shows as well as a jump. A change in the
setup (users, spawn rate, scenario, host) between two runs is marked too.
See docs/soak.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags(), lookup); err != nil {
				return err
			}
			write, err := writerOf(formatName(format), "text, json or markdown", map[string]func(io.Writer, *compare.History) error{
				"text":     compare.WriteHistoryText,
				"json":     compare.WriteHistoryJSON,
				"markdown": compare.WriteHistoryMarkdown,
			})
			if err != nil {
				return err
			}
			hash := ""
			if len(args) == 1 {
				fi, err := os.Stat(args[0])
				switch {
				case err != nil:
					return badInput("%s: %v", args[0], err)
				case fi.IsDir():
					dir = args[0]
				default:
					b, err := os.ReadFile(args[0])
					if err != nil {
						return badInput("%v", err)
					}
					hash = compare.HashScenario(string(b))
				}
			}
			ctx := cmd.Context()
			sums, err := store.List(ctx, dir)
			if err != nil {
				return badInput("--runs-dir: %v", err)
			}
			var runs []*compare.Run
			skipped := 0
			for _, s := range sums {
				if s.Err != nil {
					fmt.Fprintf(stderr, "horde: skipping %s: %v\n", s.Path, s.Err)
					continue
				}
				if hash != "" && compare.HashScenario(s.Run.Scenario) != hash {
					continue
				}
				if s.Run.Ended.IsZero() {
					skipped++
					continue
				}
				r, err := run.LoadCompared(ctx, s.Path)
				if err != nil {
					fmt.Fprintf(stderr, "horde: skipping %s: %v\n", s.Path, err)
					continue
				}
				runs = append(runs, r)
			}
			if skipped > 0 {
				fmt.Fprintf(stderr, "horde: %d unfinished or running runs left out\n", skipped)
			}
			if len(runs) == 0 {
				what := "in " + dir
				if hash != "" {
					what = fmt.Sprintf("of %s (scenario %s) in %s", args[0], hash, dir)
				}
				return badInput("no finished run %s", what)
			}
			h := compare.NewHistory(runs, o)
			return writeOut(stdout, "", func(w io.Writer) error { return write(w, h) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "runs-dir", run.DefaultRunsDir, "directory of the run files")
	f.StringVar(&format, "format", "text", "text, json or markdown")
	f.IntVar(&o.MinSize, "min-runs", 3, "least runs on each side of a change point")
	f.Float64Var(&o.MinChange, "min-change", 5, "least change to mark, in % of the level before (a tenth of it in points for error rate and memory growth)")
	return cmd
}
