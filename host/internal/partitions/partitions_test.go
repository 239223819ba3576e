package partitions

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests need America/New_York on any machine
)

var now = time.Date(2026, 5, 10, 13, 30, 0, 0, time.UTC)

func mustParse(t testing.TB, s string) *Definition {
	t.Helper()
	d, err := Parse(json.RawMessage(s))
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return d
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		json string
		want []string // substrings of the error
	}{
		{`[]`, []string{"partitions: must be a JSON object"}},
		{`{}`, []string{"partitions: missing type"}},
		{`{"type":"range"}`, []string{"partitions.type", `unknown partitions type "range"`}},
		{`{"type":"static"}`, []string{"partitions.keys", "at least one key"}},
		{`{"type":"static","keys":[]}`, []string{"partitions.keys", "at least one key"}},
		{`{"type":"static","keys":"us"}`, []string{"partitions.keys: must be an array of strings"}},
		{`{"type":"static","keys":["us","eu","us"]}`, []string{"partitions.keys[2]", `duplicate key "us"`, "keys[0]"}},
		{`{"type":"static","keys":["a/b"]}`, []string{"partitions.keys[0]", `'/'`}},
		{`{"type":"static","keys":["a|b"]}`, []string{"partitions.keys[0]", "reserved"}},
		{`{"type":"static","keys":[".."]}`, []string{"partitions.keys[0]", `".."`}},
		{`{"type":"static","keys":["us"],"extra":1}`, []string{"partitions.extra", "unknown field"}},
		{`{"type":"dynamic"}`, []string{"partitions.name", "need a name"}},
		{`{"type":"dynamic","name":"bad name"}`, []string{"partitions.name", `"bad name" is not a valid`}},
		{`{"type":"time","start":"2026-01-01"}`, []string{"partitions: missing schedule"}},
		{`{"type":"time","schedule":"daly","start":"2026-01-01"}`, []string{`partitions.schedule: unknown schedule "daly" (want hourly, daily, weekly or monthly)`}},
		{`{"type":"time","schedule":"daily"}`, []string{"partitions.start", "need a start"}},
		{`{"type":"time","schedule":"daily","start":"yesterday"}`, []string{"partitions.start", `"yesterday"`}},
		{`{"type":"time","schedule":"daily","start":"2026-01-01","timezone":"Mars/Olympus"}`, []string{"partitions.timezone", `unknown time zone "Mars/Olympus"`}},
		{`{"type":"time","schedule":"daily","start":"2026-01-01","timezone":"Local"}`, []string{"partitions.timezone"}},
		{`{"type":"time","schedule":"daily","start":"2026-01-01","end_offset":1.5}`, []string{"partitions.end_offset: must be an integer"}},
		{`{"type":"time","schedule":"daily","start":"2026-01-01","end":"2027-01-01","end_offset":1}`, []string{"partitions.end_offset", "give one or the other"}},
		{`{"type":"time","schedule":"daily","start":"2026-01-05","end":"2026-01-05"}`, []string{"partitions:", "no complete window"}},
		{`{"type":"time","schedule":"daily","start":"2026-01-01","format":"2006/01/02"}`, []string{"partitions.format", "not valid", `'/'`}},
		{`{"type":"time","schedule":"daily","start":"2026-01-01","format":"2006-01"}`, []string{"partitions.format", "does not identify daily windows"}},
		{`{"type":"time","schedule":"daily","start":"2026-01-01","cron":"0 * * * *"}`, []string{"not both"}},
		{`{"type":"time","cron":"0 */6 * * * *","start":"2026-01-01T00:00"}`, []string{"partitions.cron", "seconds"}},
		{`{"type":"time","cron":"0 25 * * *","start":"2026-01-01T00:00"}`, []string{"partitions.cron", "hour", "25"}},
		{`{"type":"time","schedule":"daily","start":"2026-01-01","zone":"UTC"}`, []string{"partitions.zone", "unknown field"}},
		{`{"type":"multi","dimensions":[{"name":"a","partitions":{"type":"static","keys":["x"]}}]}`, []string{"partitions.dimensions", "at least 2 dimensions, got 1"}},
		{`{"type":"multi","dimensions":[{"name":"a","partitions":{"type":"static","keys":["x"]}},{"name":"a","partitions":{"type":"static","keys":["y"]}}]}`, []string{"partitions.dimensions[1].name", `duplicate dimension name "a"`}},
		{`{"type":"multi","dimensions":[{"name":"a","partitions":{"type":"static","keys":["x"]}},{"name":"b","partitions":{"type":"time","schedule":"daly","start":"2026-01-01"}}]}`, []string{`partitions.dimensions[1].partitions.schedule: unknown schedule "daly" (want hourly, daily, weekly or monthly)`}},
		{`{"type":"multi","dimensions":[{"name":"a","partitions":{"type":"static","keys":["x"]}},{"name":"b","partitions":{"type":"multi","dimensions":[]}}]}`, []string{"partitions.dimensions[1].partitions.type", "cannot be nested"}},
		{`{"type":"multi","dimensions":[{"name":"a","partitions":{"type":"static","keys":["x"]}},{"name":"b"}]}`, []string{"partitions.dimensions[1].partitions", "needs a partitions definition"}},
		{`{"type":"multi","dimensions":[{"name":"a","partitions":{"type":"static","keys":["x"]}},{"name":"b","size":3,"partitions":{"type":"static","keys":["y"]}}]}`, []string{"partitions.dimensions[1].size", "unknown field"}},
	}
	for _, tt := range tests {
		_, err := Parse(json.RawMessage(tt.json))
		if err == nil {
			t.Errorf("Parse(%s): no error, want %q", tt.json, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Parse(%s) = %q, want it to mention %q", tt.json, err, w)
			}
		}
	}
}

