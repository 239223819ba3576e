// Package partitions implements the partitions definitions and partition
// mappings of the wasmorch ABI (abi/ABI.md, sections 7.6 and 7.7).
//
// A partitions definition splits an asset into slices that are materialized
// one by one. There are four kinds:
//
//   - static: a fixed list of keys, {"type": "static", "keys": ["us", "eu"]}.
//   - time: calendar windows (hourly, daily, weekly or monthly) from a start,
//     up to an optional end, in a time zone, or windows between the fire
//     times of a cron expression.
//   - dynamic: a named set whose keys are added and removed at run time and
//     stored elsewhere; see [DynamicKeys].
//   - multi: two or more named dimensions of the other kinds. A key joins the
//     dimension keys with "|" in dimension order, for example
//     "2026-01-15|us|widgets".
//
// Definitions are immutable after [Parse] and safe for concurrent use.
//
// # Time windows
//
// Windows are half-open intervals [start, end) in the definition's time zone.
// Daily, weekly and monthly windows begin at local midnight, so a daily window
// on a daylight saving time switch day lasts 23 or 25 hours. Weeks start on
// Monday (ISO 8601); the ABI does not say otherwise. Hourly windows begin on
// each local hour mark and last one hour of elapsed time, so a day with a
// clock change has 23 or 25 of them.
//
// The first window is the first one that begins at or after start. With an
// end, the windows are those that end at or before end. Without an end, the
// windows are those that begin before the start of the window containing now,
// shifted by end_offset windows: with end_offset 0 the last key is the last
// complete window, with 1 it is the window now is in, and a negative offset
// holds back complete windows. Giving both end and a non-zero end_offset is an
// error.
//
// A key is the window's start in the time zone, formatted with the format (a Go
// time layout). The default formats are "2006-01-02-15:04" (hourly),
// "2006-01-02" (daily and weekly, the week's Monday) and "2006-01" (monthly).
// When the clocks go back, the repeated local hour would format to the same
// key twice; the second of the two hourly windows then gets its UTC offset
// appended, for example "2026-11-01-01:00-05:00", so that keys stay unique.
package partitions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the type of a partitions definition.
type Kind string

// The kinds of partitions definitions.
const (
	Static  Kind = "static"
	Time    Kind = "time"
	Dynamic Kind = "dynamic"
	Multi   Kind = "multi"
)

// Separator joins the dimension keys of a multi-dimensional key.
const Separator = "|"

// MaxKeyLen is the maximum length of a partition key in bytes.
const MaxKeyLen = 255

// MaxKeys bounds the number of keys that Keys and Range return, so that a
// mistaken definition (hourly windows since 1700) fails instead of
// exhausting memory.
const MaxKeys = 10_000_000

// DynamicKeys returns the current keys of the dynamic partitions definition
// with the given name, in the order they were added. The store that holds
// dynamic keys provides it; see [Definition.WithDynamicKeys].
type DynamicKeys func(name string) ([]string, error)

// A Definition is a parsed partitions definition. A nil *Definition stands for
// an unpartitioned asset where this package accepts one.
type Definition struct {
	kind  Kind
	keys  []string       // static
	index map[string]int // static: key -> position
	name  string         // dynamic
	tm    *TimeSpec      // time
	dims  []Dimension    // multi
	canon string         // canonical form, for Equal
	dyn   DynamicKeys
}

// A Dimension is one named dimension of a multi-dimensional definition.
type Dimension struct {
	Name       string
	Partitions *Definition
}

// An Error reports a problem at a JSON path of a definition or mapping.
type Error struct {
	Path string // for example "partitions.dimensions[1].partitions.schedule"
	Msg  string
}

func (e *Error) Error() string { return e.Path + ": " + e.Msg }

func errorf(path, format string, args ...any) error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidKey reports whether key can be a partition key, and if not, which rule
// it breaks. A key is non-empty, at most [MaxKeyLen] bytes of valid UTF-8,
// holds no '/', '\\', '|' (the multi-dimension separator), NUL or other control
// character, is not "." or "..", and does not begin or end with a space. Keys
// become path components in storage, hence the rules.
func ValidKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("partition key is empty")
	case len(key) > MaxKeyLen:
		return fmt.Errorf("partition key %.40q... is %d bytes long (at most %d)", key, len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("partition key %q is not valid UTF-8", key)
	case key == "." || key == "..":
		return fmt.Errorf("partition key %q is not allowed (it would name a directory)", key)
	case strings.HasPrefix(key, " ") || strings.HasSuffix(key, " "):
		return fmt.Errorf("partition key %q begins or ends with a space", key)
	}
	for _, r := range key {
		switch {
		case r == '/' || r == '\\':
			return fmt.Errorf("partition key %q contains %q (keys become storage path components)", key, r)
		case r == '|':
			return fmt.Errorf("partition key %q contains %q (reserved to join multi-dimensional keys)", key, r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return fmt.Errorf("partition key %q contains the control character %U", key, r)
		}
	}
	return nil
}

