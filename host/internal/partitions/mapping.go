package partitions

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MappingType is the type of a partition mapping.
type MappingType string

// The partition mapping types of ABI 7.7.
const (
	Identity   MappingType = "identity"
	TimeWindow MappingType = "time_window"
	All        MappingType = "all"
	StaticMap  MappingType = "static"
	MultiMap   MappingType = "multi"
)

// A Mapping says which upstream partitions a downstream partition reads
// (ABI 7.7). A nil *Mapping means the default, see [DefaultMapping].
type Mapping struct {
	Type MappingType

	// StartOffset and EndOffset shift the start and the end of the upstream
	// windows of a time_window mapping by whole upstream periods.
	StartOffset, EndOffset int

	// Map maps downstream keys to upstream keys in a static mapping. In JSON a
	// value is one key or an array of keys.
	Map map[string][]string

	// Dimensions gives the mapping of each named dimension of a multi mapping.
	// Dimensions not named use their default mapping.
	Dimensions map[string]*Mapping
}

// String returns the mapping's type.
func (m *Mapping) String() string {
	if m == nil {
		return "default"
	}
	return string(m.Type)
}

// ParseMapping decodes and validates a partition mapping. Errors name the JSON
// path below "partition_mapping". An empty or null raw message gives a nil
// mapping (the default) and no error.
func ParseMapping(raw json.RawMessage) (*Mapping, error) {
	return ParseMappingAt("partition_mapping", raw)
}

// ParseMappingAt is ParseMapping with the JSON path of raw given, used to
// prefix error messages.
func ParseMappingAt(path string, raw json.RawMessage) (*Mapping, error) {
	t, ok := present(raw)
	if !ok {
		return nil, nil
	}
	return parseMapping(path, t, false)
}

