package iomanager_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/iomanager"
	"github.com/wasmorch/wasmorch/host/iomanager/iomanagertest"
)

func TestFileSystem(t *testing.T) {
	iomanagertest.Run(t, func(t *testing.T) iomanager.IOManager {
		m, err := iomanager.NewFileSystem(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}

func TestInMemory(t *testing.T) {
	iomanagertest.Run(t, func(t *testing.T) iomanager.IOManager { return iomanager.NewInMemory() })
}

func TestFileSystemLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	m, _ := iomanager.NewFileSystem(dir)
	loc, err := m.HandleOutput(context.Background(), iomanager.OutputContext{AssetKey: "a/b", RunID: "r1", Format: abi.FormatJSON},
		iomanager.Value{Format: abi.FormatJSON, Data: bytes.NewReader([]byte("1"))})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "a", "b", "r1.json"); loc != want {
		t.Fatalf("location = %s, want %s", loc, want)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "a", "b"))
	if len(entries) != 1 {
		t.Fatalf("storage holds %d files, want only the value", len(entries))
	}
}

func TestFileSystemRejectsEscapingKeys(t *testing.T) {
	m, _ := iomanager.NewFileSystem(t.TempDir())
	for _, out := range []iomanager.OutputContext{
		{AssetKey: "../x", RunID: "r"},
		{AssetKey: "a//b", RunID: "r"},
		{AssetKey: "a", RunID: "../r"},
		{AssetKey: "a", PartitionKey: "2026/01", RunID: "r"},
	} {
		out.Format = abi.FormatJSON
		_, err := m.HandleOutput(context.Background(), out, iomanager.Value{Format: abi.FormatJSON, Data: bytes.NewReader([]byte("1"))})
		if err == nil || !strings.Contains(err.Error(), "cannot be") {
			t.Errorf("%+v: err = %v, want a refusal", out, err)
		}
	}
	_, err := m.LoadInput(context.Background(), iomanager.InputContext{AssetKey: "a", Location: "/etc/passwd", Format: abi.FormatBytes})
	if err == nil || !strings.Contains(err.Error(), "outside the storage directory") {
		t.Errorf("loading outside root: err = %v", err)
	}
}

// TestRemoveTemporaryFiles: what a dead run's write left before its rename is removed; values,
// other files and other runs' temporary files are not.
func TestRemoveTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	m, _ := iomanager.NewFileSystem(dir)
	loc, err := m.HandleOutput(context.Background(), iomanager.OutputContext{AssetKey: "a/b", RunID: "r1", Format: abi.FormatJSON},
		iomanager.Value{Format: abi.FormatJSON, Data: bytes.NewReader([]byte("1"))})
	if err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, "a", "b", ".r2.json.8675309.tmp") // the name os.CreateTemp gives HandleOutput's file
	keep := []string{loc, filepath.Join(dir, "a", ".notes"), filepath.Join(dir, "a", "b", "plain.tmp"),
		filepath.Join(dir, "a", "b", ".r22.json.1.tmp")} // another run's, which may still be writing
	for _, p := range append(keep[1:], leftover) {
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := m.RemoveTemporaryFiles(); n != 0 || err != nil {
		t.Fatalf("RemoveTemporaryFiles of no run = %d, %v", n, err)
	}
	n, err := m.RemoveTemporaryFiles("r2")
	if err != nil || n != 1 {
		t.Fatalf("RemoveTemporaryFiles = %d, %v; want 1 removed", n, err)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover temporary file: %v", err)
	}
	for _, p := range keep {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