// Parse decodes and validates a partitions definition (ABI 7.6). Errors name
// the JSON path below "partitions" of the first problem found. An empty or
// null raw message gives a nil *Definition (unpartitioned) and no error.
func Parse(raw json.RawMessage) (*Definition, error) { return ParseAt("partitions", raw) }

// ParseAt is Parse with the JSON path of raw given, for example
// "assets[2].partitions", used to prefix error messages.
func ParseAt(path string, raw json.RawMessage) (*Definition, error) {
	t, ok := present(raw)
	if !ok {
		return nil, nil
	}
	return parse(path, t, false)
}

// present is raw without surrounding space, and false when that is empty or null (absent).
func present(raw json.RawMessage) (json.RawMessage, bool) {
	t := bytes.TrimSpace(raw)
	return t, len(t) > 0 && string(t) != "null"
}

// typedObject decodes raw as an object and reads its "type" string.
func typedObject(path string, raw json.RawMessage) (map[string]json.RawMessage, string, error) {
	obj, err := object(path, raw)
	if err != nil {
		return nil, "", err
	}
	var typ string
	if err := field(path, obj, "type", &typ, "a string"); err != nil {
		return nil, "", err
	}
	return obj, typ, nil
}

func parse(path string, raw json.RawMessage, inMulti bool) (*Definition, error) {
	obj, typ, err := typedObject(path, raw)
	if err != nil {
		return nil, err
	}
	switch Kind(typ) {
	case Static:
		return parseStatic(path, obj)
	case Time:
		return parseTime(path, obj)
	case Dynamic:
		return parseDynamic(path, obj)
	case Multi:
		if inMulti {
			return nil, errorf(path+".type", "multi partitions cannot be nested in a multi dimension")
		}
		return parseMulti(path, obj)
	case "":
		if _, ok := obj["type"]; !ok {
			return nil, errorf(path, "missing type (want static, time, dynamic or multi)")
		}
	}
	return nil, errorf(path+".type", "unknown partitions type %q (want static, time, dynamic or multi)", typ)
}

// object decodes raw as a JSON object.
func object(path string, raw json.RawMessage) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &obj) != nil {
		return nil, errorf(path, "must be a JSON object")
	}
	return obj, nil
}

// allow reports the first field of obj (in sorted order) not among names.
func allow(path string, obj map[string]json.RawMessage, what string, names ...string) error {
	var unknown []string
	for k := range obj {
		if !slices.Contains(names, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return errorf(path+"."+unknown[0], "unknown field in %s (want %s)", what, strings.Join(names, ", "))
}

// field decodes obj[name] into v if present; absent and null fields leave v as is.
func field(path string, obj map[string]json.RawMessage, name string, v any, want string) error {
	raw, ok := obj[name]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return errorf(path+"."+name, "must be %s", want)
	}
	return nil
}

func parseStatic(path string, obj map[string]json.RawMessage) (*Definition, error) {
	if err := allow(path, obj, "static partitions", "type", "keys"); err != nil {
		return nil, err
	}
	var keys []string
	if err := field(path, obj, "keys", &keys, "an array of strings"); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errorf(path+".keys", "static partitions need at least one key")
	}
	index := make(map[string]int, len(keys))
	for i, k := range keys {
		p := fmt.Sprintf("%s.keys[%d]", path, i)
		if err := ValidKey(k); err != nil {
			return nil, errorf(p, "%v", err)
		}
		if j, dup := index[k]; dup {
			return nil, errorf(p, "duplicate key %q (also keys[%d])", k, j)
		}
		index[k] = i
	}
	b, _ := json.Marshal(keys)
	return &Definition{kind: Static, keys: keys, index: index, canon: "static" + string(b)}, nil
}

