package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/horde-load/horde/internal/locustfile"
	"github.com/horde-load/horde/internal/run"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/script"
)

// locustFlags are Locust's flags that horde run accepts beside its own
// (docs/cli.md, "Locust's other flags").
type locustFlags struct {
	file         string // -f/--locustfile
	processes    int
	list         bool
	ratio        bool
	ratioJSON    bool
	logfile      string
	printStats   bool
	skipLogSetup bool
}

func addLocustFlags(f *pflag.FlagSet, l *locustFlags) {
	f.StringVarP(&l.file, "locustfile", "f", "", "the scenario file, as Locust's -f (a locustfile.py is converted: docs/convert.md)")
	f.IntVar(&l.processes, "processes", 0, "Locust's worker processes: horde runs every user in one process on all cores, so this is accepted and not needed")
	f.BoolVarP(&l.list, "list", "l", false, "print the user classes and exit")
	f.BoolVar(&l.ratio, "show-task-ratio", false, "print each user class's share and its tasks' shares, and exit")
	f.BoolVar(&l.ratioJSON, "show-task-ratio-json", false, "print the task ratios as JSON (Locust's /tasks format) and exit")
	f.StringVar(&l.logfile, "logfile", "", "write horde's log to FILE instead of standard error")
	f.BoolVar(&l.printStats, "print-stats", false, "Locust's console statistics with the web UI: horde prints them in headless runs; accepted")
	f.BoolVar(&l.skipLogSetup, "skip-log-setup", false, "Locust's: leave Python's logging alone; horde has none to set up, accepted")
}

// isLocustfile says whether a scenario file is Python.
func isLocustfile(name string) bool {
	return strings.EqualFold(filepath.Ext(name), ".py")
}

// convertForRun converts a locustfile for `horde run`, in memory, and
// writes the result where the user can read it: the run then uses that
// .star file (workers get it as any script). Tags are applied by the
// conversion, as Locust applies them to its tasks.
func convertForRun(file, doing string, tags, excludeTags, classes []string, stderr io.Writer) (string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", badInput("%v", err)
	}
	res, err := locustfile.Convert(file, src, locustfile.Options{Tags: tags, ExcludeTags: excludeTags, Classes: classes})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return "", &run.ExitError{Code: ExitBadInput, Err: fmt.Errorf("%s could not be converted (see docs/convert.md)", file)}
	}
	sum := sha256.Sum256(res.Star)
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	out := filepath.Join(os.TempDir(), fmt.Sprintf("horde-%s-%s.star", base, hex.EncodeToString(sum[:4])))
	if err := os.WriteFile(out, res.Star, 0o644); err != nil {
		return "", &run.ExitError{Code: ExitBroken, Err: err}
	}
	fmt.Fprintf(stderr, "horde: %s is a locustfile: %s it converted to Starlark; the converted file is %s\n", file, doing, out)
	fmt.Fprintf(stderr, "horde: to keep and edit it: horde convert %s -o %s.star\n", file, base)
	printNotes(stderr, file, res)
	return out, nil
}

func printNotes(w io.Writer, file string, res *locustfile.Result) {
	for _, n := range res.Notes {
		what := "note"
		if n.Lost {
			what = "not converted"
		}
		fmt.Fprintf(w, "%s: %s:%d: %s\n", what, file, n.Pos.Line, n.Msg)
	}
}

// printTaskRatio prints Locust's --show-task-ratio (text) or
// --show-task-ratio-json (the /tasks answer's shape) for a plan.
func printTaskRatio(w io.Writer, plan *scenario.Plan, asJSON bool) error {
	type taskRatio struct {
		Ratio float64 `json:"ratio"`
	}
	type classRatio struct {
		Ratio float64              `json:"ratio"`
		Tasks map[string]taskRatio `json:"tasks"`
	}
	weights := 0
	for _, c := range plan.Classes {
		weights += max(c.Weight, 1)
	}
	perClass := map[string]classRatio{}
	total := map[string]classRatio{}
	var names []string
	for _, c := range plan.Classes {
		cr := float64(max(c.Weight, 1)) / float64(weights)
		tw := 0
		for _, t := range c.Tasks {
			tw += max(t.Weight, 0)
		}
		pc := classRatio{Ratio: cr, Tasks: map[string]taskRatio{}}
		tc := classRatio{Ratio: cr, Tasks: map[string]taskRatio{}}
		for _, t := range c.Tasks {
			r := 0.0
			if tw > 0 {
				r = float64(t.Weight) / float64(tw)
			}
			pc.Tasks[t.Name] = taskRatio{Ratio: r}
			tc.Tasks[t.Name] = taskRatio{Ratio: r * cr}
		}
		perClass[c.Name], total[c.Name] = pc, tc
		names = append(names, c.Name)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"per_class": perClass, "total": total})
	}
	for _, title := range []string{"per class", "total"} {
		m := perClass
		if title == "total" {
			m = total
		}
		fmt.Fprintf(w, "\n Task ratio (%s)\n", title)
		for _, n := range names {
			fmt.Fprintf(w, " %-6.1f %s\n", m[n].Ratio*100, n)
			var ts []string
			for t := range m[n].Tasks {
				ts = append(ts, t)
			}
			sort.Strings(ts)
			for _, t := range ts {
				fmt.Fprintf(w, "   %-6.1f %s\n", m[n].Tasks[t].Ratio*100, t)
			}
		}
	}
	fmt.Fprintln(w)
	return nil
}

