package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/internal/resources"
	"github.com/wasmorch/wasmorch/host/iomanager"
)

type mode int

const (
	modeManifest mode = iota + 1
	modeRun
)

// callState is everything the host functions know about the instance calling them. It reaches
// them through the context passed to the export call, so one host module serves every instance.
// An instance runs on one goroutine, so the state needs no lock except where output goroutines
// touch it (they only touch their own handle).
type callState struct {
	mode          mode
	ctx           context.Context
	logs          *logSink
	stopInterrupt func() bool
	lastErr       string
	// fatal fails the step whatever the guest returns: a bad pointer, a limit, a broken output.
	fatal *StepError

	manifest []byte

	step       *Step
	invocation []byte
	handles    []any // *inputHandle or *outputHandle; nil once closed
	open       int
	outputs    map[string]*outputHandle
	// mappingKeys are the NAME[KEY] values of dynamic outputs opened so far.
	mappingKeys map[string]bool
	errMsg      string
	metadata    map[string]any
	check       *CheckResult
	outBytes    int64
	maxOutput   int64
	response    []byte
}

type stateKey struct{}

func withState(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

// fail records a host call's failure for last_error_* and returns its code.
func (st *callState) fail(code int32, format string, args ...any) int32 {
	st.lastErr = fmt.Sprintf(format, args...)
	return code
}

// failStep records a failure that also fails the step.
func (st *callState) failStep(kind FailureKind, code int32, format string, args ...any) int32 {
	st.fail(code, format, args...)
	if st.fatal == nil {
		st.fatal = &StepError{Kind: kind, Message: st.lastErr}
	}
	return code
}

// read returns a view of guest memory; it fails the step when the range is out of bounds.
func (st *callState) read(fn string, mod api.Module, ptr, n uint32) ([]byte, bool) {
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		st.failStep(FailureHost, abi.ErrBounds, "host call %s: range [%d, %d) is outside guest memory (%d bytes)", fn, ptr, uint64(ptr)+uint64(n), mod.Memory().Size())
	}
	return b, ok
}

// readString copies a UTF-8 string out of guest memory.
func (st *callState) readString(fn string, mod api.Module, ptr, n uint32) (string, int32) {
	b, ok := st.read(fn, mod, ptr, n)
	if !ok {
		return "", abi.ErrBounds
	}
	if !utf8.Valid(b) {
		return "", st.fail(abi.ErrInvalid, "host call %s: the string is not valid UTF-8", fn)
	}
	return string(b), abi.OK
}

// copyOut copies as much of src as fits into the guest buffer and returns the count.
func (st *callState) copyOut(fn string, mod api.Module, ptr, n uint32, src []byte) int32 {
	if uint32(len(src)) < n {
		n = uint32(len(src))
	}
	if _, ok := st.read(fn, mod, ptr, n); !ok {
		return abi.ErrBounds
	}
	mod.Memory().Write(ptr, src[:n])
	return int32(n)
}

type hostFunc func(ctx context.Context, st *callState, mod api.Module, stack []uint64)

