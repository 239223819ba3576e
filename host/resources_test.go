package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// TestFilesResource: a granted files resource lets a step read inside its root and nowhere
// else; an asset whose resource is not granted fails before a run exists.
func TestFilesResource(t *testing.T) {
	ctx := context.Background()
	landing := t.TempDir()
	os.WriteFile(filepath.Join(landing, "hello.txt"), []byte("hello from the landing zone"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(landing, "passwd"))
	faults := guesttest.Path(t, "guests/go/faults/faults.wasm")
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"faults": faults},
		"resources:\n  landing: {kind: files, root: "+landing+", mode: read}\n"))

	res := materialize(t, inst, ws, "reads_landing")
	if !res.Success() {
		t.Fatal(res.Err())
	}
	v, _ := inst.AssetValue(ctx, "reads_landing")
	if strings.TrimSpace(string(v.Data)) != `"hello from the landing zone"` {
		t.Errorf("value %s", v.Data)
	}
	for path, want := range map[string]string{
		"../" + filepath.Base(landing) + "/../x": "leaves the granted directory",
		"passwd":                                 "resource \"landing\" (files)",
		"/etc/passwd":                            "resource \"landing\" (files)",
	} {
		res := materialize(t, inst, ws, "reads_landing", host.WithRunConfig([]byte(`{"ops": {"reads_landing": {"config": {"path": "`+path+`"}}}}`)))
		msg := stepError(t, res, "reads_landing")
		if !strings.Contains(msg, "ERR_DENIED") || !strings.Contains(msg, want) {
			t.Errorf("path %q: error %q, want ERR_DENIED and %q", path, msg, want)
		}
	}

	ungranted := openInstance(t)
	ws2 := loadWorkspace(t, ungranted, writeWorkspace(t, map[string]string{"faults": faults}, ""))
	_, err := ungranted.Materialize(ctx, ws2, "reads_landing")
	if !errors.Is(err, host.ErrMissingGrant) || !strings.Contains(err.Error(), `"reads_landing"`) || !strings.Contains(err.Error(), `"landing"`) {
		t.Errorf("ungranted: %v", err)
	}
	if runs, _ := ungranted.Store().Runs(ctx, store.RunFilter{}); len(runs) != 0 {
		t.Error("a run was created despite the missing grant")
	}
}

func TestResourceConfigErrors(t *testing.T) {
	faults := guesttest.Path(t, "guests/go/faults/faults.wasm")
	inst := openInstance(t)
	for yaml, want := range map[string]string{
		"resources:\n  x: {kind: ftp}\n":                             `resources.x.kind "ftp" is not env, files, http or kv`,
		"resources:\n  x: {kind: files, allow: [a]}\n":               `field "allow" does not belong to kind files`,
		"resources:\n  x: {kind: http, allow: [a], timeout: soon}\n": `resources.x.timeout "soon" is not a positive duration`,
		"resources:\n  x: {root: /tmp}\n":                            "resources.x has no kind",
	} {
		_, err := inst.LoadWorkspace(context.Background(), writeWorkspace(t, map[string]string{"faults": faults}, yaml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", yaml, err, want)
		}
	}
}
