package wasmorch

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Partitions is a partitions definition (ABI.md 7.6): how an asset is split into slices that the
// host materializes one by one. Make one with Hourly, Daily, Weekly, Monthly, CronPartitions,
// StaticPartitions, DynamicPartitions or MultiPartitions, and give it to an asset with
// Partitioned:
//
//	wasmorch.Asset("events", events, wasmorch.Partitioned(
//		wasmorch.Daily("2026-01-01", wasmorch.End("2026-02-01"), wasmorch.Timezone("Europe/Paris"))))
//
// A Partitions value is immutable. Mistakes (an empty static key, a multi definition inside
// another) are reported with the asset's other registration problems by wasmorch_manifest; the
// host checks the rest (that a time zone exists, that start parses with the key format) when it
// loads the module.
type Partitions struct {
	def *partitionsJSON
	// problems found when the value was made; reported when an asset uses it.
	problems []string
}

// partitionsJSON is a definition as the manifest spells it (ABI.md 7.6). Fields left zero are
// left out, and the host applies its defaults (timezone UTC, end_offset 0, the schedule's format).
type partitionsJSON struct {
	Type       string          `json:"type"`
	Keys       []string        `json:"keys,omitempty"`
	Schedule   string          `json:"schedule,omitempty"`
	Cron       string          `json:"cron,omitempty"`
	Start      string          `json:"start,omitempty"`
	End        string          `json:"end,omitempty"`
	Timezone   string          `json:"timezone,omitempty"`
	EndOffset  int             `json:"end_offset,omitempty"`
	Format     string          `json:"format,omitempty"`
	Name       string          `json:"name,omitempty"`
	Dimensions []dimensionJSON `json:"dimensions,omitempty"`
}

type dimensionJSON struct {
	Name       string          `json:"name"`
	Partitions *partitionsJSON `json:"partitions"`
}

// Partitioned gives the asset a partitions definition. Each step of the asset then materializes
// one partition, whose key Context.PartitionKey returns (and, for time partitions, whose window
// Context.PartitionWindow returns).
func Partitioned(p Partitions) AssetOption {
	return func(a *assetDef) {
		if p.def == nil {
			a.problem("Partitioned: the Partitions value is empty; make one with Daily, StaticPartitions, MultiPartitions or another constructor")
			return
		}
		for _, msg := range p.problems {
			a.problem("Partitioned: %s", msg)
		}
		a.partitions = p.def
	}
}

// TimeOption configures a time partitions definition made by Hourly, Daily, Weekly, Monthly or
// CronPartitions.
type TimeOption func(*partitionsJSON, *[]string)

// End bounds a time partitions definition: its last partition is the last window that ends at or
// before end, which has the form of start. Without End, the partitions run up to the last
// complete window before now (see EndOffset).
func End(end string) TimeOption {
	return func(p *partitionsJSON, problems *[]string) {
		if end == "" {
			*problems = append(*problems, "End: the end is empty; leave End out for partitions without an end")
		}
		p.End = end
	}
}

// Timezone sets the IANA time zone, such as "Europe/Paris", in which windows begin and keys are
// formatted; the default is UTC. Daily windows then begin at local midnight, so a window lasts
// 23 or 25 hours on a daylight saving time switch day.
func Timezone(name string) TimeOption {
	return func(p *partitionsJSON, problems *[]string) {
		switch name {
		case "":
			*problems = append(*problems, "Timezone: the time zone is empty; leave Timezone out for UTC")
		case "Local":
			*problems = append(*problems, `Timezone: "Local" depends on the machine; give an IANA time zone such as "Europe/Paris"`)
		}
		p.Timezone = name
	}
}

// EndOffset shifts the last partition of a definition without End by n windows: with 0 (the
// default) the last partition is the last complete window, with 1 it is the window now is in,
// and a negative n holds back complete windows. It cannot be combined with End.
func EndOffset(n int) TimeOption {
	return func(p *partitionsJSON, _ *[]string) { p.EndOffset = n }
}

// KeyFormat sets the Go time layout that formats a window's start into its partition key (the
// manifest's "format"). The defaults are "2006-01-02-15:04" (hourly), "2006-01-02" (daily, and
// weekly for the week's Monday), "2006-01" (monthly) and "2006-01-02T15:04" (cron). start and
// End are read with it too.
func KeyFormat(layout string) TimeOption {
	return func(p *partitionsJSON, problems *[]string) {
		if layout == "" {
			*problems = append(*problems, "KeyFormat: the layout is empty; leave KeyFormat out for the schedule's default")
		}
		p.Format = layout
	}
}

