package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
)

func (a *app) backfillCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "backfill", Short: "Materialize ranges of partitions, and follow, cancel or resume backfills"}
	cmd.AddCommand(a.backfillLaunchCmd(), a.backfillListCmd(), a.backfillShowCmd(), a.backfillCancelCmd(), a.backfillResumeCmd())
	return cmd
}

// backfillReporter prints a backfill's progress: a line per failed run, and a count of runs.
type backfillReporter struct {
	a     *app
	began time.Time
	last  time.Time
}

func (r *backfillReporter) created(b store.Backfill) {
	fmt.Fprintf(r.a.stderr, "Backfill %s: %s over %d partition(s)\n", b.ID, b.Selection, len(b.PartitionKeys))
}

func (r *backfillReporter) progress(p host.BackfillProgress) {
	if p.Run != nil && !p.Run.Success() {
		fmt.Fprintf(r.a.stderr, "%s\n", firstLine(p.Run.Err().Error()))
	}
	now := time.Now()
	if p.Done != p.Runs && now.Sub(r.last) < time.Second {
		return
	}
	r.last = now
	rate := float64(p.Done) / now.Sub(r.began).Seconds()
	fmt.Fprintf(r.a.stderr, "  %d/%d runs done, %d failed (%.1f runs/s)\n", p.Done, p.Runs, p.Failed, rate)
}

// finish prints how a backfill ended; one that did not complete exits 1.
func (a *app) finishBackfill(b store.Backfill, err error, began time.Time) error {
	if err != nil && b.ID == "" {
		return err
	}
	fmt.Fprintf(a.stdout, "\nBackfill %s %s in %s\n", b.ID, b.Status, time.Since(began).Round(time.Millisecond))
	if b.Error != "" {
		fmt.Fprintf(a.stdout, "  %s\n", b.Error)
	}
	wsFlag := ""
	if a.workspace != "" {
		wsFlag = " -w " + a.workspace
	}
	fmt.Fprintf(a.stdout, "Inspect:   wasmorch backfill show %s%s\n", b.ID, wsFlag)
	if err != nil {
		return err
	}
	if b.Status != store.BackfillCompleted {
		if b.Status != store.BackfillCanceled {
			fmt.Fprintf(a.stdout, "Resume:    wasmorch backfill resume %s%s\n", b.ID, wsFlag)
		}
		return exitError{1}
	}
	return nil
}

func (a *app) backfillLaunchCmd() *cobra.Command {
	var req host.BackfillRequest
	var flags runFlags
	cmd := &cobra.Command{
		Use:   "launch --select SELECTION --from FIRST --to LAST",
		Short: "Materialize a range of partitions: by default one run per partition",
		Long: `Materialize the selected assets over the partitions FIRST to LAST (both included) of the
selection's partitioned root assets; assets downstream materialize the partitions that read them.
By default each partition gets its own run, started once the runs of the partitions it reads have
succeeded, with at most --concurrency runs at once; --one-run puts everything in one run.

The backfill is stored before its first run: if this command is interrupted, or the machine
stops, 'wasmorch backfill resume ID' materializes what is missing without repeating anything.`,
		Example: "  wasmorch backfill launch --select daily_events --from 2026-01-01 --to 2026-01-31\n  wasmorch backfill launch --select 'hourly_events*' --from 2026-01-01-00:00 --to 2026-01-07-23:00 --concurrency 4",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Selection == "" || req.From == "" || req.To == "" {
				return fmt.Errorf("--select, --from and --to are required")
			}
			cfg, err := flags.runConfig()
			if err != nil {
				return err
			}
			req.Config = cfg
			return a.withWorkspace(func(ctx context.Context, inst *host.Instance, ws *host.Workspace, _ []string) error {
				r := &backfillReporter{a: a, began: time.Now()}
				b, err := inst.LaunchBackfill(ctx, ws, req, host.WithBackfillCreated(r.created), host.WithBackfillProgress(r.progress))
				return a.finishBackfill(b, err, r.began)
			})(cmd, nil)
		},
	}
	cmd.Flags().StringVarP(&req.Selection, "select", "s", "", "assets to backfill (required)")
	cmd.Flags().StringVar(&req.From, "from", "", "first partition key (required)")
	cmd.Flags().StringVar(&req.To, "to", "", "last partition key, included (required)")
	cmd.Flags().BoolVar(&req.OneRun, "one-run", false, "materialize every partition in one run")
	cmd.Flags().IntVar(&req.Concurrency, "concurrency", 0, "runs at once (default: the number of CPUs)")
	cmd.Flags().StringVar(&flags.configJSON, "config-json", "", `run config for every run, as JSON`)
	cmd.Flags().StringArrayVarP(&flags.configFiles, "config", "c", nil, "run config YAML file; repeat to merge several")
	return cmd
}

