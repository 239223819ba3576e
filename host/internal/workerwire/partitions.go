package workerwire

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/wasmorch/wasmorch/host/store"
)

// partitionArgs are the arguments of the partition and backfill methods.
type partitionArgs struct {
	AssetKey string   `json:"asset_key,omitempty"`
	After    string   `json:"after,omitempty"`
	Limit    int      `json:"limit,omitempty"`
	Keys     []string `json:"keys,omitempty"`
	Name     string   `json:"name,omitempty"`
	ID       string   `json:"id,omitempty"`
}

// PartitionStatuses implements store.Store.
func (c *Client) PartitionStatuses(ctx context.Context, assetKey, afterKey string, limit int) ([]store.PartitionStatus, error) {
	var out []store.PartitionStatus
	err := c.call(ctx, "PartitionStatuses", partitionArgs{AssetKey: assetKey, After: afterKey, Limit: limit}, &out)
	return out, err
}

// PartitionStatusesOf implements store.Store.
func (c *Client) PartitionStatusesOf(ctx context.Context, assetKey string, keys ...string) (map[string]store.PartitionStatus, error) {
	out := map[string]store.PartitionStatus{}
	err := c.call(ctx, "PartitionStatusesOf", partitionArgs{AssetKey: assetKey, Keys: keys}, &out)
	return out, err
}

// PartitionCounts implements store.Store.
func (c *Client) PartitionCounts(ctx context.Context, assetKey string) (store.PartitionCounts, error) {
	var out store.PartitionCounts
	err := c.call(ctx, "PartitionCounts", partitionArgs{AssetKey: assetKey}, &out)
	return out, err
}

// DynamicPartitions implements store.Store.
func (c *Client) DynamicPartitions(ctx context.Context, name string) ([]string, error) {
	var out []string
	err := c.call(ctx, "DynamicPartitions", partitionArgs{Name: name}, &out)
	return out, err
}

// Backfill implements store.Store.
func (c *Client) Backfill(ctx context.Context, id string) (store.Backfill, error) {
	var out store.Backfill
	err := c.call(ctx, "Backfill", partitionArgs{ID: id}, &out)
	return out, err
}

// Backfills implements store.Store.
func (c *Client) Backfills(ctx context.Context, limit int) ([]store.Backfill, error) {
	var out []store.Backfill
	err := c.call(ctx, "Backfills", partitionArgs{Limit: limit}, &out)
	return out, err
}

// AddDynamicPartitions implements store.Store.
func (c *Client) AddDynamicPartitions(ctx context.Context, name string, keys ...string) ([]string, error) {
	if err := validUTF8("dynamic partition", append([]string{name}, keys...)...); err != nil {
		return nil, err
	}
	var out []string
	err := c.call(ctx, "AddDynamicPartitions", partitionArgs{Name: name, Keys: keys}, &out)
	return out, err
}

// DeleteDynamicPartitions implements store.Store.
func (c *Client) DeleteDynamicPartitions(ctx context.Context, name string, keys ...string) error {
	if err := validUTF8("dynamic partition", append([]string{name}, keys...)...); err != nil {
		return err
	}
	return c.call(ctx, "DeleteDynamicPartitions", partitionArgs{Name: name, Keys: keys}, nil)
}

// CreateBackfill implements store.Store.
func (c *Client) CreateBackfill(ctx context.Context, b store.Backfill) error {
	if err := validUTF8("backfill", append([]string{b.ID}, b.PartitionKeys...)...); err != nil {
		return err
	}
	return c.call(ctx, "CreateBackfill", b, nil)
}

// SetBackfillStatus implements store.Store.
func (c *Client) SetBackfillStatus(ctx context.Context, id string, status store.BackfillStatus, errMsg string) (store.Backfill, error) {
	var out store.Backfill
	err := c.call(ctx, "SetBackfillStatus", backfillStatusArgs{ID: id, Status: status, Error: errMsg}, &out)
	return out, err
}

type backfillStatusArgs struct {
	ID     string               `json:"id"`
	Status store.BackfillStatus `json:"status"`
	Error  string               `json:"error,omitempty"`
}

// validUTF8 refuses what JSON would silently change on the way to the parent (invalid UTF-8
// becomes U+FFFD), so that the store refuses it here as it would there.
func validUTF8(what string, ss ...string) error {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return fmt.Errorf("workerwire: %s key %q is not valid UTF-8", what, s)
		}
	}
	return nil
}

// eventsUTF8 checks the keys AppendEvents stores in its indexes.
func eventsUTF8(events []store.Event) error {
	for i, ev := range events {
		var keys []string
		if m := ev.Materialization; m != nil {
			keys = append(keys, m.AssetKey, m.PartitionKey)
		}
		if p := ev.Planned; p != nil {
			keys = append(append(keys, p.AssetKey), p.PartitionKeys...)
		}
		if c := ev.CheckEvaluation; c != nil {
			keys = append(keys, c.AssetKey)
		}
		if err := validUTF8("asset or partition", keys...); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}

// handlePartitions serves the read-only partition and backfill methods.
func (s *Server) handlePartitions(ctx context.Context, method string, decode func(any) error) (any, error) {
	var a partitionArgs
	if err := decode(&a); err != nil {
		return nil, err
	}
	switch method {
	case "PartitionStatuses":
		return s.store.PartitionStatuses(ctx, a.AssetKey, a.After, a.Limit)
	case "PartitionStatusesOf":
		return s.store.PartitionStatusesOf(ctx, a.AssetKey, a.Keys...)
	case "PartitionCounts":
		return s.store.PartitionCounts(ctx, a.AssetKey)
	case "DynamicPartitions":
		return s.store.DynamicPartitions(ctx, a.Name)
	case "Backfill":
		return s.store.Backfill(ctx, a.ID)
	case "Backfills":
		return s.store.Backfills(ctx, a.Limit)
	}
	// A run worker executes one run; it changes no backfills or dynamic partitions.
	if s.runID != "" {
		return nil, fmt.Errorf("%s: a run worker executing run %s may not change backfills or dynamic partitions", method, s.runID)
	}
	switch method {
	case "AddDynamicPartitions":
		return s.store.AddDynamicPartitions(ctx, a.Name, a.Keys...)
	default:
		return nil, s.store.DeleteDynamicPartitions(ctx, a.Name, a.Keys...)
	}
}

// handleBackfillWrites serves CreateBackfill and SetBackfillStatus, which a run worker may not call.
func (s *Server) handleBackfillWrites(ctx context.Context, method string, decode func(any) error) (any, error) {
	if s.runID != "" {
		return nil, fmt.Errorf("%s: a run worker executing run %s may not change backfills", method, s.runID)
	}
	if method == "CreateBackfill" {
		var b store.Backfill
		if err := decode(&b); err != nil {
			return nil, err
		}
		return nil, s.store.CreateBackfill(ctx, b)
	}
	var a backfillStatusArgs
	if err := decode(&a); err != nil {
		return nil, err
	}
	return s.store.SetBackfillStatus(ctx, a.ID, a.Status, a.Error)
}
