package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// results are the repetitions of each benchmark in one `go test -bench` output, by name without
// the "Benchmark" prefix and the "-GOMAXPROCS" suffix: for each, the values of each unit
// ("ns/op", "MB/s", "B/op", custom metrics such as "events/s").
type results map[string]map[string][]float64

var procSuffix = regexp.MustCompile(`-\d+$`)

// parseBench reads `go test -bench` output. Lines that are not benchmark results are skipped.
func parseBench(r io.Reader) (results, error) {
	out := results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue // a benchmark's log line, not its result
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		if out[name] == nil {
			out[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark %s: value %q of %s: %w", name, f[i], f[i+1], err)
			}
			out[name][f[i+1]] = append(out[name][f[i+1]], v)
		}
	}
	return out, sc.Err()
}

// summary is the median and range of repetitions.
type summary struct {
	median, min, max float64
	n                int
}

func summarize(vs []float64) summary {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return summary{median: med, min: s[0], max: s[n-1], n: n}
}

// durationRange writes a median and range in nanoseconds, all three in the median's unit, chosen
// so that it has one to three digits before the point.
func durationRange(med, lo, hi float64) string {
	unit, div := "ns", 1.0
	switch {
	case med >= 1e9:
		unit, div = "s", 1e9
	case med >= 1e6:
		unit, div = "ms", 1e6
	case med >= 1e3:
		unit, div = "µs", 1e3
	}
	return fmt.Sprintf("%s %s [%s–%s]", sig(med/div), unit, sig(lo/div), sig(hi/div))
}

// sig formats v with three significant digits (whole numbers above 1,000, with separators).
func sig(v float64) string {
	switch {
	case v >= 1000:
		return thousands(int64(v + 0.5))
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v >= 0.1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