// hostFuncs implements every import of abi.Imports. A test checks the two lists are equal.
var hostFuncs = map[string]hostFunc{
	abi.FnLastErrorLen: func(_ context.Context, st *callState, _ api.Module, s []uint64) {
		s[0] = api.EncodeI32(int32(len(st.lastErr)))
	},
	abi.FnLastErrorRead: func(_ context.Context, st *callState, mod api.Module, s []uint64) {
		s[0] = api.EncodeI32(st.copyOut(abi.FnLastErrorRead, mod, api.DecodeU32(s[0]), api.DecodeU32(s[1]), []byte(st.lastErr)))
	},
	abi.FnInvocationLen: func(_ context.Context, st *callState, _ api.Module, s []uint64) {
		if st.mode != modeRun {
			s[0] = api.EncodeI32(st.fail(abi.ErrState, "invocation_len is only available inside wasmorch_run"))
			return
		}
		s[0] = api.EncodeI32(int32(len(st.invocation)))
	},
	abi.FnInvocationRead: func(_ context.Context, st *callState, mod api.Module, s []uint64) {
		if st.mode != modeRun {
			s[0] = api.EncodeI32(st.fail(abi.ErrState, "invocation_read is only available inside wasmorch_run"))
			return
		}
		s[0] = api.EncodeI32(st.copyOut(abi.FnInvocationRead, mod, api.DecodeU32(s[0]), api.DecodeU32(s[1]), st.invocation))
	},
	abi.FnInputOpen: func(ctx context.Context, st *callState, mod api.Module, s []uint64) {
		s[0] = api.EncodeI32(st.inputOpen(ctx, mod, s))
	},
	abi.FnInputFormat: func(_ context.Context, st *callState, _ api.Module, s []uint64) {
		s[0] = api.EncodeI32(st.inputFormat(s))
	},
	abi.FnInputNext: func(_ context.Context, st *callState, _ api.Module, s []uint64) {
		s[0] = api.EncodeI64(st.inputNext(s))
	},
	abi.FnInputRead: func(_ context.Context, st *callState, mod api.Module, s []uint64) {
		s[0] = api.EncodeI32(st.inputRead(mod, s))
	},
	abi.FnInputPartition: func(_ context.Context, st *callState, mod api.Module, s []uint64) {
		h, code := st.inputHandle(abi.FnInputPartition, api.DecodeI32(s[0]))
		if code != abi.OK {
			s[0] = api.EncodeI32(code)
			return
		}
		// ABI 4.3: copy min(buf_len, len) bytes and return the key's full length, so that a guest
		// with too small a buffer learns the size it needs.
		if n := st.copyOut(abi.FnInputPartition, mod, api.DecodeU32(s[1]), api.DecodeU32(s[2]), []byte(h.chunkKey)); n < 0 {
			s[0] = api.EncodeI32(n)
			return
		}
		s[0] = api.EncodeI32(int32(len(h.chunkKey)))
	},
	abi.FnInputClose: func(_ context.Context, st *callState, _ api.Module, s []uint64) {
		s[0] = api.EncodeI32(st.closeHandle(s, false))
	},
	abi.FnOutputOpen: func(ctx context.Context, st *callState, mod api.Module, s []uint64) {
		s[0] = api.EncodeI32(st.outputOpen(ctx, mod, s))
	},
	abi.FnOutputWrite: func(_ context.Context, st *callState, mod api.Module, s []uint64) {
		s[0] = api.EncodeI32(st.outputWrite(mod, s))
	},
	abi.FnOutputClose: func(_ context.Context, st *callState, _ api.Module, s []uint64) {
		s[0] = api.EncodeI32(st.closeHandle(s, true))
	},
	abi.FnOutputMetadata: func(_ context.Context, st *callState, mod api.Module, s []uint64) {
		h, code := st.outputHandle(abi.FnOutputMetadata, int32(api.DecodeI32(s[0])))
		if code != abi.OK {
			s[0] = api.EncodeI32(code)
			return
		}
		if h.metadata == nil {
			h.metadata = map[string]any{}
		}
		s[0] = api.EncodeI32(st.mergeMetadata(abi.FnOutputMetadata, mod, api.DecodeU32(s[1]), api.DecodeU32(s[2]), h.metadata))
	},
	abi.FnErrorSet: func(_ context.Context, st *callState, mod api.Module, s []uint64) {
		b, ok := st.read(abi.FnErrorSet, mod, api.DecodeU32(s[0]), api.DecodeU32(s[1]))
		if !ok {
			s[0] = api.EncodeI32(abi.ErrBounds)
			return
		}
		st.errMsg = truncate(string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), abi.MaxErrorMessage)
		s[0] = api.EncodeI32(abi.OK)
	},
	abi.FnMetadataAdd: func(_ context.Context, st *callState, mod api.Module, s []uint64) {
		if st.mode != modeRun {
			s[0] = api.EncodeI32(st.fail(abi.ErrState, "metadata_add is only available inside wasmorch_run"))
			return
		}
		if st.metadata == nil {
			st.metadata = map[string]any{}
		}
		s[0] = api.EncodeI32(st.mergeMetadata(abi.FnMetadataAdd, mod, api.DecodeU32(s[0]), api.DecodeU32(s[1]), st.metadata))
	},
	abi.FnCheckResult: func(_ context.Context, st *callState, _ api.Module, s []uint64) {
		if st.mode != modeRun || st.step.Invocation.Kind != "check" {
			s[0] = api.EncodeI32(st.fail(abi.ErrState, "check_result is only available in an asset check step"))
			return
		}
		passed, sev := api.DecodeI32(s[0]), api.DecodeI32(s[1])
		if (passed != 0 && passed != 1) || (sev != abi.SeverityWarn && sev != abi.SeverityError) {
			s[0] = api.EncodeI32(st.fail(abi.ErrInvalid, "check_result(%d, %d): passed must be 0 or 1 and severity 0 (WARN) or 1 (ERROR)", passed, sev))
			return
		}
		st.check = &CheckResult{Passed: passed == 1, Severity: map[int32]string{abi.SeverityWarn: "WARN", abi.SeverityError: "ERROR"}[sev]}
		s[0] = api.EncodeI32(abi.OK)
	},
	abi.FnLog: func(_ context.Context, st *callState, mod api.Module, s []uint64) {
		level := api.DecodeI32(s[0])
		if level < abi.LevelDebug || level > abi.LevelError {
			s[0] = api.EncodeI32(st.fail(abi.ErrInvalid, "log: unknown level %d (want 0..3)", level))
			return
		}
		b, ok := st.read(abi.FnLog, mod, api.DecodeU32(s[1]), api.DecodeU32(s[2]))
		if !ok {
			s[0] = api.EncodeI32(abi.ErrBounds)
			return
		}
		msg := truncate(string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), abi.MaxLogMessage)
		if !st.logs.log(level, msg) {
			s[0] = api.EncodeI32(st.fail(abi.ErrLimit, "log: %s", st.logs.limitMessage()))
			return
		}
		s[0] = api.EncodeI32(abi.OK)
	},
	abi.FnResourceCall: func(ctx context.Context, st *callState, mod api.Module, s []uint64) {
		key, code := st.readString(abi.FnResourceCall, mod, api.DecodeU32(s[0]), api.DecodeU32(s[1]))
		if code != abi.OK {
			s[0] = api.EncodeI64(int64(code))
			return
		}
		req, ok := st.read(abi.FnResourceCall, mod, api.DecodeU32(s[2]), api.DecodeU32(s[3]))
		if !ok {
			s[0] = api.EncodeI64(int64(abi.ErrBounds))
			return
		}
		st.response = nil
		if st.mode != modeRun {
			s[0] = api.EncodeI64(int64(st.fail(abi.ErrState, "resource_call is only available inside wasmorch_run")))
			return
		}
		// Call does not keep req, so handing it the view of guest memory is safe.
		resp, err := st.step.Resources.Call(ctx, key, req, st.step.DeclaredResources)
		if err != nil {
			var c int32
			switch resources.Code(err) {
			case resources.ErrDenied:
				c = st.fail(abi.ErrDenied, "%v", err)
			case resources.ErrInvalidRequest:
				c = st.fail(abi.ErrInvalid, "%v", err)
			case resources.ErrNotFound:
				c = st.fail(abi.ErrNotFound, "%v", err)
			case resources.ErrTooLarge:
				c = st.failStep(FailureLimit, abi.ErrLimit, "%v", err)
			default:
				c = st.fail(abi.ErrIO, "%v", err)
			}
			s[0] = api.EncodeI64(int64(c))
			return
		}
		st.response = resp
		s[0] = api.EncodeI64(int64(len(resp)))
	},
	abi.FnResponseRead: func(_ context.Context, st *callState, mod api.Module, s []uint64) {
		s[0] = api.EncodeI32(st.copyOut(abi.FnResponseRead, mod, api.DecodeU32(s[0]), api.DecodeU32(s[1]), st.response))
	},
	abi.FnManifestWrite: func(_ context.Context, st *callState, mod api.Module, s []uint64) {
		if st.mode != modeManifest || st.manifest != nil {
			s[0] = api.EncodeI32(st.fail(abi.ErrState, "manifest_write may be called once, inside wasmorch_manifest"))
			return
		}
		n := api.DecodeU32(s[1])
		if n > abi.MaxManifest {
			s[0] = api.EncodeI32(st.failStep(FailureLimit, abi.ErrLimit, "manifest_write: the manifest is %d bytes, the limit is %d", n, abi.MaxManifest))
			return
		}
		b, ok := st.read(abi.FnManifestWrite, mod, api.DecodeU32(s[0]), n)
		if !ok {
			s[0] = api.EncodeI32(abi.ErrBounds)
			return
		}
		st.manifest = bytes.Clone(b)
		s[0] = api.EncodeI32(abi.OK)
	},
}

