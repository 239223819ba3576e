package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/spf13/cobra"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
)

func (a *app) assetListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the workspace's assets with their latest materialization",
		Args:  cobra.NoArgs,
		RunE: a.withInstance(true, func(ctx context.Context, inst *host.Instance, wsPath string, _ []string) error {
			ws, err := inst.LoadWorkspace(ctx, wsPath)
			if err != nil {
				return err
			}
			assets := ws.Assets()
			keys := make([]string, len(assets))
			for i, info := range assets {
				keys[i] = info.Key
			}
			latest, err := inst.Store().LatestMaterializations(ctx, keys...)
			if err != nil {
				return err
			}
			fresh, err := inst.Staleness(ctx, ws)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ASSET\tGROUP\tMODULE\tFORMAT\tDEPS\tLAST MATERIALIZED\tRUN\tSTATUS")
			for _, info := range assets {
				when, run := "never", "-"
				if ev, ok := latest[info.Key]; ok {
					when, run = ev.Time.Local().Format("2006-01-02 15:04:05"), shortID(ev.RunID)
				}
				deps := strings.Join(info.Deps, ",")
				if deps == "" {
					deps = "-"
				}
				status := fresh[info.Key].Status
				if status == "stale" {
					status += " (" + strings.Join(fresh[info.Key].Reasons, "; ") + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", info.Key, info.Group, info.Module, info.Format, deps, when, run, status)
			}
			return tw.Flush()
		}),
	}
}

func shortID(id string) string {
	if len(id) > 13 {
		return id[:13]
	}
	return id
}

func (a *app) assetShowCmd() *cobra.Command {
	var rows int
	var partition string
	cmd := &cobra.Command{
		Use:   "show KEY",
		Short: "Show an asset's latest materialization: metadata, schema and the first rows",
		Args:  cobra.ExactArgs(1),
		RunE: a.withInstance(false, func(ctx context.Context, inst *host.Instance, _ string, args []string) error {
			key := args[0]
			mats, err := inst.Store().Materializations(ctx, key, 0)
			if err != nil {
				return err
			}
			if len(mats) == 0 {
				known, _ := inst.Store().AssetKeys(ctx)
				return fmt.Errorf("asset %q has never been materialized in %s (materialized assets: %s)", key, inst.Home(), listOrNone(known))
			}
			if partition != "" {
				mats = slices.DeleteFunc(mats, func(ev store.Event) bool { return ev.Materialization.PartitionKey != partition })
				if len(mats) == 0 {
					return fmt.Errorf("asset %q partition %q has never been materialized (see wasmorch partitions list %s)", key, partition, key)
				}
			}
			ev := mats[0]
			m := ev.Materialization
			w := a.stdout
			fmt.Fprintf(w, "Asset:        %s\n", key)
			if m.PartitionKey != "" {
				fmt.Fprintf(w, "Partition:    %s\n", m.PartitionKey)
			}
			fmt.Fprintf(w, "Materialized: %s by run %s (%d materialization(s) in all)\n", ev.Time.Local().Format(time.RFC3339), ev.RunID, len(mats))
			fmt.Fprintf(w, "Stored at:    %s (IO manager %s, format %s)\n", m.Location, m.IOManager, m.Format)
			fmt.Fprintf(w, "Code version: %s\n", m.CodeVersion)
			printMetadata(w, m.Metadata)
			val, err := inst.LoadMaterialization(ctx, *m)
			if err != nil {
				return fmt.Errorf("load value: %w", err)
			}
			defer val.Release()
			if val.Table != nil {
				fmt.Fprintf(w, "Schema:\n")
				for _, f := range val.Table.Schema().Fields() {
					null := ""
					if !f.Nullable {
						null = " not null"
					}
					fmt.Fprintf(w, "  %s: %s%s\n", f.Name, f.Type, null)
				}
				fmt.Fprintf(w, "First %d of %d rows:\n", min(int64(rows), val.Table.NumRows()), val.Table.NumRows())
				printRows(w, val.Table, rows)
				return nil
			}
			fmt.Fprintf(w, "Value (%d bytes):\n", len(val.Data))
			data := val.Data
			if len(data) > 4096 {
				data = append(data[:4096:4096], []byte("…")...)
			}
			fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(string(data), "\n", "\n  "))
			return nil
		}),
	}
	cmd.Flags().IntVarP(&rows, "rows", "n", 10, "rows to show")
	cmd.Flags().StringVarP(&partition, "partition", "p", "", "show this partition's latest materialization")
	return cmd
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func printMetadata(w io.Writer, md map[string]any) {
	keys := make([]string, 0, len(md))
	for k := range md {
		if k != "schema" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return
	}
	fmt.Fprintln(w, "Metadata:")
	for _, k := range keys {
		fmt.Fprintf(w, "  %s: %s\n", k, renderMetadata(md[k]))
	}
}

