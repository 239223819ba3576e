package runtime

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/iomanager"
)

// memoryModule instantiates a real wazero module that has nothing but an exported memory of the
// given number of 64 KiB pages: the host functions only ever use a guest's memory, so this is
// all a fuzz target needs to call them as a guest would, without compiling a guest.
func memoryModule(tb testing.TB, pages byte) api.Module {
	tb.Helper()
	wasm := []byte{
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
		0x05, 0x03, 0x01, 0x00, pages, // memory section: one memory, min pages, no max
		0x07, 0x0a, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00, // export "memory"
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	tb.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		tb.Fatal(err)
	}
	return mod
}

// boundsCall is one host function taking guest ranges, as the fuzz target calls it.
type boundsCall struct {
	fn       string
	manifest bool // called inside wasmorch_manifest rather than wasmorch_run
	// args are the call's parameters, from the fuzzed ranges and the handles set up.
	args func(p, n, p2, n2 uint32) []uint64
	// outside reports whether the call must fail with ERR_BOUNDS.
	outside func(c *boundsCase) bool
	// copies marks a function that copies host data to the guest: min(len, available) bytes
	// at ptr, and returns the count.
	copies bool
	// skip says the call fails with another code before it looks at the ranges.
	skip func(c *boundsCase) (int64, bool)
}

// boundsCase holds one fuzz input and guest memory's size.
type boundsCase struct {
	p, n, p2, n2 uint32
	payload      []byte
	size         uint32
	mem          api.Memory
}

// out reports whether [p, p+n) lies outside guest memory, without wrapping around.
func (c *boundsCase) out(p, n uint32) bool { return uint64(p)+uint64(n) > uint64(c.size) }

// validString reports whether [p, p+n) is inside memory and valid UTF-8.
func (c *boundsCase) validString(p, n uint32) bool {
	b, ok := c.mem.Read(p, n)
	return ok && utf8.Valid(b)
}

const (
	fuzzInHandle  = 0
	fuzzOutHandle = 1
)

func readRange(c *boundsCase) bool { return c.out(c.p, c.n) }

// copyRange is what a copyOut function touches: min(n, len(payload)) bytes at p.
func copyRange(c *boundsCase) bool { return c.out(c.p, min(c.n, uint32(len(c.payload)))) }

var boundsCalls = []boundsCall{
	{fn: abi.FnLastErrorRead, args: func(p, n, _, _ uint32) []uint64 { return []uint64{uint64(p), uint64(n)} }, outside: copyRange, copies: true},
	{fn: abi.FnInvocationRead, args: func(p, n, _, _ uint32) []uint64 { return []uint64{uint64(p), uint64(n)} }, outside: copyRange, copies: true},
	{fn: abi.FnResponseRead, args: func(p, n, _, _ uint32) []uint64 { return []uint64{uint64(p), uint64(n)} }, outside: copyRange, copies: true},
	{fn: abi.FnInputRead, args: func(p, n, _, _ uint32) []uint64 { return []uint64{fuzzInHandle, uint64(p), uint64(n)} }, outside: copyRange, copies: true},
	{fn: abi.FnInputPartition, args: func(p, n, _, _ uint32) []uint64 { return []uint64{fuzzInHandle, uint64(p), uint64(n)} },
		outside: func(c *boundsCase) bool { return c.out(c.p, 0) }, copies: true},
	{fn: abi.FnInputOpen, args: func(p, n, _, _ uint32) []uint64 { return []uint64{uint64(p), uint64(n)} }, outside: readRange},
	{fn: abi.FnOutputOpen, args: func(p, n, _, _ uint32) []uint64 { return []uint64{uint64(p), uint64(n), uint64(abi.FormatJSON)} }, outside: readRange},
	{fn: abi.FnOutputWrite, args: func(p, n, _, _ uint32) []uint64 { return []uint64{fuzzOutHandle, uint64(p), uint64(n)} }, outside: readRange},
	{fn: abi.FnOutputMetadata, args: func(p, n, _, _ uint32) []uint64 { return []uint64{fuzzOutHandle, uint64(p), uint64(n)} }, outside: readRange},
	{fn: abi.FnErrorSet, args: func(p, n, _, _ uint32) []uint64 { return []uint64{uint64(p), uint64(n)} }, outside: readRange},
	{fn: abi.FnMetadataAdd, args: func(p, n, _, _ uint32) []uint64 { return []uint64{uint64(p), uint64(n)} }, outside: readRange},
	{fn: abi.FnLog, args: func(p, n, _, _ uint32) []uint64 { return []uint64{uint64(abi.LevelInfo), uint64(p), uint64(n)} }, outside: readRange},
	{fn: abi.FnManifestWrite, manifest: true, args: func(p, n, _, _ uint32) []uint64 { return []uint64{uint64(p), uint64(n)} }, outside: readRange,
		skip: func(c *boundsCase) (int64, bool) { return int64(abi.ErrLimit), c.n > abi.MaxManifest }},
	{fn: abi.FnResourceCall, args: func(p, n, p2, n2 uint32) []uint64 { return []uint64{uint64(p), uint64(n), uint64(p2), uint64(n2)} },
		// The key is read (and must be UTF-8) before the request.
		outside: func(c *boundsCase) bool { return c.out(c.p, c.n) || c.out(c.p2, c.n2) },
		skip: func(c *boundsCase) (int64, bool) {
			return int64(abi.ErrInvalid), !c.out(c.p, c.n) && !c.validString(c.p, c.n)
		}},
}

