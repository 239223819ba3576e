package manifest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	m, err := Parse([]byte(`{
	  "abi_version": 1,
	  "sdk": {"name": "wasmorch-go", "version": "0.1.0"},
	  "assets": [
	    {"key": "orders/cleaned", "ins": [{"name": "raw"}], "group": "orders",
	     "output": {"format": "arrow", "schema": {"fields": [{"name": "id", "type": "int64", "nullable": false},
	                                                        {"name": "ts", "type": "timestamp[us, tz=UTC]"}]}}},
	    {"key": "raw", "output": {"format": "json"}, "partitions": {"type": "static", "keys": ["a"]}}
	  ],
	  "ops": [{"name": "split", "ins": [{"name": "x"}], "outs": [{"name": "a", "dynamic": true}]}],
	  "checks": [{"name": "positive", "asset": "raw"}],
	  "sensors": [{"name": "new_files", "targets": ["raw"], "minimum_interval_seconds": 30}]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Assets) != 2 || m.Assets[0].Key != "orders/cleaned" {
		t.Fatalf("assets = %+v", m.Assets)
	}
	a, _ := m.AssetByKey("orders/cleaned")
	if a.Ins[0].Asset != "raw" {
		t.Errorf("input asset defaulted to %q, want the input name", a.Ins[0].Asset)
	}
	r, _ := m.AssetByKey("raw")
	if r.Group != "default" || r.Output.Format != "json" {
		t.Errorf("defaults: group %q format %q", r.Group, r.Output.Format)
	}
	s, err := a.Output.Schema.ToArrow()
	if err != nil {
		t.Fatal(err)
	}
	if s.Field(0).Nullable || !s.Field(1).Nullable || TypeName(s.Field(1).Type) != "timestamp[us, tz=UTC]" {
		t.Errorf("schema = %s", s)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, json string
		want       []string
	}{
		{"empty", ``, []string{"manifest is empty"}},
		{"syntax", "{\"abi_version\": 1,\n \"assets\": [{\"key\": \"x\",}]}", []string{"malformed JSON at line 2"}},
		{"not an object", `[1]`, []string{"manifest: expected object, got array"}},
		{"missing version", `{"assets": [{"key": "x"}]}`, []string{"abi_version: is required"}},
		{"future version", `{"abi_version": 2, "assets": [{"key": "x"}]}`, []string{"abi_version: 2 is not supported by this host (supports 1..1)"}},
		{"nothing defined", `{"abi_version": 1}`, []string{"defines no assets, ops, checks, sensors, graphs or jobs"}},
		{"unknown field with path", `{"abi_version": 1, "assets": [{"key": "x"}, {"key": "y", "inz": []}]}`,
			[]string{"assets[1].inz: unknown field (known fields: code_version, config_schema, deps"}},
		{"wrong type with path", `{"abi_version": 1, "assets": [{"key": "x", "ins": [{"name": 3}]}]}`,
			[]string{"assets[0].ins[0].name: expected string, got number"}},
		{"bad key", `{"abi_version": 1, "assets": [{"key": "a//b"}]}`, []string{`assets[0].key: "a//b" is not a valid asset key`}},
		{"duplicate key", `{"abi_version": 1, "assets": [{"key": "a"}, {"key": "a"}]}`, []string{`assets[1].key: asset "a" is already defined by assets[0]`}},
		{"bad input name", `{"abi_version": 1, "assets": [{"key": "a", "ins": [{"name": "raw-orders", "asset": "raw"}]}]}`,
			[]string{`assets[0] (asset "a").ins[0].name: "raw-orders" is not a valid input name`}},
		{"self dependency", `{"abi_version": 1, "assets": [{"key": "a", "deps": ["a"]}]}`, []string{`asset "a" cannot depend on itself`}},
		{"unknown format", `{"abi_version": 1, "assets": [{"key": "a", "output": {"format": "parquet"}}]}`,
			[]string{`output.format: unknown format "parquet" (want arrow, json or bytes)`}},
		{"bad column type", `{"abi_version": 1, "assets": [{"key": "a", "output": {"schema": {"fields": [{"name": "c", "type": "int128"}]}}}]}`,
			[]string{`output.schema.fields[0].type: unknown Arrow type "int128"`}},
		{"schema on json output", `{"abi_version": 1, "assets": [{"key": "a", "output": {"format": "json", "schema": {"fields": []}}}]}`,
			[]string{"an Arrow schema needs output format arrow, not json"}},
		{"bad partitions", `{"abi_version": 1, "assets": [{"key": "a", "partitions": {"type": "yearly"}}]}`,
			[]string{`partitions.type: unknown partitions type "yearly"`}},
		{"bad schedule", `{"abi_version": 1, "assets": [{"key": "a", "partitions": {"type": "time", "schedule": "daly", "start": "2026-01-01"}}]}`,
			[]string{`(asset "a").partitions.schedule: unknown schedule "daly"`}},
		{"partition key that breaks a path", `{"abi_version": 1, "assets": [{"key": "a", "partitions": {"type": "static", "keys": ["us", "eu/west"]}}]}`,
			[]string{`(asset "a").partitions.keys[1]: partition key "eu/west" contains '/'`}},
		{"bad cron", `{"abi_version": 1, "assets": [{"key": "a", "partitions": {"type": "time", "cron": "0 25 * * *", "start": "2026-01-01T00:00"}}]}`,
			[]string{`(asset "a").partitions.cron: cron "0 25 * * *": hour: 25 is out of range 0-23`}},
		{"bad time zone", `{"abi_version": 1, "assets": [{"key": "a", "partitions": {"type": "time", "schedule": "daily", "start": "2026-01-01", "timezone": "Mars/Olympus"}}]}`,
			[]string{`(asset "a").partitions.timezone: unknown time zone "Mars/Olympus"`}},
		{"bad mapping offset", `{"abi_version": 1, "assets": [{"key": "a", "ins": [{"name": "b", "partition_mapping": {"type": "time_window", "start_offset": "x"}}]}, {"key": "b"}]}`,
			[]string{`(asset "a").ins[0].partition_mapping.start_offset: must be an integer`}},
		{"several problems", `{"abi_version": 1, "assets": [{"key": "-a"}], "ops": [{"name": "1op"}]}`,
			[]string{"2 problems", `assets[0].key`, `ops[0].name: "1op" is not a valid op name`}},
		{"trailing data", `{"abi_version": 1, "assets": [{"key": "a"}]} {}`, []string{"unexpected data after the manifest"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.json))
			if err == nil {
				t.Fatal("Parse accepted an invalid manifest")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseRefusesHugeManifest(t *testing.T) {
	big := make([]byte, 16<<20+1)
	_, err := Parse(big)
	if err == nil || !strings.Contains(err.Error(), "over the 16777216 byte limit") {
		t.Fatalf("err = %v", err)
	}
}

// TestParseRefusesHostileShapes: bytes that are not UTF-8, nesting past MaxDepth, and a manifest
// with more problems than an error lists.
func TestParseRefusesHostileShapes(t *testing.T) {
	// One level for the outer object, depth-1 for the arrays.
	const prefix = `{"abi_version": 1, "assets": [{"key": "a", "tags": {"t": "[{"}}], "x": `
	nested := func(depth int) string {
		return prefix + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
	}
	var many strings.Builder
	many.WriteString(`{"abi_version": 1, "assets": [`)
	for i := range 25 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `{"key": "-%d"}`, i)
	}
	many.WriteString(`]}`)
	cases := []struct{ name, json, want string }{
		{"not UTF-8", "{\"abi_version\": 1,\n \"assets\": [{\"key\": \"caf\xe9\"}]}",
			"invalid manifest: the manifest is not valid UTF-8: byte 0xe9 at offset 43 (line 2, column 25)"},
		{"too deep", nested(MaxDepth + 1),
			fmt.Sprintf("invalid manifest: the manifest nests objects and arrays more than %d levels deep (at line 1, column %d)", MaxDepth, len(prefix)+MaxDepth)},
		{"many problems", many.String(),
			"invalid manifest (25 problems, the first 20 listed):\n  assets[0].key: \"-0\" is not a valid asset key (components of letters, digits, '_' or '-', joined by '/')"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.json))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("error:\n%v\nwant it to start with:\n%s", err, c.want)
			}
			if c.name == "many problems" && (strings.Count(err.Error(), "\n") != 20 || strings.Contains(err.Error(), `"-20"`)) {
				t.Errorf("the error lists more than 20 problems:\n%v", err)
			}
		})
	}
	// At MaxDepth the nesting is accepted (the brackets inside the tag's string do not count),
	// and the manifest fails only for the unknown field.
	_, err := Parse([]byte(nested(MaxDepth)))
	if err == nil || !strings.Contains(err.Error(), "x: unknown field") || strings.Contains(err.Error(), "levels deep") {
		t.Errorf("a manifest nested exactly %d deep: %v", MaxDepth, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"abi_version": 1, "assets": [{"key": "a", "ins": [{"name": "b"}]}]}`))
	f.Add([]byte(`{"abi_version": 1, "ops": [{"name": "o", "outs": [{"name": "x", "dynamic": true}]}]}`))
	f.Add([]byte(`{"abi_version": 1, "assets": [{"key": "a", "output": {"schema": {"fields": [{"name": "t", "type": "decimal128(10, 2)"}]}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err == nil {
			for _, a := range m.Assets {
				if !ValidAssetKey(a.Key) {
					t.Fatalf("accepted invalid key %q", a.Key)
				}
			}
		}
	})
}
