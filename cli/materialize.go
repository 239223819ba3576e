package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"gopkg.in/yaml.v3"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
)

// runFlags are the flags every command that starts a run shares.
type runFlags struct {
	configJSON  string
	configFiles []string
	logFormat   string
	plain       bool
}

func (f *runFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.configJSON, "config-json", "", `run config as JSON: {"ops": {"ASSET": {"config": {...}}}}`)
	cmd.Flags().StringArrayVarP(&f.configFiles, "config", "c", nil, "run config YAML file; repeat to merge several (later files win), with --config-json on top")
	cmd.Flags().BoolVar(&f.plain, "plain", false, "print plain event lines even on a terminal")
	cmd.Flags().StringVar(&f.logFormat, "log-format", "", "console or json (one JSON object per event); default: the workspace's logging.format")
}

// runConfig merges the -c files in order and --config-json on top.
func (f *runFlags) runConfig() ([]byte, error) {
	var merged []byte
	for _, path := range f.configFiles {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("run config file: %w", err)
		}
		var n yaml.Node
		if err := yaml.Unmarshal(data, &n); err != nil {
			return nil, fmt.Errorf("run config file %s: %v", path, err)
		}
		if len(n.Content) == 0 {
			continue
		}
		js, err := host.YAMLToJSON(n.Content[0])
		if err != nil {
			return nil, fmt.Errorf("run config file %s: %v", path, err)
		}
		if merged, err = host.MergeRunConfig(merged, js); err != nil {
			return nil, fmt.Errorf("run config file %s: %v", path, err)
		}
	}
	if f.configJSON != "" {
		var err error
		if merged, err = host.MergeRunConfig(merged, []byte(f.configJSON)); err != nil {
			return nil, fmt.Errorf("--config-json: %v", err)
		}
	}
	return merged, nil
}

// runAndReport opens the instance and workspace, starts a run with start, shows its progress and
// prints the summary; a failed run exits 1.
func (a *app) runAndReport(cmd *cobra.Command, f *runFlags, start func(ctx context.Context, inst *host.Instance, ws *host.Workspace, opts []host.MaterializeOption) (*host.Result, error)) error {
	ctx := cmd.Context()
	cfg, err := f.runConfig()
	if err != nil {
		return err
	}
	inst, wsPath, err := a.openInstance(ctx, true)
	if err != nil {
		return err
	}
	defer inst.Close()
	ws, err := inst.LoadWorkspace(ctx, wsPath)
	if err != nil {
		return err
	}
	format := f.logFormat
	if format == "" {
		format = ws.LogFormat()
	}
	if format != "console" && format != "json" {
		return fmt.Errorf("--log-format %q is not console or json", format)
	}
	p := newProgress(a.stderr, format == "console" && !f.plain && isTerminal(a.stderr))
	p.json = format == "json"
	opts := []host.MaterializeOption{host.WithEventHandler(p.event)}
	if len(cfg) > 0 {
		opts = append(opts, host.WithRunConfig(cfg))
	}
	began := time.Now()
	res, err := start(ctx, inst, ws, opts)
	p.finish()
	if errors.Is(err, host.ErrNothingStale) {
		fmt.Fprintln(a.stdout, "Everything selected is up to date; nothing to materialize.")
		return nil
	}
	if res == nil {
		return err
	}
	a.printSummary(res, inst, time.Since(began))
	if err != nil {
		return err
	}
	if !res.Success() {
		fmt.Fprintln(a.stderr, res.Err())
		return exitError{1}
	}
	return nil
}

func (a *app) materializeCmd() *cobra.Command {
	var selection, partition, partitionRange string
	var flags runFlags
	cmd := &cobra.Command{
		Use:   "materialize --select SELECTION",
		Short: "Materialize the selected assets in one run",
		Long: `Materialize the selected assets in one run, showing progress as steps start and finish.

Selection syntax (as in Dagster): key, prefix/key, *key (with all upstream), key* (with all
downstream), +key / key++ (one or two levels), group:name, * (everything), and commas for unions.
stale: selects the stale or never-materialized assets (stale:EXPR within EXPR).

A selection with partitioned assets needs --partition KEY or --partition-range START...END (one
run for the whole range). The key or range names partitions of the selection's partitioned root
assets; assets downstream materialize the partitions that read them through their mappings.`,
		Example: "  wasmorch asset materialize --select '*'\n  wasmorch asset materialize --select 'stale:'\n  wasmorch asset materialize --select 'revenue_by_region+' --config-json '{\"ops\": {\"raw_orders\": {\"config\": {\"csv\": \"...\"}}}}'\n  wasmorch asset materialize --select daily_events --partition 2026-01-15\n  wasmorch asset materialize --select 'daily_events*' --partition-range 2026-01-01...2026-01-31",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if selection == "" {
				return fmt.Errorf("--select is required (use '*' for every asset)")
			}
			var popt host.MaterializeOption
			switch {
			case partition != "" && partitionRange != "":
				return fmt.Errorf("give --partition or --partition-range, not both")
			case partition != "":
				popt = host.WithPartition(partition)
			case partitionRange != "":
				from, to, ok := strings.Cut(partitionRange, "...")
				if !ok || from == "" || to == "" {
					return fmt.Errorf("--partition-range %q is not START...END (for example 2026-01-01...2026-01-31)", partitionRange)
				}
				popt = host.WithPartitionRange(from, to)
			}
			return a.runAndReport(cmd, &flags, func(ctx context.Context, inst *host.Instance, ws *host.Workspace, opts []host.MaterializeOption) (*host.Result, error) {
				if popt != nil {
					opts = append(opts, popt)
				}
				return inst.Materialize(ctx, ws, selection, opts...)
			})
		},
	}
	cmd.Flags().StringVarP(&selection, "select", "s", "", "assets to materialize (required)")
	cmd.Flags().StringVarP(&partition, "partition", "p", "", "the partition to materialize")
	cmd.Flags().StringVar(&partitionRange, "partition-range", "", "the partitions START...END to materialize in one run")
	flags.register(cmd)
	return cmd
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb" && os.Getenv("CI") == ""
}