func TestParseNull(t *testing.T) {
	for _, s := range []string{``, `null`, ` null `} {
		d, err := Parse(json.RawMessage(s))
		if d != nil || err != nil {
			t.Errorf("Parse(%q) = %v, %v; want nil, nil", s, d, err)
		}
	}
}

func TestCronPartitions(t *testing.T) {
	d, err := Parse(json.RawMessage(`{"type":"time","cron":"0 */6 * * *","start":"2026-01-01T00:00","end":"2026-01-02T00:00"}`))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := d.Keys(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(keys, " "), "2026-01-01T00:00 2026-01-01T06:00 2026-01-01T12:00 2026-01-01T18:00"; got != want {
		t.Fatalf("keys %s, want %s", got, want)
	}
	start, end, err := d.Window("2026-01-01T06:00")
	if err != nil || !start.Equal(time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("window %v..%v, %v", start, end, err)
	}
	if err := d.Contains("2026-01-01T07:00", time.Now()); err == nil {
		t.Error("a key that is not a fire time was accepted")
	}
	// Weekdays at 09:00 in New York, across the spring change: one window per weekday, and the
	// window from Friday runs to Monday.
	d, err = Parse(json.RawMessage(`{"type":"time","cron":"0 9 * * MON-FRI","start":"2026-03-06T09:00","end":"2026-03-11T09:00","timezone":"America/New_York"}`))
	if err != nil {
		t.Fatal(err)
	}
	keys, err = d.Keys(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(keys, " "), "2026-03-06T09:00 2026-03-09T09:00 2026-03-10T09:00"; got != want {
		t.Fatalf("keys %s, want %s", got, want)
	}
	start, end, err = d.Window("2026-03-06T09:00")
	if err != nil || end.Sub(start) != 71*time.Hour { // Friday 09:00 EST to Monday 09:00 EDT
		t.Fatalf("Friday's window %v..%v (%v), %v", start, end, end.Sub(start), err)
	}
}

func TestValidKey(t *testing.T) {
	tests := []struct {
		key  string
		want string // "" for valid
	}{
		{"us", ""},
		{"2026-01-15", ""},
		{"héllo wörld", ""},
		{"", "empty"},
		{strings.Repeat("a", 255), ""},
		{strings.Repeat("a", 256), "256 bytes"},
		{"a\xffb", "UTF-8"},
		{"a/b", `'/'`},
		{`a\b`, `'\\'`},
		{"a|b", "reserved"},
		{"a\x00b", "control"},
		{"a\nb", "control"},
		{"a\u0085b", "control"},
		{".", "directory"},
		{"..", "directory"},
		{"...", ""},
		{" us", "space"},
		{"us ", "space"},
		{"u s", ""},
	}
	for _, tt := range tests {
		err := ValidKey(tt.key)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ValidKey(%q) = %v, want nil", tt.key, err)
		case tt.want != "" && err == nil:
			t.Errorf("ValidKey(%q) = nil, want an error mentioning %q", tt.key, tt.want)
		case tt.want != "" && !strings.Contains(err.Error(), tt.want):
			t.Errorf("ValidKey(%q) = %q, want it to mention %q", tt.key, err, tt.want)
		}
	}
}

func TestStatic(t *testing.T) {
	d := mustParse(t, `{"type":"static","keys":["us","eu","apac"]}`)
	if d.Kind() != Static {
		t.Fatal(d.Kind())
	}
	keys, _ := d.Keys(now)
	if !slices.Equal(keys, []string{"us", "eu", "apac"}) {
		t.Fatal(keys)
	}
	if err := d.Contains("eu", now); err != nil {
		t.Fatal(err)
	}
	if err := d.Contains("latam", now); err == nil || !strings.Contains(err.Error(), `"latam" is not one of the keys`) {
		t.Fatal(err)
	}
	r, err := d.Range("eu", "apac", now)
	if err != nil || !slices.Equal(r, []string{"eu", "apac"}) {
		t.Fatal(r, err)
	}
	if _, err := d.Range("apac", "us", now); err == nil || !strings.Contains(err.Error(), "comes after") {
		t.Fatal(err)
	}
	if _, err := d.Range("us", "mars", now); err == nil || !strings.Contains(err.Error(), `range end "mars"`) {
		t.Fatal(err)
	}
	if _, _, err := d.Window("us"); err == nil || !strings.Contains(err.Error(), "not time-based") {
		t.Fatal(err)
	}
}

func TestDynamic(t *testing.T) {
	d := mustParse(t, `{"type":"dynamic","name":"customers"}`)
	if _, err := d.Keys(now); err == nil || !strings.Contains(err.Error(), `dynamic partitions "customers"`) {
		t.Fatal(err)
	}
	dd := d.WithDynamicKeys(func(name string) ([]string, error) {
		if name != "customers" {
			t.Fatalf("name %q", name)
		}
		return []string{"acme", "globex", "initech"}, nil
	})
	keys, err := dd.Keys(now)
	if err != nil || len(keys) != 3 {
		t.Fatal(keys, err)
	}
	if err := dd.Contains("globex", now); err != nil {
		t.Fatal(err)
	}
	if err := dd.Contains("hooli", now); err == nil || !strings.Contains(err.Error(), `"hooli" has not been added`) {
		t.Fatal(err)
	}
	if err := dd.Contains("../etc", now); err == nil || !strings.Contains(err.Error(), `'/'`) {
		t.Fatal(err)
	}
	if r, err := dd.Range("globex", "initech", now); err != nil || len(r) != 2 {
		t.Fatal(r, err)
	}
	if !d.Equal(dd) {
		t.Fatal("the hook changes equality")
	}
}

func TestTimeKeys(t *testing.T) {
	tests := []struct {
		name string
		json string
		now  time.Time
		want []string // first keys
		last string
		n    int
	}{
		{"daily with end", `{"type":"time","schedule":"daily","start":"2026-01-01","end":"2026-01-04"}`, now,
			[]string{"2026-01-01", "2026-01-02", "2026-01-03"}, "2026-01-03", 3},
		{"daily leap year", `{"type":"time","schedule":"daily","start":"2024-02-27","end":"2024-03-02"}`, now,
			[]string{"2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"}, "2024-03-01", 4},
		{"daily non-leap year", `{"type":"time","schedule":"daily","start":"2026-02-27","end":"2026-03-02"}`, now,
			[]string{"2026-02-27", "2026-02-28", "2026-03-01"}, "2026-03-01", 3},
		{"daily whole 2024", `{"type":"time","schedule":"daily","start":"2024-01-01","end":"2025-01-01"}`, now,
			[]string{"2024-01-01"}, "2024-12-31", 366},
		{"monthly", `{"type":"time","schedule":"monthly","start":"2025-11-01","end":"2026-03-01"}`, now,
			[]string{"2025-11", "2025-12", "2026-01", "2026-02"}, "2026-02", 4},
		{"monthly start mid-month", `{"type":"time","schedule":"monthly","start":"2025-11-15","end":"2026-02-01"}`, now,
			[]string{"2025-12", "2026-01"}, "2026-01", 2},
		{"weekly from Monday", `{"type":"time","schedule":"weekly","start":"2026-01-01","end":"2026-02-01"}`, now,
			// 2026-01-01 is a Thursday: the first week starts Monday 2026-01-05; the last
			// complete week before Sunday 2026-02-01 starts 2026-01-19.
			[]string{"2026-01-05", "2026-01-12", "2026-01-19"}, "2026-01-19", 3},
		{"hourly", `{"type":"time","schedule":"hourly","start":"2026-01-01T22:00","end":"2026-01-02T01:30"}`, now,
			[]string{"2026-01-01-22:00", "2026-01-01-23:00", "2026-01-02-00:00"}, "2026-01-02-00:00", 3},
		{"no end, end_offset 0", `{"type":"time","schedule":"daily","start":"2026-05-01"}`, now,
			[]string{"2026-05-01"}, "2026-05-09", 9},
		{"no end, end_offset 1", `{"type":"time","schedule":"daily","start":"2026-05-01","end_offset":1}`, now,
			[]string{"2026-05-01"}, "2026-05-10", 10},
		{"no end, end_offset -2", `{"type":"time","schedule":"daily","start":"2026-05-01","end_offset":-2}`, now,
			[]string{"2026-05-01"}, "2026-05-07", 7},
		{"no end, start in the future", `{"type":"time","schedule":"daily","start":"2027-05-01"}`, now,
			nil, "", 0},
		{"time zone shifts now", `{"type":"time","schedule":"daily","start":"2026-05-01","timezone":"Asia/Tokyo"}`,
			time.Date(2026, 5, 10, 16, 0, 0, 0, time.UTC), // 2026-05-11 01:00 in Tokyo
			[]string{"2026-05-01"}, "2026-05-10", 10},
		{"custom format", `{"type":"time","schedule":"daily","start":"20260101","end":"20260103","format":"20060102"}`, now,
			[]string{"20260101", "20260102"}, "20260102", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, tt.json)
			keys, err := d.Keys(tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != tt.n {
				t.Fatalf("%d keys %v, want %d", len(keys), keys, tt.n)
			}
			if tt.n == 0 {
				return
			}
			if !slices.Equal(keys[:len(tt.want)], tt.want) || keys[len(keys)-1] != tt.last {
				t.Fatalf("keys %v..., last %q; want %v..., last %q", keys[:min(5, len(keys))], keys[len(keys)-1], tt.want, tt.last)
			}
			for _, k := range keys {
				if err := d.Contains(k, tt.now); err != nil {
					t.Fatalf("Contains(%q): %v", k, err)
				}
			}
		})
	}
}