// Hourly partitions an asset into hours from start, such as "2026-01-01-00:00" (the key format)
// or "2026-01-01".
func Hourly(start string, opts ...TimeOption) Partitions {
	return timePartitions("Hourly", "hourly", "", start, opts)
}

// Daily partitions an asset into days from start, such as "2026-01-01". Keys are the days, as
// "2026-01-15".
func Daily(start string, opts ...TimeOption) Partitions {
	return timePartitions("Daily", "daily", "", start, opts)
}

// Weekly partitions an asset into weeks that begin on Monday, from the first Monday at or after
// start. A key is the week's Monday, as "2026-01-05".
func Weekly(start string, opts ...TimeOption) Partitions {
	return timePartitions("Weekly", "weekly", "", start, opts)
}

// Monthly partitions an asset into calendar months from start, such as "2026-01". Keys are the
// months, as "2026-01".
func Monthly(start string, opts ...TimeOption) Partitions {
	return timePartitions("Monthly", "monthly", "", start, opts)
}

// CronPartitions partitions an asset into the windows between consecutive fire times of the
// five-field cron expression expr ("0 */6 * * *": every six hours), from start, such as
// "2026-01-01T00:00". Keys default to the layout "2006-01-02T15:04".
func CronPartitions(expr, start string, opts ...TimeOption) Partitions {
	p := timePartitions("CronPartitions", "", expr, start, opts)
	if expr == "" {
		p.problems = append(p.problems, "CronPartitions: the cron expression is empty")
	}
	return p
}

func timePartitions(fn, schedule, cron, start string, opts []TimeOption) Partitions {
	def := &partitionsJSON{Type: "time", Schedule: schedule, Cron: cron, Start: start}
	var problems []string
	if start == "" {
		problems = append(problems, fn+": time partitions need a start, such as \"2026-01-01\"")
	}
	for _, opt := range opts {
		if opt != nil {
			opt(def, &problems)
		}
	}
	if def.End != "" && def.EndOffset != 0 {
		problems = append(problems, fmt.Sprintf("%s: EndOffset(%d) has no effect with End; give one or the other", fn, def.EndOffset))
	}
	return Partitions{def: def, problems: problems}
}

// StaticPartitions partitions an asset into a fixed list of keys, such as "us" and "eu". A key is
// 1 to 255 bytes of UTF-8 without '/', '\\', '|', control characters or surrounding spaces, and
// is not "." or "..", because keys become parts of storage paths.
func StaticPartitions(keys ...string) Partitions {
	var problems []string
	if len(keys) == 0 {
		problems = append(problems, "StaticPartitions: give at least one key")
	}
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if msg := partitionKeyProblem(k); msg != "" {
			problems = append(problems, "StaticPartitions: "+msg)
		} else if seen[k] {
			problems = append(problems, fmt.Sprintf("StaticPartitions: the key %q is given twice", k))
		}
		seen[k] = true
	}
	return Partitions{def: &partitionsJSON{Type: "static", Keys: slices.Clone(keys)}, problems: problems}
}

// DynamicPartitions partitions an asset into the keys of the named dynamic set, which are added
// and removed while the workspace runs (by a sensor's run requests or the CLI). Assets that name
// the same set share its keys. name matches [A-Za-z_][A-Za-z0-9_]*.
func DynamicPartitions(name string) Partitions {
	var problems []string
	if !nameRE.MatchString(name) {
		problems = append(problems, fmt.Sprintf("DynamicPartitions: %q is not a valid name ([A-Za-z_][A-Za-z0-9_]*)", name))
	}
	return Partitions{def: &partitionsJSON{Type: "dynamic", Name: name}, problems: problems}
}

// PartitionDimension is one named dimension of a multi-dimensional definition; see Dimension.
type PartitionDimension struct {
	name string
	p    Partitions
}

// Dimension names one dimension of MultiPartitions. name matches [A-Za-z_][A-Za-z0-9_]*, and p
// is any definition but a multi-dimensional one.
func Dimension(name string, p Partitions) PartitionDimension {
	return PartitionDimension{name: name, p: p}
}

