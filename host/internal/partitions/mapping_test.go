package partitions

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustMapping(t *testing.T, s string) *Mapping {
	t.Helper()
	m, err := ParseMapping(json.RawMessage(s))
	if err != nil {
		t.Fatalf("ParseMapping(%s): %v", s, err)
	}
	return m
}

func TestParseMappingErrors(t *testing.T) {
	tests := []struct{ json, want string }{
		{`"identity"`, "partition_mapping: must be a JSON object"},
		{`{}`, "partition_mapping: missing type"},
		{`{"type":"window"}`, `partition_mapping.type: unknown partition mapping "window"`},
		{`{"type":"identity","x":1}`, "partition_mapping.x: unknown field"},
		{`{"type":"time_window","start_offset":"-1"}`, "partition_mapping.start_offset: must be an integer"},
		{`{"type":"time_window","offset":1}`, "partition_mapping.offset: unknown field"},
		{`{"type":"static"}`, "partition_mapping.map: a static mapping needs a non-empty map of downstream to upstream keys"},
		{`{"type":"static","map":{"eu":3}}`, `partition_mapping.map["eu"]: must be an upstream key`},
		{`{"type":"static","map":{"eu":"a/b"}}`, `partition_mapping.map["eu"]: partition key "a/b" contains '/'`},
		{`{"type":"static","map":{"e|u":"x"}}`, `partition_mapping.map["e|u"]`},
		{`{"type":"multi","dimensions":{"date":{"type":"daily"}}}`, `partition_mapping.dimensions.date.type: unknown partition mapping "daily"`},
		{`{"type":"multi","dimensions":{"date":{"type":"multi","dimensions":{}}}}`, "partition_mapping.dimensions.date.type: multi mappings cannot be nested"},
	}
	for _, tt := range tests {
		_, err := ParseMapping(json.RawMessage(tt.json))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseMapping(%s) = %v, want %q", tt.json, err, tt.want)
		}
	}
	if m, err := ParseMapping(json.RawMessage(`null`)); m != nil || err != nil {
		t.Fatal(m, err)
	}
	m := mustMapping(t, `{"type":"static","map":{"eu":"europe","us":["americas","usa"]}}`)
	if !slices.Equal(m.Map["us"], []string{"americas", "usa"}) {
		t.Fatal(m.Map)
	}
}

const (
	hourlyNY = `{"type":"time","schedule":"hourly","start":"2026-01-01","timezone":"America/New_York"}`
	dailyNY  = `{"type":"time","schedule":"daily","start":"2026-01-01","timezone":"America/New_York"}`
)