func TestTimeContainsErrors(t *testing.T) {
	daily := mustParse(t, `{"type":"time","schedule":"daily","start":"2026-01-01","end":"2027-01-01"}`)
	open := mustParse(t, `{"type":"time","schedule":"daily","start":"2026-01-01"}`)
	weekly := mustParse(t, `{"type":"time","schedule":"weekly","start":"2026-01-05"}`)
	tests := []struct {
		d    *Definition
		key  string
		want []string
	}{
		{daily, "2025-12-31", []string{`"2025-12-31" is before the first partition "2026-01-01"`}},
		{daily, "2027-01-01", []string{`"2027-01-01" is not before the end 2027-01-01`, `last partition is "2026-12-31"`}},
		{daily, "2026-02-30", []string{`"2026-02-30" does not match the format "2006-01-02"`, "day out of range"}},
		{daily, "2026-1-5", []string{"does not match the format"}},
		{daily, "2026-01-05|us", []string{"does not match the format"}},
		{open, "2026-05-10", []string{"not before 2026-05-10T00:00:00Z", "end_offset 0", `last partition is "2026-05-09"`}},
		{weekly, "2026-01-07", []string{"not the start of a weekly (Monday to Monday) window", `"2026-01-05"`}},
	}
	for _, tt := range tests {
		err := tt.d.Contains(tt.key, now)
		if err == nil {
			t.Errorf("%s: Contains(%q) = nil", tt.d, tt.key)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Contains(%q) = %q, want it to mention %q", tt.key, err, w)
			}
		}
	}
}