func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(" …[truncated]")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " …[truncated]"
}

// instantiateHostModule registers the wasmorch host functions from the abi.Imports table.
func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.ImportModule)
	for _, f := range abi.Imports {
		impl, ok := hostFuncs[f.Name]
		if !ok {
			return fmt.Errorf("host function %s of the ABI has no implementation", f.Name)
		}
		params := make([]api.ValueType, len(f.Params))
		for i, p := range f.Params {
			params[i] = api.ValueType(p)
		}
		results := make([]api.ValueType, len(f.Results))
		for i, r := range f.Results {
			results[i] = api.ValueType(r)
		}
		name := f.Name
		fn := api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
			st, _ := ctx.Value(stateKey{}).(*callState)
			if st == nil {
				// Called outside an export the host invoked, e.g. from _initialize.
				stack[0] = 0
				if len(results) > 0 && results[0] == api.ValueTypeI64 {
					stack[0] = api.EncodeI64(int64(abi.ErrState))
				} else {
					stack[0] = api.EncodeI32(abi.ErrState)
				}
				return
			}
			impl(ctx, st, mod, stack)
		})
		b.NewFunctionBuilder().WithGoModuleFunction(fn, params, results).WithName(name).Export(name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiate host module: %w", err)
	}
	return nil
}

// ---- handles ----

