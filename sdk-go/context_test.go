package wasmorch

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

func TestTestContextDefaults(t *testing.T) {
	ctx := NewTestContext()
	got := []any{ctx.RunID(), ctx.AssetKey(), ctx.StepKey(), ctx.PartitionKey(), ctx.Attempt(), string(ctx.ConfigJSON())}
	want := []any{"test-run", "", "", "", 1, "{}"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults = %v, want %v", got, want)
	}
	if ctx.Allocator() != memory.DefaultAllocator {
		t.Errorf("allocator is not memory.DefaultAllocator")
	}
	if logs, md := ctx.Logs(), ctx.Metadata(); len(logs) != 0 || len(md) != 0 {
		t.Errorf("fresh context has logs %v and metadata %v", logs, md)
	}
	var cfg struct{ Limit int }
	cfg.Limit = 10
	if err := ctx.Config(&cfg); err != nil || cfg.Limit != 10 {
		t.Errorf("empty config: Config() = %v, Limit = %d; want nil and the default 10", err, cfg.Limit)
	}
}

func TestTestContextOptions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx := NewTestContext(
		WithRunID("r1"), WithAssetKey("orders/raw"), WithPartitionKey("2026-01-15|us"),
		WithAttempt(2), WithAllocator(mem), WithConfigJSON(`{"limit": 5, "name": "x"}`),
	)
	got := []any{ctx.RunID(), ctx.AssetKey(), ctx.StepKey(), ctx.PartitionKey(), ctx.Attempt()}
	want := []any{"r1", "orders/raw", "orders/raw", "2026-01-15|us", 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if ctx.Allocator() != mem {
		t.Errorf("WithAllocator was ignored")
	}
	var cfg struct {
		Limit int    `json:"limit"`
		Name  string `json:"name"`
	}
	if err := ctx.Config(&cfg); err != nil || cfg.Limit != 5 || cfg.Name != "x" {
		t.Errorf("Config() = %v, %+v", err, cfg)
	}
	if ctx := NewTestContext(WithAssetKey("a"), WithStepKey("a[eu]")); ctx.StepKey() != "a[eu]" {
		t.Errorf("WithStepKey: step key = %q", ctx.StepKey())
	}

	// ConfigJSON hands out a copy.
	js := ctx.ConfigJSON()
	js[0] = 'X'
	if ctx.ConfigJSON()[0] != '{' {
		t.Errorf("ConfigJSON exposes the context's own buffer")
	}
}

func TestTestContextConfigErrors(t *testing.T) {
	var v struct{ Limit int }
	err := NewTestContext(WithAssetKey("a"), WithConfigJSON(`{"Limit": "ten"}`)).Config(&v)
	if err == nil || !strings.HasPrefix(err.Error(), `asset "a": decoding config {"Limit": "ten"}: json: cannot unmarshal string`) {
		t.Errorf("type mismatch: err = %v", err)
	}
	err = NewTestContext(WithConfigJSON(`{oops`)).Config(&v)
	if err == nil || !strings.Contains(err.Error(), "decoding config {oops") {
		t.Errorf("invalid JSON: err = %v", err)
	}
	err = NewTestContext(WithConfig(map[string]any{"f": func() {}})).Config(&v)
	if err == nil || !strings.HasPrefix(err.Error(), "WithConfig: encoding map[string]interface {}: json: unsupported type") {
		t.Errorf("WithConfig with an unencodable value: err = %v", err)
	}
	ctx := NewTestContext(WithConfig(struct {
		Limit int
	}{7}))
	if err := ctx.Config(&v); err != nil || v.Limit != 7 {
		t.Errorf("WithConfig: Config() = %v, Limit = %d", err, v.Limit)
	}
}