func TestTimeWindowMapping(t *testing.T) {
	hourly := mustParse(t, hourlyNY)
	daily := mustParse(t, dailyNY)
	later := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	tw := mustMapping(t, `{"type":"time_window"}`)
	for _, tt := range []struct {
		day   string
		n     int
		first string
		last  string
	}{
		{"2026-06-01", 24, "2026-06-01-00:00", "2026-06-01-23:00"},
		{"2026-03-08", 23, "2026-03-08-00:00", "2026-03-08-23:00"},
		{"2026-11-01", 25, "2026-11-01-00:00", "2026-11-01-23:00"},
	} {
		keys, err := UpstreamKeys(tw, daily, tt.day, hourly, later)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != tt.n || keys[0] != tt.first || keys[len(keys)-1] != tt.last {
			t.Errorf("%s: %d keys %v", tt.day, len(keys), keys)
		}
	}
	// The default mapping between different time definitions is time_window.
	keys, err := UpstreamKeys(nil, daily, "2026-11-01", hourly, later)
	if err != nil || len(keys) != 25 {
		t.Fatal(len(keys), err)
	}
	// An hourly downstream partition reads its day.
	keys, err = UpstreamKeys(nil, hourly, "2026-03-08-17:00", daily, later)
	if err != nil || !slices.Equal(keys, []string{"2026-03-08"}) {
		t.Fatal(keys, err)
	}
	// Offsets shift by whole upstream periods.
	keys, err = UpstreamKeys(mustMapping(t, `{"type":"time_window","start_offset":-1,"end_offset":-1}`), hourly, "2026-03-08-17:00", daily, later)
	if err != nil || !slices.Equal(keys, []string{"2026-03-07"}) {
		t.Fatal(keys, err)
	}
	keys, err = UpstreamKeys(mustMapping(t, `{"type":"time_window","start_offset":-2}`), daily, "2026-06-01", hourly, later)
	if err != nil || len(keys) != 26 || keys[0] != "2026-05-31-22:00" {
		t.Fatal(keys, err)
	}
	// Reading before the upstream start names the missing key.
	_, err = UpstreamKeys(mustMapping(t, `{"type":"time_window","start_offset":-1}`), daily, "2026-01-01", hourly, later)
	if err == nil || !strings.Contains(err.Error(), `"2025-12-31-23:00" is before the first partition`) {
		t.Fatal(err)
	}
	// An hourly partition of today reads a daily upstream that is not complete yet.
	_, err = UpstreamKeys(nil, hourly, "2026-03-08-17:00", daily, time.Date(2026, 3, 8, 23, 0, 0, 0, time.UTC))
	if err == nil || !strings.Contains(err.Error(), `"2026-03-08" is not before`) {
		t.Fatal(err)
	}
	// A downstream key that is not a key.
	_, err = UpstreamKeys(nil, daily, "2026-13-01", hourly, later)
	if err == nil || !strings.Contains(err.Error(), `downstream partition key "2026-13-01"`) {
		t.Fatal(err)
	}
	// time_window between time and static.
	static := mustParse(t, `{"type":"static","keys":["us","eu"]}`)
	_, err = UpstreamKeys(tw, daily, "2026-06-01", static, later)
	if err == nil || !strings.Contains(err.Error(), "time_window partition mapping needs time definitions on both sides") || !strings.Contains(err.Error(), "static [") {
		t.Fatal(err)
	}
}

func TestIdentityAllStatic(t *testing.T) {
	daily := mustParse(t, `{"type":"time","schedule":"daily","start":"2026-05-01"}`)
	daily2 := mustParse(t, `{"type":"time","schedule":"daily","start":"2026-04-01"}`)
	static := mustParse(t, `{"type":"static","keys":["us","eu"]}`)
	regions := mustParse(t, `{"type":"static","keys":["americas","europe","asia"]}`)

	keys, err := UpstreamKeys(nil, daily, "2026-05-03", daily, now)
	if err != nil || !slices.Equal(keys, []string{"2026-05-03"}) {
		t.Fatal(keys, err)
	}
	_, err = UpstreamKeys(mustMapping(t, `{"type":"identity"}`), daily, "2026-05-03", daily2, now)
	if err == nil || !strings.Contains(err.Error(), "identity partition mapping needs equal definitions") ||
		!strings.Contains(err.Error(), "from 2026-05-01") || !strings.Contains(err.Error(), "from 2026-04-01") {
		t.Fatal(err)
	}
	// all, and the default for an unpartitioned downstream.
	keys, err = UpstreamKeys(nil, nil, "", daily, now)
	if err != nil || len(keys) != 9 {
		t.Fatal(keys, err)
	}
	keys, err = UpstreamKeys(mustMapping(t, `{"type":"all"}`), static, "us", daily, now)
	if err != nil || len(keys) != 9 {
		t.Fatal(keys, err)
	}
	if _, err = UpstreamKeys(nil, nil, "us", daily, now); err == nil {
		t.Fatal("a key for an unpartitioned asset")
	}
	// An unpartitioned upstream: read the whole asset.
	if keys, err = UpstreamKeys(nil, daily, "2026-05-03", nil, now); keys != nil || err != nil {
		t.Fatal(keys, err)
	}
	// static maps.
	sm := mustMapping(t, `{"type":"static","map":{"us":"americas","eu":["europe","asia"]}}`)
	keys, err = UpstreamKeys(sm, static, "eu", regions, now)
	if err != nil || !slices.Equal(keys, []string{"europe", "asia"}) {
		t.Fatal(keys, err)
	}
	partial := mustMapping(t, `{"type":"static","map":{"us":"americas"}}`)
	_, err = UpstreamKeys(partial, static, "eu", regions, now)
	if err == nil || !strings.Contains(err.Error(), `no entry for downstream partition key "eu"`) {
		t.Fatal(err)
	}
	bad := mustMapping(t, `{"type":"static","map":{"us":"north_america"}}`)
	_, err = UpstreamKeys(bad, static, "us", regions, now)
	if err == nil || !strings.Contains(err.Error(), `maps "us" to "north_america", which is not an upstream partition`) {
		t.Fatal(err)
	}
}

