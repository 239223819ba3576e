package wasmorch

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

type withChan struct {
	Name string
	C    chan int
}

type withIgnoredChan struct {
	Name string
	C    chan int `json:"-"`
}

// custom has its own JSON codec, so its func field does not matter.
type custom struct{ f func() }

func (custom) MarshalJSON() ([]byte, error)     { return []byte("1"), nil }
func (*custom) UnmarshalJSON(data []byte) error { return nil }

func TestRegistrationErrors(t *testing.T) {
	listSchema := arrow.NewSchema([]arrow.Field{{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)}}, nil)
	tests := []struct {
		name string
		key  string
		fn   any
		opts []AssetOption
		want []string // one message per problem; empty means the registration is valid
	}{
		{"ok without inputs", "a", func(*Context) (int, error) { return 0, nil }, nil, nil},
		{"ok with arrow, bytes and JSON", "orders/summary",
			func(*Context, arrow.Record, array.RecordReader, []byte, map[string]any, json.RawMessage) (arrow.Record, error) {
				return nil, nil
			},
			[]AssetOption{Ins("orders/raw", "orders/stream", "blob"), In("cfg", "conf"), In("extra", "x")}, nil},
		{"ok with a codec and an ignored field", "a",
			func(*Context, custom, withIgnoredChan) (custom, error) { return custom{}, nil },
			[]AssetOption{Ins("b", "c")}, nil},
		{"not a function", "a", 42, nil,
			[]string{`asset "a": Asset needs a function func(*wasmorch.Context, inputs...) (R, error), got int`}},
		{"nil function", "a", nil, nil, []string{`asset "a": the function is nil`}},
		{"typed nil function", "a", (func(*Context) (int, error))(nil), nil, []string{`asset "a": the function is nil`}},
		{"no context", "a", func(x int) (int, error) { return x, nil }, nil,
			[]string{`asset "a": the function func(int) (int, error) must take *wasmorch.Context as its first parameter`}},
		{"context by value", "a", func(Context) (int, error) { return 0, nil }, nil,
			[]string{`asset "a": the function func(wasmorch.Context) (int, error) must take *wasmorch.Context as its first parameter`}},
		{"no error result", "a", func(*Context) int { return 0 }, nil,
			[]string{`asset "a": the function func(*wasmorch.Context) int must return exactly (R, error)`}},
		{"error not last", "a", func(*Context) (error, int) { return nil, 0 }, nil,
			[]string{`asset "a": the function func(*wasmorch.Context) (error, int) must return exactly (R, error)`}},
		{"too few inputs", "a", func(*Context) (int, error) { return 0, nil }, []AssetOption{Ins("b")},
			[]string{`asset "a": the function func(*wasmorch.Context) (int, error) takes 0 inputs after *wasmorch.Context, but 1 input is declared with Ins/In (b)`}},
		{"too many inputs", "a", func(*Context, int, int) (int, error) { return 0, nil }, []AssetOption{Ins("b")},
			[]string{`asset "a": the function func(*wasmorch.Context, int, int) (int, error) takes 2 inputs after *wasmorch.Context, but 1 input is declared with Ins/In (b)`}},
		{"variadic", "a", func(*Context, ...int) (int, error) { return 0, nil }, []AssetOption{Ins("b")},
			[]string{`asset "a": the function func(*wasmorch.Context, ...int) (int, error) is variadic; declare one parameter per input`}},
		{"channel input", "a", func(*Context, chan int) (int, error) { return 0, nil }, []AssetOption{Ins("b")},
			[]string{`asset "a": parameter 2 (input "b"): type chan int cannot travel as JSON: chan int has kind chan (supported: arrow.Record, array.RecordReader, *wasmorch.PartitionReader, []byte, or a JSON-encodable type)`}},
		{"struct with a channel", "a", func(*Context, withChan) (int, error) { return 0, nil }, []AssetOption{Ins("b")},
			[]string{`asset "a": parameter 2 (input "b"): type wasmorch.withChan cannot travel as JSON: field C: chan int has kind chan (supported: arrow.Record, array.RecordReader, *wasmorch.PartitionReader, []byte, or a JSON-encodable type)`}},
		{"interface input", "a", func(*Context, io.Reader) (int, error) { return 0, nil }, []AssetOption{Ins("b")},
			[]string{`asset "a": parameter 2 (input "b"): type io.Reader cannot travel as JSON: io.Reader is a non-empty interface (supported: arrow.Record, array.RecordReader, *wasmorch.PartitionReader, []byte, or a JSON-encodable type)`}},
		{"context as input", "a", func(*Context, *Context) (int, error) { return 0, nil }, []AssetOption{Ins("b")},
			[]string{`asset "a": parameter 2 (input "b"): *wasmorch.Context may only be the first parameter`}},
		{"bad map key", "a", func(*Context, map[[2]int]string) (int, error) { return 0, nil }, []AssetOption{Ins("b")},
			[]string{`asset "a": parameter 2 (input "b"): type map[[2]int]string cannot travel as JSON: map key type [2]int is not a string, an integer or a text marshaler (supported: arrow.Record, array.RecordReader, *wasmorch.PartitionReader, []byte, or a JSON-encodable type)`}},
		{"func result", "a", func(*Context) (func(), error) { return nil, nil }, nil,
			[]string{`asset "a": result: type func() cannot travel as JSON: func() has kind func (supported: arrow.Record, array.RecordReader, []byte, or a JSON-encodable type)`}},
		{"error result", "a", func(*Context) (error, error) { return nil, nil }, nil,
			[]string{`asset "a": result: type error cannot travel as a value`}},
		{"invalid key", "bad key", func(*Context) (int, error) { return 0, nil }, nil,
			[]string{`asset "bad key": invalid asset key "bad key": an asset key is one or more components matching [A-Za-z0-9_][A-Za-z0-9_-]* joined by "/", such as "orders/raw"`}},
		{"empty key", "", func(*Context) (int, error) { return 0, nil }, nil,
			[]string{`asset "": invalid asset key "": an asset key is one or more components matching [A-Za-z0-9_][A-Za-z0-9_-]* joined by "/", such as "orders/raw"`}},
		{"key with an empty component", "a//b", func(*Context) (int, error) { return 0, nil }, nil,
			[]string{`asset "a//b": invalid asset key "a//b": an asset key is one or more components matching [A-Za-z0-9_][A-Za-z0-9_-]* joined by "/", such as "orders/raw"`}},
		{"Ins key that is no name", "a", func(*Context, int) (int, error) { return 0, nil }, []AssetOption{Ins("daily/2024-01")},
			[]string{`asset "a": input from Ins("daily/2024-01"): its last component "2024-01" is not a valid input name ([A-Za-z_][A-Za-z0-9_]*); use In(name, "daily/2024-01")`}},
		{"In with a bad name", "a", func(*Context, int) (int, error) { return 0, nil }, []AssetOption{In("my-input", "b")},
			[]string{`asset "a": input "my-input": not a valid input name ([A-Za-z_][A-Za-z0-9_]*)`}},
		{"In with a bad key", "a", func(*Context, int) (int, error) { return 0, nil }, []AssetOption{In("b", "b/")},
			[]string{`asset "a": input "b": invalid upstream asset key "b/": an asset key is one or more components matching [A-Za-z0-9_][A-Za-z0-9_-]* joined by "/", such as "orders/raw"`}},
		{"duplicate input names", "a", func(*Context, int, int) (int, error) { return 0, nil }, []AssetOption{Ins("x/raw", "y/raw")},
			[]string{`asset "a": input name "raw" is declared twice (assets "x/raw" and "y/raw"); use In to give one another name`}},
		{"self input", "a", func(*Context, int) (int, error) { return 0, nil }, []AssetOption{Ins("a")},
			[]string{`asset "a": input "a": an asset cannot take itself as an input`}},
		{"bad dep", "a", func(*Context) (int, error) { return 0, nil }, []AssetOption{Deps("ok", "not ok")},
			[]string{`asset "a": Deps: invalid asset key "not ok": an asset key is one or more components matching [A-Za-z0-9_][A-Za-z0-9_-]* joined by "/", such as "orders/raw"`}},
		{"config schema not JSON", "a", func(*Context) (int, error) { return 0, nil }, []AssetOption{ConfigSchema(`{"type":`)},
			[]string{`asset "a": ConfigSchema: not valid JSON: unexpected end of JSON input`}},
		{"config schema not an object", "a", func(*Context) (int, error) { return 0, nil }, []AssetOption{ConfigSchema(`["type"]`)},
			[]string{`asset "a": ConfigSchema: a config schema must be a JSON object, got ["type"]`}},
		{"schema on a JSON result", "a", func(*Context) (int, error) { return 0, nil }, []AssetOption{Schema(numsSchema)},
			[]string{`asset "a": Schema is set, but the result type int travels as json; a schema describes Arrow results only`}},
		{"schema with an unsupported type", "a", func(*Context) (arrow.Record, error) { return nil, nil }, []AssetOption{Schema(listSchema)},
			[]string{`asset "a": Schema: field "tags": Arrow type list<item: utf8, nullable> is not one the manifest can describe (ABI.md 7.5 allows ` + supportedTypeNames + `)`}},
		{"empty IO manager and resource", "a", func(*Context) (int, error) { return 0, nil }, []AssetOption{IOManager(""), Resources("db", "")},
			[]string{`asset "a": IOManager: the key is empty`, `asset "a": Resources: a resource key is empty`}},
		{"several problems at once", "bad key", func(*Context, chan int) (func(), error) { return nil, nil }, []AssetOption{Ins("b")},
			[]string{
				`asset "bad key": invalid asset key "bad key": an asset key is one or more components matching [A-Za-z0-9_][A-Za-z0-9_-]* joined by "/", such as "orders/raw"`,
				`asset "bad key": parameter 2 (input "b"): type chan int cannot travel as JSON: chan int has kind chan (supported: arrow.Record, array.RecordReader, *wasmorch.PartitionReader, []byte, or a JSON-encodable type)`,
				`asset "bad key": result: type func() cannot travel as JSON: func() has kind func (supported: arrow.Record, array.RecordReader, []byte, or a JSON-encodable type)`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRegistry()
			r.addAsset(tt.key, tt.fn, tt.opts) // must not panic
			var got []string
			for _, err := range r.problems() {
				got = append(got, err.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.want)
			}
			if registered := len(r.assets) == 1; registered != (len(tt.want) == 0) {
				t.Errorf("registered = %v with problems %q", registered, got)
			}
		})
	}
}