func (a *app) printSummary(res *host.Result, inst *host.Instance, took time.Duration) {
	counts := map[string]int{}
	for _, o := range res.Steps {
		counts[o.Status]++
	}
	w := a.stdout
	fmt.Fprintf(w, "\nRun %s %s in %s: %d succeeded, %d failed, %d skipped\n", res.RunID, statusWord(res.Status), took.Round(time.Millisecond),
		counts["SUCCESS"], counts["FAILURE"], counts["SKIPPED"])
	if len(res.Materializations) > 0 {
		fmt.Fprintln(w, "Outputs:")
		keys := make([]string, 0, len(res.Materializations))
		for k := range res.Materializations {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		width := 0
		for _, k := range keys {
			width = max(width, len(k))
		}
		for _, k := range keys {
			m := res.Materializations[k]
			extra := ""
			if rows, ok := m.Metadata["rows"]; ok {
				extra = fmt.Sprintf(" (%v rows)", rows)
			}
			fmt.Fprintf(w, "  %-*s  %s%s\n", width, k, m.Location, extra)
		}
	}
	fmt.Fprintf(w, "Run state: %s\n", inst.Home())
	wsFlag := ""
	if a.workspace != "" {
		wsFlag = " -w " + a.workspace
	}
	fmt.Fprintf(w, "Inspect:   wasmorch run show %s%s\n", res.RunID, wsFlag)
}

// progress prints run events: on a terminal, a line per finished step under a live status line;
// otherwise one plain line per event, suitable for logs and CI.
type progress struct {
	w     io.Writer
	live  bool
	json  bool // one JSON object per event, for log shippers
	total int

	mu      sync.Mutex
	done    int
	running map[string]time.Time
	drawn   bool
	stop    chan struct{}
	stopped chan struct{}
}

func newProgress(w io.Writer, live bool) *progress {
	p := &progress{w: w, live: live, running: map[string]time.Time{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	if live {
		go p.ticker()
	} else {
		close(p.stopped)
	}
	return p
}

func (p *progress) ticker() {
	defer close(p.stopped)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.mu.Lock()
			p.redraw()
			p.mu.Unlock()
		case <-p.stop:
			return
		}
	}
}

// println prints a line above the status line.
func (p *progress) println(s string) {
	if p.live && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	fmt.Fprintln(p.w, s)
	if p.live {
		p.redraw()
	}
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (p *progress) redraw() {
	if !p.live || p.total == 0 {
		return
	}
	names := make([]string, 0, len(p.running))
	var oldest time.Time
	for k, t := range p.running {
		names = append(names, k)
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	sort.Strings(names)
	status := fmt.Sprintf("%s [%d/%d]", spinner[int(time.Now().UnixMilli()/100)%len(spinner)], p.done, p.total)
	if len(names) > 0 {
		status += fmt.Sprintf(" running %s (%s)", strings.Join(names, ", "), time.Since(oldest).Round(100*time.Millisecond))
	}
	fmt.Fprint(p.w, "\r\033[K"+status)
	p.drawn = true
}

func (p *progress) event(ev store.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		b, err := json.Marshal(ev)
		if err == nil {
			fmt.Fprintf(p.w, "%s\n", b)
		}
		return
	}
	ts := ev.Time.Format("15:04:05.000")
	switch ev.Type {
	case store.EventStepStart:
		p.running[ev.StepKey] = ev.Time
		if !p.live {
			p.println(fmt.Sprintf("%s %-8s %s", ts, "START", ev.StepKey))
		}
	case store.EventStepSuccess:
		delete(p.running, ev.StepKey)
		p.done++
		p.println(fmt.Sprintf("%s %-8s %s  %s", ts, "OK", ev.StepKey, ev.Message))
	case store.EventStepFailure:
		delete(p.running, ev.StepKey)
		p.done++
		p.println(fmt.Sprintf("%s %-8s %s  %s", ts, "FAILED", ev.StepKey, indent(ev.Error)))
	case store.EventCheckEvaluation:
		p.println(fmt.Sprintf("%s %-8s %s  %s", ts, "CHECK", ev.StepKey, ev.Message))
	case store.EventStepRetry:
		p.println(fmt.Sprintf("%s %-8s %s  %s: %s", ts, "RETRY", ev.StepKey, ev.Message, firstLine(ev.Error)))
	case store.EventStepSkipped:
		p.done++
		p.println(fmt.Sprintf("%s %-8s %s  %s", ts, "SKIPPED", ev.StepKey, ev.Message))
	case store.EventLog:
		p.println(fmt.Sprintf("%s %-8s %s  %s", ts, ev.Level, ev.StepKey, indent(ev.Message)))
	case store.EventMaterialization:
		if !p.live && ev.Materialization != nil {
			p.println(fmt.Sprintf("%s %-8s %s  %s", ts, "STORED", ev.StepKey, ev.Materialization.Location))
		}
	case store.EventRunStart:
		if n, err := strconv.Atoi(fmt.Sprint(ev.Metadata["steps"])); err == nil {
			p.total = n
		}
		p.println(fmt.Sprintf("%s %-8s run %s", ts, "RUN", ev.RunID))
	}
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n                      ") }

func (p *progress) finish() {
	close(p.stop)
	<-p.stopped
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
