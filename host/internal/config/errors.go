package config

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// ErrInvalid is wrapped by the error [Join] returns: the config does not match its schema.
var ErrInvalid = errors.New("invalid config")

// ErrInvalidSchema is wrapped by every error [Compile] returns.
var ErrInvalidSchema = errors.New("invalid config schema")

// Error is one problem with a config value.
type Error struct {
	// Path locates the value, for example ops.raw_orders.config.limit or config.items[2]. It is
	// empty for a problem with the document as a whole.
	Path string
	// Message says what is wrong, naming what was expected and what was found.
	Message string
}

// Error returns "path: message", or the message alone when the path is empty.
func (e Error) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// Join returns nil for no errors, otherwise one error listing them all, one per line, that wraps
// [ErrInvalid].
func Join(errs []Error) error {
	if len(errs) == 0 {
		return nil
	}
	return &listError{sentinel: ErrInvalid, errs: append([]Error(nil), errs...)}
}

// listError is a list of errors under a sentinel.
type listError struct {
	sentinel error
	errs     []Error
}

func (l *listError) Error() string {
	if len(l.errs) == 1 {
		return l.sentinel.Error() + ": " + l.errs[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d errors):", l.sentinel, len(l.errs))
	for _, e := range l.errs {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

func (l *listError) Unwrap() error { return l.sentinel }

// sortErrors orders errors by path, array indexes in numeric order, keeping the order of errors
// with the same path.
func sortErrors(errs []Error) {
	keys := make([]string, len(errs))
	for i, e := range errs {
		keys[i] = sortKey(e.Path)
	}
	idx := make([]int, len(errs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	sorted := make([]Error, len(errs))
	for i, j := range idx {
		sorted[i] = errs[j]
	}
	copy(errs, sorted)
}

var indexRE = regexp.MustCompile(`\[(\d+)\]`)

// sortKey pads array indexes so that items[2] sorts before items[10]. Separators map to low bytes
// so that a path sorts right before the paths below it, and a quoted field (["a.b"]) sorts among
// the other fields.
func sortKey(path string) string {
	path = indexRE.ReplaceAllStringFunc(path, func(m string) string {
		n := m[1 : len(m)-1]
		if len(n) > 19 {
			return m
		}
		return "[" + strings.Repeat("0", 20-len(n)) + n + "]"
	})
	return strings.NewReplacer(`["`, "\x01\"", ".", "\x01", "[", "\x02").Replace(path)
}

// childPath is the path of field key of the value at path.
func childPath(path, key string) string {
	if needsQuote(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath is the path of element i of the array at path.
func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func needsQuote(key string) bool {
	if key == "" {
		return true
	}
	for _, r := range key {
		if r == '.' || r == '[' || r == ']' || r == '"' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to s by edit distance, when it
// is close enough to be a likely typo, or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", -1
	limit := max(2, len([]rune(s))/3)
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if d > limit || d >= max(len([]rune(s)), len([]rune(c))) {
			continue
		}
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if bestD < 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, counted in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