// locustInfo answers --list and the task-ratio flags: it loads the
// scenario and prints, without running anything.
func locustInfo(l *locustFlags, file, host string, stdout io.Writer) error {
	if file == "" {
		return badInput("--list and --show-task-ratio need a scenario file")
	}
	if host == "" {
		host = "http://127.0.0.1"
	}
	plan, err := script.LoadFile(file, scenario.Options{Host: host})
	if err != nil {
		return badInput("%v", err)
	}
	if l.list {
		fmt.Fprintln(stdout, "Available Users:")
		for _, c := range plan.Classes {
			fmt.Fprintf(stdout, "    %s\n", c.Name)
		}
		return nil
	}
	return printTaskRatio(stdout, plan, l.ratioJSON)
}

// locustNotes says once what the accepted-but-not-needed flags do.
func locustNotes(cmd *cobra.Command, l *locustFlags, stderr io.Writer) {
	if cmd.Flags().Changed("processes") {
		fmt.Fprintf(stderr, "horde: --processes %d: not needed, one horde process runs its users on all %d cores (for more machines: horde master and horde worker)\n", l.processes, runtime.NumCPU())
	}
	if l.printStats {
		fmt.Fprintln(stderr, "horde: --print-stats: the statistics table is printed in headless runs (--headless); with the web UI it is on the page")
	}
}

// locustFlagHelp is what horde says about a Locust flag it does not take.
var locustFlagHelp = map[string]string{
	"master":                  "horde's master is a command: horde master FILE (docs/cluster.md)",
	"worker":                  "horde's worker is a command: horde worker --master-host HOST (docs/cluster.md)",
	"master-host":             "it is a flag of horde worker: horde worker --master-host HOST",
	"master-port":             "it is a flag of horde worker: horde worker --master-port PORT",
	"master-bind-host":        "it is a flag of horde master",
	"master-bind-port":        "it is a flag of horde master",
	"expect-workers":          "it is a flag of horde master: horde master FILE --expect-workers N",
	"expect-workers-max-wait": "it is a flag of horde master",
	"modern-ui":               "horde has one web UI",
	"legacy-ui":               "horde has one web UI",
	"web-login":               "horde's web UI takes --web-auth USER:PASS (or --web-token)",
	"step-load":               "use --stage DURATION:USERS (repeatable) for a stepped load",
	"step-users":              "use --stage DURATION:USERS (repeatable) for a stepped load",
	"step-time":               "use --stage DURATION:USERS (repeatable) for a stepped load",
	"equal-weights":           "horde spreads users by the classes' weights only; edit the weights in the scenario",
	"enable-rebalancing":      "horde master rebalances users when workers join or leave without a flag",
	"heartbeat-liveness":      "horde's workers are watched by the master's own heartbeat",
	"hatch-rate":              "Locust renamed it: use -r/--spawn-rate",
}

// flagError turns cobra's bare "unknown flag" into a sentence that says
// what to do instead.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	name := ""
	if _, rest, ok := strings.Cut(msg, "unknown flag: --"); ok {
		name = strings.Fields(rest + " ")[0]
	} else if _, rest, ok := strings.Cut(msg, "unknown shorthand flag: '"); ok {
		name = rest[:1]
	}
	if name == "" {
		return badInput("%v (horde %s --help lists the flags)", err, cmd.Name())
	}
	if help, ok := locustFlagHelp[name]; ok {
		return badInput("horde %s does not take Locust's --%s: %s", cmd.Name(), name, help)
	}
	return badInput("horde %s has no flag %s (horde %s --help lists its flags; Locust's flags: docs/cli.md)", cmd.Name(), flagName(name), cmd.Name())
}

func flagName(n string) string {
	if len(n) == 1 {
		return "-" + n
	}
	return "--" + n
}
