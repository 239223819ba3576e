package config

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Apply applies the schema's defaults to value and validates the result, reporting every problem
// (see the package documentation for how defaults are applied). value is decoded JSON: nil,
// bool, string, float64 or json.Number (other Go integer and float types are accepted too),
// []any and map[string]any. Apply does not modify value: the result is a copy. Paths start at
// "config". A nil *Schema accepts any value.
//
// Apply does not resolve environment references: {"env": "NAME"} is an ordinary object to it.
// Use [Prepare] for run config.
//
// The errors are sorted by path. The result is meaningful only when there are none.
func (s *Schema) Apply(value any) (resolved any, errs []Error) {
	w := &walker{mode: envOff}
	resolved, _ = w.walk(s.orAny(), value, "config")
	sortErrors(w.errs)
	return resolved, w.errs
}

// ResolveEnv replaces every environment reference in value, an object of exactly the shape
// {"env": "NAME"} found anywhere, with the variable's value (a string) in resolved and with
// the reference {"env": "NAME"} in redacted. A variable that lookup does not find is an error at the
// reference's path (paths start at "config"); a nil lookup finds nothing. value is not modified.
//
// ResolveEnv knows no schema, so it neither converts values nor tells a reference from an object
// that only looks like one; [Prepare] does both.
func ResolveEnv(value any, lookup func(string) (string, bool)) (resolved any, redacted any, errs []Error) {
	w := &walker{mode: envResolve, lookup: lookup}
	resolved, redacted = w.walk(anySchema, value, "config")
	sortErrors(w.errs)
	return resolved, redacted, w.errs
}

// Prepare turns a step's config into what the guest receives (resolved) and what may be stored
// (redacted), in one pass over the schema: at each value it first resolves an environment
// reference (and converts the variable's text to the number or boolean the schema expects), then
// fills in missing fields from defaults (defaults may themselves hold references), then checks the
// value against the schema. redacted is resolved with every secret replaced by
// the reference {"env": "NAME"}. Error messages never contain a secret.
//
// A nil schema accepts any value (and still resolves references). Paths start at "config". The
// errors are sorted by path; the results are meaningful only when there are none.
func Prepare(schema *Schema, value any, lookup func(string) (string, bool)) (resolved, redacted any, errs []Error) {
	w := &walker{mode: envResolve, lookup: lookup}
	resolved, redacted = w.walk(schema.orAny(), value, "config")
	sortErrors(w.errs)
	return resolved, redacted, w.errs
}

// envMode says how a walk treats {"env": "NAME"}.
type envMode int

const (
	envOff     envMode = iota // an ordinary object
	envResolve                // a reference to resolve
	envKeep                   // a reference left as it is and not checked (checking defaults)
)

// walker checks one value against a schema, collecting errors.
type walker struct {
	mode   envMode
	lookup func(string) (string, bool)
	errs   []Error
}

func (w *walker) fail(path, format string, args ...any) {
	w.errs = append(w.errs, Error{Path: path, Message: fmt.Sprintf(format, args...)})
}

// walk returns the value with defaults applied and references resolved, and the same value with
// secrets masked.
func (w *walker) walk(s *Schema, v any, path string) (resolved, redacted any) {
	if w.mode != envOff && !s.explicitObject() {
		if name, ok := envRef(v); ok {
			return w.env(s, name, v, path)
		}
	}
	return w.value(s, v, path, "")
}

// envRef reports whether v is an environment reference and returns the variable's name.
func envRef(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	name, ok := m["env"].(string)
	return name, ok
}

// Redacted returns the text that stands for the value of environment variable name in redacted
// config.
func Redacted(name string) string { return "<secret from env " + name + ">" }

func (w *walker) env(s *Schema, name string, ref any, path string) (resolved, redacted any) {
	// What is stored is the reference itself: it holds no secret, and a re-execution of the run
	// resolves it again from the environment.
	redacted = map[string]any{"env": name}
	if w.mode == envKeep {
		return ref, redacted
	}
	if name == "" {
		w.fail(path, `environment reference with an empty variable name`)
		return nil, redacted
	}
	var text string
	ok := false
	if w.lookup != nil {
		text, ok = w.lookup(name)
	}
	if !ok {
		w.fail(path, "environment variable %q is not set", name)
		return nil, redacted
	}
	resolved, _ = w.value(s, coerce(s, text), path, name)
	return resolved, redacted
}

