package workspace

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPartitionsSection(t *testing.T) {
	f, err := Parse("/ws/wasmorch.yaml", []byte(`
modules:
  - path: m.wasm
partitions:
  paris_daily: {type: time, schedule: daily, start: 2026-01-01, timezone: Europe/Paris}
assets:
  orders:
    partitions: paris_daily
  regions:
    partitions: {type: static, keys: [us, eu]}
  summary:
    ins:
      orders: {partition_mapping: {type: time_window, start_offset: -1}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var def map[string]any
	if err := json.Unmarshal(f.Assets["orders"].Partitions.JSON, &def); err != nil {
		t.Fatal(err)
	}
	// An unquoted date stays the date written, not a UTC instant.
	if def["start"] != "2026-01-01" || def["timezone"] != "Europe/Paris" {
		t.Errorf("orders partitions = %s", f.Assets["orders"].Partitions.JSON)
	}
	if got := string(f.Assets["regions"].Partitions.JSON); got != `{"keys":["us","eu"],"type":"static"}` {
		t.Errorf("regions partitions = %s", got)
	}
	if m := f.Assets["summary"].Mappings["orders"]; !strings.Contains(string(m.JSON), `"start_offset":-1`) || m.Line != 13 {
		t.Errorf("summary mapping = %s at line %d", m.JSON, m.Line)
	}
}

func TestPartitionsSectionErrors(t *testing.T) {
	// Each snippet follows two lines of modules:, so its first line is line 3.
	for _, tc := range []struct{ yaml, want string }{
		{"partitions:\n  d: {type: time, schedule: daily}\n", `line 4: partitions.d.start: time partitions need a start`},
		{"partitions:\n  d: {type: time, schedule: fortnightly, start: 2026-01-01}\n", `line 4: partitions.d.schedule`},
		{"partitions:\n  1d: {type: static, keys: [a]}\n", `line 4: partitions name "1d" is invalid`},
		{"assets:\n  a:\n    partitions: weekly\n", `line 5: assets.a.partitions names "weekly", which the partitions: section does not define`},
		{"assets:\n  a:\n    partitions: {type: static, keys: [\"a/b\"]}\n", `line 5: assets.a.partitions.keys[0]`},
		{"assets:\n  a:\n    ins:\n      x: {partition_mapping: {type: time_window, start_ofset: 1}}\n", `line 6: assets.a.ins.x.partition_mapping`},
		{"assets:\n  a:\n    ins:\n      x: {mapping: {type: all}}\n", `line 6: assets.a.ins.x must be {partition_mapping: ...}`},
		{"assets:\n  a:\n    partition: {type: static, keys: [a]}\n", `line 5: assets.a: unknown field "partition"`},
	} {
		_, err := Parse("/ws/wasmorch.yaml", []byte("modules:\n  - path: m.wasm\n"+tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.yaml, err, tc.want)
		}
	}
}
