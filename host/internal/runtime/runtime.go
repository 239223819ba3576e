// Package runtime runs guest modules on wazero: it compiles each module once per digest (with
// wazero's on-disk compilation cache), checks it against the ABI, reads its manifest, and runs
// steps, each in a fresh instance with the wasmorch host functions, WASI with nothing granted, and
// per-step limits on memory, wall-clock time and output size.
//
// It knows nothing of stores, graphs or runs: a step arrives with functions that load its inputs
// and store its outputs, and leaves with a result or a *StepError. It must never let a guest crash
// the host: traps, timeouts, exits and bad host calls all end as a failed step.
package runtime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/internal/interrupt"
	"github.com/wasmorch/wasmorch/host/internal/manifest"
	"github.com/wasmorch/wasmorch/host/internal/wasmopt"
)

// Defaults for Config fields left zero (abi/ABI.md section 9).
const (
	DefaultMemoryLimit    = 1 << 30
	DefaultStepTimeout    = 10 * time.Minute
	DefaultMaxOutputBytes = 2 << 30
	DefaultMaxModuleBytes = 64 << 20
	// loadTimeout bounds _initialize, wasmorch_abi_version and wasmorch_manifest at load time.
	loadTimeout = time.Minute
)

// Load errors, wrapped in a *LoadError that names the module.
var (
	ErrNotWasm        = errors.New("not a valid WebAssembly module")
	ErrTooLarge       = errors.New("module is larger than the module size limit")
	ErrMissingExport  = errors.New("missing ABI export")
	ErrABIVersion     = errors.New("unsupported ABI version")
	ErrBadImport      = errors.New("imports a function the host does not provide")
	ErrManifestFailed = errors.New("wasmorch_manifest failed")
)

// LoadError is a module that could not be loaded.
type LoadError struct {
	Module string
	Err    error
}

func (e *LoadError) Error() string { return fmt.Sprintf("module %q: %v", e.Module, e.Err) }
func (e *LoadError) Unwrap() error { return e.Err }

// Config holds the limits and the cache directory of a Runtime. Zero fields take the defaults.
type Config struct {
	// CacheDir holds wazero's compilation cache; empty means no disk cache.
	CacheDir         string
	MemoryLimitBytes uint64
	StepTimeout      time.Duration
	MaxOutputBytes   int64
	MaxModuleBytes   int64

	// goHeapMemory, for benchmarks only, turns off mapped memory and data images (linearmem.go,
	// dataimage.go): guest memory is a Go slice grown by copying and data segments are copied
	// into each instance, as before issue 6's profile-guided pass, so that a benchmark can
	// measure both in the same run.
	goHeapMemory bool
}

func (c Config) withDefaults() Config {
	if c.MemoryLimitBytes == 0 {
		c.MemoryLimitBytes = DefaultMemoryLimit
	}
	if c.StepTimeout == 0 {
		c.StepTimeout = DefaultStepTimeout
	}
	if c.MaxOutputBytes == 0 {
		c.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if c.MaxModuleBytes == 0 {
		c.MaxModuleBytes = DefaultMaxModuleBytes
	}
	return c
}

// Runtime compiles and runs guest modules. It is safe for concurrent use.
type Runtime struct {
	cfg   Config
	rt    wazero.Runtime
	cache wazero.CompilationCache
	wasi  map[string]api.FunctionDefinition

	mu       sync.Mutex
	compiled map[string]*compiledEntry // by digest
	images   []*dataImage              // of every compiled entry, closed with the runtime
}

type compiledEntry struct {
	once     sync.Once
	compiled wazero.CompiledModule
	image    *dataImage // the initial memory, nil if the data segments stayed in the module
	manifest *manifest.Manifest
	err      error
}

// New creates a runtime with the wasmorch host module and WASI instantiated.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg = cfg.withDefaults()
	pages := cfg.MemoryLimitBytes / 65536
	if pages < 1 || pages > 65536 {
		return nil, fmt.Errorf("memory limit %d bytes is out of range (64 KiB to 4 GiB)", cfg.MemoryLimitBytes)
	}
	rc := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(uint32(pages)).
		WithCloseOnContextDone(false) // time limits are enforced by instrumentation; see package interrupt
	r := &Runtime{cfg: cfg, compiled: map[string]*compiledEntry{}}
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("compilation cache: %w", err)
		}
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", cfg.CacheDir, err)
		}
		r.cache = cache
		rc = rc.WithCompilationCache(cache)
	}
	r.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt); err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("instantiate WASI: %w", err)
	}
	r.wasi = r.rt.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions()
	if err := instantiateHostModule(ctx, r.rt); err != nil {
		r.Close(ctx)
		return nil, err
	}
	// The fuel yield that instrumented guests call; see package interrupt.
	if err := interrupt.Instantiate(ctx, r.rt); err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("instantiate interrupt host module: %w", err)
	}
	return r, nil
}