// coerce converts an environment variable's text to the number or boolean the schema expects,
// when the schema does not accept a string. Text that does not convert is left for the type check
// to report.
func coerce(s *Schema, text string) any {
	if s.types == nil || slices.Contains(s.types, "string") {
		return text
	}
	t := strings.TrimSpace(text)
	for _, ty := range s.types {
		switch ty {
		case "integer":
			if numberRE.MatchString(t) && isIntegral(t) {
				return json.Number(t)
			}
		case "number":
			if numberRE.MatchString(t) {
				return json.Number(t)
			}
		case "boolean":
			if b, err := strconv.ParseBool(t); err == nil {
				return b
			}
		}
	}
	return text
}

// value checks v, which is not a reference at this level. secret is the name of the environment
// variable v came from, or "".
func (w *walker) value(s *Schema, v any, path, secret string) (resolved, redacted any) {
	if s.never {
		w.fail(path, "no value is allowed here, got %s", describe(v, secret))
		return v, w.mask(v)
	}
	t := kind(v)
	if t == "" {
		w.fail(path, "%s", invalidValue(v))
		return nil, nil
	}
	if !s.allows(t) {
		w.fail(path, "expected %s, got %s", s.expected(), describe(v, secret))
		return v, w.mask(v)
	}
	resolved, redacted = v, v
	switch t {
	case "object":
		resolved, redacted = w.object(s, v.(map[string]any), path)
	case "array":
		resolved, redacted = w.array(s, v.([]any), path)
	case "string":
		w.checkString(s, v.(string), path, secret)
	case "integer", "number":
		resolved = w.checkNumber(s, v, t, path, secret)
		redacted = resolved
	}
	// Messages show the redacted value: an object or array may hold resolved secrets.
	if s.enum != nil && !slices.ContainsFunc(s.enum, func(e any) bool { return jsonEqual(e, resolved) }) {
		w.fail(path, "must be one of %s, got %s", render(s.enum), show(redacted, secret))
	}
	if s.hasConst && !jsonEqual(s.constVal, resolved) {
		w.fail(path, "must be %s, got %s", render(s.constVal), show(redacted, secret))
	}
	return resolved, redacted
}