func TestTestContextLogs(t *testing.T) {
	ctx := NewTestContext()
	ctx.Debug("starting")
	ctx.Info("loaded", "rows", 20, "file", "orders.csv", "note", "two words", "empty", "", "eq", "a=b")
	ctx.Warn("slow", slog.Duration("took", 1500*time.Millisecond))
	ctx.Error("failed", "err", context.DeadlineExceeded, slog.Group("req", "id", 7, "path", "/x"))
	l := ctx.Logger().With("step", "s1").WithGroup("g")
	l.Info("grouped", "k", true)
	l.Log(context.Background(), slog.Level(-10), "below debug")
	l.Log(context.Background(), slog.Level(2), "between info and warn")
	l.Log(context.Background(), slog.Level(12), "above error")

	want := []LogEntry{
		{slog.LevelDebug, "starting"},
		{slog.LevelInfo, `loaded rows=20 file=orders.csv note="two words" empty="" eq="a=b"`},
		{slog.LevelWarn, "slow took=1.5s"},
		{slog.LevelError, "failed err=\"context deadline exceeded\" req.id=7 req.path=/x"},
		{slog.LevelInfo, "grouped step=s1 g.k=true"},
		{slog.LevelDebug, "below debug step=s1"},
		{slog.LevelInfo, "between info and warn step=s1"},
		{slog.LevelError, "above error step=s1"},
	}
	if got := ctx.Logs(); !reflect.DeepEqual(got, want) {
		t.Errorf("logs:\n got %q\nwant %q", got, want)
	}
}

func TestTestContextMetadata(t *testing.T) {
	ctx := NewTestContext(WithAssetKey("a"))
	if err := ctx.AddMetadata(map[string]any{"regions": 4, "top": "north"}); err != nil {
		t.Fatal(err)
	}
	if err := ctx.AddMetadata(map[string]any{"top": "south", "ratio": 0.5}); err != nil {
		t.Fatal(err)
	}
	if err := ctx.AddMetadata(nil); err != nil {
		t.Errorf("AddMetadata(nil) = %v, want nil", err)
	}
	want := map[string]any{"regions": 4, "top": "south", "ratio": 0.5}
	if got := ctx.Metadata(); !reflect.DeepEqual(got, want) {
		t.Errorf("metadata = %v, want %v", got, want)
	}

	err := ctx.AddMetadata(map[string]any{"ok": 1, "rows": 3})
	if err == nil || !strings.Contains(err.Error(), `asset "a": adding metadata: metadata entry "rows" is reserved for the host`) {
		t.Errorf("reserved name: err = %v", err)
	}
	err = ctx.AddMetadata(map[string]any{"c": make(chan int)})
	if err == nil || !strings.HasPrefix(err.Error(), `asset "a": encoding metadata: json: unsupported type: chan int`) {
		t.Errorf("unencodable value: err = %v", err)
	}
	if _, ok := ctx.Metadata()["ok"]; ok {
		t.Errorf("a refused AddMetadata call still recorded entries")
	}
}

func TestHostContextHasNoRecords(t *testing.T) {
	h := newFakeHost(t, nil)
	ctx := newContext(hostSink{h})
	ctx.Info("x")
	if ctx.Logs() != nil || ctx.Metadata() != nil {
		t.Errorf("a host context returned recorded logs or metadata")
	}
	h.fail["metadata_add"], h.failMsg = statusErrInvalid, `metadata entry "rows" is reserved`
	err := ctx.AddMetadata(map[string]any{"rows": 1})
	if err == nil || err.Error() != `asset "": adding metadata: metadata_add returned ERR_INVALID: metadata entry "rows" is reserved` {
		t.Errorf("err = %v", err)
	}
}

// stepContext runs an asset without inputs in a step whose invocation has extra's fields, and
// returns the Context it saw.
func stepContext(t *testing.T, extra map[string]any) (*Context, *fakeHost, int32) {
	t.Helper()
	var seen *Context
	r := mustRegister(t, "a", func(ctx *Context) ([]byte, error) { seen = ctx; return nil, nil })
	h := newFakeHost(t, invocation("a", extra))
	st := r.run(h, memory.NewGoAllocator())
	return seen, h, st
}

