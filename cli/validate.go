package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/horde-load/horde/internal/run"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/script"
)

func newValidateCmd(stdout, stderr io.Writer) *cobra.Command {
	var host string
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a scenario file and print every problem as file:line:col: message",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			if isLocustfile(file) {
				var err error
				if file, err = convertForRun(file, "validating", nil, nil, nil, stderr); err != nil {
					return err
				}
			}
			plan, err := script.LoadFile(file, scenario.Options{Host: host})
			if err != nil {
				fmt.Fprintln(stderr, err)
				return &run.ExitError{Code: ExitBadInput, Err: fmt.Errorf("%s is not valid", args[0])}
			}
			tasks := 0
			for _, c := range plan.Classes {
				tasks += len(c.Tasks)
			}
			fmt.Fprintf(stdout, "%s: ok (%s, %s)\n", args[0], plural(len(plan.Classes), "user class", "user classes"), plural(tasks, "task", "tasks"))
			return nil
		},
	}
	cmd.Flags().StringVarP(&host, "host", "H", "", "host to assume when the file has none")
	return cmd
}

// plural writes n with the noun's singular or plural form.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