func (a *app) backfillResumeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "resume ID",
		Short: "Materialize what a backfill has not materialized yet (failed, canceled or interrupted partitions)",
		Args:  cobra.ExactArgs(1),
		RunE: a.withWorkspace(func(ctx context.Context, inst *host.Instance, ws *host.Workspace, args []string) error {
			r := &backfillReporter{a: a, began: time.Now()}
			b, err := inst.ResumeBackfill(ctx, ws, args[0], host.WithBackfillProgress(r.progress))
			if errors.Is(err, store.ErrBackfillNotFound) {
				return fmt.Errorf("no backfill %q (see wasmorch backfill list)", args[0])
			}
			return a.finishBackfill(b, err, r.began)
		}),
	}
}

func (a *app) backfillCancelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a backfill: no more of its runs start (resume it later to go on)",
		Args:  cobra.ExactArgs(1),
		RunE: a.withInstance(false, func(ctx context.Context, inst *host.Instance, _ string, args []string) error {
			b, err := inst.CancelBackfill(ctx, args[0])
			if errors.Is(err, store.ErrBackfillNotFound) {
				return fmt.Errorf("no backfill %q (see wasmorch backfill list)", args[0])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Backfill %s %s\n", b.ID, b.Status)
			return nil
		}),
	}
}

func (a *app) backfillListCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List backfills, newest first",
		Args:  cobra.NoArgs,
		RunE: a.withInstance(false, func(ctx context.Context, inst *host.Instance, _ string, _ []string) error {
			bs, err := inst.Backfills(ctx, limit)
			if err != nil {
				return err
			}
			if len(bs) == 0 {
				fmt.Fprintln(a.stdout, "No backfills yet.")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BACKFILL\tSTATUS\tSELECTION\tPARTITIONS\tCREATED")
			for _, b := range bs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s...%s (%d)\t%s\n", b.ID, b.Status, b.Selection, b.From, b.To, len(b.PartitionKeys), b.CreatedAt.Local().Format("2006-01-02 15:04:05"))
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "show at most this many (0: all)")
	return cmd
}

func (a *app) backfillShowCmd() *cobra.Command {
	var asJSON bool
	var states string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a backfill and the state of each of its partitions",
		Args:  cobra.ExactArgs(1),
		RunE: a.withWorkspace(func(ctx context.Context, inst *host.Instance, ws *host.Workspace, args []string) error {
			want, err := parseStates(states)
			if err != nil {
				return err
			}
			rep, err := inst.BackfillReport(ctx, ws, args[0])
			if errors.Is(err, store.ErrBackfillNotFound) {
				return fmt.Errorf("no backfill %q (see wasmorch backfill list)", args[0])
			}
			if err != nil {
				return err
			}
			rep.Partitions = keepStates(rep.Partitions, want, func(p host.BackfillPartition) store.PartitionState { return p.State })
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(rep)
			}
			fmt.Fprintf(a.stdout, "Backfill %s: %s\n", rep.ID, rep.Status)
			fmt.Fprintf(a.stdout, "  selection  %s\n  partitions %s...%s (%d)\n  runs       %d started\n", rep.Selection, rep.From, rep.To, len(rep.PartitionKeys), rep.Runs)
			if rep.Error != "" {
				fmt.Fprintf(a.stdout, "  error      %s\n", rep.Error)
			}
			fmt.Fprintf(a.stdout, "  steps      %d materialized, %d failed, %d in progress, %d pending\n\n",
				rep.Counts[store.PartitionMaterialized], rep.Counts[store.PartitionFailed], rep.Counts[store.PartitionInProgress], rep.Counts[host.PartitionPending])
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ASSET\tPARTITION\tSTATE\tRUN")
			for _, p := range rep.Partitions {
				run := "-"
				if p.RunID != "" {
					run = shortID(p.RunID)
				}
				part := p.Partition
				if part == "" {
					part = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Asset, part, stateWord[p.State], run)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&states, "state", "", "only partitions in these states (comma-separated: materialized, failed, in_progress, pending)")
	return cmd
}
