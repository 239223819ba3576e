package partitions

import (
	"encoding/json"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"static","keys":["us","eu"]}`,
		`{"type":"time","schedule":"daily","start":"2026-01-01","end":"","timezone":"UTC","end_offset":0}`,
		`{"type":"time","schedule":"hourly","start":"2026-10-30","end":"2026-11-03","timezone":"America/New_York"}`,
		`{"type":"time","schedule":"weekly","start":"2026-01-01","end_offset":2}`,
		`{"type":"time","schedule":"monthly","start":"2024-01","format":"2006-01"}`,
		`{"type":"time","cron":"0 */6 * * *","start":"2026-01-01T00:00","format":"2006-01-02T15:04"}`,
		`{"type":"dynamic","name":"customers"}`,
		multi3,
		`{"type":"multi","dimensions":[{"name":"a","partitions":{"type":"static","keys":["x"]}},{"name":"b","partitions":{"type":"time","schedule":"daily","start":"2026-05-01","format":"Jan 2 06"}}]}`,
	} {
		f.Add(s)
	}
	dyn := func(string) ([]string, error) { return []string{"k1", "k2"}, nil }
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(json.RawMessage(s))
		if err != nil || d == nil {
			return
		}
		d = d.WithDynamicKeys(dyn)
		_ = d.String()
		// Keep the work bounded: bound time definitions by a near now and a key limit.
		now := time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)
		var keys []string
		if d.Kind() == Time {
			keys, err = d.tm.keys(now, 2000)
		} else if n, ok := estimate(d, now); ok && n <= 2000 {
			keys, err = d.Keys(now)
		}
		if err != nil {
			return
		}
		step := max(1, len(keys)/50)
		seen := map[string]bool{}
		for i := 0; i < len(keys); i += step {
			k := keys[i]
			if err := ValidKey(k); d.Kind() != Multi && err != nil {
				t.Fatalf("Keys gave invalid key %q: %v", k, err)
			}
			if err := d.Contains(k, now); err != nil {
				t.Fatalf("Keys gave %q but Contains says %v", k, err)
			}
			if seen[k] {
				t.Fatalf("duplicate key %q", k)
			}
			seen[k] = true
			if d.Kind() == Time {
				s, e, err := d.Window(k)
				if err != nil || !s.Before(e) {
					t.Fatalf("Window(%q) = %v, %v, %v", k, s, e, err)
				}
			}
		}
		if len(keys) > 0 {
			if r, err := d.Range(keys[0], keys[len(keys)-1], now); err != nil || (d.Kind() != Multi && len(r) != len(keys)) {
				t.Fatalf("Range over all keys: %d keys, %v (Keys gave %d)", len(r), err, len(keys))
			}
		}
	})
}

// estimate returns the number of keys of a non-time definition, with time
// dimensions counted with a limit; ok is false when one is over the limit.
func estimate(d *Definition, now time.Time) (int, bool) {
	switch d.kind {
	case Time:
		ks, err := d.tm.keys(now, 2000)
		return len(ks), err == nil
	case Multi:
		n := 1
		for _, dim := range d.dims {
			m, ok := estimate(dim.Partitions, now)
			if !ok {
				return 0, false
			}
			n *= m
		}
		return n, true
	}
	ks, err := d.Keys(now)
	return len(ks), err == nil
}