func TestDefaultMapping(t *testing.T) {
	daily := mustParse(t, `{"type":"time","schedule":"daily","start":"2026-01-01"}`)
	hourly := mustParse(t, `{"type":"time","schedule":"hourly","start":"2026-01-01"}`)
	static := mustParse(t, `{"type":"static","keys":["us","eu"]}`)
	static2 := mustParse(t, `{"type":"static","keys":["us","eu"]}`)
	dyn := mustParse(t, `{"type":"dynamic","name":"customers"}`)
	tests := []struct {
		down, up *Definition
		want     MappingType
		err      string
	}{
		{daily, daily, Identity, ""},
		{static, static2, Identity, ""},
		{daily, hourly, TimeWindow, ""},
		{hourly, daily, TimeWindow, ""},
		{nil, daily, All, ""},
		{daily, nil, All, ""},
		{static, daily, "", "no default partition mapping from upstream time daily"},
		{daily, static, "", `no default partition mapping from upstream static ["us" "eu"] to downstream time daily`},
		{dyn, static, "", "give a partition_mapping"},
	}
	for _, tt := range tests {
		m, err := DefaultMapping(tt.down, tt.up)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "give a partition_mapping") {
				t.Errorf("DefaultMapping(%s, %s) = %v, %v; want error %q", tt.down, tt.up, m, err, tt.err)
			}
			continue
		}
		if err != nil || m.Type != tt.want {
			t.Errorf("DefaultMapping(%s, %s) = %v, %v; want %s", tt.down, tt.up, m, err, tt.want)
		}
	}
}

