// Package crashpoint kills the process at named points in the host, so that crash-recovery tests
// can stop a real wasmorch process exactly where a power cut or an OOM kill might.
//
// A point is armed by the environment variable WASMORCH_CRASH_AT, read once at start-up:
// WASMORCH_CRASH_AT=NAME kills the process with SIGKILL the first time Hit(NAME) runs, and
// WASMORCH_CRASH_AT=NAME:N the N-th time. Unarmed, Hit costs one string comparison. Nothing
// outside tests should set the variable.
package crashpoint

import (
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// The points the host defines, in the order a run reaches them.
const (
	// RunCreated: the run is stored (NOT_STARTED) and RUN_START is not yet written.
	RunCreated = "run-created"
	// StepStarted: a step's STEP_START is stored and its guest has not run.
	StepStarted = "step-started"
	// OutputMidWrite: the filesystem IO manager has written part of a value to its temporary
	// file, before the file is complete, synced and renamed into place.
	OutputMidWrite = "output-mid-write"
	// Materialized: an ASSET_MATERIALIZATION event is stored. An asset without checks stores
	// its STEP_SUCCESS in the same transaction, so that is stored too; an asset with checks has
	// not run them, and its STEP_SUCCESS is not stored.
	Materialized = "materialized"
	// BeforeRunSuccess: every step finished and RUN_SUCCESS is not yet written.
	BeforeRunSuccess = "before-run-success"
)

// Env is the environment variable that arms a point.
const Env = "WASMORCH_CRASH_AT"

var (
	armed string
	nth   int64 = 1
	hits  atomic.Int64
)

func init() {
	armed = os.Getenv(Env)
	if name, n, ok := strings.Cut(armed, ":"); ok {
		armed = name
		if v, err := strconv.ParseInt(n, 10, 64); err == nil && v > 0 {
			nth = v
		}
	}
}

// Armed reports whether name is the armed point.
func Armed(name string) bool { return armed != "" && armed == name }

// Hit kills the process with SIGKILL if name is armed and this is the armed hit.
func Hit(name string) {
	if armed == "" || armed != name {
		return
	}
	if hits.Add(1) == nth {
		kill()
	}
}

func kill() {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL is delivered asynchronously; never run another line
}

// WriteSeeker returns w unchanged unless name is armed; armed, the first Write writes half of its
// bytes to w and then counts as a Hit of name (the process dies there when it is the armed hit).
func WriteSeeker(w io.WriteSeeker, name string) io.WriteSeeker {
	if !Armed(name) {
		return w
	}
	return &halfWriter{WriteSeeker: w, name: name}
}

type halfWriter struct {
	io.WriteSeeker
	name string
}

func (h *halfWriter) Write(p []byte) (int, error) {
	if len(p) < 2 {
		return h.WriteSeeker.Write(p)
	}
	n, err := h.WriteSeeker.Write(p[:len(p)/2])
	if err != nil {
		return n, err
	}
	if f, ok := h.WriteSeeker.(interface{ Sync() error }); ok {
		f.Sync() // the half is on disk, as a kill mid-write could leave it
	}
	Hit(h.name)
	m, err := h.WriteSeeker.Write(p[len(p)/2:])
	return n + m, err
}