func parseMapping(path string, raw json.RawMessage, inMulti bool) (*Mapping, error) {
	obj, typ, err := typedObject(path, raw)
	if err != nil {
		return nil, err
	}
	m := &Mapping{Type: MappingType(typ)}
	switch m.Type {
	case Identity, All:
		return m, allow(path, obj, typ+" mappings", "type")
	case TimeWindow:
		if err := allow(path, obj, "time_window mappings", "type", "start_offset", "end_offset"); err != nil {
			return nil, err
		}
		if err := field(path, obj, "start_offset", &m.StartOffset, "an integer"); err != nil {
			return nil, err
		}
		if err := field(path, obj, "end_offset", &m.EndOffset, "an integer"); err != nil {
			return nil, err
		}
		return m, nil
	case StaticMap:
		if err := allow(path, obj, "static mappings", "type", "map"); err != nil {
			return nil, err
		}
		var raws map[string]json.RawMessage
		if err := field(path, obj, "map", &raws, "an object of downstream keys to upstream keys"); err != nil {
			return nil, err
		}
		if len(raws) == 0 {
			return nil, errorf(path+".map", "a static mapping needs a non-empty map of downstream to upstream keys")
		}
		m.Map = make(map[string][]string, len(raws))
		for _, k := range sortedKeys(raws) {
			p := fmt.Sprintf("%s.map[%q]", path, k)
			if err := ValidKey(k); err != nil {
				return nil, errorf(p, "%v", err)
			}
			var one string
			var many []string
			if json.Unmarshal(raws[k], &one) == nil {
				many = []string{one}
			} else if json.Unmarshal(raws[k], &many) != nil || len(many) == 0 {
				return nil, errorf(p, "must be an upstream key or a non-empty array of upstream keys")
			}
			for _, u := range many {
				if err := ValidKey(u); err != nil {
					return nil, errorf(p, "%v", err)
				}
			}
			m.Map[k] = many
		}
		return m, nil
	case MultiMap:
		if inMulti {
			return nil, errorf(path+".type", "multi mappings cannot be nested in a multi mapping")
		}
		if err := allow(path, obj, "multi mappings", "type", "dimensions"); err != nil {
			return nil, err
		}
		var raws map[string]json.RawMessage
		if err := field(path, obj, "dimensions", &raws, "an object of dimension names to mappings"); err != nil {
			return nil, err
		}
		m.Dimensions = make(map[string]*Mapping, len(raws))
		for _, name := range sortedKeys(raws) {
			p := path + ".dimensions." + name
			if !nameRE.MatchString(name) {
				return nil, errorf(p, "%q is not a valid dimension name (want %s)", name, nameRE)
			}
			sub, err := parseMapping(p, raws[name], true)
			if err != nil {
				return nil, err
			}
			m.Dimensions[name] = sub
		}
		return m, nil
	case "":
		if _, ok := obj["type"]; !ok {
			return nil, errorf(path, "missing type (want identity, time_window, all, static or multi)")
		}
	}
	return nil, errorf(path+".type", "unknown partition mapping %q (want identity, time_window, all, static or multi)", typ)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// DefaultMapping returns the mapping used when an input gives none: all when
// the downstream asset is unpartitioned (nil) or the upstream one is, identity
// for equal definitions, time_window between two different time definitions,
// and multi (each dimension with its own default) between two
// multi-dimensional definitions. Other combinations are an error asking for a
// partition_mapping.
func DefaultMapping(downstream, upstream *Definition) (*Mapping, error) {
	switch {
	case downstream == nil || upstream == nil:
		return &Mapping{Type: All}, nil
	case downstream.Equal(upstream):
		return &Mapping{Type: Identity}, nil
	case downstream.kind == Time && upstream.kind == Time:
		return &Mapping{Type: TimeWindow}, nil
	case downstream.kind == Multi && upstream.kind == Multi:
		m := &Mapping{Type: MultiMap, Dimensions: map[string]*Mapping{}}
		if _, err := multiPlan(m, downstream, upstream); err != nil {
			return nil, err
		}
		return m, nil
	}
	return nil, fmt.Errorf("no default partition mapping from upstream %s to downstream %s; give a partition_mapping", upstream, downstream)
}

// UpstreamKeys returns the keys of the upstream partitions that the downstream
// partition downstreamKey reads under the mapping m (nil: the default), in
// upstream order. A nil downstream stands for an unpartitioned asset, whose
// key must be "". A nil upstream is unpartitioned: the result is nil and the
// whole asset is read. Every key returned is a key of upstream at time now;
// one that is not (before its start, or not yet complete) is an error naming
// it. Dynamic definitions need their DynamicKeys hook set where keys must be
// listed or checked.
func UpstreamKeys(m *Mapping, downstream *Definition, downstreamKey string, upstream *Definition, now time.Time) ([]string, error) {
	if m == nil {
		var err error
		if m, err = DefaultMapping(downstream, upstream); err != nil {
			return nil, err
		}
	}
	if upstream == nil {
		if m.Type != All {
			return nil, fmt.Errorf("%s partition mapping: the upstream asset is not partitioned", m.Type)
		}
		return nil, nil
	}
	if downstream == nil {
		if downstreamKey != "" {
			return nil, fmt.Errorf("partition key %q given for an unpartitioned asset", downstreamKey)
		}
		if m.Type != All {
			return nil, fmt.Errorf("%s partition mapping: the downstream asset is not partitioned (only all applies)", m.Type)
		}
		return upstream.Keys(now)
	}
	if err := downstream.Contains(downstreamKey, now); err != nil {
		return nil, fmt.Errorf("downstream %w", err)
	}
	return upstreamKeys(m, downstream, downstreamKey, upstream, now)
}

// upstreamKeys is UpstreamKeys for a checked downstream key.
func upstreamKeys(m *Mapping, down *Definition, key string, up *Definition, now time.Time) ([]string, error) {
	switch m.Type {
	case Identity:
		if !down.Equal(up) {
			return nil, fmt.Errorf("identity partition mapping needs equal definitions, but downstream is %s and upstream is %s", down, up)
		}
		return []string{key}, nil
	case All:
		return up.Keys(now)
	case TimeWindow:
		if down.kind != Time || up.kind != Time {
			return nil, fmt.Errorf("time_window partition mapping needs time definitions on both sides, but downstream is %s and upstream is %s", down, up)
		}
		ds, de, err := down.Window(key)
		if err != nil {
			return nil, err
		}
		ut := up.tm
		from := floor(ut.sched, ds)
		to := floor(ut.sched, de)
		if to.Before(de) {
			to = ut.sched.next(to)
		}
		from = shift(ut.sched, from, m.StartOffset)
		to = shift(ut.sched, to, m.EndOffset)
		if !from.Before(to) {
			return nil, fmt.Errorf("time_window partition mapping with start_offset %d and end_offset %d gives no upstream window for %q", m.StartOffset, m.EndOffset, key)
		}
		keys, err := ut.keysBetween(from.In(ut.Location), to.In(ut.Location), MaxKeys)
		if err != nil {
			return nil, err
		}
		for _, k := range []string{keys[0], keys[len(keys)-1]} {
			if err := up.Contains(k, now); err != nil {
				return nil, fmt.Errorf("downstream partition %q reads upstream %w", key, err)
			}
		}
		return keys, nil
	case StaticMap:
		targets, ok := m.Map[key]
		if !ok {
			return nil, fmt.Errorf("static partition mapping has no entry for downstream partition key %q", key)
		}
		for _, u := range targets {
			if err := up.Contains(u, now); err != nil {
				return nil, fmt.Errorf("static partition mapping maps %q to %q, which is not an upstream partition: %w", key, u, err)
			}
		}
		return slices.Clone(targets), nil
	case MultiMap:
		plan, err := multiPlan(m, down, up)
		if err != nil {
			return nil, err
		}
		parts, err := down.Split(key)
		if err != nil {
			return nil, err
		}
		lists := make([][]string, len(plan))
		for i, p := range plan {
			udim := up.dims[i]
			var ks []string
			if p.down < 0 {
				ks, err = udim.Partitions.Keys(now)
			} else {
				ks, err = upstreamKeys(p.m, down.dims[p.down].Partitions, parts[p.down], udim.Partitions, now)
			}
			if err != nil {
				return nil, fmt.Errorf("dimension %q: %w", udim.Name, err)
			}
			lists[i] = ks
		}
		return product(lists)
	}
	return nil, fmt.Errorf("unknown partition mapping type %q", m.Type)
}

// shift moves the boundary b by n periods of s.
func shift(s schedule, b time.Time, n int) time.Time {
	for ; n > 0; n-- {
		b = s.next(b)
	}
	for ; n < 0; n++ {
		b = s.prev(b)
	}
	return b
}

// dimPlan is how one upstream dimension is mapped: from the downstream
// dimension at index down (or from nothing, -1, reading all its keys) with m.
type dimPlan struct {
	down int
	m    *Mapping
}

// multiPlan resolves a multi mapping between two multi definitions: each
// upstream dimension takes the mapping named for it, or the default between
// the downstream dimension of the same name and it, or all when the
// downstream has no such dimension.
func multiPlan(m *Mapping, down, up *Definition) ([]dimPlan, error) {
	if down.kind != Multi || up.kind != Multi {
		return nil, fmt.Errorf("multi partition mapping needs multi-dimensional definitions on both sides, but downstream is %s and upstream is %s", down, up)
	}
	downIdx := map[string]int{}
	for i, d := range down.dims {
		downIdx[d.Name] = i
	}
	upIdx := map[string]int{}
	for i, d := range up.dims {
		upIdx[d.Name] = i
	}
	for _, name := range sortedKeys(m.Dimensions) {
		_, inUp := upIdx[name]
		_, inDown := downIdx[name]
		if !inUp {
			return nil, fmt.Errorf("multi partition mapping names dimension %q, which upstream %s does not have (dimensions %s)", name, up, strings.Join(up.dimNames(), ", "))
		}
		if !inDown && m.Dimensions[name].Type != All {
			return nil, fmt.Errorf("multi partition mapping names dimension %q, which downstream %s does not have (dimensions %s); only all applies", name, down, strings.Join(down.dimNames(), ", "))
		}
	}
	plan := make([]dimPlan, len(up.dims))
	for i, u := range up.dims {
		j, ok := downIdx[u.Name]
		dm := m.Dimensions[u.Name]
		switch {
		case !ok:
			plan[i] = dimPlan{down: -1}
			continue
		case dm == nil:
			var err error
			if dm, err = DefaultMapping(down.dims[j].Partitions, u.Partitions); err != nil {
				return nil, fmt.Errorf("dimension %q: %w", u.Name, err)
			}
		}
		if dm.Type == All {
			plan[i] = dimPlan{down: -1}
			continue
		}
		plan[i] = dimPlan{down: j, m: dm}
	}
	return plan, nil
}

// CheckMapping reports whether the mapping m (nil: the default) can map the
// downstream definition's partitions to the upstream definition's, without
// listing keys: identity needs equal definitions, time_window time definitions
// on both sides, static a static or dynamic downstream whose listed keys (for
// a static upstream, also their targets) exist, and multi multi-dimensional
// definitions whose dimensions it maps. A nil definition is an unpartitioned
// asset, which only all applies to. Loading a workspace calls it for every
// input, so that a mapping between incompatible definitions fails there, not
// in the step that first uses it.
func CheckMapping(m *Mapping, down, up *Definition) error {
	if m == nil {
		_, err := DefaultMapping(down, up)
		return err
	}
	switch {
	case up == nil && m.Type != All:
		return fmt.Errorf("%s partition mapping: the upstream asset is not partitioned (only all applies)", m.Type)
	case down == nil && m.Type != All:
		return fmt.Errorf("%s partition mapping: the downstream asset is not partitioned (only all applies)", m.Type)
	}
	switch m.Type {
	case All:
		return nil
	case Identity:
		if !down.Equal(up) {
			return fmt.Errorf("identity partition mapping needs equal definitions, but downstream is %s and upstream is %s", down, up)
		}
	case TimeWindow:
		if down.kind != Time || up.kind != Time {
			return fmt.Errorf("time_window partition mapping needs time definitions on both sides, but downstream is %s and upstream is %s", down, up)
		}
	case StaticMap:
		if down.kind != Static && down.kind != Dynamic {
			return fmt.Errorf("static partition mapping needs a static or dynamic downstream definition, but downstream is %s", down)
		}
		for _, k := range sortedKeys(m.Map) {
			if down.kind == Static {
				if _, ok := down.index[k]; !ok {
					return fmt.Errorf("static partition mapping maps %q, which is not a key of downstream %s", k, down)
				}
			}
			for _, u := range m.Map[k] {
				var err error
				switch up.kind {
				case Static:
					if _, ok := up.index[u]; !ok {
						err = fmt.Errorf("not a key")
					}
				case Time:
					_, err = up.tm.parseKey(u)
				case Multi:
					_, err = up.Split(u)
				}
				if err != nil {
					return fmt.Errorf("static partition mapping maps %q to %q, which is not a key of upstream %s", k, u, up)
				}
			}
		}
	case MultiMap:
		plan, err := multiPlan(m, down, up)
		if err != nil {
			return err
		}
		for i, p := range plan {
			if p.down < 0 {
				continue
			}
			if err := CheckMapping(p.m, down.dims[p.down].Partitions, up.dims[i].Partitions); err != nil {
				return fmt.Errorf("dimension %q: %w", up.dims[i].Name, err)
			}
		}
	default:
		return fmt.Errorf("unknown partition mapping type %q", m.Type)
	}
	return nil
}
