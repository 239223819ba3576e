package host

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/wasmorch/wasmorch/host/internal/config"
)

// JobInfo describes a job: a named asset selection or graph, with default run config and tags.
type JobInfo struct {
	Name        string
	Description string
	Selection   string
	// Graph is set for a job that runs a graph of ops instead of an asset selection.
	Graph string
	// Source says where the job is declared: the workspace file, or a module.
	Source string
	Tags   map[string]string
	// Config is the default run config (JSON, Dagster's shape), or nil.
	Config []byte
	// from is where Graph is resolved: the declaring module, or nil for the workspace file.
	from *graphDef
	// plan is Graph flattened.
	plan *opPlan
}

// loadJobs collects the workspace file's and the modules' jobs, refusing duplicate names and
// selections that match nothing.
func (ws *Workspace) loadJobs() []error {
	var errs []error
	ws.jobs = map[string]JobInfo{}
	add := func(j JobInfo) {
		if prev, dup := ws.jobs[j.Name]; dup {
			errs = append(errs, fmt.Errorf("job %q is defined by both %s and %s; job names are global across the workspace", j.Name, prev.Source, j.Source))
			return
		}
		if j.Graph != "" {
			g, err := ws.graphFor(j.Graph, j.from)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: job %q: %w", j.Source, j.Name, err))
				return
			}
			// nil when the graph has problems, which planGraphs has reported.
			j.plan = ws.plans[g.ref()]
		}
		if j.Selection != "" && !strings.HasPrefix(strings.TrimSpace(j.Selection), "stale:") {
			if _, err := ws.Select(j.Selection); err != nil {
				errs = append(errs, fmt.Errorf("%s: job %q: %w", j.Source, j.Name, err))
				return
			}
		}
		ws.jobs[j.Name] = j
	}
	for _, j := range ws.file.Jobs {
		add(JobInfo{Name: j.Name, Description: j.Description, Selection: j.Selection, Graph: j.Graph, Tags: j.Tags, Config: j.Config,
			Source: fmt.Sprintf("%s line %d", ws.file.Path, j.Line)})
	}
	for _, m := range ws.modules {
		for _, j := range m.Manifest.Jobs {
			add(JobInfo{Name: j.Name, Description: j.Description, Selection: j.Selection, Graph: j.Graph, Tags: j.Tags,
				Config: nilIfEmpty(j.Config), Source: fmt.Sprintf("module %q", m.Name), from: &graphDef{module: m.Name}})
		}
	}
	return errs
}

func nilIfEmpty(b json.RawMessage) []byte {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}

// Jobs lists the workspace's jobs by name.
func (w *Workspace) Jobs() []JobInfo {
	out := make([]JobInfo, 0, len(w.jobs))
	for _, j := range w.jobs {
		out = append(out, j)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ExecuteJob runs a job: its selection with its default run config, which config given with
// WithRunConfig overrides key by key (a deep merge, as Dagster merges config files).
func (i *Instance) ExecuteJob(ctx context.Context, ws *Workspace, name string, opts ...MaterializeOption) (*Result, error) {
	j, ok := ws.jobs[name]
	if !ok {
		names := make([]string, 0, len(ws.jobs))
		for n := range ws.jobs {
			names = append(names, n)
		}
		sort.Strings(names)
		hint := "the workspace defines no jobs"
		if len(names) > 0 {
			hint = "jobs: " + strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("no job %q (%s)", name, hint)
	}
	var o materializeOptions
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := mergeJSON(j.Config, o.config)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRunConfig, err)
	}
	if j.Graph != "" {
		o.config = cfg
		o.jobName = name
		o.tags = mergeTags(j.Tags, o.tags)
		return i.runGraph(ctx, ws, j.plan, o)
	}
	tags := mergeTags(j.Tags, o.tags)
	opts = append(opts, WithRunConfig(cfg), WithTags(tags), func(o *materializeOptions) { o.jobName = name })
	return i.Materialize(ctx, ws, j.Selection, opts...)
}

// mergeJSON deep-merges two JSON objects; values of override win, objects merge key by key.
func mergeJSON(base, override []byte) ([]byte, error) {
	if len(base) == 0 {
		return override, nil
	}
	if len(override) == 0 {
		return base, nil
	}
	var b, o any
	if err := json.Unmarshal(base, &b); err != nil {
		return nil, fmt.Errorf("the job's default config: %v", err)
	}
	if err := json.Unmarshal(override, &o); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	return json.Marshal(config.MergeValues(b, o))
}

// MergeRunConfig deep-merges run config override onto base (both JSON objects in Dagster's
// shape), as the CLI merges -c files and --config-json.
func MergeRunConfig(base, override []byte) ([]byte, error) { return mergeJSON(base, override) }

func mergeTags(base, override map[string]string) map[string]string {
	tags := map[string]string{}
	for k, v := range base {
		tags[k] = v
	}
	for k, v := range override {
		tags[k] = v
	}
	return tags
}