// renderMetadata shows a metadata value, typed values (ABI.md 4.4) by their type.
func renderMetadata(v any) string {
	if m, ok := v.(map[string]any); ok && len(m) == 2 {
		typ, _ := m["type"].(string)
		switch val := m["value"].(type) {
		case string:
			switch typ {
			case "markdown", "text":
				return strings.ReplaceAll(val, "\n", "\n    ")
			case "url", "path":
				return val + " (" + typ + ")"
			}
		case map[string]any:
			if typ == "table" {
				var b strings.Builder
				tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
				var header []string
				for _, c := range val["columns"].([]any) {
					header = append(header, fmt.Sprint(c))
				}
				fmt.Fprintln(tw, "\n    "+strings.Join(header, "\t"))
				rows, _ := val["rows"].([]any)
				for _, r := range rows {
					var cells []string
					for _, c := range r.([]any) {
						cells = append(cells, fmt.Sprint(c))
					}
					fmt.Fprintln(tw, "    "+strings.Join(cells, "\t"))
				}
				tw.Flush()
				return strings.TrimRight(b.String(), "\n")
			}
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprintf("%v", x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func printRows(w io.Writer, t arrow.Table, n int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var header []string
	for _, f := range t.Schema().Fields() {
		header = append(header, f.Name)
	}
	fmt.Fprintln(tw, "  "+strings.Join(header, "\t"))
	tr := array.NewTableReader(t, 1024)
	defer tr.Release()
	shown := 0
	for shown < n && tr.Next() {
		rec := tr.Record()
		for i := 0; i < int(rec.NumRows()) && shown < n; i++ {
			cells := make([]string, rec.NumCols())
			for c := range cells {
				col := rec.Column(c)
				if col.IsNull(i) {
					cells[c] = "null"
				} else {
					cells[c] = col.ValueStr(i)
				}
			}
			fmt.Fprintln(tw, "  "+strings.Join(cells, "\t"))
			shown++
		}
	}
	tw.Flush()
}

func (a *app) runListCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: a.withInstance(false, func(ctx context.Context, inst *host.Instance, _ string, _ []string) error {
			runs, err := inst.Store().Runs(ctx, store.RunFilter{Limit: limit})
			if err != nil {
				return err
			}
			if len(runs) == 0 {
				fmt.Fprintf(a.stdout, "No runs yet in %s.\n", inst.Home())
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN ID\tSTATUS\tSELECTION\tSTEPS\tCREATED\tDURATION")
			for _, r := range runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Status, r.Selection, len(r.StepKeys), r.CreatedAt.Local().Format("2006-01-02 15:04:05"), duration(r))
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "how many runs to list (0 for all)")
	return cmd
}

func duration(r store.Run) string {
	if r.StartedAt.IsZero() {
		return "-"
	}
	end := r.EndedAt
	if end.IsZero() {
		return "running " + time.Since(r.StartedAt).Round(time.Second).String()
	}
	return end.Sub(r.StartedAt).Round(time.Millisecond).String()
}

func (a *app) runShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show a run: its status, steps, events and logs (a unique prefix of the id is enough)",
		Args:  cobra.ExactArgs(1),
		RunE: a.withInstance(false, func(ctx context.Context, inst *host.Instance, _ string, args []string) error {
			r, err := findRun(ctx, inst, args[0])
			if err != nil {
				return err
			}
			events, err := inst.Store().Events(ctx, r.ID, 0, 0)
			if err != nil {
				return err
			}
			w := a.stdout
			fmt.Fprintf(w, "Run:       %s\n", r.ID)
			fmt.Fprintf(w, "Status:    %s\n", r.Status)
			fmt.Fprintf(w, "Selection: %s (%d steps)\n", r.Selection, len(r.StepKeys))
			fmt.Fprintf(w, "Created:   %s\n", r.CreatedAt.Local().Format(time.RFC3339))
			fmt.Fprintf(w, "Duration:  %s\n", duration(r))
			if len(r.Config) > 0 {
				fmt.Fprintf(w, "Config:    %s\n", r.Config)
			}
			fmt.Fprintln(w, "Events:")
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			for _, ev := range events {
				text := ev.Message
				if ev.Error != "" {
					text = strings.TrimSpace(text + ": " + ev.Error)
				}
				if ev.Materialization != nil {
					text = fmt.Sprintf("%s -> %s", text, ev.Materialization.Location)
				}
				kind := string(ev.Type)
				if ev.Type == store.EventLog {
					kind = ev.Level
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", ev.Time.Local().Format("15:04:05.000"), kind, orDash(ev.StepKey), strings.ReplaceAll(text, "\n", "\n\t\t\t"))
			}
			return tw.Flush()
		}),
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// findRun accepts a full run id or a unique prefix of one.
func findRun(ctx context.Context, inst *host.Instance, id string) (store.Run, error) {
	r, err := inst.Store().Run(ctx, id)
	if err == nil || !errors.Is(err, store.ErrRunNotFound) {
		return r, err
	}
	runs, err := inst.Store().Runs(ctx, store.RunFilter{})
	if err != nil {
		return store.Run{}, err
	}
	var matches []store.Run
	for _, r := range runs {
		if strings.HasPrefix(r.ID, id) {
			matches = append(matches, r)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return store.Run{}, fmt.Errorf("no run %q in %s (see wasmorch run list)", id, inst.Home())
	}
	return store.Run{}, fmt.Errorf("run id prefix %q matches %d runs; give more characters", id, len(matches))
}

func (a *app) assetChecksCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "checks KEY",
		Short: "Show the history of an asset's checks, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: a.withInstance(false, func(ctx context.Context, inst *host.Instance, _ string, args []string) error {
			evals, err := inst.Store().CheckEvaluations(ctx, args[0], limit)
			if err != nil {
				return err
			}
			if len(evals) == 0 {
				fmt.Fprintf(a.stdout, "No check evaluations for asset %q in %s.\n", args[0], inst.Home())
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tCHECK\tRESULT\tSEVERITY\tBLOCKING\tRUN\tMETADATA")
			for _, ev := range evals {
				c := ev.CheckEvaluation
				result := "PASSED"
				if !c.Passed {
					result = "FAILED"
				}
				md := "-"
				if len(c.Metadata) > 0 {
					b, _ := json.Marshal(c.Metadata)
					md = string(b)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%s\n", ev.Time.Local().Format("2006-01-02 15:04:05"), c.CheckName, result, c.Severity, c.Blocking, shortID(ev.RunID), md)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "how many evaluations to show (0 for all)")
	return cmd
}
