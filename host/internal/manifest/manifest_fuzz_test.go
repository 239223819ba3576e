package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/abi"
)

// FuzzManifest feeds arbitrary bytes to Parse, the parser every guest's wasmorch_manifest output
// goes through. It never panics; an error wraps ErrInvalid and says more than the sentinel, one
// non-empty line per problem; and an accepted manifest has its defaults applied and re-validates:
// encoding it as JSON and parsing that again succeeds and gives the same manifest (so what the
// host stores and reloads is what it checked). The seed corpus is in testdata/fuzz/FuzzManifest;
// plain `go test` runs it.
func FuzzManifest(f *testing.F) {
	for _, seed := range []string{
		`{"abi_version": 1, "assets": [{"key": "a"}]}`,
		`{"abi_version": 1, "sdk": {"name": "wasmorch-go", "version": "0.1.0"},
		  "assets": [{"key": "orders/cleaned", "ins": [{"name": "raw"}], "group": "orders", "tags": {"k": "v"},
		              "output": {"format": "arrow", "schema": {"fields": [{"name": "id", "type": "int64", "nullable": false},
		                                                                {"name": "ts", "type": "timestamp[us, tz=UTC]"},
		                                                                {"name": "d", "type": "decimal128(10, 2)"}], "metadata": {"m": "x"}}}},
		             {"key": "raw", "output": {"format": "json", "json_schema": {"type": "object"}}, "partitions": {"type": "static", "keys": ["a"]},
		              "config_schema": {"type": "object"}, "resources": ["db"], "io_manager": "fs", "code_version": "1",
		              "retry_policy": {"max_retries": 2, "delay_seconds": 0.5, "backoff": "linear", "jitter": "full"}}],
		  "ops": [{"name": "split", "ins": [{"name": "x", "format": "bytes", "optional": true}], "outs": [{"name": "a", "dynamic": true}]}],
		  "checks": [{"name": "positive", "asset": "raw", "blocking": true}],
		  "sensors": [{"name": "new_files", "targets": ["raw"], "minimum_interval_seconds": 30}]}`,
		`{"abi_version": 1, "assets": [{"key": "daily", "ins": [{"name": "hourly", "partition_mapping": {"type": "multi", "dimensions": {"d": {"type": "time_window", "start_offset": -1}, "r": {"type": "static", "map": {"a": "b"}}}}}]}, {"key": "hourly"}]}`,
		`{"abi_version": 1, "ops": [{"name": "fetch", "outs": [{"name": "result"}]}, {"name": "split", "ins": [{"name": "x"}], "outs": [{"name": "big", "dynamic": true}]}],
		  "graphs": [{"name": "g", "ins": [{"name": "day"}], "nodes": [
		      {"name": "f", "op": "fetch", "ins": {"day": {"graph_input": "day"}}, "config": {"a": 1}},
		      {"name": "s", "op": "split", "ins": {"x": {"node": "f", "output": "result"}}},
		      {"name": "r", "op": "other:report", "ins": {"big": {"node": "s", "output": "big", "collect": true}}}],
		    "outs": [{"name": "report", "node": "r", "output": "result"}]}],
		  "jobs": [{"name": "daily_job", "selection": "daily+", "tags": {"t": "1"}}, {"name": "graph_job", "graph": "g", "config": {"ops": {}}}]}`,
		`{"abi_version": 1, "assets": [{"key": "b", "ins": [{"name": "a"}]}, {"key": "a", "description": "<&>"}]}`,
		`{"abi_version": 1, "assets": [{"key": "a", "ins": [{"name": "a"}]}]}`,
		`{"abi_version": 1, "assets": [{"key": "a", "deps": ["a"]}], "ops": [{"name": "1op"}]}`,
		`{"abi_version": 2, "assets": [{"key": "x"}]}`,
		`{"abi_version": 1, "assets": [{"key": "a", "retry_policy": {"delay_seconds": 1e400}}]}`,
		`{"abi_version": 1, "assets": [{"key": "a", "KEY": "b"}]}`,
		`{"abi_version": 1, "assets": [{"key": "a", "key": "b"}]}`,
		`{"abi_version": 1, "assets": [{"key": "a"}]} {}`,
		`{"abi_version": 1, "jobs": [{"name": "j", "graph": "g"}]}`,
		`{"abi_version": 18446744073709551617, "assets": [{"key": "x"}]}`,
		`{"abi_version": 1, "assets": [{"key": "a", "description": "\ud800"}]}`,
		"{\"abi_version\": 1,\n \"assets\": [{\"key\": \"x\",}]}",
		``, `null`, `[1]`, `{}`, `"x"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if m != nil {
				t.Fatalf("Parse returned a manifest and an error: %v", err)
			}
			checkManifestError(t, err)
			return
		}
		if m == nil {
			t.Fatal("Parse returned neither a manifest nor an error")
		}
		checkDefaults(t, m)
		enc, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("an accepted manifest does not encode: %v", err)
		}
		again, err := Parse(enc)
		if err != nil {
			t.Fatalf("an accepted manifest does not re-validate: %v\ninput:   %q\nencoded: %s", err, data, enc)
		}
		enc2, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("re-parsing changed the manifest:\nfirst:  %s\nsecond: %s", enc, enc2)
		}
	})
}

func checkManifestError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error does not wrap ErrInvalid: %v", err)
	}
	msg := err.Error()
	rest := strings.TrimPrefix(msg, ErrInvalid.Error())
	if rest == msg || strings.TrimSpace(strings.TrimLeft(rest, ":")) == "" {
		t.Fatalf("error %q says nothing beyond the sentinel", msg)
	}
	for i, line := range strings.Split(msg, "\n") {
		if strings.TrimSpace(line) == "" {
			t.Fatalf("line %d of the error is empty: %q", i, msg)
		}
	}
}

func checkDefaults(t *testing.T, m *Manifest) {
	t.Helper()
	if !sort.SliceIsSorted(m.Assets, func(i, j int) bool { return m.Assets[i].Key < m.Assets[j].Key }) {
		t.Fatal("assets are not sorted by key")
	}
	for _, a := range m.Assets {
		if !ValidAssetKey(a.Key) {
			t.Fatalf("accepted invalid key %q", a.Key)
		}
		if a.Group == "" || a.Output.Format == "" {
			t.Fatalf("asset %q: defaults not applied (group %q, format %q)", a.Key, a.Group, a.Output.Format)
		}
		if _, ok := abi.ParseFormat(a.Output.Format); !ok {
			t.Fatalf("asset %q: accepted output format %q", a.Key, a.Output.Format)
		}
		for _, in := range a.Ins {
			if in.Asset == "" || !ValidAssetKey(in.Asset) || in.Asset == a.Key {
				t.Fatalf("asset %q: input %q reads asset %q", a.Key, in.Name, in.Asset)
			}
		}
		if a.Output.Schema != nil {
			if _, err := a.Output.Schema.ToArrow(); err != nil {
				t.Fatalf("asset %q: accepted schema does not convert: %v", a.Key, err)
			}
		}
	}
}
