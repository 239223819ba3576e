// Command report renders docs/BENCHMARKS.md from the raw output of `make bench`: a template
// (docs/BENCHMARKS.tmpl.md) whose figures are calls naming a file in bench-out/ and a benchmark,
// so every number on the page is computed from the run it describes: medians, ranges and ratios
// of repetitions measured in that run.
//
//	go run ./bench/report -in bench-out -template docs/BENCHMARKS.tmpl.md -out docs/BENCHMARKS.md
//
// A figure whose file or benchmark is missing is an error naming both, unless -allow-missing is
// given; then it reads "not measured".
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/template"
	"time"
)

func main() {
	in := flag.String("in", "bench-out", "directory of the benchmark outputs")
	before := flag.String("before", "bench/before", "directory of the outputs of an earlier run, named \"before/FILE\" in the template (before/after tables)")
	tmpl := flag.String("template", "docs/BENCHMARKS.tmpl.md", "template of the page")
	out := flag.String("out", "docs/BENCHMARKS.md", "page to write")
	allowMissing := flag.Bool("allow-missing", false, "write \"not measured\" for figures whose output is missing instead of failing")
	flag.Parse()
	if err := render(*in, *before, *tmpl, *out, *allowMissing); err != nil {
		fmt.Fprintln(os.Stderr, "bench report:", err)
		os.Exit(1)
	}
}

func render(in, before, tmplPath, outPath string, allowMissing bool) error {
	src, err := os.ReadFile(tmplPath)
	if err != nil {
		return err
	}
	r := &renderer{dir: in, before: before, bench: map[string]results{}, lines: map[string][]map[string]any{}, seen: map[string]bool{}}
	t, err := template.New(filepath.Base(tmplPath)).Funcs(r.funcs()).Parse(string(src))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, nil); err != nil {
		return err
	}
	if len(r.missing) > 0 && !allowMissing {
		return fmt.Errorf("%d figure(s) not measured (run make bench, or pass -allow-missing):\n  %s", len(r.missing), strings.Join(r.missing, "\n  "))
	}
	for _, m := range r.missing {
		fmt.Fprintln(os.Stderr, "bench report: not measured:", m)
	}
	return os.WriteFile(outPath, b.Bytes(), 0o644)
}

type renderer struct {
	dir     string
	before  string // where "before/FILE" is read from
	bench   map[string]results
	lines   map[string][]map[string]any
	missing []string
	seen    map[string]bool
}

// miss records a figure that was not measured, once per cause.
func (r *renderer) miss(format string, args ...any) {
	m := fmt.Sprintf(format, args...)
	if !r.seen[m] {
		r.seen[m] = true
		r.missing = append(r.missing, m)
	}
}

const notMeasured = "not measured"

func (r *renderer) funcs() template.FuncMap {
	return template.FuncMap{
		// time FILE BENCH: the median ns/op as a duration, with the range.
		"time": func(file, name string) string {
			s, ok := r.summary(file, name, "ns/op")
			if !ok {
				return notMeasured
			}
			return durationRange(s.median, s.min, s.max)
		},
		// value FILE BENCH UNIT: the median of a metric (MB/s, events/s, ns/iter), with the range.
		"value": func(file, name, unit string) string {
			s, ok := r.summary(file, name, unit)
			if !ok {
				return notMeasured
			}
			return fmt.Sprintf("%s [%s–%s]", sig(s.median), sig(s.min), sig(s.max))
		},
		// ratio FILE_A BENCH_A FILE_B BENCH_B [UNIT]: median A over median B (ns/op by default).
		"ratio": func(fa, a, fb, b string, unit ...string) string {
			q, ok := r.ratio(fa, a, fb, b, unit...)
			if !ok {
				return notMeasured
			}
			return sig(q) + "×"
		},
		// share: the same ratio as a percentage.
		"share": func(fa, a, fb, b string, unit ...string) string {
			q, ok := r.ratio(fa, a, fb, b, unit...)
			if !ok {
				return notMeasured
			}
			return sig(100*q) + "%"
		},
		// jtime FILE FILTER: the median of "reps" (seconds) of the JSON line matching FILTER
		// ("key=value,key=value"), with the range.
		"jtime": func(file, filter string) string {
			s, ok := r.jsummary(file, filter)
			if !ok {
				return notMeasured
			}
			return durationRange(s.median*1e9, s.min*1e9, s.max*1e9)
		},
		// jratio FILE_A FILTER_A FILE_B FILTER_B: median reps of A over B.
		"jratio": func(fa, a, fb, b string) string {
			q, ok := r.jratio(fa, a, fb, b)
			if !ok {
				return notMeasured
			}
			return sig(q) + "×"
		},
		// jfield FILE FILTER FIELD: a field of the matching JSON line, as text.
		"jfield": func(file, filter, field string) string {
			line, ok := r.jline(file, filter)
			if !ok {
				return notMeasured
			}
			if v, ok := line[field]; ok {
				return fmt.Sprint(v)
			}
			r.miss("%s: %s: no field %q", file, filter, field)
			return notMeasured
		},
		// timev FILE BENCH: the median ns/op in seconds, as a number for verdict (NaN if missing).
		"timev": func(file, name string) float64 {
			s, ok := r.summary(file, name, "ns/op")
			if !ok {
				return math.NaN()
			}
			return s.median / 1e9
		},
		// ratiov: ratio as a number; jratiov: jratio as a number (NaN if missing).
		"ratiov": func(fa, a, fb, b string, unit ...string) float64 {
			q, ok := r.ratio(fa, a, fb, b, unit...)
			if !ok {
				return math.NaN()
			}
			return q
		},
		"jratiov": func(fa, a, fb, b string) float64 {
			q, ok := r.jratio(fa, a, fb, b)
			if !ok {
				return math.NaN()
			}
			return q
		},
		// verdict VALUE OP TARGET: "met" or "missed" for VALUE OP TARGET, OP one of < <= > >=.
		"verdict": func(v float64, op string, target float64) (string, error) {
			if math.IsNaN(v) {
				return notMeasured, nil
			}
			var ok bool
			switch op {
			case "<":
				ok = v < target
			case "<=":
				ok = v <= target
			case ">":
				ok = v > target
			case ">=":
				ok = v >= target
			default:
				return "", fmt.Errorf("verdict: unknown comparison %q", op)
			}
			if ok {
				return "met", nil
			}
			return "**missed**", nil
		},
		"machine":  machine,
		"software": software,
		"date":     func() string { return time.Now().UTC().Format("2006-01-02") },
	}
}