func (st *callState) addHandle(h any) (int32, int32) {
	if st.open >= abi.MaxOpenHandles {
		return 0, st.fail(abi.ErrLimit, "at most %d inputs and outputs may be open at once", abi.MaxOpenHandles)
	}
	st.open++
	for i, x := range st.handles {
		if x == nil {
			st.handles[i] = h
			return int32(i), abi.OK
		}
	}
	st.handles = append(st.handles, h)
	return int32(len(st.handles) - 1), abi.OK
}

func (st *callState) handle(fn string, id int32) (any, int32) {
	if id < 0 || int(id) >= len(st.handles) || st.handles[id] == nil {
		return nil, st.fail(abi.ErrInvalid, "%s: %d is not an open handle", fn, id)
	}
	return st.handles[id], abi.OK
}

func (st *callState) inputHandle(fn string, id int32) (*inputHandle, int32) {
	h, code := st.handle(fn, id)
	if code != abi.OK {
		return nil, code
	}
	in, ok := h.(*inputHandle)
	if !ok {
		return nil, st.fail(abi.ErrInvalid, "%s: handle %d is an output, not an input", fn, id)
	}
	return in, abi.OK
}

func (st *callState) outputHandle(fn string, id int32) (*outputHandle, int32) {
	h, code := st.handle(fn, id)
	if code != abi.OK {
		return nil, code
	}
	out, ok := h.(*outputHandle)
	if !ok {
		return nil, st.fail(abi.ErrInvalid, "%s: handle %d is an input, not an output", fn, id)
	}
	return out, abi.OK
}

func (st *callState) closeHandle(s []uint64, output bool) int32 {
	id := api.DecodeI32(s[0])
	if output {
		h, code := st.outputHandle(abi.FnOutputClose, id)
		if code != abi.OK {
			return code
		}
		st.handles[id] = nil
		st.open--
		return st.finishOutput(h)
	}
	h, code := st.inputHandle(abi.FnInputClose, id)
	if code != abi.OK {
		return code
	}
	h.release()
	st.handles[id] = nil
	st.open--
	return abi.OK
}

func (st *callState) releaseHandles() {
	for i, h := range st.handles {
		if in, ok := h.(*inputHandle); ok {
			in.release()
			st.handles[i] = nil
		}
	}
}

// ---- inputs ----

type inputHandle struct {
	name     string
	format   abi.Format
	val      iomanager.Value
	w        *ipc.Writer
	buf      bytes.Buffer
	finished bool
	chunk    []byte
	off      int
	// parts is set for an Arrow input of upstream partitions; key is the partition key of an
	// input of one partition (JSON or bytes); chunkKey is the current chunk's partition key.
	parts    *partsReader
	key      string
	chunkKey string
}

func (h *inputHandle) release() {
	if h.w != nil && !h.finished {
		h.w.Close()
	}
	h.val.Release()
	h.val = iomanager.Value{}
}

func (st *callState) inputOpen(ctx context.Context, mod api.Module, s []uint64) int32 {
	if st.mode != modeRun {
		return st.fail(abi.ErrState, "input_open is only available inside wasmorch_run")
	}
	name, code := st.readString(abi.FnInputOpen, mod, api.DecodeU32(s[0]), api.DecodeU32(s[1]))
	if code != abi.OK {
		return code
	}
	in, ok := st.step.Inputs[name]
	if !ok {
		return st.fail(abi.ErrNotFound, "step %q has no input %q (inputs: %s)", st.step.Invocation.StepKey, name, inputNames(st.step))
	}
	var val iomanager.Value
	var parts *partsReader
	var err error
	key := ""
	if in.Partitions != nil {
		val, parts, err = loadPartitions(ctx, name, in)
		if len(in.Partitions) == 1 && in.Format == abi.FormatBytes {
			key = in.Partitions[0].Key
		}
	} else {
		val, err = in.Load(ctx)
	}
	if err != nil {
		return st.failStep(FailureHost, abi.ErrIO, "load input %q: %v", name, err)
	}
	if val.Format != in.Format {
		val.Release()
		return st.failStep(FailureHost, abi.ErrInvalid, "input %q: stored value is %s but the step reads %s", name, val.Format, in.Format)
	}
	id, code := st.addHandle(&inputHandle{name: name, format: in.Format, val: val, parts: parts, key: key})
	if code != abi.OK {
		val.Release()
		return code
	}
	return id
}