// FuzzHostFuncBounds calls every host function that takes a guest range with fuzzed (pointer,
// length) pairs, including ones that wrap around 2^32 and ones that end exactly at the end of
// memory, against a real wazero module with one 64 KiB page. A call whose range lies outside
// memory must return ERR_BOUNDS and fail the step; one inside must not. No call may panic, write
// guest memory other than the min(len, available) bytes a copying call reports, or write what it
// was not asked to copy. The seed corpus is in testdata/fuzz/FuzzHostFuncBounds; plain
// `go test` runs it.
func FuzzHostFuncBounds(f *testing.F) {
	const top = 1<<32 - 1
	for _, s := range []struct {
		p, n, p2, n2 uint32
		data         []byte
	}{
		{0, 0, 0, 0, nil},
		{0, 16, 32, 4, []byte("result")},
		{65536, 0, 65536, 0, []byte("x")},
		{65536, 1, 0, 1, []byte("x")},
		{65535, 1, 65535, 2, []byte(`{"k":1}`)},
		{65530, 6, 0, 6, []byte("result")},
		{65531, 6, 0, 3, []byte("result")},
		{top, 1, 0, 0, []byte("abc")},
		{top, top, top, top, []byte("abc")},
		{top - 15, 32, 0, 16, []byte("wraps to 16")},
		{16, top - 15, 0, 0, []byte("wraps to 0")},
		{1 << 31, 1 << 31, 1 << 31, 1, []byte("\xff\xfe")},
		{100, 1 << 31, 100, 10, []byte(`{"env": "x"}`)},
		{0, abi.MaxManifest + 1, 0, 0, []byte("{}")},
		{0, 7, 7, 7, []byte("\xff\xfe\xfd bad utf-8")},
		{1000, 20, 2000, 1 << 20, []byte(`{"rows": 1}`)},
	} {
		f.Add(s.p, s.n, s.p2, s.n2, s.data)
	}
	mod := memoryModule(f, 1)
	mem := mod.Memory()
	size := mem.Size()
	ctx := context.Background()
	fill := make([]byte, size)
	for i := range fill {
		fill[i] = byte(i*7 + 3)
	}
	f.Fuzz(func(t *testing.T, p, n, p2, n2 uint32, data []byte) {
		c := &boundsCase{p: p, n: n, p2: p2, n2: n2, payload: data, size: size, mem: mem}
		for _, call := range boundsCalls {
			// Guest memory holds a pattern, and the fuzzed bytes where the ranges start, so
			// that in-range calls see names, JSON and UTF-8 worth parsing.
			mem.Write(0, fill)
			for _, at := range []uint32{p, p2} {
				if uint64(at) < uint64(size) {
					mem.Write(at, data[:min(uint64(len(data)), uint64(size-at))])
				}
			}
			before, _ := mem.Read(0, size)
			before = bytes.Clone(before)

			st := fuzzCallState(ctx, data, call.manifest)
			stack := make([]uint64, 4)
			copy(stack, call.args(p, n, p2, n2))
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%s(%#x, %#x, %#x, %#x) panicked: %v", call.fn, p, n, p2, n2, r)
					}
				}()
				hostFuncs[call.fn](ctx, st, mod, stack)
			}()
			st.releaseHandles()

			sig, _ := abi.Import(call.fn)
			var got int64
			if sig.Results[0] == abi.I64 {
				got = int64(stack[0])
			} else {
				got = int64(api.DecodeI32(stack[0]))
			}
			where := fmt.Sprintf("%s(ptr %#x, len %#x; ptr2 %#x, len2 %#x) with %d bytes of data", call.fn, p, n, p2, n2, len(data))
			outside := call.outside(c)
			if call.skip != nil {
				if code, ok := call.skip(c); ok {
					if got != code {
						t.Fatalf("%s = %d (%s), want %s", where, got, abi.StatusName(int32(got)), abi.StatusName(int32(code)))
					}
					outside = false
				}
			}
			switch {
			case outside && got != int64(abi.ErrBounds):
				t.Fatalf("%s = %d (%s), want ERR_BOUNDS: the range is outside %d bytes of memory", where, got, abi.StatusName(int32(got)), size)
			case outside && (st.fatal == nil || st.fatal.Kind != FailureHost || !strings.Contains(st.fatal.Message, "outside guest memory")):
				t.Fatalf("%s returned ERR_BOUNDS without failing the step: %+v", where, st.fatal)
			case !outside && got == int64(abi.ErrBounds):
				t.Fatalf("%s = ERR_BOUNDS, but the range is inside %d bytes of memory: %s", where, size, st.lastErr)
			}

			// Only a copying call may change memory, and only the bytes it reports, to its data.
			after, _ := mem.Read(0, size)
			allowed := [2]uint64{}
			if call.copies && got > 0 {
				want := min(uint64(n), uint64(len(data)))
				if call.fn == abi.FnInputPartition {
					want = 0
				}
				if uint64(got) != want {
					t.Fatalf("%s copied %d bytes, want min(len, available) = %d", where, got, want)
				}
				allowed = [2]uint64{uint64(p), uint64(p) + uint64(got)}
				if !bytes.Equal(after[p:uint64(p)+uint64(got)], data[:got]) {
					t.Fatalf("%s wrote other bytes than its data", where)
				}
			}
			if !bytes.Equal(after[:allowed[0]], before[:allowed[0]]) || !bytes.Equal(after[allowed[1]:], before[allowed[1]:]) {
				t.Fatalf("%s changed guest memory outside what it copied [%#x, %#x)", where, allowed[0], allowed[1])
			}
		}
	})
}