// MultiPartitions partitions an asset along two or more dimensions. A key joins one key of each
// dimension with "|" in dimension order, so
//
//	wasmorch.MultiPartitions(
//		wasmorch.Dimension("date", wasmorch.Daily("2026-01-01")),
//		wasmorch.Dimension("region", wasmorch.StaticPartitions("us", "eu")))
//
// has keys such as "2026-01-15|us"; Context.PartitionKeys splits them again.
func MultiPartitions(dims ...PartitionDimension) Partitions {
	def := &partitionsJSON{Type: "multi", Dimensions: make([]dimensionJSON, 0, len(dims))}
	var problems []string
	if len(dims) < 2 {
		problems = append(problems, fmt.Sprintf("MultiPartitions: give at least 2 dimensions, got %d", len(dims)))
	}
	seen := map[string]bool{}
	for i, d := range dims {
		switch {
		case !nameRE.MatchString(d.name):
			problems = append(problems, fmt.Sprintf("MultiPartitions: dimension %d: %q is not a valid dimension name ([A-Za-z_][A-Za-z0-9_]*)", i, d.name))
		case seen[d.name]:
			problems = append(problems, fmt.Sprintf("MultiPartitions: the dimension %q is given twice", d.name))
		}
		seen[d.name] = true
		switch {
		case d.p.def == nil:
			problems = append(problems, fmt.Sprintf("MultiPartitions: dimension %q has no partitions definition", d.name))
		case d.p.def.Type == "multi":
			problems = append(problems, fmt.Sprintf("MultiPartitions: dimension %q is itself multi-dimensional; list its dimensions in the outer MultiPartitions instead", d.name))
		}
		for _, msg := range d.p.problems {
			problems = append(problems, fmt.Sprintf("MultiPartitions: dimension %q: %s", d.name, msg))
		}
		def.Dimensions = append(def.Dimensions, dimensionJSON{Name: d.name, Partitions: d.p.def})
	}
	return Partitions{def: def, problems: problems}
}

