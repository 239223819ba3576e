package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
)

func (a *app) partitionsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "partitions", Short: "List an asset's partitions, and add or remove dynamic partitions"}
	cmd.AddCommand(a.partitionsListCmd(), a.partitionsAddCmd(), a.partitionsRemoveCmd())
	return cmd
}

// stateWord is how a partition state is shown.
var stateWord = map[store.PartitionState]string{
	store.PartitionMaterialized: "materialized",
	store.PartitionFailed:       "failed",
	store.PartitionInProgress:   "in progress",
	store.PartitionMissing:      "missing",
	host.PartitionPending:       "pending",
}

// parseStates reads a --state filter: names as shown or as stored, comma-separated.
func parseStates(s string) (map[store.PartitionState]bool, error) {
	if s == "" {
		return nil, nil
	}
	want := map[store.PartitionState]bool{}
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(strings.ToLower(w))
		found := false
		for st, word := range stateWord {
			if w == word || w == strings.ToLower(string(st)) || strings.ReplaceAll(w, "_", " ") == word {
				want[st], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("--state %q: unknown state %q (want materialized, failed, in_progress, missing or pending)", s, w)
		}
	}
	return want, nil
}

// keepStates keeps the items whose state is in want; a nil want keeps all.
func keepStates[T any](items []T, want map[store.PartitionState]bool, state func(T) store.PartitionState) []T {
	if want == nil {
		return items
	}
	kept := items[:0]
	for _, it := range items {
		if want[state(it)] {
			kept = append(kept, it)
		}
	}
	return kept
}

func (a *app) partitionsListCmd() *cobra.Command {
	var asJSON bool
	var states string
	cmd := &cobra.Command{
		Use:   "list ASSET",
		Short: "Show each partition of an asset as materialized, failed, in progress or missing",
		Long: `Show each partition of an asset as materialized, failed, in progress or missing, from the
store's partition index (the event log is not read, so this stays fast for 100,000 partitions).
A summary line comes first; --state keeps only some states.`,
		Example: "  wasmorch partitions list daily_events\n  wasmorch partitions list daily_events --state failed,missing\n  wasmorch partitions list daily_events --json",
		Args:    cobra.ExactArgs(1),
		RunE: a.withWorkspace(func(ctx context.Context, inst *host.Instance, ws *host.Workspace, args []string) error {
			want, err := parseStates(states)
			if err != nil {
				return err
			}
			rep, err := inst.Partitions(ctx, ws, args[0])
			if err != nil {
				return err
			}
			rep.Partitions = keepStates(rep.Partitions, want, func(p host.PartitionInfo) store.PartitionState { return p.State })
			w := bufio.NewWriterSize(a.stdout, 1<<16)
			defer w.Flush()
			if asJSON {
				return json.NewEncoder(w).Encode(rep)
			}
			total := 0
			for _, n := range rep.Counts {
				total += n
			}
			fmt.Fprintf(w, "%s: %d partitions (%s): %d materialized, %d failed, %d in progress, %d missing\n", rep.Asset, total, rep.Definition,
				rep.Counts[store.PartitionMaterialized], rep.Counts[store.PartitionFailed], rep.Counts[store.PartitionInProgress], rep.Counts[store.PartitionMissing])
			if rep.Stale > 0 {
				fmt.Fprintf(w, "(%d stored partition(s) are no longer keys of the definition)\n", rep.Stale)
			}
			width := 0
			for _, p := range rep.Partitions {
				width = max(width, len(p.Key))
			}
			for _, p := range rep.Partitions {
				if p.RunID != "" {
					fmt.Fprintf(w, "%-*s  %-12s  run %s\n", width, p.Key, stateWord[p.State], shortID(p.RunID))
				} else {
					fmt.Fprintf(w, "%-*s  %s\n", width, p.Key, stateWord[p.State])
				}
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&states, "state", "", "only partitions in these states (comma-separated: materialized, failed, in_progress, missing)")
	return cmd
}

func (a *app) partitionsAddCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "add ASSET KEY...",
		Short:   "Add keys to an asset's dynamic partitions",
		Example: "  wasmorch partitions add customer_report acme globex",
		Args:    cobra.MinimumNArgs(2),
		RunE: a.withWorkspace(func(ctx context.Context, inst *host.Instance, ws *host.Workspace, args []string) error {
			added, err := inst.AddDynamicPartitions(ctx, ws, args[0], args[1:]...)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Added %d partition(s) to %s", len(added), args[0])
			if n := len(args[1:]) - len(added); n > 0 {
				fmt.Fprintf(a.stdout, " (%d already there)", n)
			}
			fmt.Fprintln(a.stdout)
			return nil
		}),
	}
}

func (a *app) partitionsRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "remove ASSET KEY...",
		Short:   "Remove keys from an asset's dynamic partitions (stored values are kept)",
		Example: "  wasmorch partitions remove customer_report globex",
		Args:    cobra.MinimumNArgs(2),
		RunE: a.withWorkspace(func(ctx context.Context, inst *host.Instance, ws *host.Workspace, args []string) error {
			if err := inst.RemoveDynamicPartitions(ctx, ws, args[0], args[1:]...); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Removed %d partition(s) from %s\n", len(args[1:]), args[0])
			return nil
		}),
	}
}
