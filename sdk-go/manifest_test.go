package wasmorch

import (
	"encoding/json"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

func TestManifestJSON(t *testing.T) {
	r := newRegistry()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	r.addAsset("raw_orders", func(*Context) (arrow.Record, error) { return nil, nil }, []AssetOption{
		Group("orders"),
		Schema(schema),
		ConfigSchema(`{ "type": "object",
			"properties": {"csv": {"type": "string"}} }`),
	})
	r.addAsset("orders/cleaned", func(*Context, arrow.Record) (array.RecordReader, error) { return nil, nil }, []AssetOption{
		Ins("raw_orders"),
		Deps("audit/log"),
		Group("orders"),
		Description("Orders with nulls dropped."),
		Tags(map[string]string{"team": "finance", "tier": "gold"}),
		IOManager("memory"),
		Resources("warehouse"),
		CodeVersion("v2"),
	})
	r.addAsset("summary", func(*Context, []byte, map[string]int) ([]byte, error) { return nil, nil }, []AssetOption{
		In("blob", "orders/cleaned"), In("counts", "raw_orders"),
	})
	r.addAsset("plain", func(*Context) (map[string]int, error) { return nil, nil }, nil)

	got, err := r.manifest()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"abi_version":1,"sdk":{"name":"wasmorch-go","version":"0.1.0"},"assets":[` +
		`{"key":"raw_orders","group":"orders","output":{"format":"arrow","schema":{"fields":[` +
		`{"name":"order_id","type":"int64","nullable":false},{"name":"amount","type":"float64","nullable":true}]}},` +
		`"config_schema":{"type":"object","properties":{"csv":{"type":"string"}}}},` +
		`{"key":"orders/cleaned","ins":[{"name":"raw_orders","asset":"raw_orders","format":"arrow"}],` +
		`"deps":["audit/log"],"group":"orders","description":"Orders with nulls dropped.",` +
		`"tags":{"team":"finance","tier":"gold"},"output":{"format":"arrow"},"resources":["warehouse"],` +
		`"io_manager":"memory","code_version":"v2"},` +
		`{"key":"summary","ins":[{"name":"blob","asset":"orders/cleaned","format":"bytes"},` +
		`{"name":"counts","asset":"raw_orders","format":"json"}],"output":{"format":"bytes"}},` +
		`{"key":"plain","output":{"format":"json"}}]}`
	if string(got) != want {
		t.Errorf("manifest:\n got %s\nwant %s", got, want)
	}

	h := newFakeHost(t, nil)
	if st := r.writeManifest(h); st != 0 {
		t.Fatalf("wasmorch_manifest status = %d; logs %q", st, h.logs)
	}
	if len(h.manifest) != 1 || string(h.manifest[0]) != want {
		t.Errorf("manifest_write calls = %q", h.manifest)
	}
}

func TestManifestSchemaMetadata(t *testing.T) {
	md := arrow.NewMetadata([]string{"source"}, []string{"crm"})
	s := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}}, &md)
	r := mustRegister(t, "a", func(*Context) (arrow.Record, error) { return nil, nil }, Schema(s))
	data, err := r.manifest()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Assets []struct {
			Output struct {
				Schema json.RawMessage `json:"schema"`
			} `json:"output"`
		} `json:"assets"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	want := `{"fields":[{"name":"x","type":"bool","nullable":true}],"metadata":{"source":"crm"}}`
	if got := string(m.Assets[0].Output.Schema); got != want {
		t.Errorf("schema = %s, want %s", got, want)
	}
}
