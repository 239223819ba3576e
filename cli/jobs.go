package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wasmorch/wasmorch/host"
)

func (a *app) jobCmd() *cobra.Command {
	job := &cobra.Command{Use: "job", Short: "List and execute jobs (named asset selections with default config)"}
	job.AddCommand(a.jobListCmd(), a.jobExecuteCmd())
	return job
}

func (a *app) jobListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the workspace's jobs",
		Args:  cobra.NoArgs,
		RunE: a.withInstance(true, func(ctx context.Context, inst *host.Instance, wsPath string, _ []string) error {
			ws, err := inst.LoadWorkspace(ctx, wsPath)
			if err != nil {
				return err
			}
			jobs := ws.Jobs()
			if len(jobs) == 0 {
				fmt.Fprintf(a.stdout, "No jobs in %s (declare them under jobs: or in a module).\n", ws.Path())
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB\tSELECTION\tTAGS\tDEFINED IN\tDESCRIPTION")
			for _, j := range jobs {
				sel := j.Selection
				if j.Graph != "" {
					sel = "graph " + j.Graph
				}
				var tags []string
				for k, v := range j.Tags {
					tags = append(tags, k+"="+v)
				}
				sort.Strings(tags)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", j.Name, sel, orDash(strings.Join(tags, ",")), j.Source, orDash(j.Description))
			}
			return tw.Flush()
		}),
	}
}

func (a *app) jobExecuteCmd() *cobra.Command {
	var name string
	var flags runFlags
	cmd := &cobra.Command{
		Use:     "execute -j NAME",
		Short:   "Run a job: its selection with its default config, overridden by -c files and --config-json",
		Example: "  wasmorch job execute -j daily_orders\n  wasmorch job execute -j daily_orders -c prod.yaml --config-json '{\"ops\": {\"raw_orders\": {\"config\": {\"limit\": 5}}}}'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return fmt.Errorf("-j NAME is required (wasmorch job list shows the jobs)")
			}
			return a.runAndReport(cmd, &flags, func(ctx context.Context, inst *host.Instance, ws *host.Workspace, opts []host.MaterializeOption) (*host.Result, error) {
				return inst.ExecuteJob(ctx, ws, name, opts...)
			})
		},
	}
	cmd.Flags().StringVarP(&name, "job", "j", "", "job name (required)")
	flags.register(cmd)
	return cmd
}
