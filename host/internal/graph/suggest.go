package graph

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxSuggestions is how many close matches an error offers: enough to cover the likely
// intent, few enough to read at a glance.
const maxSuggestions = 3

// Match tiers, best first. A typo close to a whole key beats a key that merely starts with
// what was typed, which beats one that merely contains it.
const (
	tierExact     = iota // same ignoring case, or same last path component ("raw" for "orders/raw")
	tierEdit             // within a small edit distance of the key or of its last component
	tierPrefix           // the key or its last component starts with the query
	tierSubstring        // the key contains the query
)

// suggest returns up to limit candidates the user may have meant by query, best first:
// ranked by tier, then by edit distance, then by key. Comparison ignores case, and the last
// path component of a key is compared too, because users often type "cleaned_orders" for
// "orders/cleaned_orders".
//
// It looks at every candidate, so it must stay cheap per candidate: a typo in a workspace of
// 100,000 assets should be reported in milliseconds, not seconds.
func suggest(query string, candidates []string, limit int) []string {
	q := strings.ToLower(query)
	if q == "" {
		return nil
	}
	qLast := lastComponent(q)
	m := newDistance(q)
	// Allow roughly one edit per three characters: enough for typos and transpositions,
	// not so many that unrelated short keys match.
	maxDist := max(1, len(m.a)/3)

	type match struct {
		key        string
		tier, dist int
	}
	var matches []match
	for _, c := range candidates {
		lc := strings.ToLower(c) // no allocation for keys already in lower case
		last := lastComponent(lc)
		tier, dist := -1, 0
		switch {
		case lc == q || last == q || strings.Contains(q, "/") && last == qLast:
			tier = tierExact
		default:
			dist = min(m.bounded(lc, maxDist), m.bounded(last, maxDist))
			switch {
			case dist <= maxDist:
				tier = tierEdit
			case len(q) >= 2 && (strings.HasPrefix(lc, q) || strings.HasPrefix(last, q)):
				tier = tierPrefix
			case len(q) >= 3 && strings.Contains(lc, q):
				tier = tierSubstring
			}
		}
		if tier < 0 {
			continue
		}
		if tier != tierEdit {
			// Rank within the tier by the true distance, which the bounded search gave up on.
			dist = min(m.bounded(lc, math.MaxInt), m.bounded(last, math.MaxInt))
		}
		matches = append(matches, match{key: c, tier: tier, dist: dist})
	}
	slices.SortFunc(matches, func(a, b match) int {
		return cmp.Or(cmp.Compare(a.tier, b.tier), cmp.Compare(a.dist, b.dist), strings.Compare(a.key, b.key))
	})
	var out []string
	for _, m := range matches[:min(limit, len(matches))] {
		out = append(out, m.key)
	}
	return out
}

func lastComponent(key string) string {
	return key[strings.LastIndexByte(key, '/')+1:]
}

// distance computes edit distances from one query to many strings, reusing its buffers so
// that comparing a query with every key of a large graph does not allocate per key.
type distance struct {
	a     []rune
	ascii bool       // a is ASCII, so the character-count filter applies
	count [128]int32 // scratch for the filter; all zero between calls
	b     []rune     // scratch: the other string's runes
	prev  []int      // scratch rows of the dynamic-programming table
	cur   []int
}

func newDistance(a string) *distance {
	return &distance{a: []rune(a), ascii: isASCII(a)}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// bagDistance returns a lower bound of the edit distance between the ASCII strings d.a and
// b: the larger of the number of characters of one not matched by a character of the other,
// counting repeats. It costs one pass over each string, against a pass over the table for
// the distance itself, and rejects almost every unrelated key.
func (d *distance) bagDistance(b string) int {
	for _, r := range d.a {
		d.count[r]++
	}
	for i := 0; i < len(b); i++ {
		d.count[b[i]]--
	}
	var extraA, extraB int32
	settle := func(c byte) {
		if v := d.count[c]; v > 0 {
			extraA += v
		} else {
			extraB -= v
		}
		d.count[c] = 0 // leaves the scratch zeroed; a repeated character then adds 0
	}
	for _, r := range d.a {
		settle(byte(r))
	}
	for i := 0; i < len(b); i++ {
		settle(b[i])
	}
	return int(max(extraA, extraB))
}

// bounded returns the Levenshtein distance (insertions, deletions, substitutions) between
// d.a and b, or bound+1 as soon as it is known to exceed bound. Only the diagonal band of the
// table within bound of the main diagonal is computed (Ukkonen's cut-off): a cell outside it
// already costs more than bound.
func (d *distance) bounded(b string, bound int) int {
	a := d.a
	if n := utf8.RuneCountInString(b); n-len(a) > bound || len(a)-n > bound {
		return bound + 1
	}
	if d.ascii && isASCII(b) && d.bagDistance(b) > bound {
		return bound + 1
	}
	d.b = d.b[:0]
	for _, r := range b {
		d.b = append(d.b, r)
	}
	br := d.b
	d.prev = slices.Grow(d.prev[:0], len(br)+1)[:len(br)+1]
	d.cur = slices.Grow(d.cur[:0], len(br)+1)[:len(br)+1]
	prev, cur := d.prev, d.cur
	for j := range prev {
		prev[j] = j
	}
	// No distance exceeds the longer length; clamping keeps i+bound from overflowing when
	// the caller wants the exact distance.
	bound = min(bound, max(len(a), len(br)))
	over := bound + 1 // stands for every cell outside the band
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-bound), min(len(br), i+bound)
		rowMin := over
		if lo == 1 {
			cur[0] = i
			rowMin = i
		} else {
			cur[lo-1] = over
		}
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == br[j-1] {
				cost = 0
			}
			c := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			cur[j] = c
			rowMin = min(rowMin, c)
		}
		if hi < len(br) {
			cur[hi+1] = over // read as prev[hi+1] by the next row
		}
		if rowMin > bound {
			return bound + 1 // a row's minimum never decreases in the next row
		}
		prev, cur = cur, prev
	}
	return min(prev[len(br)], bound+1)
}

// levenshtein returns the edit distance between a and b.
func levenshtein(a, b string) int {
	return newDistance(a).bounded(b, math.MaxInt)
}

// Suggest returns up to three candidates the user may have meant by query, best first, for
// "did you mean" hints about names other than asset keys (ops, graphs, nodes).
func Suggest(query string, candidates []string) []string {
	return suggest(query, candidates, maxSuggestions)
}
