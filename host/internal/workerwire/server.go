package workerwire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/wasmorch/wasmorch/host/store"
)

// Server is the parent's end of one worker's pipes: it sends the launch and stop messages and
// answers the worker's store calls from the parent's store.
type Server struct {
	store store.Store
	runID string
	// OnAppend is called with the events of every successful AppendEvents, in order.
	onAppend func([]store.Event)

	encMu sync.Mutex
	enc   *json.Encoder
}

// NewServer answers calls for the worker executing run runID; the worker may append events to
// that run only, and create no run. An empty runID lifts both rules (for tests that run the
// store suite through the pipe). onAppend may be nil.
func NewServer(s store.Store, runID string, toWorker io.Writer, onAppend func([]store.Event)) *Server {
	return &Server{store: s, runID: runID, onAppend: onAppend, enc: json.NewEncoder(toWorker)}
}

func (s *Server) send(m Msg) error {
	s.encMu.Lock()
	defer s.encMu.Unlock()
	return s.enc.Encode(m)
}

// Launch sends the run to execute.
func (s *Server) Launch(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.send(Msg{Kind: KindLaunch, Body: b})
}

// Stop asks the worker to end its run.
func (s *Server) Stop(st Stop) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.send(Msg{Kind: KindStop, Body: b})
}

// Serve answers the worker's calls, one at a time and in the order they arrive, until the
// worker's pipe ends (io.EOF is returned as nil) or a message breaks the protocol.
func (s *Server) Serve(fromWorker io.Reader) error {
	dec := json.NewDecoder(fromWorker)
	for {
		var m Msg
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("run worker protocol: %w", err)
		}
		if m.Kind != KindCall {
			return fmt.Errorf("run worker protocol: unexpected message kind %q", m.Kind)
		}
		body, err := s.handle(m.Method, m.Body)
		reply := Msg{Kind: KindReply, ID: m.ID, Body: body, Err: wrapError(err)}
		if err := s.send(reply); err != nil {
			return fmt.Errorf("run worker protocol: reply: %w", err)
		}
	}
}

// handle runs one call. Calls run without a deadline: the worker waits for every answer.
func (s *Server) handle(method string, args json.RawMessage) (json.RawMessage, error) {
	ctx := context.Background()
	decode := func(v any) error {
		if err := json.Unmarshal(args, v); err != nil {
			return fmt.Errorf("%s: decode arguments: %w", method, err)
		}
		return nil
	}
	var result any
	var err error
	switch method {
	case "CreateRun":
		if s.runID != "" { // the parent creates the run before it starts the worker
			return nil, fmt.Errorf("CreateRun: a run worker executes run %s and creates no runs", s.runID)
		}
		var r store.Run
		if err = decode(&r); err == nil {
			err = s.store.CreateRun(ctx, r)
		}
	case "Run":
		var a runArgs
		if err = decode(&a); err == nil {
			result, err = s.store.Run(ctx, a.ID)
		}
	case "Runs":
		var a runsArgs
		if err = decode(&a); err == nil {
			result, err = s.store.Runs(ctx, a.Filter)
		}
	case "AppendEvents":
		var a appendArgs
		if err = decode(&a); err != nil {
			break
		}
		if s.runID != "" && a.RunID != s.runID {
			return nil, fmt.Errorf("AppendEvents: a run worker executing run %s may not append to run %s", s.runID, a.RunID)
		}
		var stored []store.Event
		stored, err = s.store.AppendEvents(ctx, a.RunID, a.Events...)
		if err == nil && s.onAppend != nil {
			s.onAppend(stored)
		}
		result = stored
	case "Events":
		var a eventsArgs
		if err = decode(&a); err == nil {
			result, err = s.store.Events(ctx, a.RunID, a.AfterID, a.Limit)
		}
	case "AssetKeys":
		result, err = s.store.AssetKeys(ctx)
	case "Materializations":
		var a assetArgs
		if err = decode(&a); err == nil {
			result, err = s.store.Materializations(ctx, a.AssetKey, a.Limit)
		}
	case "LatestMaterializations":
		var a keysArgs
		if err = decode(&a); err == nil {
			result, err = s.store.LatestMaterializations(ctx, a.AssetKeys...)
		}
	case "CheckEvaluations":
		var a assetArgs
		if err = decode(&a); err == nil {
			result, err = s.store.CheckEvaluations(ctx, a.AssetKey, a.Limit)
		}
	case "KVGet", "KVPut", "KVDelete", "KVList":
		result, err = s.handleKV(ctx, method, decode)
	case "PartitionStatuses", "PartitionStatusesOf", "PartitionCounts", "DynamicPartitions", "Backfill", "Backfills",
		"AddDynamicPartitions", "DeleteDynamicPartitions":
		result, err = s.handlePartitions(ctx, method, decode)
	case "CreateBackfill", "SetBackfillStatus":
		result, err = s.handleBackfillWrites(ctx, method, decode)
	default:
		return nil, fmt.Errorf("unknown store method %q", method)
	}
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("%s: encode results: %w", method, err)
	}
	return b, nil
}

func (s *Server) handleKV(ctx context.Context, method string, decode func(any) error) (any, error) {
	kv, ok := s.store.(store.KV)
	if !ok {
		return nil, fmt.Errorf("%s: the store (%T) keeps no kv data", method, s.store)
	}
	var a kvArgs
	if err := decode(&a); err != nil {
		return nil, err
	}
	switch method {
	case "KVGet":
		v, found, err := kv.KVGet(ctx, a.Namespace, a.Key)
		return kvGetResult{Value: v, Found: found}, err
	case "KVPut":
		return nil, kv.KVPut(ctx, a.Namespace, a.Key, a.Value)
	case "KVDelete":
		return nil, kv.KVDelete(ctx, a.Namespace, a.Key)
	default:
		return kv.KVList(ctx, a.Namespace, a.Prefix, a.Limit)
	}
}
