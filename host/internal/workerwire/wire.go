// Package workerwire is the protocol between a wasmorch host and a run worker it started: the
// parent sends the run to execute, serves its store to the worker (Badger admits one process, so
// the worker reads and appends run state through its parent) and may ask the worker to stop.
//
// Each direction is a stream of JSON values, one Msg each, on a pipe of its own: the parent
// writes to the worker's file descriptor 3 and reads from its descriptor 4, so that nothing the
// worker prints to stdout or stderr can corrupt the protocol. Calls carry an ID and are answered
// in any order; the worker may have several calls in flight.
package workerwire

import (
	"encoding/json"
	"errors"

	"github.com/wasmorch/wasmorch/host/store"
)

// Message kinds.
const (
	// KindLaunch is the parent's first message: Body is the run to execute.
	KindLaunch = "launch"
	// KindCall is a store call from the worker: Method and Body (the arguments).
	KindCall = "call"
	// KindReply answers the call with the same ID: Body (the results) or Err.
	KindReply = "reply"
	// KindStop asks the worker to end its run: Body is a Stop.
	KindStop = "stop"
)

// Msg is one message in either direction.
type Msg struct {
	Kind   string          `json:"k"`
	ID     uint64          `json:"id,omitempty"`
	Method string          `json:"m,omitempty"`
	Body   json.RawMessage `json:"b,omitempty"`
	Err    *Error          `json:"e,omitempty"`
}

// Stop is the body of a KindStop message.
type Stop struct {
	// Reason is recorded as the run's end.
	Reason string `json:"reason"`
	// Timeout says the run exceeded its run timeout (it then fails rather than being canceled).
	Timeout bool `json:"timeout,omitempty"`
}

// Error carries a store error across the pipe; Sentinel names the store sentinel it wraps, so
// that errors.Is works on the worker's side as it does on the parent's.
type Error struct {
	Sentinel string `json:"sentinel,omitempty"`
	Message  string `json:"message"`
}

var sentinels = map[string]error{
	"run_not_found":      store.ErrRunNotFound,
	"run_exists":         store.ErrRunExists,
	"run_finished":       store.ErrRunFinished,
	"invalid_transition": store.ErrInvalidTransition,
	"closed":             store.ErrClosed,
	"locked":             store.ErrLocked,
	"backfill_not_found": store.ErrBackfillNotFound,
	"backfill_exists":    store.ErrBackfillExists,
}

// wrapError turns an error into its wire form.
func wrapError(err error) *Error {
	if err == nil {
		return nil
	}
	e := &Error{Message: err.Error()}
	for name, s := range sentinels {
		if errors.Is(err, s) {
			e.Sentinel = name
			break
		}
	}
	return e
}

// remoteError is a store error the parent returned: its text, wrapping the same sentinel.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

// Unwire turns a wire error back into an error.
func (e *Error) unwire() error {
	if e == nil {
		return nil
	}
	return &remoteError{msg: e.Message, sentinel: sentinels[e.Sentinel]}
}

// The arguments and results of each store method on the wire.
type (
	runArgs struct {
		ID string `json:"id"`
	}
	runsArgs struct {
		Filter store.RunFilter `json:"filter"`
	}
	appendArgs struct {
		RunID  string        `json:"run_id"`
		Events []store.Event `json:"events"`
	}
	eventsArgs struct {
		RunID   string `json:"run_id"`
		AfterID int64  `json:"after_id"`
		Limit   int    `json:"limit"`
	}
	assetArgs struct {
		AssetKey string `json:"asset_key"`
		Limit    int    `json:"limit"`
	}
	keysArgs struct {
		AssetKeys []string `json:"asset_keys"`
	}
	kvArgs struct {
		Namespace string `json:"ns"`
		Key       string `json:"key,omitempty"`
		Value     []byte `json:"value,omitempty"`
		Prefix    string `json:"prefix,omitempty"`
		Limit     int    `json:"limit,omitempty"`
	}
	kvGetResult struct {
		Value []byte `json:"value,omitempty"`
		Found bool   `json:"found"`
	}
)