func TestWindow(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		json, key string
		start     time.Time
		hours     float64
	}{
		{`{"type":"time","schedule":"daily","start":"2026-01-01","timezone":"America/New_York"}`, "2026-03-08", time.Date(2026, 3, 8, 0, 0, 0, 0, ny), 23},
		{`{"type":"time","schedule":"daily","start":"2026-01-01","timezone":"America/New_York"}`, "2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, ny), 25},
		{`{"type":"time","schedule":"daily","start":"2026-01-01","timezone":"America/New_York"}`, "2026-06-01", time.Date(2026, 6, 1, 0, 0, 0, 0, ny), 24},
		{`{"type":"time","schedule":"weekly","start":"2026-01-05","timezone":"America/New_York"}`, "2026-03-02", time.Date(2026, 3, 2, 0, 0, 0, 0, ny), 7*24 - 1},
		{`{"type":"time","schedule":"monthly","start":"2024-01"}`, "2024-02", time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), 29 * 24},
		{`{"type":"time","schedule":"monthly","start":"2025-01"}`, "2025-02", time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), 28 * 24},
		{`{"type":"time","schedule":"monthly","start":"2025-01"}`, "2025-12", time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), 31 * 24},
		{`{"type":"time","schedule":"hourly","start":"2026-01-01","timezone":"America/New_York"}`, "2026-03-08-01:00", time.Date(2026, 3, 8, 1, 0, 0, 0, ny), 1},
	}
	for _, tt := range tests {
		d := mustParse(t, tt.json)
		s, e, err := d.Window(tt.key)
		if err != nil {
			t.Errorf("Window(%q): %v", tt.key, err)
			continue
		}
		if !s.Equal(tt.start) || e.Sub(s).Hours() != tt.hours || s.Location() != d.Time().Location {
			t.Errorf("Window(%q) = %v, %v (%v h); want %v, %v h", tt.key, s, e, e.Sub(s).Hours(), tt.start, tt.hours)
		}
	}
}