// path is where file is read from: "before/FILE" in the before directory, anything else in the
// directory of this run's outputs.
func (r *renderer) path(file string) string {
	if rest, ok := strings.CutPrefix(file, "before/"); ok {
		return filepath.Join(r.before, rest)
	}
	return filepath.Join(r.dir, file)
}

func (r *renderer) load(file string) (results, bool) {
	if res, ok := r.bench[file]; ok {
		return res, res != nil
	}
	f, err := os.Open(r.path(file))
	if err != nil {
		r.bench[file] = nil
		return nil, false
	}
	defer f.Close()
	res, err := parseBench(f)
	if err != nil {
		r.miss("%s: %v", file, err)
		res = nil
	}
	r.bench[file] = res
	return res, res != nil
}

func (r *renderer) summary(file, name, unit string) (summary, bool) {
	res, ok := r.load(file)
	if !ok {
		r.miss("%s: no such output in %s", file, filepath.Dir(r.path(file)))
		return summary{}, false
	}
	vs := res[name][unit]
	if len(vs) == 0 {
		names := make([]string, 0, len(res))
		for n := range res {
			names = append(names, n)
		}
		sort.Strings(names)
		r.miss("%s: no %s for benchmark %q (it has: %s)", file, unit, name, strings.Join(names, ", "))
		return summary{}, false
	}
	return summarize(vs), true
}

// jratio is the median of JSON line A's repetitions over B's.
func (r *renderer) jratio(fa, a, fb, b string) (float64, bool) {
	sa, ok1 := r.jsummary(fa, a)
	sb, ok2 := r.jsummary(fb, b)
	if !ok1 || !ok2 || sb.median == 0 {
		return 0, false
	}
	return sa.median / sb.median, true
}

func (r *renderer) ratio(fa, a, fb, b string, unit ...string) (float64, bool) {
	u := "ns/op"
	if len(unit) > 0 {
		u = unit[0]
	}
	sa, ok1 := r.summary(fa, a, u)
	sb, ok2 := r.summary(fb, b, u)
	if !ok1 || !ok2 || sb.median == 0 {
		return 0, false
	}
	return sa.median / sb.median, true
}

func (r *renderer) jline(file, filter string) (map[string]any, bool) {
	lines, ok := r.lines[file]
	if !ok {
		lines = readJSONL(r.path(file))
		r.lines[file] = lines
	}
	want := map[string]string{}
	for _, kv := range strings.Split(filter, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		want[k] = v
	}
next:
	for _, l := range lines {
		for k, v := range want {
			if fmt.Sprint(l[k]) != v {
				continue next
			}
		}
		return l, true
	}
	r.miss("%s: no line with %s", file, filter)
	return nil, false
}

func (r *renderer) jsummary(file, filter string) (summary, bool) {
	l, ok := r.jline(file, filter)
	if !ok {
		return summary{}, false
	}
	raw, _ := l["reps"].([]any)
	var vs []float64
	for _, v := range raw {
		if f, ok := v.(float64); ok {
			vs = append(vs, f)
		}
	}
	if len(vs) == 0 {
		r.miss("%s: %s has no reps", file, filter)
		return summary{}, false
	}
	return summarize(vs), true
}

func readJSONL(path string) []map[string]any {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// machine describes the CPU, cores, memory and kernel, from /proc where it exists.
func machine() string {
	cpu, mem := "unknown CPU", ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(string(b), "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d × %s%s%s", runtime.NumCPU(), cpu, mem, kernel)
}

// software names the Go toolchain and the versions of the modules the figures depend on, from
// go.mod.
func software() string {
	parts := []string{runtime.Version()}
	b, err := os.ReadFile("go.mod")
	if err != nil {
		return parts[0]
	}
	for _, mod := range []struct{ path, name string }{
		{"github.com/tetratelabs/wazero", "wazero"},
		{"github.com/dgraph-io/badger/v4", "Badger"},
		{"github.com/apache/arrow/go/v15", "arrow-go"},
	} {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == mod.path {
				parts = append(parts, mod.name+" "+f[1])
			}
		}
	}
	return strings.Join(parts, ", ")
}