func TestDuplicateKeys(t *testing.T) {
	r := newRegistry()
	fn := func(*Context) (int, error) { return 0, nil }
	r.addAsset("dup", fn, nil)
	r.addAsset("dup", fn, nil)
	r.addAsset("other", fn, nil)
	errs := r.problems()
	if len(errs) != 1 || errs[0].Error() != `asset "dup": the key is registered twice; asset keys must be unique within a module` {
		t.Fatalf("problems = %v", errs)
	}
	if _, err := r.manifest(); err == nil || !strings.Contains(err.Error(), `asset "dup"`) {
		t.Errorf("manifest error = %v, want one naming dup", err)
	}
}

func TestManifestExportReportsProblems(t *testing.T) {
	r := newRegistry()
	r.addAsset("a", 1, nil)
	r.addAsset("b", func() {}, nil)
	h := newFakeHost(t, nil)
	if st := r.writeManifest(h); st != 1 {
		t.Fatalf("status = %d, want 1", st)
	}
	if len(h.manifest) != 0 {
		t.Errorf("manifest_write was called although registration failed")
	}
	want := []fakeLog{
		{levelError, `wasmorch: registration failed: asset "a": Asset needs a function func(*wasmorch.Context, inputs...) (R, error), got int`},
		{levelError, `wasmorch: registration failed: asset "b": the function func() must take *wasmorch.Context as its first parameter`},
	}
	if len(h.logs) != len(want) {
		t.Fatalf("logs = %q, want %q", h.logs, want)
	}
	for i := range want {
		if h.logs[i] != want[i] {
			t.Errorf("log %d = %q, want %q", i, h.logs[i], want[i])
		}
	}
	if h.errMsg == nil || *h.errMsg != want[0].msg+"; "+want[1].msg {
		t.Errorf("error_set was not called with every problem: %v", h.errMsg)
	}
}