func TestPartitionWindowFromInvocation(t *testing.T) {
	ctx, h, st := stepContext(t, map[string]any{
		"partition_key":    "2026-03-29",
		"partition_window": map[string]any{"start": "2026-03-29T00:00:00+01:00", "end": "2026-03-30T00:00:00+02:00"},
	})
	if st != runSuccess {
		t.Fatalf("status %d: %s", st, h.errorText())
	}
	start, end, ok := ctx.PartitionWindow()
	if !ok {
		t.Fatal("PartitionWindow: ok = false")
	}
	// The day the clocks go forward in Paris lasts 23 hours; the offsets are the host's.
	if got := end.Sub(start); got != 23*time.Hour {
		t.Errorf("window lasts %s, want 23h", got)
	}
	if got := start.Format(time.RFC3339); got != "2026-03-29T00:00:00+01:00" {
		t.Errorf("start = %s", got)
	}
	if got := start.Format("2006-01-02"); got != ctx.PartitionKey() {
		t.Errorf("start's local day %s is not the key %s", got, ctx.PartitionKey())
	}
	if !start.Equal(time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2026, 3, 29, 22, 0, 0, 0, time.UTC)) {
		t.Errorf("window = [%s, %s)", start, end)
	}
}

func TestPartitionWindowAbsent(t *testing.T) {
	for name, inv := range map[string]map[string]any{
		"null":          invocation("a", nil),
		"null, keyed":   invocation("a", map[string]any{"partition_key": "us"}),
		"field missing": invocation("a", nil),
	} {
		if name == "field missing" {
			delete(inv, "partition_window")
		}
		var seen *Context
		r := mustRegister(t, "a", func(ctx *Context) ([]byte, error) { seen = ctx; return nil, nil })
		h := newFakeHost(t, inv)
		runOK(t, r, h, memory.NewGoAllocator())
		if start, end, ok := seen.PartitionWindow(); ok || !start.IsZero() || !end.IsZero() {
			t.Errorf("%s: PartitionWindow() = %s, %s, %v; want zero times and false", name, start, end, ok)
		}
	}
}

func TestPartitionWindowMalformed(t *testing.T) {
	cases := map[string]struct {
		window any
		want   string
	}{
		"date only":  {map[string]any{"start": "2026-01-01", "end": "2026-01-02T00:00:00Z"}, `partition_window.start "2026-01-01" is not an RFC 3339 time`},
		"no end":     {map[string]any{"start": "2026-01-01T00:00:00Z"}, `partition_window.end "" is not an RFC 3339 time`},
		"backwards":  {map[string]any{"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "partition_window ends at 2026-01-01T00:00:00Z, not after its start 2026-01-02T00:00:00Z"},
		"not object": {"2026-01-01", "cannot unmarshal string"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, h, st := stepContext(t, map[string]any{"partition_window": c.window})
			if st != runFailure || !strings.HasPrefix(h.errorText(), "wasmorch: reading the invocation: ") || !strings.Contains(h.errorText(), c.want) {
				t.Errorf("status %d, error %q; want failure containing %q", st, h.errorText(), c.want)
			}
		})
	}
}

func TestPartitionKeys(t *testing.T) {
	for key, want := range map[string][]string{
		"":                   nil,
		"us":                 {"us"},
		"2026-01-15|us":      {"2026-01-15", "us"},
		"2026-01-15|us|web":  {"2026-01-15", "us", "web"},
		"2026-01-01-00:00|x": {"2026-01-01-00:00", "x"},
	} {
		if got := NewTestContext(WithPartitionKey(key)).PartitionKeys(); !reflect.DeepEqual(got, want) {
			t.Errorf("PartitionKeys of %q = %q, want %q", key, got, want)
		}
	}
	ctx, h, st := stepContext(t, map[string]any{"partition_key": "2026-01-15|us|web"})
	if st != runSuccess {
		t.Fatalf("status %d: %s", st, h.errorText())
	}
	if got := ctx.PartitionKeys(); !reflect.DeepEqual(got, []string{"2026-01-15", "us", "web"}) {
		t.Errorf("PartitionKeys() in a step = %q", got)
	}
}

func TestWithPartitionWindow(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip(err)
	}
	s, e := time.Date(2026, 1, 15, 0, 0, 0, 0, paris), time.Date(2026, 1, 16, 0, 0, 0, 0, paris)
	ctx := NewTestContext(WithPartitionKey("2026-01-15"), WithPartitionWindow(s, e))
	start, end, ok := ctx.PartitionWindow()
	if !ok || start != s || end != e || ctx.PartitionKey() != "2026-01-15" {
		t.Errorf("PartitionWindow() = %s, %s, %v", start, end, ok)
	}
	if _, _, ok := NewTestContext().PartitionWindow(); ok {
		t.Errorf("a test Context without WithPartitionWindow has a window")
	}
}
