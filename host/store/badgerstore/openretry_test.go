package badgerstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host/store"
)

// TestOpenAfterKillDuringLogCreate is the state TestBankCrash found: a process killed between
// creating a Badger log file and sizing it leaves a file of zero bytes, and Badger's Open refused
// the directory ("Create a new file", badger issue 2207). Open must accept it and lose nothing.
func TestOpenAfterKillDuringLogCreate(t *testing.T) {
	for _, ext := range []string{".mem", ".vlog"} {
		t.Run(ext, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CreateRun(ctx, store.Run{ID: run1, JobName: "etl"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AppendEvents(ctx, run1, store.Event{Type: store.EventRunStart}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// The next log file Badger would create, as a kill leaves it: created, not sized.
			names, err := filepath.Glob(filepath.Join(dir, "*"+ext))
			if err != nil {
				t.Fatal(err)
			}
			next := 1
			for _, n := range names {
				fid, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(n), ext))
				if err != nil {
					t.Fatalf("log file %s: %v", n, err)
				}
				next = max(next, fid+1)
			}
			width := map[string]int{".mem": 5, ".vlog": 6}[ext] // Badger's file names
			empty := filepath.Join(dir, fmt.Sprintf("%0*d%s", width, next, ext))
			if err := os.WriteFile(empty, nil, 0o644); err != nil {
				t.Fatal(err)
			}

			s = openTest(t, dir)
			run, err := s.Run(ctx, run1)
			if err != nil || run.Status != store.RunStarted {
				t.Fatalf("run after reopen: %+v, %v", run, err)
			}
			evs, err := s.AppendEvents(ctx, run1, store.Event{Type: store.EventRunSuccess})
			if err != nil || evs[0].ID != 2 {
				t.Fatalf("append after reopen: %+v, %v", evs, err)
			}
		})
	}
}