func TestManifestExportWithoutAssets(t *testing.T) {
	h := newFakeHost(t, nil)
	if st := newRegistry().writeManifest(h); st != 1 {
		t.Fatalf("status = %d, want 1", st)
	}
	if len(h.logs) != 1 || !strings.Contains(h.logs[0].msg, "registers no assets") {
		t.Errorf("logs = %q", h.logs)
	}
}

func TestManifestExportHostRefuses(t *testing.T) {
	r := mustRegister(t, "a", func(*Context) (int, error) { return 0, nil })
	h := newFakeHost(t, nil)
	h.fail["manifest_write"], h.failMsg = statusErrState, "manifest_write may be called once"
	if st := r.writeManifest(h); st != 1 {
		t.Fatalf("status = %d, want 1", st)
	}
	if len(h.logs) != 1 || h.logs[0].msg != "wasmorch: manifest_write returned ERR_STATE: manifest_write may be called once" {
		t.Errorf("logs = %q", h.logs)
	}
}

func TestRegistrationErrorsAreErrors(t *testing.T) {
	r := newRegistry()
	r.addAsset("a", nil, nil)
	_, err := r.manifest()
	var re *registrationError
	if !errors.As(err, &re) || re.asset != "a" {
		t.Errorf("manifest error %v does not carry the asset", err)
	}
}
