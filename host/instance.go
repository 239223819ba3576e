// Package host is the wasmorch host library: the one public way to open an instance, load a
// workspace of WebAssembly modules, materialize assets and read what happened. The CLI is built
// on it and nothing else, so whatever the CLI does, a Go program embedding wasmorch can do too.
//
// An Instance owns the run store, the compiled-module runtime, the IO managers and the executor,
// as Dagster's instance does. Nothing outside this package reaches into Badger or wazero.
package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/wasmorch/wasmorch/host/internal/resources"
	wruntime "github.com/wasmorch/wasmorch/host/internal/runtime"
	"github.com/wasmorch/wasmorch/host/internal/workspace"
	"github.com/wasmorch/wasmorch/host/iomanager"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/host/store/badgerstore"
)

// HomeEnv names the environment variable that overrides the instance directory.
const HomeEnv = "WASMORCH_HOME"

// CacheDirEnv names the environment variable that overrides where compiled modules are cached
// (default: HOME/cache), so several instance directories can share one cache.
const CacheDirEnv = "WASMORCH_CACHE_DIR"

// DefaultHome returns the instance directory for a workspace file: $WASMORCH_HOME if set,
// otherwise .wasmorch beside the workspace file.
func DefaultHome(workspacePath string) string {
	if h := os.Getenv(HomeEnv); h != "" {
		return h
	}
	return filepath.Join(filepath.Dir(workspacePath), ".wasmorch")
}

// Option configures an Instance. Options set here override the workspace file's settings.
type Option func(*options)

type options struct {
	store       store.Store
	inMemory    bool
	ioManagers  map[string]iomanager.IOManager
	cacheDir    *string
	concurrency int
	limits      workspace.Limits
	launcher    RunLauncher
	runTimeout  time.Duration
	// worker: this instance is a run worker's, on its parent's store; its parent recovers runs.
	worker bool
}

// WithStore makes the instance use s instead of the Badger store under its directory. The
// instance closes s when it closes.
func WithStore(s store.Store) Option { return func(o *options) { o.store = s } }

// WithInMemoryStore keeps run state in memory only (Badger's in-memory mode), for tests.
func WithInMemoryStore() Option { return func(o *options) { o.inMemory = true } }

// WithIOManager registers an IO manager under key, replacing any default of that key.
func WithIOManager(key string, m iomanager.IOManager) Option {
	return func(o *options) { o.ioManagers[key] = m }
}

// WithCompilationCacheDir sets where compiled modules are cached across processes; "" turns the
// disk cache off. The default is $WASMORCH_CACHE_DIR, or HOME/cache.
func WithCompilationCacheDir(dir string) Option { return func(o *options) { o.cacheDir = &dir } }

// WithConcurrency caps the steps of one run executing at once (default: the number of CPUs).
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = n } }

// WithStepTimeout sets the wall-clock limit of each step (default 10 minutes).
func WithStepTimeout(d time.Duration) Option {
	return func(o *options) { o.limits.StepTimeout = d }
}

// WithMemoryLimit sets the linear-memory limit of each step in bytes (default 1 GiB, at most 4 GiB).
func WithMemoryLimit(bytes uint64) Option {
	return func(o *options) { o.limits.MemoryBytes = bytes }
}

// WithMaxOutputBytes caps the bytes one step may write to its outputs (default 2 GiB).
func WithMaxOutputBytes(n int64) Option {
	return func(o *options) { o.limits.MaxOutputBytes = n }
}

// Instance is an open wasmorch instance directory. It is safe for concurrent use.
type Instance struct {
	home  string
	opts  options
	store store.Store
	ioms  map[string]iomanager.IOManager

	mu       sync.Mutex
	runtimes map[wruntime.Config]*wruntime.Runtime
	closed   bool
	// launched are the runs Launch started that have not ended, by id.
	launched map[string]*Launched
	// backfills are the backfills this instance is executing, by id, with how to stop them.
	backfills map[string]context.CancelCauseFunc
	// kv backs kv resources: the store's namespaces when it implements store.KV (Badger does),
	// otherwise a map that lasts as long as the process.
	kv resources.KVBackend
}

// Open opens (creating if needed) the instance directory home. Runs that a previous process left
// unfinished are marked failed: Badger admits one process at a time, so any unfinished run found
// here has lost the process that ran it.
//
// # Errors
//
// An error wrapping store.ErrLocked means another wasmorch process has the instance open.
func Open(ctx context.Context, home string, opts ...Option) (*Instance, error) {
	o := options{ioManagers: map[string]iomanager.IOManager{}}
	for _, opt := range opts {
		opt(&o)
	}
	abs, err := filepath.Abs(home)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("create instance directory: %w", err)
	}
	inst := &Instance{home: abs, opts: o, ioms: map[string]iomanager.IOManager{}, runtimes: map[wruntime.Config]*wruntime.Runtime{}, launched: map[string]*Launched{}, kv: resources.NewMemoryKV()}
	switch {
	case o.store != nil:
		inst.store = o.store
	case o.inMemory:
		inst.store, err = badgerstore.Open("", badgerstore.WithInMemory())
	default:
		inst.store, err = badgerstore.Open(filepath.Join(abs, "db"))
	}
	if skv, ok := inst.store.(store.KV); ok && err == nil {
		inst.kv = storeKV{skv}
	}
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, fmt.Errorf("instance %s is in use by another wasmorch process; wait for it to finish: %w", abs, err)
		}
		return nil, fmt.Errorf("open run store: %w", err)
	}
	fs, err := iomanager.NewFileSystem(filepath.Join(abs, "storage"))
	if err != nil {
		inst.store.Close()
		return nil, err
	}
	inst.ioms[iomanager.FS] = fs
	inst.ioms[iomanager.Memory] = iomanager.NewInMemory()
	for k, m := range o.ioManagers {
		inst.ioms[k] = m
	}
	if o.worker {
		return inst, nil // the parent's runs are live: recovering them would fail them
	}
	if err := inst.recoverInterruptedRuns(ctx); err != nil {
		inst.store.Close()
		return nil, err
	}
	return inst, nil
}

