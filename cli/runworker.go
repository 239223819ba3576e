package cli

import (
	"github.com/spf13/cobra"

	"github.com/wasmorch/wasmorch/host"
)

// runWorkerCmd is the process a SubprocessLauncher starts for one run. It is hidden: the
// launching process starts it with the run on file descriptor 3.
func (a *app) runWorkerCmd() *cobra.Command {
	return &cobra.Command{
		Use:    host.RunWorkerCommand,
		Short:  "Execute one launched run (started by wasmorch itself, not by hand)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if code := host.RunWorkerMain(cmd.Context()); code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
}
