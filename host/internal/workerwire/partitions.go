package workerwire

import (
	"context"
	"fmt"

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

// A run worker executes one run: it reads partitions and backfills but changes neither.

// AddDynamicPartitions implements store.Store; a run worker may not call it.
func (c *Client) AddDynamicPartitions(context.Context, string, ...string) ([]string, error) {
	return nil, workerMayNot("add dynamic partitions")
}

// DeleteDynamicPartitions implements store.Store; a run worker may not call it.
func (c *Client) DeleteDynamicPartitions(context.Context, string, ...string) error {
	return workerMayNot("delete dynamic partitions")
}

// CreateBackfill implements store.Store; a run worker may not call it.
func (c *Client) CreateBackfill(context.Context, store.Backfill) error {
	return workerMayNot("create backfills")
}

// SetBackfillStatus implements store.Store; a run worker may not call it.
func (c *Client) SetBackfillStatus(context.Context, string, store.BackfillStatus, string) (store.Backfill, error) {
	return store.Backfill{}, workerMayNot("change backfills")
}

func workerMayNot(what string) error {
	return fmt.Errorf("a run worker executes one run and may not %s", what)
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
	default:
		return s.store.Backfills(ctx, a.Limit)
	}
}