// Home returns the instance directory.
func (i *Instance) Home() string { return i.home }

// Store returns the run store, for reading runs, events and materializations.
func (i *Instance) Store() store.Store { return i.store }

// StorageDir returns where the filesystem IO manager keeps asset values.
func (i *Instance) StorageDir() string { return filepath.Join(i.home, "storage") }

// Close stops the runs this instance launched (they end CANCELED), releases the runtime and
// closes the store. It is safe to call more than once.
func (i *Instance) Close() error {
	i.mu.Lock()
	if i.closed {
		i.mu.Unlock()
		return nil
	}
	i.closed = true // Launch refuses from here on
	i.mu.Unlock()
	i.stopLaunched()
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, rt := range i.runtimes {
		rt.Close(context.Background())
	}
	return i.store.Close()
}

// interruptedMessage is the failure recorded for a run whose process died.
const interruptedMessage = "the process running this run stopped before the run finished (crash, kill or power loss); found when the instance was opened again"

func (i *Instance) recoverInterruptedRuns(ctx context.Context) error {
	runs, err := i.store.Runs(ctx, store.RunFilter{Statuses: []store.RunStatus{store.RunStarted, store.RunNotStarted}})
	if err != nil {
		return fmt.Errorf("look for interrupted runs: %w", err)
	}
	ids := make([]string, 0, len(runs))
	for _, r := range runs {
		_, err := i.store.AppendEvents(ctx, r.ID, store.Event{Type: store.EventRunFailure, Time: time.Now(), Error: interruptedMessage, Message: "run interrupted"})
		if err != nil && !errors.Is(err, store.ErrRunFinished) {
			return fmt.Errorf("mark interrupted run %s failed: %w", r.ID, err)
		}
		ids = append(ids, r.ID)
	}
	return i.removeTemporaryFiles(ids...)
}

// removeTemporaryFiles deletes what the filesystem IO manager's cut-short writes of dead runs
// left behind. The storage is walked only when a run died, never on a clean start.
func (i *Instance) removeTemporaryFiles(runIDs ...string) error {
	fs, ok := i.ioms[iomanager.FS].(*iomanager.FileSystem)
	if !ok || len(runIDs) == 0 {
		return nil
	}
	_, err := fs.RemoveTemporaryFiles(runIDs...)
	return err
}

// runtimeFor returns the runtime for a set of limits, creating it on first use. The memory limit
// is a property of a wazero runtime, so workspaces with different limits get different runtimes.
func (i *Instance) runtimeFor(ctx context.Context, limits workspace.Limits) (*wruntime.Runtime, error) {
	cfg := wruntime.Config{
		CacheDir:         filepath.Join(i.home, "cache"),
		StepTimeout:      pick(i.opts.limits.StepTimeout, limits.StepTimeout),
		MemoryLimitBytes: pick(i.opts.limits.MemoryBytes, limits.MemoryBytes),
		MaxOutputBytes:   pick(i.opts.limits.MaxOutputBytes, limits.MaxOutputBytes),
		MaxModuleBytes:   pick(i.opts.limits.MaxModuleBytes, limits.MaxModuleBytes),
	}
	if d := os.Getenv(CacheDirEnv); d != "" {
		cfg.CacheDir = d
	}
	if i.opts.cacheDir != nil {
		cfg.CacheDir = *i.opts.cacheDir
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return nil, errors.New("instance is closed")
	}
	if rt, ok := i.runtimes[cfg]; ok {
		return rt, nil
	}
	rt, err := wruntime.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	i.runtimes[cfg] = rt
	return rt, nil
}

func pick[T comparable](first, second T) T {
	var zero T
	if first != zero {
		return first
	}
	return second
}

func (i *Instance) concurrency(ws *Workspace) int {
	if i.opts.concurrency > 0 {
		return i.opts.concurrency
	}
	if ws.file.Concurrency > 0 {
		return ws.file.Concurrency
	}
	return runtime.NumCPU()
}

// storeKV serves kv resources from the store.
type storeKV struct{ kv store.KV }

func (s storeKV) Get(ctx context.Context, ns, key string) ([]byte, bool, error) {
	return s.kv.KVGet(ctx, ns, key)
}

func (s storeKV) Put(ctx context.Context, ns, key string, value []byte) error {
	return s.kv.KVPut(ctx, ns, key, value)
}

func (s storeKV) Delete(ctx context.Context, ns, key string) error {
	return s.kv.KVDelete(ctx, ns, key)
}

func (s storeKV) List(ctx context.Context, ns, prefix string, limit int) ([]string, error) {
	return s.kv.KVList(ctx, ns, prefix, limit)
}