func inputNames(step *Step) string {
	var names []string
	for n := range step.Inputs {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return fmt.Sprintf("%q", names)
}

func (st *callState) inputFormat(s []uint64) int32 {
	h, code := st.inputHandle(abi.FnInputFormat, api.DecodeI32(s[0]))
	if code != abi.OK {
		return code
	}
	return int32(h.format)
}

func (st *callState) inputNext(s []uint64) int64 {
	h, code := st.inputHandle(abi.FnInputNext, api.DecodeI32(s[0]))
	if code != abi.OK {
		return int64(code)
	}
	h.chunk, h.off, h.chunkKey = nil, 0, ""
	if h.finished {
		return 0
	}
	if h.format != abi.FormatArrow {
		b, err := iomanager.ReadAllBytes(h.val)
		if err != nil {
			return int64(st.failStep(FailureHost, abi.ErrIO, "read input %q: %v", h.name, err))
		}
		h.finished, h.chunk, h.chunkKey = true, b, h.key
		return int64(len(b))
	}
	h.buf.Reset()
	rr := h.val.Records
	if h.w == nil {
		h.w = ipc.NewWriter(&h.buf, ipc.WithSchema(rr.Schema()), ipc.WithAllocator(memory.DefaultAllocator))
	}
	if rr.Next() {
		if err := h.w.Write(rr.Record()); err != nil {
			return int64(st.failStep(FailureHost, abi.ErrIO, "encode input %q: %v", h.name, err))
		}
		if h.parts != nil {
			h.chunkKey = h.parts.Key()
		}
	} else {
		if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
			return int64(st.failStep(FailureHost, abi.ErrIO, "read input %q: %v", h.name, err))
		}
		if err := h.w.Close(); err != nil {
			return int64(st.failStep(FailureHost, abi.ErrIO, "encode input %q: %v", h.name, err))
		}
		h.finished = true
	}
	h.chunk = h.buf.Bytes()
	return int64(len(h.chunk))
}

func (st *callState) inputRead(mod api.Module, s []uint64) int32 {
	h, code := st.inputHandle(abi.FnInputRead, api.DecodeI32(s[0]))
	if code != abi.OK {
		return code
	}
	n := st.copyOut(abi.FnInputRead, mod, api.DecodeU32(s[1]), api.DecodeU32(s[2]), h.chunk[h.off:])
	if n > 0 {
		h.off += int(n)
	}
	return n
}

// ---- outputs ----

type outputHandle struct {
	name       string
	mappingKey string // set for one value of a dynamic output
	decl       Output
	pw         *io.PipeWriter // arrow and bytes stream through a pipe to the IO manager
	json       *bytes.Buffer  // json is buffered and checked at close
	done       chan struct{}
	bytes      int64
	metadata   map[string]any
	finished   bool

	// set by the storing goroutine before done closes
	location string
	err      error
	rows     int64
	schema   *arrow.Schema
}

func (st *callState) outputOpen(ctx context.Context, mod api.Module, s []uint64) int32 {
	if st.mode != modeRun {
		return st.fail(abi.ErrState, "output_open is only available inside wasmorch_run")
	}
	name, code := st.readString(abi.FnOutputOpen, mod, api.DecodeU32(s[0]), api.DecodeU32(s[1]))
	if code != abi.OK {
		return code
	}
	format := abi.Format(api.DecodeI32(s[2]))
	base, mappingKey, mapped := abi.SplitMappedName(name)
	decl, ok := st.step.Outputs[base]
	switch {
	case !ok && mapped:
		return st.fail(abi.ErrNotFound, "step %q has no output %q (opened as %q)", st.step.Invocation.StepKey, base, name)
	case !ok:
		if _, _, bad := strings.Cut(name, "["); bad {
			return st.fail(abi.ErrInvalid, "output name %q: a mapping key must match %s, as in NAME[KEY]", name, abi.MappingKeyPattern)
		}
		return st.fail(abi.ErrNotFound, "step %q has no output %q", st.step.Invocation.StepKey, name)
	case decl.Dynamic && !mapped:
		return st.fail(abi.ErrInvalid, "output %q is dynamic: open it once per mapping key, as %s[KEY]", name, name)
	case !decl.Dynamic && mapped:
		return st.fail(abi.ErrInvalid, "output %q is not dynamic, so it cannot be opened with a mapping key (%q)", base, name)
	}
	if mapped {
		if st.mappingKeys == nil {
			st.mappingKeys = map[string]bool{}
		}
		if !st.mappingKeys[name] && len(st.mappingKeys) >= MaxMappingKeys {
			return st.failStep(FailureLimit, abi.ErrLimit, "output %q: a step may write at most %d mapped values", base, MaxMappingKeys)
		}
		st.mappingKeys[name] = true
		store := decl.StoreMapped
		decl.Store = func(ctx context.Context, v iomanager.Value) (string, error) {
			if store == nil {
				return "", fmt.Errorf("the host has no storage for mapped output %q", base)
			}
			return store(ctx, mappingKey, v)
		}
	}
	if format != decl.Format {
		return st.fail(abi.ErrInvalid, "output %q is declared %s, opened as format %d (%s)", name, decl.Format, format, format)
	}
	if st.outputs == nil {
		st.outputs = map[string]*outputHandle{}
	}
	if _, dup := st.outputs[name]; dup {
		return st.fail(abi.ErrState, "output %q was already opened in this step", name)
	}
	h := &outputHandle{name: name, decl: decl, mappingKey: mappingKey, done: make(chan struct{})}
	id, code := st.addHandle(h)
	if code != abi.OK {
		return code
	}
	st.outputs[name] = h
	if format == abi.FormatJSON {
		h.json = &bytes.Buffer{}
		close(h.done)
		return id
	}
	pr, pw := io.Pipe()
	h.pw = pw
	go h.store(ctx, pr, st.maxOutput)
	return id
}