func parseDynamic(path string, obj map[string]json.RawMessage) (*Definition, error) {
	if err := allow(path, obj, "dynamic partitions", "type", "name"); err != nil {
		return nil, err
	}
	name, err := requiredName(path, obj, "dynamic partitions need a name", "dynamic partitions name")
	if err != nil {
		return nil, err
	}
	return &Definition{kind: Dynamic, name: name, canon: fmt.Sprintf("dynamic(%q)", name)}, nil
}

// requiredName reads the "name" field, which must be given (else the error says missing) and
// match nameRE (else the error calls it an invalid noun).
func requiredName(path string, obj map[string]json.RawMessage, missing, noun string) (string, error) {
	var name string
	if err := field(path, obj, "name", &name, "a string"); err != nil {
		return "", err
	}
	if name == "" {
		return "", errorf(path+".name", "%s", missing)
	}
	if !nameRE.MatchString(name) {
		return "", errorf(path+".name", "%q is not a valid %s (want %s)", name, noun, nameRE)
	}
	return name, nil
}

func parseMulti(path string, obj map[string]json.RawMessage) (*Definition, error) {
	if err := allow(path, obj, "multi partitions", "type", "dimensions"); err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if err := field(path, obj, "dimensions", &raws, "an array of dimension objects"); err != nil {
		return nil, err
	}
	if len(raws) < 2 {
		return nil, errorf(path+".dimensions", "multi partitions need at least 2 dimensions, got %d", len(raws))
	}
	d := &Definition{kind: Multi}
	var canon strings.Builder
	canon.WriteString("multi(")
	seen := map[string]int{}
	for i, raw := range raws {
		p := fmt.Sprintf("%s.dimensions[%d]", path, i)
		dobj, err := object(p, raw)
		if err != nil {
			return nil, err
		}
		if err := allow(p, dobj, "a dimension", "name", "partitions"); err != nil {
			return nil, err
		}
		name, err := requiredName(p, dobj, "a dimension needs a name", "dimension name")
		if err != nil {
			return nil, err
		}
		if j, dup := seen[name]; dup {
			return nil, errorf(p+".name", "duplicate dimension name %q (also dimensions[%d])", name, j)
		}
		seen[name] = i
		praw, ok := dobj["partitions"]
		if !ok || string(bytes.TrimSpace(praw)) == "null" {
			return nil, errorf(p+".partitions", "dimension %q needs a partitions definition", name)
		}
		sub, err := parse(p+".partitions", praw, true)
		if err != nil {
			return nil, err
		}
		d.dims = append(d.dims, Dimension{Name: name, Partitions: sub})
		if i > 0 {
			canon.WriteString(",")
		}
		fmt.Fprintf(&canon, "%q:%s", name, sub.canon)
	}
	canon.WriteString(")")
	d.canon = canon.String()
	return d, nil
}

// WithDynamicKeys returns a copy of d whose dynamic definitions, including
// those in dimensions, take their keys from f. Without it, asking a dynamic
// definition for its keys is an error.
func (d *Definition) WithDynamicKeys(f DynamicKeys) *Definition {
	if d == nil {
		return nil
	}
	c := *d
	c.dyn = f
	if d.dims != nil {
		c.dims = make([]Dimension, len(d.dims))
		for i, dim := range d.dims {
			c.dims[i] = Dimension{Name: dim.Name, Partitions: dim.Partitions.WithDynamicKeys(f)}
		}
	}
	return &c
}

// Kind returns the definition's kind.
func (d *Definition) Kind() Kind { return d.kind }

// StaticKeys returns the keys of a static definition, or nil.
func (d *Definition) StaticKeys() []string { return slices.Clone(d.keys) }

// DynamicName returns the name of a dynamic definition, or "".
func (d *Definition) DynamicName() string { return d.name }

// Time returns the parameters of a time definition, or nil.
func (d *Definition) Time() *TimeSpec { return d.tm }

// Dimensions returns the dimensions of a multi definition, or nil.
func (d *Definition) Dimensions() []Dimension { return slices.Clone(d.dims) }

// Equal reports whether d and e define the same partitions. Two nil
// definitions are equal. Time definitions are compared after defaults are
// applied, so "start": "2026-01-01" equals "start": "2026-01-01T00:00".
func (d *Definition) Equal(e *Definition) bool {
	if d == nil || e == nil {
		return d == nil && e == nil
	}
	return d.canon == e.canon
}