func TestHourlyDST(t *testing.T) {
	d := mustParse(t, `{"type":"time","schedule":"hourly","start":"2026-01-01","end":"2027-01-01","timezone":"America/New_York"}`)
	spring, err := d.Range("2026-03-08-00:00", "2026-03-08-23:00", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(spring) != 23 || slices.Contains(spring, "2026-03-08-02:00") {
		t.Fatalf("spring forward: %d keys %v", len(spring), spring)
	}
	if err := d.Contains("2026-03-08-02:00", now); err == nil {
		t.Fatal("2:00 does not exist on 2026-03-08 in New York")
	}
	fall, err := d.Range("2026-11-01-00:00", "2026-11-01-23:00", now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-11-01-00:00", "2026-11-01-01:00", "2026-11-01-01:00-05:00", "2026-11-01-02:00"}
	if len(fall) != 25 || !slices.Equal(fall[:4], want) {
		t.Fatalf("fall back: %d keys %v", len(fall), fall)
	}
	s1, _, err := d.Window("2026-11-01-01:00")
	if err != nil {
		t.Fatal(err)
	}
	s2, e2, err := d.Window("2026-11-01-01:00-05:00")
	if err != nil {
		t.Fatal(err)
	}
	if s2.Sub(s1) != time.Hour || e2.Sub(s2) != time.Hour {
		t.Fatalf("repeated hour windows %v, %v-%v", s1, s2, e2)
	}
	// The Keys of the whole year agree with Contains and are unique.
	keys, err := d.Keys(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 365*24 {
		t.Fatalf("%d hourly keys in 2026", len(keys))
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Fatalf("duplicate key %q", k)
		}
		seen[k] = true
		if err := d.Contains(k, now); err != nil {
			t.Fatal(err)
		}
	}
	// A range starting on the repeated hour.
	r, err := d.Range("2026-11-01-01:00-05:00", "2026-11-01-02:00", now)
	if err != nil || !slices.Equal(r, want[2:]) {
		t.Fatal(r, err)
	}
}

func TestTimeRange(t *testing.T) {
	d := mustParse(t, `{"type":"time","schedule":"daily","start":"2026-01-01","end":"2027-01-01"}`)
	r, err := d.Range("2026-01-30", "2026-02-02", now)
	if err != nil || !slices.Equal(r, []string{"2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"}) {
		t.Fatal(r, err)
	}
	if r, err := d.Range("2026-03-01", "2026-03-01", now); err != nil || len(r) != 1 {
		t.Fatal(r, err)
	}
	for _, tt := range []struct{ from, to, want string }{
		{"2026-02-02", "2026-01-30", `range start "2026-02-02" is after range end "2026-01-30"`},
		{"2025-12-30", "2026-01-30", "range start: partition key \"2025-12-30\" is before"},
		{"2026-01-30", "2027-01-05", "range end: partition key \"2027-01-05\" is not before the end"},
		{"2026-01-30", "soon", "range end"},
	} {
		if _, err := d.Range(tt.from, tt.to, now); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Range(%q, %q) = %v, want %q", tt.from, tt.to, err, tt.want)
		}
	}
}

func TestEqual(t *testing.T) {
	a := mustParse(t, `{"type":"time","schedule":"daily","start":"2026-01-01"}`)
	b := mustParse(t, `{"type":"time","schedule":"daily","start":"2026-01-01T00:00","timezone":"UTC","end_offset":0,"format":"2006-01-02"}`)
	c := mustParse(t, `{"type":"time","schedule":"daily","start":"2026-01-02"}`)
	if !a.Equal(b) || a.Equal(c) || a.Equal(nil) || !(*Definition)(nil).Equal(nil) {
		t.Fatal("Equal")
	}
}

const multi3 = `{"type":"multi","dimensions":[
	{"name":"date","partitions":{"type":"time","schedule":"daily","start":"2026-01-01","end":"2026-01-04"}},
	{"name":"region","partitions":{"type":"static","keys":["us","eu"]}},
	{"name":"product","partitions":{"type":"dynamic","name":"products"}}]}`

func products(name string) ([]string, error) { return []string{"a", "b", "c"}, nil }

func TestMulti3(t *testing.T) {
	d := mustParse(t, multi3)
	if _, err := d.Keys(now); err == nil || !strings.Contains(err.Error(), `dimension "product"`) {
		t.Fatal(err)
	}
	d = d.WithDynamicKeys(products)
	keys, err := d.Keys(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3*2*3 || keys[0] != "2026-01-01|us|a" || keys[1] != "2026-01-01|us|b" || keys[3] != "2026-01-01|eu|a" || keys[17] != "2026-01-03|eu|c" {
		t.Fatal(keys)
	}
	for _, k := range keys {
		if err := d.Contains(k, now); err != nil {
			t.Fatal(err)
		}
	}
	parts, err := d.Split("2026-01-02|eu|b")
	if err != nil || !slices.Equal(parts, []string{"2026-01-02", "eu", "b"}) {
		t.Fatal(parts, err)
	}
	if j, err := d.Join(parts...); err != nil || j != "2026-01-02|eu|b" {
		t.Fatal(j, err)
	}
	if _, err := d.Join("2026-01-02", "eu"); err == nil || !strings.Contains(err.Error(), "want 3 (date|region|product)") {
		t.Fatal(err)
	}
	if _, err := d.Split("2026-01-02|eu"); err == nil || !strings.Contains(err.Error(), "want 3") {
		t.Fatal(err)
	}
	if err := d.Contains("2026-01-02|mars|b", now); err == nil || !strings.Contains(err.Error(), `dimension "region"`) || !strings.Contains(err.Error(), `"mars"`) {
		t.Fatal(err)
	}
	r, err := d.Range("2026-01-02|us|b", "2026-01-03|eu|c", now)
	want := []string{"2026-01-02|us|b", "2026-01-02|us|c", "2026-01-02|eu|b", "2026-01-02|eu|c",
		"2026-01-03|us|b", "2026-01-03|us|c", "2026-01-03|eu|b", "2026-01-03|eu|c"}
	if err != nil || !slices.Equal(r, want) {
		t.Fatal(r, err)
	}
	if _, err := d.Range("2026-01-03|us|a", "2026-01-02|us|a", now); err == nil || !strings.Contains(err.Error(), `dimension "date"`) {
		t.Fatal(err)
	}
	s, e, err := d.Window("2026-01-02|us|a")
	if err != nil || s.Day() != 2 || e.Sub(s) != 24*time.Hour {
		t.Fatal(s, e, err)
	}
}

func TestManyDimensions(t *testing.T) {
	var dims []string
	for i := range 6 {
		dims = append(dims, `{"name":"d`+string(rune('0'+i))+`","partitions":{"type":"static","keys":["x","y"]}}`)
	}
	d := mustParse(t, `{"type":"multi","dimensions":[`+strings.Join(dims, ",")+`]}`)
	keys, err := d.Keys(now)
	if err != nil || len(keys) != 64 || keys[63] != "y|y|y|y|y|y" {
		t.Fatal(len(keys), err)
	}
}