// errAfterEnd is what a guest sees when it writes past the end of its Arrow stream.
var errAfterEnd = errors.New("data after the end of the Arrow IPC stream")

// store runs on its own goroutine, feeding the IO manager from the pipe. An Arrow stream goes
// through arrowChecker before arrow-go decodes it, so that no message makes the host allocate by
// a length its bytes do not back (or beyond limit, the step's output limit), and each decoded
// batch through checkedRecords before anything reads its values (arrowcheck.go).
func (h *outputHandle) store(ctx context.Context, pr *io.PipeReader, limit int64) {
	defer close(h.done)
	// Every byte here comes from the guest. arrow-go accepts some malformed batches (a null
	// count of -1 with no validity bitmap) that panic later, in NullN or in an IO manager's
	// writer; a panic on this goroutine would end the host process, so it fails the output.
	defer func() {
		if p := recover(); p != nil {
			h.location, h.rows = "", 0
			h.err = fmt.Errorf("output %q is not a valid Arrow IPC stream: decoding it failed: %v", h.name, p)
			pr.CloseWithError(h.err)
		}
	}()
	if h.decl.Format == abi.FormatBytes {
		h.location, h.err = h.decl.Store(ctx, iomanager.Value{Format: abi.FormatBytes, Data: pr})
		pr.CloseWithError(errAfterEnd)
		return
	}
	chk := newArrowChecker(pr, limit)
	rdr, err := ipc.NewReader(chk, ipc.WithAllocator(memory.DefaultAllocator))
	var invalid *invalidArrowError
	if err != nil {
		switch {
		case errors.As(err, &invalid):
			h.err = fmt.Errorf("output %q is not a valid Arrow IPC stream: %w", h.name, invalid)
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			h.err = fmt.Errorf("output %q is not an Arrow IPC stream: the stream ended before its schema message", h.name)
		default:
			h.err = fmt.Errorf("output %q is not an Arrow IPC stream: %w", h.name, err)
		}
		pr.CloseWithError(h.err)
		return
	}
	defer rdr.Release()
	var records array.RecordReader = newCheckedRecords(rdr, chk)
	if h.decl.Schema != nil {
		if problems := compareSchemas(h.decl.Schema, rdr.Schema()); len(problems) > 0 {
			h.err = &SchemaMismatchError{Output: h.name, Problems: problems}
			pr.CloseWithError(h.err)
			return
		}
		records = newNonNullChecker(records, h.name, h.decl.Schema)
	}
	cr := &countingRecords{RecordReader: records}
	h.schema = rdr.Schema()
	h.location, h.err = h.decl.Store(ctx, iomanager.Value{Format: abi.FormatArrow, Records: cr})
	if h.err == nil && records.Err() != nil {
		h.err = records.Err()
	}
	if errors.As(h.err, &invalid) || errors.As(records.Err(), &invalid) {
		h.location, h.rows = "", 0
		h.err = fmt.Errorf("output %q is not a valid Arrow IPC stream: %w", h.name, invalid)
		pr.CloseWithError(h.err)
		return
	}
	var mismatch *SchemaMismatchError
	if errors.As(h.err, &mismatch) || errors.As(records.Err(), &mismatch) {
		h.err = mismatch
		pr.CloseWithError(h.err)
		return
	}
	if h.err != nil {
		h.err = fmt.Errorf("output %q: %w", h.name, h.err)
		pr.CloseWithError(h.err)
		return
	}
	h.rows = cr.rows
	pr.CloseWithError(errAfterEnd)
}

// countingRecords counts rows as the IO manager reads them.
type countingRecords struct {
	array.RecordReader
	rows int64
}

func (c *countingRecords) Next() bool {
	if !c.RecordReader.Next() {
		return false
	}
	c.rows += c.RecordReader.Record().NumRows()
	return true
}