// String describes the definition briefly, for messages.
func (d *Definition) String() string {
	if d == nil {
		return "unpartitioned"
	}
	switch d.kind {
	case Static:
		var b strings.Builder
		b.WriteString("static [")
		for i, k := range d.keys {
			if i == 5 {
				fmt.Fprintf(&b, " ... (%d keys)", len(d.keys))
				break
			}
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%q", k)
		}
		b.WriteString("]")
		return b.String()
	case Time:
		return d.tm.String()
	case Dynamic:
		return fmt.Sprintf("dynamic %q", d.name)
	case Multi:
		var b strings.Builder
		b.WriteString("multi [")
		for i, dim := range d.dims {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s: %s", dim.Name, dim.Partitions)
		}
		b.WriteString("]")
		return b.String()
	}
	return string(d.kind)
}

// Keys returns every key of the definition, in order: a static definition's
// keys as listed, a time definition's windows in time order (see the package
// documentation for the bounds, which depend on now when there is no end), a
// dynamic definition's keys from its [DynamicKeys] hook, and for a multi
// definition the cartesian product of its dimensions' keys, the first
// dimension varying slowest.
func (d *Definition) Keys(now time.Time) ([]string, error) {
	switch d.kind {
	case Static:
		return slices.Clone(d.keys), nil
	case Time:
		return d.tm.keys(now, MaxKeys)
	case Dynamic:
		return d.dynamicKeys()
	case Multi:
		lists := make([][]string, len(d.dims))
		for i, dim := range d.dims {
			ks, err := dim.Partitions.Keys(now)
			if err != nil {
				return nil, fmt.Errorf("dimension %q: %w", dim.Name, err)
			}
			lists[i] = ks
		}
		return product(lists)
	}
	return nil, fmt.Errorf("unknown partitions kind %q", d.kind)
}

func (d *Definition) dynamicKeys() ([]string, error) {
	if d.dyn == nil {
		return nil, fmt.Errorf("dynamic partitions %q: keys are not known here (no DynamicKeys hook given)", d.name)
	}
	keys, err := d.dyn(d.name)
	if err != nil {
		return nil, fmt.Errorf("dynamic partitions %q: %w", d.name, err)
	}
	return keys, nil
}