func TestMultiMapping(t *testing.T) {
	down := mustParse(t, `{"type":"multi","dimensions":[
		{"name":"date","partitions":{"type":"time","schedule":"daily","start":"2026-01-01","end":"2026-02-01"}},
		{"name":"region","partitions":{"type":"static","keys":["us","eu"]}}]}`)
	up := mustParse(t, `{"type":"multi","dimensions":[
		{"name":"date","partitions":{"type":"time","schedule":"hourly","start":"2026-01-01","end":"2026-02-01"}},
		{"name":"region","partitions":{"type":"static","keys":["americas","europe"]}},
		{"name":"product","partitions":{"type":"dynamic","name":"products"}}]}`).WithDynamicKeys(products)

	m := mustMapping(t, `{"type":"multi","dimensions":{"region":{"type":"static","map":{"us":"americas","eu":"europe"}}}}`)
	keys, err := UpstreamKeys(m, down, "2026-01-15|eu", up, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 24*1*3 || keys[0] != "2026-01-15-00:00|europe|a" || keys[1] != "2026-01-15-00:00|europe|b" || keys[71] != "2026-01-15-23:00|europe|c" {
		t.Fatal(len(keys), keys[:3])
	}
	// Same with an explicit all on product and the date mapping given.
	m2 := mustMapping(t, `{"type":"multi","dimensions":{"date":{"type":"time_window"},"product":{"type":"all"},"region":{"type":"static","map":{"us":"americas","eu":"europe"}}}}`)
	keys2, err := UpstreamKeys(m2, down, "2026-01-15|eu", up, now)
	if err != nil || !slices.Equal(keys, keys2) {
		t.Fatal(err)
	}
	// The default multi mapping fails on region (static to different static).
	_, err = UpstreamKeys(nil, down, "2026-01-15|eu", up, now)
	if err == nil || !strings.Contains(err.Error(), `dimension "region"`) || !strings.Contains(err.Error(), "give a partition_mapping") {
		t.Fatal(err)
	}
	// A dimension name that does not exist.
	bad := mustMapping(t, `{"type":"multi","dimensions":{"country":{"type":"identity"}}}`)
	_, err = UpstreamKeys(bad, down, "2026-01-15|eu", up, now)
	if err == nil || !strings.Contains(err.Error(), `names dimension "country", which upstream`) {
		t.Fatal(err)
	}
	onlyUp := mustMapping(t, `{"type":"multi","dimensions":{"product":{"type":"identity"}}}`)
	_, err = UpstreamKeys(onlyUp, down, "2026-01-15|eu", up, now)
	if err == nil || !strings.Contains(err.Error(), `"product", which downstream`) {
		t.Fatal(err)
	}
	// multi mapping on non-multi definitions.
	daily := mustParse(t, `{"type":"time","schedule":"daily","start":"2026-01-01"}`)
	_, err = UpstreamKeys(m, daily, "2026-01-15", up, now)
	if err == nil || !strings.Contains(err.Error(), "multi partition mapping needs multi-dimensional definitions on both sides") {
		t.Fatal(err)
	}
	// Equal multi definitions: identity by default.
	keys, err = UpstreamKeys(nil, down, "2026-01-15|eu", down, now)
	if err != nil || !slices.Equal(keys, []string{"2026-01-15|eu"}) {
		t.Fatal(keys, err)
	}
}

func TestCheckMapping(t *testing.T) {
	daily := mustParse(t, `{"type":"time","schedule":"daily","start":"2026-01-01"}`)
	hourly := mustParse(t, `{"type":"time","schedule":"hourly","start":"2026-01-01"}`)
	regions := mustParse(t, `{"type":"static","keys":["us","eu"]}`)
	conts := mustParse(t, `{"type":"static","keys":["americas","europe"]}`)
	dr := mustParse(t, `{"type":"multi","dimensions":[{"name":"date","partitions":{"type":"time","schedule":"daily","start":"2026-01-01"}},{"name":"region","partitions":{"type":"static","keys":["us","eu"]}}]}`)
	drc := mustParse(t, `{"type":"multi","dimensions":[{"name":"date","partitions":{"type":"time","schedule":"daily","start":"2026-01-01"}},{"name":"region","partitions":{"type":"static","keys":["us","eu"]}},{"name":"channel","partitions":{"type":"static","keys":["web","store"]}}]}`)
	m := func(s string) *Mapping { return mustMapping(t, s) }
	for _, tc := range []struct {
		name     string
		m        *Mapping
		down, up *Definition
		want     string // "" for no error
	}{
		{"default equal", nil, daily, daily, ""},
		{"default time", nil, daily, hourly, ""},
		{"default unpartitioned downstream", nil, nil, daily, ""},
		{"default static to time", nil, regions, daily, "no default partition mapping"},
		{"identity different", m(`{"type":"identity"}`), daily, hourly, "identity partition mapping needs equal definitions"},
		{"time_window static", m(`{"type":"time_window"}`), regions, daily, "needs time definitions on both sides"},
		{"identity to unpartitioned", m(`{"type":"identity"}`), daily, nil, "upstream asset is not partitioned"},
		{"time_window from unpartitioned", m(`{"type":"time_window"}`), nil, daily, "downstream asset is not partitioned"},
		{"static ok", m(`{"type":"static","map":{"americas":"us","europe":["eu"]}}`), conts, regions, ""},
		{"static unknown downstream key", m(`{"type":"static","map":{"asia":"us"}}`), conts, regions, `maps "asia", which is not a key of downstream`},
		{"static unknown upstream key", m(`{"type":"static","map":{"americas":"ca"}}`), conts, regions, `maps "americas" to "ca", which is not a key of upstream`},
		{"static from time", m(`{"type":"static","map":{"x":"us"}}`), daily, regions, "needs a static or dynamic downstream"},
		{"static to time", m(`{"type":"static","map":{"americas":"2026-01-05"}}`), conts, daily, ""},
		{"static to a non-key of time", m(`{"type":"static","map":{"americas":"us"}}`), conts, daily, `maps "americas" to "us", which is not a key of upstream`},
		{"multi drop dimension", m(`{"type":"multi","dimensions":{"channel":{"type":"all"}}}`), dr, drc, ""},
		{"multi bad dimension", m(`{"type":"multi","dimensions":{"region":{"type":"time_window"}}}`), dr, drc, `dimension "region": time_window`},
		{"multi to single", m(`{"type":"multi","dimensions":{}}`), dr, daily, "needs multi-dimensional definitions on both sides"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckMapping(tc.m, tc.down, tc.up)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckMapping: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckMapping = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
