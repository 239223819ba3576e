package graph

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sentinel errors. Every error this package returns wraps exactly one of them, so a caller
// can tell "fix your modules" from "fix your selection" with errors.Is instead of parsing
// messages.
var (
	// ErrInvalidGraph is wrapped by every problem New reports with the modules' declarations.
	ErrInvalidGraph = errors.New("invalid asset graph")
	// ErrBadSelection is wrapped by a selection expression that does not parse.
	ErrBadSelection = errors.New("malformed asset selection")
	// ErrNoMatch is wrapped by a well-formed selection clause that names no asset or group.
	ErrNoMatch = errors.New("asset selection matches nothing")
)

// Errors is a list of problems reported together. New and Select return it (always as
// *Errors, even for a single problem) so that a user sees everything wrong in one go.
// errors.Is and errors.As look through it to the individual errors.
type Errors struct {
	Errs []error
}

// Error returns one problem per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (e *Errors) Unwrap() []error { return e.Errs }

// keyHint tells the user what a valid asset key looks like; it ends every key syntax error.
const keyHint = `use path components of letters, digits, '_' and '-' (not starting with '-') joined by '/', e.g. "orders/raw"`

// InvalidKeyError reports an asset declared with a key that is empty or badly formed.
type InvalidKeyError struct {
	Module string
	Key    string
	Reason string // what is wrong, e.g. "it has an empty path component"
}

func (e *InvalidKeyError) Error() string {
	return fmt.Sprintf("module %q: asset key %q is invalid: %s; %s", e.Module, e.Key, e.Reason, keyHint)
}

// Unwrap returns ErrInvalidGraph.
func (e *InvalidKeyError) Unwrap() error { return ErrInvalidGraph }

// InvalidGroupError reports an asset whose group name could not be written in a selection
// ("group:<name>"), which would make the group impossible to select.
type InvalidGroupError struct {
	Module string
	Key    string
	Group  string
	Reason string
}

func (e *InvalidGroupError) Error() string {
	return fmt.Sprintf("module %q: asset %q has invalid group name %q: %s; use letters, digits, '_' and '-' (not starting with '-')",
		e.Module, e.Key, e.Group, e.Reason)
}

// Unwrap returns ErrInvalidGraph.
func (e *InvalidGroupError) Unwrap() error { return ErrInvalidGraph }

// DuplicateKeyError reports an asset key defined more than once, by several modules or
// several times by one. Asset keys are global across the workspace because that is how
// dependencies and selections name assets.
type DuplicateKeyError struct {
	Key string
	// Modules lists the module of each definition, sorted; a module defining the key twice
	// appears twice.
	Modules []string
}

func (e *DuplicateKeyError) Error() string {
	// Count definitions per module, keeping the (sorted) order of first appearance.
	var names []string
	counts := map[string]int{}
	for _, m := range e.Modules {
		if counts[m] == 0 {
			names = append(names, m)
		}
		counts[m]++
	}
	if len(names) == 1 {
		return fmt.Sprintf("module %q: asset %q is defined %d times; remove all but one definition", names[0], e.Key, counts[names[0]])
	}
	parts := make([]string, len(names))
	for i, m := range names {
		parts[i] = fmt.Sprintf("module %q", m)
		if counts[m] > 1 {
			parts[i] += fmt.Sprintf(" (%d times)", counts[m])
		}
	}
	list := joinList(parts, "and")
	if len(names) == 2 {
		list = "both " + list
	}
	return fmt.Sprintf("asset %q is defined by %s; asset keys are global across the workspace: rename all but one (for example with a key prefix) or remove a module",
		e.Key, list)
}

// Unwrap returns ErrInvalidGraph.
func (e *DuplicateKeyError) Unwrap() error { return ErrInvalidGraph }

// UnknownDepError reports a dependency on an asset key that no module defines.
type UnknownDepError struct {
	Module string
	Key    string // the asset that declares the dependency
	Dep    string // the missing upstream key
	// Suggestions are up to three defined keys close to Dep, best first. New searches for
	// the first 50 distinct missing keys only (in key order of the declaring assets), since
	// each search scans every key.
	Suggestions []string
}

func (e *UnknownDepError) Error() string {
	if e.Dep == "" {
		return fmt.Sprintf("module %q: asset %q has a dependency with an empty key; remove it", e.Module, e.Key)
	}
	msg := fmt.Sprintf("module %q: asset %q depends on %q, which no module defines", e.Module, e.Key, e.Dep)
	if len(e.Suggestions) > 0 {
		return msg + "; did you mean " + joinList(quoteAll(e.Suggestions), "or") + "?"
	}
	return msg + "; add a module that defines it or remove the dependency"
}