func (st *callState) outputWrite(mod api.Module, s []uint64) int32 {
	h, code := st.outputHandle(abi.FnOutputWrite, api.DecodeI32(s[0]))
	if code != abi.OK {
		return code
	}
	n := api.DecodeU32(s[2])
	if st.outBytes+int64(n) > st.maxOutput {
		return st.failStep(FailureLimit, abi.ErrLimit, "output %q: the step wrote more than its output limit of %d bytes", h.name, st.maxOutput)
	}
	b, ok := st.read(abi.FnOutputWrite, mod, api.DecodeU32(s[1]), n)
	if !ok {
		return abi.ErrBounds
	}
	st.outBytes += int64(n)
	h.bytes += int64(n)
	if h.json != nil {
		h.json.Write(b)
		return abi.OK
	}
	// The pipe copies b into the decoder before Write returns, so handing it a view of guest
	// memory is safe: the guest is blocked in this call until then.
	if _, err := h.pw.Write(b); err != nil {
		var mismatch *SchemaMismatchError
		if errors.As(err, &mismatch) {
			return st.failStep(FailureSchema, abi.ErrInvalid, "%v", mismatch)
		}
		return st.failStep(FailureHost, abi.ErrInvalid, "%v", err)
	}
	return abi.OK
}

// finishOutput completes an output: the stream is ended and the IO manager's result awaited.
func (st *callState) finishOutput(h *outputHandle) int32 {
	if h.finished {
		return abi.OK
	}
	h.finished = true
	if h.json != nil {
		if !json.Valid(h.json.Bytes()) {
			return st.failStep(FailureGuest, abi.ErrInvalid, "output %q: the value is not valid JSON", h.name)
		}
		if h.decl.ValidateJSON != nil {
			var v any
			json.Unmarshal(h.json.Bytes(), &v)
			if problems := h.decl.ValidateJSON(v); len(problems) > 0 {
				return st.failStep(FailureSchema, abi.ErrInvalid, "%v", &SchemaMismatchError{Output: h.name, Problems: problems})
			}
		}
		h.location, h.err = h.decl.Store(st.ctx, iomanager.Value{Format: abi.FormatJSON, Data: bytes.NewReader(h.json.Bytes())})
	} else {
		h.pw.Close()
		<-h.done
	}
	var mismatch *SchemaMismatchError
	if errors.As(h.err, &mismatch) {
		return st.failStep(FailureSchema, abi.ErrInvalid, "%v", mismatch)
	}
	if invalid := (*invalidArrowError)(nil); errors.As(h.err, &invalid) {
		return st.failStep(FailureHost, abi.ErrInvalid, "%v", h.err)
	}
	if h.err != nil {
		return st.failStep(FailureHost, abi.ErrIO, "%v", h.err)
	}
	return abi.OK
}

// abortOutputs ends every unfinished output with an error so its IO manager discards it.
func (st *callState) abortOutputs() {
	for _, h := range st.outputs {
		if !h.finished && h.pw != nil {
			h.pw.CloseWithError(errors.New("the step failed"))
			<-h.done
		}
		h.finished = true
	}
}

// finishOutputs closes outputs the guest left open and checks every required output was written.
func (st *callState) finishOutputs() (*StepResult, error) {
	res := &StepResult{Outputs: map[string]OutputResult{}}
	var names []string
	for name := range st.step.Outputs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		decl := st.step.Outputs[name]
		if decl.Dynamic {
			continue
		}
		h, ok := st.outputs[name]
		if !ok {
			if decl.Optional {
				continue
			}
			st.abortOutputs()
			return nil, &StepError{Kind: FailureGuest, Message: fmt.Sprintf("%s %q returned without writing its output %q", st.step.Invocation.Kind, st.step.Invocation.Name, name)}
		}
		if st.finishOutput(h) != abi.OK {
			st.abortOutputs()
			return nil, st.fatal
		}
		res.Outputs[name] = OutputResult{Location: h.location, Format: decl.Format, Rows: h.rows, Bytes: h.bytes, Schema: h.schema, Metadata: h.metadata}
	}
	// The values of dynamic outputs, in the order of their keys.
	mapped := make([]string, 0, len(st.mappingKeys))
	for name := range st.mappingKeys {
		mapped = append(mapped, name)
	}
	sort.Strings(mapped)
	for _, name := range mapped {
		h := st.outputs[name]
		if st.finishOutput(h) != abi.OK {
			st.abortOutputs()
			return nil, st.fatal
		}
		res.Outputs[name] = OutputResult{Location: h.location, MappingKey: h.mappingKey, Format: h.decl.Format, Rows: h.rows, Bytes: h.bytes, Schema: h.schema, Metadata: h.metadata}
	}
	return res, nil
}

var reservedMetadata = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range abi.ReservedMetadata {
		m[k] = true
	}
	return m
}()

