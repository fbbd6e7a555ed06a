package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// Config files in Locust's format: `key = value` lines (also `key: value`
// and a bare `key` for true) whose keys are the long flag names, without
// the dashes; `#` and `;` start comments, `[section]` headers are
// ignored, lists are `[a, b]`. Locust reads ~/.locust.conf, then
// ./locust.conf, then --config; a later file overrides an earlier one.
// horde reads the same files and ./horde.conf (after locust.conf), so a
// team's existing file works unchanged. Precedence: flags > environment
// (HORDE_*) > config files > the scenario's load: section > defaults.

// defaultConfigFiles are read when they exist, in this order.
func defaultConfigFiles(lookup env) []string {
	var files []string
	if home, ok := lookup("HOME"); ok && home != "" {
		files = append(files, filepath.Join(home, ".locust.conf"))
	}
	return append(files, "locust.conf", "horde.conf")
}

// configEntry is one key = value of a config file.
type configEntry struct {
	key, value string
	list       []string // when the value is [a, b]
	place      string   // file:line
}

// parseConfig reads a config file's entries.
func parseConfig(name string, data []byte) ([]configEntry, error) {
	var out []configEntry
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if text == "" || text[0] == '#' || text[0] == ';' || (text[0] == '[' && strings.HasSuffix(text, "]")) {
			continue
		}
		place := fmt.Sprintf("%s:%d", name, line)
		key, value := text, "true"
		if i := strings.IndexAny(text, "=: \t"); i >= 0 {
			key, value = text[:i], strings.TrimSpace(text[i:])
			if value != "" && (value[0] == '=' || value[0] == ':') {
				value = strings.TrimSpace(value[1:])
			}
		}
		key = strings.ReplaceAll(strings.TrimLeft(key, "-"), "_", "-")
		if key == "" {
			errs = append(errs, fmt.Errorf("%s: no key before %q", place, text))
			continue
		}
		e := configEntry{key: key, value: unquote(value), place: place}
		if strings.HasPrefix(value, "[") {
			if !strings.HasSuffix(value, "]") {
				errs = append(errs, fmt.Errorf("%s: %s: list %s has no closing ]", place, key, value))
				continue
			}
			e.list = []string{}
			for _, it := range strings.Split(value[1:len(value)-1], ",") {
				if it = unquote(strings.TrimSpace(it)); it != "" {
					e.list = append(e.list, it)
				}
			}
			e.value = strings.Join(e.list, ",")
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %v", name, err))
	}
	return out, errors.Join(errs...)
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// scenarioKeys name the scenario file in a config file (Locust's
// locustfile, or horde's own scenario).
var scenarioKeys = []string{"locustfile", "scenario", "f"}

// ignoredKeys are Locust options a config file may carry that horde
// expresses otherwise: its mode is the command (horde master, horde
// worker), not a flag. (print-stats, skip-log-setup, logfile and processes
// are flags of horde run: docs/cli.md.)
var ignoredKeys = []string{"master", "worker", "headful", "enable-rebalancing"}

// applyConfig sets every flag of fs not already set (on the command line or
// from the environment) from the config files: the default ones that
// exist, then explicit (--config), which must exist. Keys that are flags of
// another horde command (a file shared by master and workers) are skipped;
// other unknown keys are errors naming file:line. It returns the scenario
// file a config file names ("" if none).
func applyConfig(fs *pflag.FlagSet, lookup env, explicit string) (string, error) {
	files := defaultConfigFiles(lookup)
	if explicit != "" {
		files = append(files, explicit)
	}
	set := map[string]bool{} // flags a config file set: a later file may override
	scenarioFile := ""
	var errs []error
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			if name != explicit && errors.Is(err, os.ErrNotExist) {
				continue
			}
			errs = append(errs, fmt.Errorf("--config: %v", err))
			continue
		}
		entries, err := parseConfig(name, data)
		if err != nil {
			errs = append(errs, err)
		}
		for _, e := range entries {
			switch {
			case slices.Contains(scenarioKeys, e.key):
				scenarioFile = e.value
				if !filepath.IsAbs(scenarioFile) && scenarioFile != "" {
					scenarioFile = filepath.Join(filepath.Dir(name), scenarioFile)
				}
				continue
			case e.key == "config" || slices.Contains(ignoredKeys, e.key):
				continue
			}
			f := fs.Lookup(e.key)
			if f == nil {
				if slices.Contains(allFlagNames(), e.key) {
					continue // another command's flag
				}
				errs = append(errs, fmt.Errorf("%s: unknown option %q (see horde %s --help)", e.place, e.key, fs.Name()))
				continue
			}
			if f.Changed && !set[f.Name] {
				continue // the command line or the environment set it
			}
			if err := setFlag(fs, f, e); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s = %q: %v", e.place, e.key, e.value, err))
				continue
			}
			set[f.Name] = true
		}
	}
	if len(errs) > 0 {
		return "", badInput("%v", errors.Join(errs...))
	}
	return scenarioFile, nil
}

// setFlag sets f from a config entry; a list replaces whatever an earlier
// file gave.
func setFlag(fs *pflag.FlagSet, f *pflag.Flag, e configEntry) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		items := e.list
		if items == nil {
			items = []string{e.value}
			if f.Value.Type() == "stringSlice" {
				items = strings.Split(e.value, ",")
			}
		}
		if err := sv.Replace(items); err != nil {
			return err
		}
		f.Changed = true
		return nil
	}
	if e.list != nil {
		return errors.New("want one value, not a list")
	}
	if f.Value.Type() == "bool" {
		switch strings.ToLower(e.value) {
		case "yes", "on":
			e.value = "true"
		case "no", "off":
			e.value = "false"
		}
	}
	if err := fs.Set(f.Name, e.value); err != nil {
		return err
	}
	return nil
}

// allFlagNames are the flags of every command that reads config files.
func allFlagNames() []string {
	var names []string
	for _, c := range newRoot(nil, nil, nil, nil, nil).Commands() {
		c.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	}
	return names
}