// Unwrap returns ErrInvalidGraph.
func (e *UnknownDepError) Unwrap() error { return ErrInvalidGraph }

// CycleError reports a dependency cycle. Path lists the assets of one concrete cycle in data
// flow order — each asset depends on the one before it — and repeats the first asset at the
// end, so a self-dependency of "a" is ["a", "a"]. The cycle starts at the smallest key in it and
// is a shortest cycle through that key, so the report is stable across runs.
type CycleError struct {
	Path    []string
	Modules []string // the modules that declare the assets on Path, sorted and unique
}

func (e *CycleError) Error() string {
	label := "modules"
	if len(e.Modules) == 1 {
		label = "module"
	}
	return fmt.Sprintf("dependency cycle: %s (%s %s); each asset depends on the one before it: remove one of these dependencies",
		strings.Join(e.Path, " -> "), label, strings.Join(quoteAll(e.Modules), ", "))
}

// Unwrap returns ErrInvalidGraph.
func (e *CycleError) Unwrap() error { return ErrInvalidGraph }

// SyntaxError reports a selection expression, or one clause of it, that does not parse.
type SyntaxError struct {
	Expr   string // the whole expression as given
	Clause string // the offending clause with surrounding whitespace removed; "" for an empty clause
	// Pos is the byte offset in Expr of the offending character, or -1 when the problem has
	// no position (an empty expression). Kept in bytes so a caller can slice Expr to draw a
	// caret; the message shows it as a 1-based column in characters.
	Pos    int
	Reason string
}

func (e *SyntaxError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "selection %q", e.Expr)
	if e.Clause != "" && e.Clause != strings.TrimSpace(e.Expr) {
		fmt.Fprintf(&b, ", clause %q", e.Clause)
	}
	if e.Pos >= 0 {
		fmt.Fprintf(&b, " at column %d", e.Column())
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Column returns the 1-based column, in characters, of Pos within Expr (0 without a position).
func (e *SyntaxError) Column() int {
	if e.Pos < 0 {
		return 0
	}
	return utf8.RuneCountInString(e.Expr[:min(e.Pos, len(e.Expr))]) + 1
}

// Unwrap returns ErrBadSelection.
func (e *SyntaxError) Unwrap() error { return ErrBadSelection }

// NoMatchError reports a well-formed selection clause whose asset key or group matches
// nothing. Selection is exact (as in Dagster), so instead of guessing, the error carries the
// keys or groups the user most likely meant.
type NoMatchError struct {
	Clause string // the clause as written, e.g. "+revenu*"
	Name   string // the key or group name looked up, e.g. "revenu"; "*" for an empty graph
	Group  bool   // Name is a group name (the clause was "group:<name>")
	// Suggestions are up to three close keys (or groups), best first.
	Suggestions []string
	// Groups lists every group of the graph, sorted; set only when Group is true.
	Groups []string
}

// maxListedGroups bounds the groups listed in a message; a workspace with hundreds of groups
// should not produce a screenful for one typo.
const maxListedGroups = 10

func (e *NoMatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "selection %q: ", e.Clause)
	switch {
	case e.Group:
		fmt.Fprintf(&b, "no group %q", e.Name)
	case e.Name == "*":
		b.WriteString("the workspace defines no assets")
		return b.String()
	default:
		fmt.Fprintf(&b, "no asset %q", e.Name)
	}
	if len(e.Suggestions) > 0 {
		b.WriteString("; did you mean " + joinList(quoteAll(e.Suggestions), "or") + "?")
	} else if !e.Group {
		b.WriteString("; asset keys match exactly and no defined key is close to it")
	}
	if e.Group {
		// Listing the groups is cheap and answers the next question ("what is there?").
		sep := "; the"
		if len(e.Suggestions) > 0 {
			sep = " The"
		}
		groups := quoteAll(e.Groups)
		if len(groups) > maxListedGroups {
			groups = append(groups[:maxListedGroups:maxListedGroups], fmt.Sprintf("%d more", len(e.Groups)-maxListedGroups))
		}
		if len(groups) == 0 {
			b.WriteString(sep + " workspace defines no groups")
		} else {
			b.WriteString(sep + " groups are " + joinList(groups, "and"))
		}
	}
	return b.String()
}

// Unwrap returns ErrNoMatch.
func (e *NoMatchError) Unwrap() error { return ErrNoMatch }

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// joinList joins items as English does: "a", "a or b", "a, b or c".
func joinList(items []string, conj string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + conj + " " + items[len(items)-1]
}