// product returns the cartesian product of lists, joined with Separator, the
// first list varying slowest.
func product(lists [][]string) ([]string, error) {
	n := 1
	for _, l := range lists {
		if len(l) == 0 {
			return []string{}, nil
		}
		if n > MaxKeys/len(l) {
			return nil, fmt.Errorf("too many partition keys (more than %d)", MaxKeys)
		}
		n *= len(l)
	}
	out := make([]string, 0, n)
	idx := make([]int, len(lists))
	var b strings.Builder
	for {
		b.Reset()
		for i, l := range lists {
			if i > 0 {
				b.WriteString(Separator)
			}
			b.WriteString(l[idx[i]])
		}
		out = append(out, b.String())
		i := len(lists) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(lists[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return out, nil
		}
	}
}

// Contains reports nil if key is a key of the definition at time now, or an
// error saying why not: not in the static or dynamic list, not readable with
// the time format, not the start of a window, or outside the time bounds
// (which the error names).
func (d *Definition) Contains(key string, now time.Time) error {
	switch d.kind {
	case Static:
		if _, ok := d.index[key]; !ok {
			if err := ValidKey(key); err != nil {
				return err
			}
			return fmt.Errorf("partition key %q is not one of the keys of %s", key, d)
		}
		return nil
	case Time:
		_, err := d.tm.contains(key, now)
		return err
	case Dynamic:
		if err := ValidKey(key); err != nil {
			return err
		}
		keys, err := d.dynamicKeys()
		if err != nil {
			return err
		}
		if !slices.Contains(keys, key) {
			return fmt.Errorf("partition key %q has not been added to dynamic partitions %q", key, d.name)
		}
		return nil
	case Multi:
		parts, err := d.Split(key)
		if err != nil {
			return err
		}
		for i, dim := range d.dims {
			if err := dim.Partitions.Contains(parts[i], now); err != nil {
				return fmt.Errorf("partition key %q, dimension %q: %w", key, dim.Name, err)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown partitions kind %q", d.kind)
}

// Split splits a key of a multi definition into its dimension keys.
func (d *Definition) Split(key string) ([]string, error) {
	if d.kind != Multi {
		return nil, fmt.Errorf("cannot split partition key %q: %s is not multi-dimensional", key, d)
	}
	parts := strings.Split(key, Separator)
	if len(parts) != len(d.dims) {
		return nil, fmt.Errorf("partition key %q has %d dimension keys separated by %q, want %d (%s)",
			key, len(parts), Separator, len(d.dims), strings.Join(d.dimNames(), Separator))
	}
	return parts, nil
}

// Join joins dimension keys into a key of a multi definition. Each part must
// be a valid key; membership is not checked (use Contains).
func (d *Definition) Join(parts ...string) (string, error) {
	if d.kind != Multi {
		return "", fmt.Errorf("cannot join partition keys: %s is not multi-dimensional", d)
	}
	if len(parts) != len(d.dims) {
		return "", fmt.Errorf("got %d dimension keys, want %d (%s)", len(parts), len(d.dims), strings.Join(d.dimNames(), Separator))
	}
	for i, p := range parts {
		if err := ValidKey(p); err != nil {
			return "", fmt.Errorf("dimension %q: %w", d.dims[i].Name, err)
		}
	}
	return strings.Join(parts, Separator), nil
}

func (d *Definition) dimNames() []string {
	names := make([]string, len(d.dims))
	for i, dim := range d.dims {
		names[i] = dim.Name
	}
	return names
}

// Window returns the time window [start, end) of a time key, in the
// definition's time zone. For a multi definition with exactly one time
// dimension it returns that dimension's window. It does not check the
// definition's bounds; use Contains for that.
func (d *Definition) Window(key string) (start, end time.Time, err error) {
	switch d.kind {
	case Time:
		w, err := d.tm.parseKey(key)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		return w, d.tm.sched.next(w).In(d.tm.Location), nil
	case Multi:
		parts, err := d.Split(key)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		at := -1
		for i, dim := range d.dims {
			if dim.Partitions.kind == Time {
				if at >= 0 {
					return time.Time{}, time.Time{}, fmt.Errorf("partition key %q has no single time window: %s has several time dimensions", key, d)
				}
				at = i
			}
		}
		if at < 0 {
			break
		}
		s, e, err := d.dims[at].Partitions.Window(parts[at])
		if err != nil {
			return s, e, fmt.Errorf("partition key %q, dimension %q: %w", key, d.dims[at].Name, err)
		}
		return s, e, nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("partition key %q has no time window: %s is not time-based", key, d)
}

// Range returns the keys from from to to, both included, in order. Both must
// be keys of the definition and from must not come after to. For a multi
// definition the range is taken in every dimension separately, and the result
// is the cartesian product of the dimension ranges (a box, not a stretch of
// the Keys order): "2026-01-01|us".."2026-01-03|eu" in a date|region
// definition with regions us, eu gives three days of both regions.
func (d *Definition) Range(from, to string, now time.Time) ([]string, error) {
	switch d.kind {
	case Static:
		return listRange(d.keys, d.index, from, to, d)
	case Dynamic:
		keys, err := d.dynamicKeys()
		if err != nil {
			return nil, err
		}
		index := make(map[string]int, len(keys))
		for i, k := range keys {
			index[k] = i
		}
		return listRange(keys, index, from, to, d)
	case Time:
		return d.tm.rangeKeys(from, to, now)
	case Multi:
		fp, err := d.Split(from)
		if err != nil {
			return nil, fmt.Errorf("range start: %w", err)
		}
		tp, err := d.Split(to)
		if err != nil {
			return nil, fmt.Errorf("range end: %w", err)
		}
		lists := make([][]string, len(d.dims))
		for i, dim := range d.dims {
			ks, err := dim.Partitions.Range(fp[i], tp[i], now)
			if err != nil {
				return nil, fmt.Errorf("range %q...%q, dimension %q: %w", from, to, dim.Name, err)
			}
			lists[i] = ks
		}
		return product(lists)
	}
	return nil, fmt.Errorf("unknown partitions kind %q", d.kind)
}

func listRange(keys []string, index map[string]int, from, to string, d *Definition) ([]string, error) {
	i, ok := index[from]
	if !ok {
		return nil, fmt.Errorf("range start %q is not one of the keys of %s", from, d)
	}
	j, ok := index[to]
	if !ok {
		return nil, fmt.Errorf("range end %q is not one of the keys of %s", to, d)
	}
	if i > j {
		return nil, fmt.Errorf("range start %q comes after range end %q in %s", from, to, d)
	}
	return slices.Clone(keys[i : j+1]), nil
}