func (w *walker) object(s *Schema, m map[string]any, path string) (resolved, redacted map[string]any) {
	resolved = make(map[string]any, len(m))
	redacted = make(map[string]any, len(m))
	for _, name := range s.propNames {
		ps, cp := s.props[name], childPath(path, name)
		if v, ok := m[name]; ok {
			resolved[name], redacted[name] = w.walk(ps, v, cp)
			continue
		}
		switch {
		case ps.hasDefault:
			resolved[name], redacted[name] = w.walk(ps, deepCopy(ps.def), cp)
		case ps.autoCreate && s.isRequired(name):
			resolved[name], redacted[name] = w.walk(ps, map[string]any{}, cp)
		}
	}
	for _, r := range s.required {
		if _, ok := resolved[r]; ok {
			continue
		}
		if _, ok := m[r]; !ok {
			w.fail(path, "missing required field %q", r)
		}
	}
	extra := make([]string, 0, len(m))
	for k := range m {
		if _, ok := s.props[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		switch {
		case s.additional == nil:
			resolved[k], redacted[k] = w.walk(anySchema, m[k], childPath(path, k))
		case s.additional.never:
			w.fail(path, "unknown field %q%s", k, unknownHint(k, s.propNames))
		default:
			resolved[k], redacted[k] = w.walk(s.additional, m[k], childPath(path, k))
		}
	}
	return resolved, redacted
}

// unknownHint suggests the closest known field, or lists the known fields when there are few.
func unknownHint(k string, known []string) string {
	if h := suggest(k, known); h != "" {
		return h
	}
	switch {
	case len(known) == 0:
		return " (no fields are allowed here)"
	case len(known) <= 10:
		return " (allowed fields: " + strings.Join(known, ", ") + ")"
	}
	return ""
}

func (w *walker) array(s *Schema, arr []any, path string) (resolved, redacted []any) {
	resolved = make([]any, len(arr))
	redacted = make([]any, len(arr))
	items := s.items.orAny()
	for i, e := range arr {
		resolved[i], redacted[i] = w.walk(items, e, indexPath(path, i))
	}
	if m := s.minItems; m != nil && len(arr) < *m {
		w.fail(path, "must have at least %d %s, got %d", *m, plural(*m, "item"), len(arr))
	}
	if m := s.maxItems; m != nil && len(arr) > *m {
		w.fail(path, "must have at most %d %s, got %d", *m, plural(*m, "item"), len(arr))
	}
	return resolved, redacted
}

func (w *walker) checkString(s *Schema, str, path, secret string) {
	n := utf8.RuneCountInString(str)
	got := fmt.Sprintf("%d", n)
	if secret != "" {
		got = fmt.Sprintf("the value of environment variable %q", secret)
	}
	if m := s.minLength; m != nil && n < *m {
		w.fail(path, "must be at least %d %s long, got %s", *m, plural(*m, "character"), got)
	}
	if m := s.maxLength; m != nil && n > *m {
		w.fail(path, "must be at most %d %s long, got %s", *m, plural(*m, "character"), got)
	}
	if s.pattern != nil && !s.pattern.MatchString(str) {
		w.fail(path, "must match pattern %q, got %s", s.pattern.String(), show(str, secret))
	}
}

// checkNumber checks the bounds, and returns v with an integral value written as 3.0 or 1e2
// rewritten as 3 or 100 where the schema wants an integer.
func (w *walker) checkNumber(s *Schema, v any, t, path, secret string) any {
	text, _ := numText(v)
	if _, ok := v.(json.Number); ok && t == "integer" && slices.Contains(s.types, "integer") &&
		!slices.Contains(s.types, "number") && !plainInt(text) {
		if f, err := strconv.ParseFloat(text, 64); err == nil && math.Abs(f) <= 1<<53 {
			v = json.Number(strconv.FormatFloat(f, 'f', -1, 64))
		}
	}
	got := text
	if secret != "" {
		got = fmt.Sprintf("the value of environment variable %q", secret)
	}
	if b := s.minimum; b != nil && compareNum(text, b) < 0 {
		w.fail(path, "must be at least %s, got %s", b.text, got)
	}
	if b := s.exclusiveMinimum; b != nil && compareNum(text, b) <= 0 {
		w.fail(path, "must be greater than %s, got %s", b.text, got)
	}
	if b := s.maximum; b != nil && compareNum(text, b) > 0 {
		w.fail(path, "must be at most %s, got %s", b.text, got)
	}
	if b := s.exclusiveMaximum; b != nil && compareNum(text, b) >= 0 {
		w.fail(path, "must be less than %s, got %s", b.text, got)
	}
	return v
}

// mask copies v, replacing every environment reference by its redacted text. It is used for
// values that failed a check, so that even they keep no secret.
func (w *walker) mask(v any) any {
	if w.mode == envOff {
		return v
	}
	if name, ok := envRef(v); ok {
		return Redacted(name)
	}
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = w.mask(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = w.mask(e)
		}
		return out
	}
	return v
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// numberRE matches a JSON number.
var numberRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// numText returns the JSON text of a number, and false when v is not a valid number.
func numText(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return string(n), numberRE.MatchString(string(n))
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return "", false
		}
		return strconv.FormatFloat(n, 'g', -1, 64), true
	case float32:
		return numText(float64(n))
	case int:
		return strconv.FormatInt(int64(n), 10), true
	case int8:
		return strconv.FormatInt(int64(n), 10), true
	case int16:
		return strconv.FormatInt(int64(n), 10), true
	case int32:
		return strconv.FormatInt(int64(n), 10), true
	case int64:
		return strconv.FormatInt(n, 10), true
	case uint:
		return strconv.FormatUint(uint64(n), 10), true
	case uint8:
		return strconv.FormatUint(uint64(n), 10), true
	case uint16:
		return strconv.FormatUint(uint64(n), 10), true
	case uint32:
		return strconv.FormatUint(uint64(n), 10), true
	case uint64:
		return strconv.FormatUint(n, 10), true
	}
	return "", false
}

