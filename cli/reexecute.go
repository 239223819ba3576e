package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/wasmorch/wasmorch/host"
)

func (a *app) runReexecuteCmd() *cobra.Command {
	var fromFailure bool
	var flags runFlags
	cmd := &cobra.Command{
		Use:   "reexecute RUN_ID",
		Short: "Run a finished run's steps again (all, or --from-failure only the failed and skipped ones)",
		Long: `Run a finished run's steps again in a new run. With --from-failure only the steps that failed,
were skipped or never ran are executed; the others are not, and their values are read from what
the original run stored. The original run config is reused; -c and --config-json merge on top.`,
		Example: "  wasmorch run reexecute 01a1ffa2 --from-failure",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runAndReport(cmd, &flags, func(ctx context.Context, inst *host.Instance, ws *host.Workspace, opts []host.MaterializeOption) (*host.Result, error) {
				parent, err := findRun(ctx, inst, args[0])
				if err != nil {
					return nil, err
				}
				return inst.Reexecute(ctx, ws, parent.ID, fromFailure, opts...)
			})
		},
	}
	cmd.Flags().BoolVar(&fromFailure, "from-failure", false, "only the failed, skipped and unfinished steps")
	flags.register(cmd)
	return cmd
}
