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

// ErrParentGone is the error of calls made after the parent's pipe closed: the parent exited
// or was killed, and the worker should stop.
var ErrParentGone = errors.New("the wasmorch process that started this run worker is gone")

// Client is the worker's end: a store.Store and store.KV whose calls go to the parent, the run
// it was sent, and the stop request if one comes.
type Client struct {
	encMu sync.Mutex
	enc   *json.Encoder

	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan Msg
	gone    error // set when the parent's pipe ends
	closed  bool

	launch chan json.RawMessage
	stop   chan Stop
	done   chan struct{} // closed when the parent's pipe ends
}

var (
	_ store.Store = (*Client)(nil)
	_ store.KV    = (*Client)(nil)
)

// NewClient starts reading the parent's messages from fromParent; calls are written to toParent.
func NewClient(fromParent io.Reader, toParent io.Writer) *Client {
	c := &Client{enc: json.NewEncoder(toParent), pending: map[uint64]chan Msg{},
		launch: make(chan json.RawMessage, 1), stop: make(chan Stop, 1), done: make(chan struct{})}
	go c.read(json.NewDecoder(fromParent))
	return c
}

func (c *Client) read(dec *json.Decoder) {
	err := c.readLoop(dec)
	c.mu.Lock()
	c.gone = fmt.Errorf("%w (%v)", ErrParentGone, err)
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.mu.Unlock()
	close(c.done)
}

func (c *Client) readLoop(dec *json.Decoder) error {
	for {
		var m Msg
		if err := dec.Decode(&m); err != nil {
			return err
		}
		switch m.Kind {
		case KindLaunch:
			select {
			case c.launch <- m.Body:
			default:
				return errors.New("protocol error: a second launch message")
			}
		case KindStop:
			var s Stop
			if err := json.Unmarshal(m.Body, &s); err != nil {
				return fmt.Errorf("protocol error: stop message: %w", err)
			}
			select {
			case c.stop <- s:
			default: // one stop is enough
			}
		case KindReply:
			c.mu.Lock()
			ch := c.pending[m.ID]
			delete(c.pending, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		default:
			return fmt.Errorf("protocol error: unexpected message kind %q", m.Kind)
		}
	}
}

// Launch waits for the parent's launch message and decodes it into v.
func (c *Client) Launch(ctx context.Context, v any) error {
	select {
	case b := <-c.launch:
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("protocol error: launch message: %w", err)
		}
		return nil
	case <-c.done:
		return c.goneErr()
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Stopped delivers the parent's request to stop, at most once.
func (c *Client) Stopped() <-chan Stop { return c.stop }

// Gone is closed when the parent's pipe has ended.
func (c *Client) Gone() <-chan struct{} { return c.done }

func (c *Client) goneErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gone
}

// call sends one store call and decodes its results into result (nil: none expected).
func (c *Client) call(ctx context.Context, method string, args, result any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	body, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("%s: encode arguments: %w", method, err)
	}
	ch := make(chan Msg, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, store.ErrClosed)
	}
	if c.gone != nil {
		c.mu.Unlock()
		return c.gone
	}
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()

	c.encMu.Lock()
	err = c.enc.Encode(Msg{Kind: KindCall, ID: id, Method: method, Body: body})
	c.encMu.Unlock()
	if err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return fmt.Errorf("%w (writing %s: %v)", ErrParentGone, method, err)
	}
	// A call is not abandoned when ctx ends: the parent may already have applied it, and the
	// caller must learn whether it did. Replies come promptly; only the parent's death stops one.
	m, ok := <-ch
	if !ok {
		return c.goneErr()
	}
	if m.Err != nil {
		return m.Err.unwire()
	}
	if result != nil {
		if err := json.Unmarshal(m.Body, result); err != nil {
			return fmt.Errorf("%s: decode results: %w", method, err)
		}
	}
	return nil
}

// CreateRun implements store.Store.
func (c *Client) CreateRun(ctx context.Context, run store.Run) error {
	return c.call(ctx, "CreateRun", run, nil)
}

// Run implements store.Store.
func (c *Client) Run(ctx context.Context, id string) (store.Run, error) {
	var r store.Run
	err := c.call(ctx, "Run", runArgs{ID: id}, &r)
	return r, err
}

// Runs implements store.Store.
func (c *Client) Runs(ctx context.Context, filter store.RunFilter) ([]store.Run, error) {
	var rs []store.Run
	err := c.call(ctx, "Runs", runsArgs{Filter: filter}, &rs)
	return rs, err
}

// AppendEvents implements store.Store.
func (c *Client) AppendEvents(ctx context.Context, runID string, events ...store.Event) ([]store.Event, error) {
	if err := eventsUTF8(events); err != nil {
		return nil, err
	}
	var out []store.Event
	err := c.call(ctx, "AppendEvents", appendArgs{RunID: runID, Events: events}, &out)
	return out, err
}

// Events implements store.Store.
func (c *Client) Events(ctx context.Context, runID string, afterID int64, limit int) ([]store.Event, error) {
	var out []store.Event
	err := c.call(ctx, "Events", eventsArgs{RunID: runID, AfterID: afterID, Limit: limit}, &out)
	return out, err
}

// AssetKeys implements store.Store.
func (c *Client) AssetKeys(ctx context.Context) ([]string, error) {
	var out []string
	err := c.call(ctx, "AssetKeys", struct{}{}, &out)
	return out, err
}

// Materializations implements store.Store.
func (c *Client) Materializations(ctx context.Context, assetKey string, limit int) ([]store.Event, error) {
	var out []store.Event
	err := c.call(ctx, "Materializations", assetArgs{AssetKey: assetKey, Limit: limit}, &out)
	return out, err
}

// LatestMaterializations implements store.Store.
func (c *Client) LatestMaterializations(ctx context.Context, assetKeys ...string) (map[string]store.Event, error) {
	out := map[string]store.Event{}
	err := c.call(ctx, "LatestMaterializations", keysArgs{AssetKeys: assetKeys}, &out)
	return out, err
}

// CheckEvaluations implements store.Store.
func (c *Client) CheckEvaluations(ctx context.Context, assetKey string, limit int) ([]store.Event, error) {
	var out []store.Event
	err := c.call(ctx, "CheckEvaluations", assetArgs{AssetKey: assetKey, Limit: limit}, &out)
	return out, err
}

// KVGet implements store.KV.
func (c *Client) KVGet(ctx context.Context, namespace, key string) ([]byte, bool, error) {
	var r kvGetResult
	err := c.call(ctx, "KVGet", kvArgs{Namespace: namespace, Key: key}, &r)
	return r.Value, r.Found, err
}

// KVPut implements store.KV.
func (c *Client) KVPut(ctx context.Context, namespace, key string, value []byte) error {
	return c.call(ctx, "KVPut", kvArgs{Namespace: namespace, Key: key, Value: value}, nil)
}

// KVDelete implements store.KV.
func (c *Client) KVDelete(ctx context.Context, namespace, key string) error {
	return c.call(ctx, "KVDelete", kvArgs{Namespace: namespace, Key: key}, nil)
}

// KVList implements store.KV.
func (c *Client) KVList(ctx context.Context, namespace, prefix string, limit int) ([]string, error) {
	var out []string
	err := c.call(ctx, "KVList", kvArgs{Namespace: namespace, Prefix: prefix, Limit: limit}, &out)
	return out, err
}

// Close implements store.Store: later calls fail with store.ErrClosed. The parent owns the
// store; the worker only stops using it.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}