// Config returns the runtime's effective configuration.
func (r *Runtime) Config() Config { return r.cfg }

// Close releases every compiled module and the runtime.
func (r *Runtime) Close(ctx context.Context) error {
	err := r.rt.Close(ctx)
	r.mu.Lock()
	for _, img := range r.images {
		img.close()
	}
	r.images = nil
	r.mu.Unlock()
	if r.cache != nil {
		r.cache.Close(ctx)
	}
	return err
}

// Module is a loaded, validated guest module.
type Module struct {
	// Name is the module's name in the workspace.
	Name string
	// Digest is "sha256:" and the hex digest of the module's bytes: its code version.
	Digest   string
	Size     int
	Manifest *manifest.Manifest
	compiled wazero.CompiledModule
	image    *dataImage
	rt       *Runtime
}

// Digest returns the content digest of a module's bytes as "sha256:<hex>".
func Digest(wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// LoadFile reads and loads a module file.
func (r *Runtime) LoadFile(ctx context.Context, name, path string) (*Module, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &LoadError{Module: name, Err: fmt.Errorf("cannot read %s: %w", path, unwrapPathError(err))}
	}
	if st.Size() > r.cfg.MaxModuleBytes {
		return nil, &LoadError{Module: name, Err: fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrTooLarge, path, st.Size(), r.cfg.MaxModuleBytes)}
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, &LoadError{Module: name, Err: fmt.Errorf("cannot read %s: %w", path, unwrapPathError(err))}
	}
	return r.Load(ctx, name, wasm)
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Load validates and compiles a module (once per digest), checks its imports and exports against
// the ABI and reads its manifest. Every error is a *LoadError naming the module.
func (r *Runtime) Load(ctx context.Context, name string, wasm []byte) (*Module, error) {
	if int64(len(wasm)) > r.cfg.MaxModuleBytes {
		return nil, &LoadError{Module: name, Err: fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(wasm), r.cfg.MaxModuleBytes)}
	}
	digest := Digest(wasm)
	r.mu.Lock()
	e, ok := r.compiled[digest]
	if !ok {
		e = &compiledEntry{}
		r.compiled[digest] = e
	}
	r.mu.Unlock()
	e.once.Do(func() { e.compiled, e.image, e.manifest, e.err = r.compile(ctx, wasm) })
	if e.err != nil {
		if ctx.Err() != nil { // do not cache a load that was only cancelled
			r.mu.Lock()
			delete(r.compiled, digest)
			r.mu.Unlock()
		}
		return nil, &LoadError{Module: name, Err: e.err}
	}
	return &Module{Name: name, Digest: digest, Size: len(wasm), Manifest: e.manifest, compiled: e.compiled, image: e.image, rt: r}, nil
}

func (r *Runtime) compile(ctx context.Context, wasm []byte) (wazero.CompiledModule, *dataImage, *manifest.Manifest, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, nil, nil, fmt.Errorf("%w: the file does not start with the WebAssembly magic bytes \\0asm", ErrNotWasm)
	}
	// Coalesce data segments first: Go guests have ~100k of them and wazero pays for each on
	// every instantiation. If the rewrite cannot read the module, compile the original and let
	// the compiler say what is wrong.
	if merged, err := wasmopt.MergeDataSegments(wasm); err == nil {
		wasm = merged
	}
	// Then take a large data section out altogether: instances start from its image, mapped
	// rather than copied (dataimage.go).
	var img *dataImage
	if stripped, image, ok, err := wasmopt.ExtractDataImage(wasm); err == nil && ok && len(image) >= minImageBytes && !r.cfg.goHeapMemory {
		wasm, img = stripped, newDataImage(image)
		r.mu.Lock()
		r.images = append(r.images, img)
		r.mu.Unlock()
	}
	instrumented, err := interrupt.Instrument(wasm)
	if err != nil {
		img.close()
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrNotWasm, err)
	}
	compiled, err := r.compileSafely(ctx, instrumented)
	if err != nil {
		img.close()
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrNotWasm, err)
	}
	fail := func(err error) (wazero.CompiledModule, *dataImage, *manifest.Manifest, error) {
		compiled.Close(ctx)
		img.close()
		return nil, nil, nil, err
	}
	if err := r.checkShape(compiled); err != nil {
		return fail(err)
	}
	m, err := r.readManifest(ctx, compiled, img)
	if err != nil {
		return fail(err)
	}
	return compiled, img, m, nil
}

