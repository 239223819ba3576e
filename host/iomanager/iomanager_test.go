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
