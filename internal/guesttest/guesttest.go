// Package guesttest gives tests the paths of the guest modules built from testdata/, building them
// with `make guests` when they are missing or stale, so `go test ./...` works on a fresh checkout
// as well as under `make test`. Builds are serialized across test processes with flock.
package guesttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Root returns the repository root (the directory holding the root go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/wasmorch/wasmorch\n") {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("guesttest: no wasmorch repository root above %s", dir)
		}
	}
}

// Path returns the absolute path of a guest module under testdata/, e.g.
// "orders/go/orders.wasm", after making sure it is built and up to date (`make deps` and the
// module's own make target, so one broken guest does not stop tests of the others).
func Path(t testing.TB, rel string) string {
	t.Helper()
	root := Root(t)
	target := filepath.ToSlash(filepath.Join("testdata", rel))
	mu.Lock()
	b, ok := builds[target]
	if !ok {
		b = &build{}
		builds[target] = b
	}
	mu.Unlock()
	b.once.Do(func() {
		lock := filepath.Join(os.TempDir(), "wasmorch-guests.lock")
		cmd := exec.Command("flock", lock, "make", "-s", "-C", root, "deps", target)
		b.out, b.err = cmd.CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("guesttest: `make %s` failed: %v\n%s", target, b.err, b.out)
	}
	p := filepath.Join(root, target)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("guesttest: %s was not built by `make %s`: %v", p, target, err)
	}
	return p
}

type build struct {
	once sync.Once
	out  []byte
	err  error
}

var (
	mu     sync.Mutex
	builds = map[string]*build{}
)

// CacheDir returns a compilation cache directory shared by every test binary and kept between
// test runs ($WASMORCH_TEST_CACHE, or wasmorch-test-cache in the user cache directory). wazero keys
// its cache by module bytes and wazero version, so a stale entry is never used for a changed
// module; sharing it saves recompiling the 14 MB Go guests in every package.
func CacheDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("WASMORCH_TEST_CACHE"); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	d := filepath.Join(base, "wasmorch-test-cache")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}
