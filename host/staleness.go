package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNothingStale is returned by Materialize when a stale: selection matches only up-to-date
// assets, so there is nothing to run.
var ErrNothingStale = errors.New("nothing to materialize: every selected asset is up to date")

// Freshness describes whether an asset's stored value reflects its current code and upstreams.
type Freshness struct {
	// Status is "fresh", "stale" or "missing" (never materialized).
	Status string
	// Reasons say why an asset is stale or missing, most direct cause first.
	Reasons []string
}

// Staleness reports, for every asset of the workspace, whether it is stale:
//   - its code version (module digest, or the declared code_version) differs from the one that
//     produced its latest materialization;
//   - an upstream asset was materialized after it;
//   - an upstream asset is stale or missing (staleness flows downstream).
func (i *Instance) Staleness(ctx context.Context, ws *Workspace) (map[string]Freshness, error) {
	keys := ws.graph.TopoSort(ws.graph.Keys())
	latest, err := i.store.LatestMaterializations(ctx, keys...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Freshness, len(keys))
	for _, k := range keys {
		a := ws.assets[k]
		ev, ok := latest[k]
		if !ok || ev.Materialization == nil {
			out[k] = Freshness{Status: "missing", Reasons: []string{"never materialized"}}
			continue
		}
		var reasons []string
		if got, want := ev.Materialization.CodeVersion, a.codeVersion(); got != want {
			reasons = append(reasons, fmt.Sprintf("code version changed (%s -> %s)", short(got), short(want)))
		}
		for _, up := range ws.graph.Upstream(k) {
			upEv, upOK := latest[up]
			switch {
			case out[up].Status == "missing":
				reasons = append(reasons, fmt.Sprintf("upstream %s was never materialized", up))
			case upOK && upEv.ID > ev.ID:
				reasons = append(reasons, fmt.Sprintf("upstream %s was materialized after it", up))
			case out[up].Status == "stale":
				reasons = append(reasons, fmt.Sprintf("upstream %s is stale", up))
			}
		}
		status := "fresh"
		if len(reasons) > 0 {
			status = "stale"
		}
		out[k] = Freshness{Status: status, Reasons: reasons}
	}
	return out, nil
}

func short(version string) string {
	if v, ok := strings.CutPrefix(version, "sha256:"); ok && len(v) > 12 {
		return "sha256:" + v[:12]
	}
	return version
}

// resolveSelection is Workspace.Select plus stale: clauses, which need the store. "stale:" alone
// selects every stale or missing asset; "stale:EXPR" those within the selection EXPR.
func (i *Instance) resolveSelection(ctx context.Context, ws *Workspace, selection string) ([]string, error) {
	var plain []string
	var staleExprs []string
	for _, clause := range strings.Split(selection, ",") {
		c := strings.TrimSpace(clause)
		if rest, ok := strings.CutPrefix(c, "stale:"); ok {
			if rest == "" {
				rest = "*"
			}
			staleExprs = append(staleExprs, rest)
			continue
		}
		plain = append(plain, clause)
	}
	if len(staleExprs) == 0 {
		return ws.Select(selection)
	}
	chosen := map[string]bool{}
	if len(plain) > 0 {
		keys, err := ws.Select(strings.Join(plain, ","))
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			chosen[k] = true
		}
	}
	fresh, err := i.Staleness(ctx, ws)
	if err != nil {
		return nil, err
	}
	for _, expr := range staleExprs {
		keys, err := ws.Select(expr)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if fresh[k].Status != "fresh" {
				chosen[k] = true
			}
		}
	}
	if len(chosen) == 0 {
		return nil, fmt.Errorf("selection %q: %w", selection, ErrNothingStale)
	}
	var keys []string
	for k := range chosen {
		keys = append(keys, k)
	}
	return ws.graph.TopoSort(keys), nil
}