func (st *callState) mergeMetadata(fn string, mod api.Module, ptr, n uint32, into map[string]any) int32 {
	b, ok := st.read(fn, mod, ptr, n)
	if !ok {
		return abi.ErrBounds
	}
	var entries map[string]any
	if err := json.Unmarshal(b, &entries); err != nil || entries == nil {
		return st.fail(abi.ErrInvalid, "%s: metadata must be a JSON object: %v", fn, err)
	}
	for k, v := range entries {
		if reservedMetadata[k] {
			return st.fail(abi.ErrInvalid, "%s: metadata entry %q is set by the host", fn, k)
		}
		if err := checkTypedValue(v); err != nil {
			return st.fail(abi.ErrInvalid, "%s: metadata entry %q: %v", fn, k, err)
		}
	}
	for k, v := range entries {
		into[k] = v
	}
	return abi.OK
}

// ---- logs ----

// MaxStepLogLines caps the log lines (log calls and stdout/stderr lines) of one step, beside
// abi.MaxStepLogBytes. Without it a guest logging empty lines would store an event per call
// until its time limit; docs/RATIONALE.md ("Log floods") explains why lines are dropped rather
// than the step failed.
const MaxStepLogLines = abi.MaxStepLogLines

// logSink collects a step's log lines under the per-step caps and keeps the stderr tail. Once a
// cap is reached it emits one warning and drops every later line; the step goes on.
type logSink struct {
	mu      sync.Mutex
	emit    func(level int32, msg string)
	bytes   int
	lines   int
	dropped bool
	// limit says which cap was reached, for the warning and for log's last error.
	limit string
	tail  []string
	// headline is the guest runtime's own account of a crash ("fatal error: out of memory",
	// "panic: ...", Rust's "panicked at"), which a long traceback would push out of tail.
	headline string
	lastErr  string
	partial  map[int32]*bytes.Buffer
}

const stderrTailLines = 12

func isHeadline(s string) bool {
	return strings.HasPrefix(s, "fatal error: ") || strings.HasPrefix(s, "panic: ") || strings.Contains(s, "panicked at")
}

func newLogSink(emit func(int32, string)) *logSink {
	return &logSink{emit: emit, partial: map[int32]*bytes.Buffer{}}
}

func (l *logSink) log(level int32, msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.logLocked(level, msg)
}

func (l *logSink) logLocked(level int32, msg string) bool {
	if level == abi.LevelError {
		l.lastErr = msg
	}
	if l.dropped {
		return false
	}
	switch {
	case l.bytes+len(msg) > abi.MaxStepLogBytes:
		l.limit = fmt.Sprintf("the step's log limit of %d bytes is reached", abi.MaxStepLogBytes)
	case l.lines >= MaxStepLogLines:
		l.limit = fmt.Sprintf("the step's log limit of %d lines is reached", MaxStepLogLines)
	}
	if l.limit != "" {
		l.dropped = true
		if l.emit != nil {
			l.emit(abi.LevelWarn, l.limit+": further logs of this step are dropped")
		}
		return false
	}
	l.bytes += len(msg)
	l.lines++
	if l.emit != nil {
		l.emit(level, msg)
	}
	return true
}

type lineWriter struct {
	l     *logSink
	level int32
}

func (l *logSink) writer(level int32) io.Writer { return lineWriter{l, level} }

func (w lineWriter) Write(p []byte) (int, error) {
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	buf := w.l.partial[w.level]
	if buf == nil {
		buf = &bytes.Buffer{}
		w.l.partial[w.level] = buf
	}
	buf.Write(p)
	for {
		line, rest, ok := bytes.Cut(buf.Bytes(), []byte("\n"))
		if !ok {
			break
		}
		w.l.line(w.level, string(line))
		next := bytes.Clone(rest)
		buf.Reset()
		buf.Write(next)
	}
	if buf.Len() > abi.MaxLogMessage {
		w.l.line(w.level, buf.String())
		buf.Reset()
	}
	return len(p), nil
}

func (l *logSink) line(level int32, s string) {
	s = truncate(string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD"))), abi.MaxLogMessage)
	if level == abi.LevelWarn {
		if isHeadline(s) {
			l.headline = s
		}
		l.tail = append(l.tail, s)
		if len(l.tail) > stderrTailLines {
			l.tail = l.tail[1:]
		}
	}
	l.logLocked(level, s)
}

// flush emits partial lines left in the stdout and stderr buffers.
func (l *logSink) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, level := range []int32{abi.LevelInfo, abi.LevelWarn} {
		if buf := l.partial[level]; buf != nil && buf.Len() > 0 {
			l.line(level, buf.String())
			buf.Reset()
		}
	}
}

// limitMessage says which log cap was reached.
func (l *logSink) limitMessage() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit + "; further logs are dropped"
}

func (l *logSink) stderrLines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.tail...)
}

func (l *logSink) stderrHeadline() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.headline
}

func (l *logSink) lastError() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastErr != "" {
		return l.lastErr
	}
	if len(l.tail) > 0 {
		return l.tail[len(l.tail)-1]
	}
	return ""
}