// compileSafely compiles untrusted bytes: wazero v1.12's validator can panic on some malformed
// modules (found by fuzzing host/internal/interrupt), which must be a load error, not a crash.
func (r *Runtime) compileSafely(ctx context.Context, wasm []byte) (c wazero.CompiledModule, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, fmt.Errorf("the WebAssembly validator rejected the module: %v", p)
		}
	}()
	return r.rt.CompileModule(ctx, wasm)
}

// checkShape checks exports and imports against the ABI before anything runs.
func (r *Runtime) checkShape(c wazero.CompiledModule) error {
	exports := c.ExportedFunctions()
	if _, ok := c.ExportedMemories()[abi.ExportMemory]; !ok {
		return fmt.Errorf("%w: the module does not export its memory as %q (is it a wasmorch module built with an SDK?)", ErrMissingExport, abi.ExportMemory)
	}
	if _, ok := exports[abi.ExportStart]; ok {
		return fmt.Errorf("%w: the module exports _start, so it is a WASI command; wasmorch needs a reactor (Go: -buildmode=c-shared; clang: -mexec-model=reactor)", ErrMissingExport)
	}
	for _, want := range abi.Exports {
		def, ok := exports[want.Name]
		if !ok {
			return fmt.Errorf("%w: the module does not export %s (is it a wasmorch module built with an SDK?)", ErrMissingExport, want.Name)
		}
		if !sameSignature(def, want) {
			return fmt.Errorf("%w: export %s has type %s, the ABI requires %s", ErrMissingExport, want.Name, sigString(def.ParamTypes(), def.ResultTypes()), abiSigString(want))
		}
	}
	if init, ok := exports[abi.ExportInitialize]; ok && (len(init.ParamTypes()) != 0 || len(init.ResultTypes()) != 0) {
		return fmt.Errorf("%w: export _initialize must have type () -> ()", ErrMissingExport)
	}
	for _, def := range c.ImportedFunctions() {
		mod, name, _ := def.Import()
		switch mod {
		case abi.ImportModule:
			want, ok := abi.Import(name)
			if !ok {
				return fmt.Errorf("%w: %s is not a function of ABI version %d", ErrBadImport, importName(mod, name), abi.Version)
			}
			if !sameSignature(def, want) {
				return fmt.Errorf("%w: %s is imported as %s, the ABI defines %s", ErrBadImport, importName(mod, name), sigString(def.ParamTypes(), def.ResultTypes()), abiSigString(want))
			}
		case wasi_snapshot_preview1.ModuleName:
			w, ok := r.wasi[name]
			if !ok {
				return fmt.Errorf("%w: %s is not a WASI preview 1 function", ErrBadImport, importName(mod, name))
			}
			if sigString(w.ParamTypes(), w.ResultTypes()) != sigString(def.ParamTypes(), def.ResultTypes()) {
				return fmt.Errorf("%w: %s has the wrong signature", ErrBadImport, importName(mod, name))
			}
		case interrupt.HostModule:
			// Added by interrupt.Instrument, which refuses guests that import it themselves.
			if name != interrupt.YieldName || len(def.ParamTypes())+len(def.ResultTypes()) != 0 {
				return fmt.Errorf("%w: %s", ErrBadImport, importName(mod, name))
			}
		default:
			return fmt.Errorf("%w: %s (only %q and %q can be imported)", ErrBadImport, importName(mod, name), abi.ImportModule, wasi_snapshot_preview1.ModuleName)
		}
	}
	for _, m := range c.ImportedMemories() {
		mod, name, _ := m.Import()
		return fmt.Errorf("%w: the module imports a memory %s; it must define and export its own", ErrBadImport, importName(mod, name))
	}
	return nil
}

// importName prints an import as module.name. Names come from the guest: anything that is not
// printable UTF-8 is quoted, so a message never carries raw bytes or control characters.
func importName(mod, name string) string {
	q := func(s string) string {
		if s != "" && utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == '.' || r == '"' }) < 0 {
			return s
		}
		return strconv.Quote(s)
	}
	return q(mod) + "." + q(name)
}

func sameSignature(def api.FunctionDefinition, f abi.Func) bool {
	return sigString(def.ParamTypes(), def.ResultTypes()) == abiSigString(f)
}

func sigString(params, results []api.ValueType) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, p := range params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(api.ValueTypeName(p))
	}
	b.WriteString(") -> (")
	for i, p := range results {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(api.ValueTypeName(p))
	}
	b.WriteByte(')')
	return b.String()
}