// partitionKeyProblem says why key cannot be a partition key, or returns "". These are the host's
// rules (host/internal/partitions.ValidKey), which the SDK cannot import: keys become storage
// path components, and '|' joins the keys of a multi-dimensional definition.
func partitionKeyProblem(key string) string {
	switch {
	case key == "":
		return "a partition key is empty"
	case len(key) > maxPartitionKeyLen:
		return fmt.Sprintf("the partition key %.40q... is %d bytes long (at most %d)", key, len(key), maxPartitionKeyLen)
	case !utf8.ValidString(key):
		return fmt.Sprintf("the partition key %q is not valid UTF-8", key)
	case key == "." || key == "..":
		return fmt.Sprintf("the partition key %q is not allowed (it would name a directory)", key)
	case strings.HasPrefix(key, " ") || strings.HasSuffix(key, " "):
		return fmt.Sprintf("the partition key %q begins or ends with a space", key)
	}
	for _, r := range key {
		switch {
		case r == '/' || r == '\\':
			return fmt.Sprintf("the partition key %q contains %q (keys become storage path components)", key, r)
		case string(r) == partitionKeySeparator:
			return fmt.Sprintf("the partition key %q contains %q (it joins multi-dimensional keys)", key, r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return fmt.Sprintf("the partition key %q contains the control character %U", key, r)
		}
	}
	return ""
}

// PartitionMapping says which partitions of an upstream asset one partition of the asset reads
// (ABI.md 7.7). Make one with IdentityMapping, TimeWindowMapping, AllMapping, StaticMapping or
// MultiMapping, and give it to an input with InMapped. Without one the host picks the default:
// identity between equal definitions, all when either side is unpartitioned, and time_window
// between two time definitions.
//
// An Arrow input that reads several upstream partitions arrives as one table, in partition order;
// take it as a *PartitionReader to learn each batch's partition. A JSON input that reads several
// arrives as one object of partition key to value, so take it as a map[string]T.
type PartitionMapping struct {
	m        *mappingJSON
	problems []string
}

type mappingJSON struct {
	Type        string                  `json:"type"`
	StartOffset *int                    `json:"start_offset,omitempty"`
	EndOffset   *int                    `json:"end_offset,omitempty"`
	Map         map[string]any          `json:"map,omitempty"`
	Dimensions  map[string]*mappingJSON `json:"dimensions,omitempty"`
}

// InMapped declares one input named name, loaded from the asset assetKey like In, whose
// partitions follow from the step's partition by mapping m.
//
//	wasmorch.InMapped("yesterday", "events", wasmorch.TimeWindowMapping(-1, -1))
func InMapped(name, assetKey string, m PartitionMapping) AssetOption {
	return func(a *assetDef) {
		if m.m == nil {
			a.problem("InMapped(%q): the PartitionMapping value is empty; make one with IdentityMapping, AllMapping or another constructor", name)
		}
		for _, msg := range m.problems {
			a.problem("InMapped(%q): %s", name, msg)
		}
		a.ins = append(a.ins, inputDef{name: name, asset: assetKey, mapping: m.m})
	}
}

// IdentityMapping reads the upstream partition with the same key; both assets have equal
// definitions.
func IdentityMapping() PartitionMapping {
	return PartitionMapping{m: &mappingJSON{Type: "identity"}}
}

// TimeWindowMapping reads the upstream time partitions that overlap the step's window, with the
// window's start shifted by startOffset and its end by endOffset whole periods of the upstream
// definition. TimeWindowMapping(0, 0) reads the overlapping partitions: a daily asset reading
// hourly partitions gets its day's 24 hours. Between equal definitions, TimeWindowMapping(-1, -1)
// reads the previous partition; a daily asset reading hourly partitions with (-1, 0) gets the
// last hour of the day before as well as its own 24.
func TimeWindowMapping(startOffset, endOffset int) PartitionMapping {
	return PartitionMapping{m: &mappingJSON{Type: "time_window", StartOffset: &startOffset, EndOffset: &endOffset}}
}

// AllMapping reads every upstream partition, as an unpartitioned asset downstream of a
// partitioned one does by default.
func AllMapping() PartitionMapping {
	return PartitionMapping{m: &mappingJSON{Type: "all"}}
}

// StaticMapping maps the step's partition keys to upstream keys: each downstream key to one
// upstream key (a map[string]string) or to several (a map[string][]string).
//
//	wasmorch.StaticMapping(map[string]string{"eu": "europe", "us": "americas"})
//	wasmorch.StaticMapping(map[string][]string{"emea": {"eu", "africa"}})
func StaticMapping[V string | []string](m map[string]V) PartitionMapping {
	var problems []string
	if len(m) == 0 {
		problems = append(problems, "StaticMapping: the map is empty; give an upstream key for each downstream key")
	}
	js := make(map[string]any, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if msg := partitionKeyProblem(k); msg != "" {
			problems = append(problems, fmt.Sprintf("StaticMapping: downstream key: %s", msg))
		}
		var ups []string
		switch v := any(m[k]).(type) {
		case string:
			ups, js[k] = []string{v}, v
		case []string:
			ups, js[k] = v, slices.Clone(v)
			if len(v) == 0 {
				problems = append(problems, fmt.Sprintf("StaticMapping: downstream key %q maps to no upstream key", k))
			}
		}
		for _, u := range ups {
			if msg := partitionKeyProblem(u); msg != "" {
				problems = append(problems, fmt.Sprintf("StaticMapping: upstream key for %q: %s", k, msg))
			}
		}
	}
	return PartitionMapping{m: &mappingJSON{Type: "static", Map: js}, problems: problems}
}

// MultiMapping gives a mapping for dimensions of two multi-dimensional definitions, by dimension
// name; a dimension left out takes its default mapping.
//
//	wasmorch.MultiMapping(map[string]wasmorch.PartitionMapping{
//		"date": wasmorch.TimeWindowMapping(-1, 0), "region": wasmorch.IdentityMapping()})
func MultiMapping(dims map[string]PartitionMapping) PartitionMapping {
	var problems []string
	if len(dims) == 0 {
		problems = append(problems, "MultiMapping: give a mapping for at least one dimension, or leave the mapping out for every dimension's default")
	}
	js := make(map[string]*mappingJSON, len(dims))
	for _, name := range slices.Sorted(maps.Keys(dims)) {
		d := dims[name]
		if !nameRE.MatchString(name) {
			problems = append(problems, fmt.Sprintf("MultiMapping: %q is not a valid dimension name ([A-Za-z_][A-Za-z0-9_]*)", name))
		}
		switch {
		case d.m == nil:
			problems = append(problems, fmt.Sprintf("MultiMapping: dimension %q has an empty PartitionMapping", name))
		case d.m.Type == "multi":
			problems = append(problems, fmt.Sprintf("MultiMapping: dimension %q has a multi mapping; a dimension's mapping is identity, time_window, all or static", name))
		}
		for _, msg := range d.problems {
			problems = append(problems, fmt.Sprintf("MultiMapping: dimension %q: %s", name, msg))
		}
		js[name] = d.m
	}
	return PartitionMapping{m: &mappingJSON{Type: "multi", Dimensions: js}, problems: problems}
}