// fuzzCallState is the state of a step in progress: an open input whose current chunk is data,
// an open JSON output, and data as the last error, invocation and resource response.
func fuzzCallState(ctx context.Context, data []byte, inManifest bool) *callState {
	store := func(context.Context, iomanager.Value) (string, error) { return "memory://x", nil }
	out := Output{Format: abi.FormatJSON, Store: store}
	st := &callState{
		mode:       modeRun,
		ctx:        ctx,
		logs:       newLogSink(nil),
		lastErr:    string(data),
		invocation: data,
		response:   data,
		maxOutput:  1 << 62,
		step: &Step{
			Invocation: Invocation{Kind: "asset", Name: "a", StepKey: "a"},
			Inputs: map[string]Input{"in": {Format: abi.FormatBytes, Load: func(context.Context) (iomanager.Value, error) {
				return iomanager.Value{Format: abi.FormatBytes, Data: bytes.NewReader(data)}, nil
			}}},
			Outputs: map[string]Output{"result": out},
		},
	}
	if inManifest {
		st.mode, st.step = modeManifest, nil
	}
	done := make(chan struct{})
	close(done)
	st.handles = []any{
		&inputHandle{name: "in", format: abi.FormatBytes, finished: true, chunk: data},
		&outputHandle{name: "result", decl: out, json: &bytes.Buffer{}, done: done},
	}
	st.open = len(st.handles)
	return st
}
