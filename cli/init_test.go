package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// TestInitEveryLanguage scaffolds a project per language, runs its unit test and its build the
// way the scaffold tells the user to, and materializes the result.
func TestInitEveryLanguage(t *testing.T) {
	root := guesttest.Root(t)
	guesttest.Path(t, "orders/go/orders.wasm") // make sure the toolchains are installed
	for _, lang := range availableLangs() {
		t.Run(lang, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "Word-Counts")
			code, out, errOut := run(t, "init", "--lang", lang, "--sdk-root", root, dir)
			if code != 0 {
				t.Fatalf("init exit %d: %s %s", code, out, errOut)
			}
			if !strings.Contains(out, "make test && make build") {
				t.Errorf("init does not say what to do next:\n%s", out)
			}
			for _, target := range []string{"test", "build"} {
				cmd := exec.Command("make", "-s", target)
				cmd.Dir = dir
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("make %s in the %s scaffold: %v\n%s", target, lang, err, b)
				}
			}
			ctx := context.Background()
			inst, err := host.Open(ctx, t.TempDir(), host.WithCompilationCacheDir(guesttest.CacheDir(t)))
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close()
			ws, err := inst.LoadWorkspace(ctx, filepath.Join(dir, "wasmorch.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := inst.Materialize(ctx, ws, "*")
			if err != nil || !res.Success() {
				t.Fatalf("materialize the %s scaffold: %v %v", lang, err, res.Err())
			}
			v, err := inst.AssetValue(ctx, "words")
			if err != nil {
				t.Fatal(err)
			}
			defer v.Release()
			if v.Table == nil || v.Table.NumRows() != 3 {
				t.Fatalf("the %s scaffold's asset stored %+v, want a 3-row table", lang, v)
			}
		})
	}
}

func TestInitBadInput(t *testing.T) {
	root := guesttest.Root(t)
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "keep.txt"), []byte("mine"), 0o644)
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"unknown language": {[]string{"init", "--lang", "cobol", "--sdk-root", root, filepath.Join(t.TempDir(), "x")}, `--lang "cobol" is not supported (choose one of: `},
		"missing language": {[]string{"init", filepath.Join(t.TempDir(), "x")}, `required flag(s) "lang" not set`},
		"non-empty dir":    {[]string{"init", "--lang", "go", "--sdk-root", root, full}, "already exists and is not empty"},
		"bad name":         {[]string{"init", "--lang", "go", "--name", "Bad-Name", "--sdk-root", root, filepath.Join(t.TempDir(), "x")}, `project name "Bad-Name" is invalid`},
		"bad sdk root":     {[]string{"init", "--lang", "go", "--sdk-root", t.TempDir(), filepath.Join(t.TempDir(), "x")}, "is not a wasmorch source tree: sdk-go/go.mod is missing"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := run(t, c.args...)
			if code == 0 || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, stderr %q, want %q", code, errOut, c.want)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(full, "keep.txt")); string(b) != "mine" {
		t.Error("init touched a non-empty directory")
	}
}

func TestProjectName(t *testing.T) {
	for in, want := range map[string]string{"Word-Counts": "word_counts", "orders": "orders", "2fast": "module_2fast", "--": "module_"} {
		if got := projectName(in); got != want {
			t.Errorf("projectName(%q) = %q, want %q", in, got, want)
		}
	}
}