// kind returns the JSON type of v, "integer" for an integral number, or "" for a Go value that is
// not decoded JSON (or an invalid number).
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	text, ok := numText(v)
	if !ok {
		return ""
	}
	if isIntegral(text) {
		return "integer"
	}
	return "number"
}

func invalidValue(v any) string {
	switch n := v.(type) {
	case json.Number:
		return fmt.Sprintf("%q is not a valid JSON number", string(n))
	case float64, float32:
		return fmt.Sprintf("%v is not a valid JSON number", n)
	}
	return fmt.Sprintf("a Go value of type %T is not decoded JSON", v)
}

// isIntegral reports whether the JSON number text has no fractional part, exactly: 3, 3.0, 1e2
// and 1.5e1 are integral, 3.5 and 1e-400 are not.
func isIntegral(text string) bool {
	mant, exp := text, 0
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		mant = text[:i]
		e, err := strconv.Atoi(text[i+1:])
		if err != nil { // the exponent overflows an int
			e = 1 << 30
			if strings.HasPrefix(text[i+1:], "-") {
				e = -e
			}
		}
		exp = max(min(e, 1<<30), -1<<30)
	}
	mant = strings.TrimPrefix(mant, "-")
	intPart, frac := mant, ""
	if j := strings.IndexByte(mant, '.'); j >= 0 {
		intPart, frac = mant[:j], mant[j+1:]
	}
	digits := intPart + frac
	point := len(intPart) + exp // digits from index point on are fractional
	if point >= len(digits) {
		return true
	}
	return strings.Trim(digits[max(point, 0):], "0") == ""
}

// plainInt reports whether the number text is written without fraction or exponent.
func plainInt(text string) bool { return !strings.ContainsAny(text, ".eE") }

// compareNum compares the number text a with bound b: exactly for plain integers, as float64
// otherwise.
func compareNum(a string, b *bound) int {
	if plainInt(a) && plainInt(b.text) {
		x, ok1 := new(big.Int).SetString(a, 10)
		y, ok2 := new(big.Int).SetString(b.text, 10)
		if ok1 && ok2 {
			return x.Cmp(y)
		}
	}
	f, _ := strconv.ParseFloat(a, 64)
	switch {
	case f < b.f:
		return -1
	case f > b.f:
		return 1
	}
	return 0
}

// jsonEqual compares decoded JSON values, numbers by value (1 equals 1.0).
func jsonEqual(a, b any) bool {
	ta, tb := kind(a), kind(b)
	numeric := func(t string) bool { return t == "integer" || t == "number" }
	if numeric(ta) && numeric(tb) {
		x, _ := numText(a)
		y, _ := numText(b)
		if x == y {
			return true
		}
		if ta != tb {
			return false
		}
		fy, _ := strconv.ParseFloat(y, 64)
		return compareNum(x, &bound{text: y, f: fy}) == 0
	}
	if ta != tb || ta == "" {
		return false
	}
	switch a := a.(type) {
	case nil:
		return true
	case bool:
		return a == b.(bool)
	case string:
		return a == b.(string)
	case []any:
		bb := b.([]any)
		if len(a) != len(bb) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], bb[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bm := b.(map[string]any)
		if len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// deepCopy copies decoded JSON.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// describe names v's type and, for scalars, its value: `string "ten"`, `integer 3`, `object`.
// A value from environment variable secret is not shown.
func describe(v any, secret string) string {
	t := kind(v)
	if secret != "" {
		return fmt.Sprintf("%s from environment variable %q", t, secret)
	}
	switch t {
	case "object", "array", "null":
		return t
	case "":
		return fmt.Sprintf("Go value of type %T", v)
	}
	return t + " " + show(v, "")
}

// show renders v as compact JSON for a message, shortened when long. A value from environment
// variable secret is not shown.
func show(v any, secret string) string {
	if secret != "" {
		return fmt.Sprintf("the value of environment variable %q", secret)
	}
	return render(v)
}

const maxShown = 80

func render(v any) string {
	b, err := marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	s := string(b)
	if utf8.RuneCountInString(s) > maxShown {
		r := []rune(s)
		s = string(r[:maxShown]) + "…"
	}
	return s
}