func abiSigString(f abi.Func) string {
	conv := func(vs []abi.ValueType) []api.ValueType {
		out := make([]api.ValueType, len(vs))
		for i, v := range vs {
			out[i] = api.ValueType(v)
		}
		return out
	}
	return sigString(conv(f.Params), conv(f.Results))
}

// readManifest runs the module's version and manifest exports in a fresh instance.
func (r *Runtime) readManifest(ctx context.Context, c wazero.CompiledModule, img *dataImage) (*manifest.Manifest, error) {
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	st := &callState{mode: modeManifest, logs: newLogSink(nil)}
	inst, err := r.instantiate(ctx, c, img, st)
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", describe(err, st, ctx, loadTimeout).withStderr())
	}
	defer inst.close(context.Background())
	results, err := inst.call(ctx, abi.ExportABIVersion)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", abi.ExportABIVersion, describe(err, st, ctx, loadTimeout).withStderr())
	}
	if v := int32(results[0]); v < abi.MinVersion || v > abi.MaxVersion {
		return nil, fmt.Errorf("%w: the module was built for ABI version %d, this host supports %d..%d (rebuild it with a matching SDK)", ErrABIVersion, v, abi.MinVersion, abi.MaxVersion)
	}
	results, err = inst.call(ctx, abi.ExportManifest)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifestFailed, describe(err, st, ctx, loadTimeout).withStderr())
	}
	if st.fatal != nil {
		// A bad manifest_write (out of bounds, over the limit) is the cause, whatever the guest
		// returned after it.
		return nil, fmt.Errorf("%w: %w", ErrManifestFailed, st.fatal)
	}
	if status := int32(results[0]); status != 0 {
		msg := st.errMsg
		if msg == "" {
			msg = st.logs.lastError()
		}
		if msg == "" {
			msg = "no message"
		}
		return nil, fmt.Errorf("%w: returned %d: %s", ErrManifestFailed, status, msg)
	}
	if st.manifest == nil {
		return nil, fmt.Errorf("%w: it returned without calling manifest_write", ErrManifestFailed)
	}
	m, err := manifest.Parse(st.manifest)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// instance is one instantiated guest with the machinery to interrupt it.
type instance struct {
	mod api.Module
	st  *callState
	mu  sync.Mutex
	// closed is set under mu before the module closes, so an interrupt that fires late does not
	// touch a closed module.
	closed bool
	// mem is the instance's mapped linear memory (nil for wazero's own); see linearmem.go.
	mem *mappedMemory
}

func (r *Runtime) instantiate(ctx context.Context, c wazero.CompiledModule, img *dataImage, st *callState) (*instance, error) {
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module may run at once
		WithStartFunctions().
		WithStdout(st.logs.writer(abi.LevelInfo)).
		WithStderr(st.logs.writer(abi.LevelWarn)).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
	ictx := ctx
	alloc, lastMem, ok := memoryAllocator(img)
	if ok && !r.cfg.goHeapMemory {
		ictx = experimental.WithMemoryAllocator(ctx, alloc)
	}
	mod, err := r.rt.InstantiateModule(ictx, c, cfg)
	if err != nil {
		return nil, err
	}
	inst := &instance{mod: mod, st: st, mem: lastMem()}
	// Interrupt on deadline or cancellation. The guest checks the flag at every function entry and
	// loop header, so this stops loops without taxing them the way WithCloseOnContextDone does.
	stop := context.AfterFunc(ctx, func() {
		inst.mu.Lock()
		defer inst.mu.Unlock()
		if !inst.closed {
			interrupt.Interrupt(mod)
		}
	})
	st.stopInterrupt = stop
	if f := mod.ExportedFunction(abi.ExportInitialize); f != nil {
		inst.mem.enter()
		_, err := f.Call(withState(ctx, st))
		inst.mem.leave()
		if err != nil {
			inst.close(ctx)
			return nil, err
		}
	}
	return inst, nil
}

func (i *instance) call(ctx context.Context, name string) ([]uint64, error) {
	i.mem.enter()
	defer i.mem.leave()
	return i.mod.ExportedFunction(name).Call(withState(ctx, i.st))
}

func (i *instance) close(ctx context.Context) {
	if i.st.stopInterrupt != nil {
		i.st.stopInterrupt()
	}
	i.mu.Lock()
	i.closed = true
	i.mu.Unlock()
	i.mod.Close(ctx)
}

// DiskCacheFiles counts the files in a compilation cache directory, for tests and benchmarks.
func DiskCacheFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}
