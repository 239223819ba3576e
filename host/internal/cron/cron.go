// Package cron parses standard five-field cron expressions and computes
// their fire times in a time zone.
//
// An expression has five fields separated by white space:
//
//	minute        0-59
//	hour          0-23
//	day of month  1-31
//	month         1-12 or JAN-DEC
//	day of week   0-7 (0 and 7 are Sunday) or SUN-SAT
//
// Each field is a comma-separated list of items. An item is "*" (every
// value), a single value "a", a range "a-b", or one of those followed by a
// step: "*/n" (every nth value of the field), "a-b/n" (every nth value from
// a through b) and "a/n" (every nth value from a through the field's
// maximum). Month and weekday names are three letters and case-insensitive.
//
// The macros @hourly, @daily (also @midnight), @weekly, @monthly and
// @yearly (also @annually) stand for "0 * * * *", "0 0 * * *",
// "0 0 * * 0", "0 0 1 * *" and "0 0 1 1 *".
//
// Day of month and day of week combine as in Vixie cron: if both fields are
// restricted, a day matches when either field matches it; if one of them is
// exactly "*", only the other one applies. A field counts as unrestricted
// only when it is exactly "*"; "*/2" is restricted.
//
// Schedules are evaluated in wall-clock time of a location. A wall time that
// does not exist in the location, because the clocks jump forward over it,
// is skipped: the schedule does not fire at all for it (it does not fire
// late instead). A wall time that occurs twice, because the clocks are set
// back, fires once, at its first occurrence.
package cron

import (
	"fmt"
	"math/bits"
	"strings"
	"time"
)

// searchYears bounds how far Next and Prev look for a fire time. Every
// schedule accepted by Parse fires at least once in any 8 consecutive years
// (February 29 alone is the rarest, e.g. 2096 and 2104).
const searchYears = 12

// A Schedule is a parsed cron expression. It is immutable and safe for
// concurrent use.
type Schedule struct {
	expr   string
	minute uint64 // bits 0-59
	hour   uint64 // bits 0-23
	dom    uint64 // bits 1-31
	month  uint64 // bits 1-12
	dow    uint64 // bits 0-6, Sunday is 0
	// domStar and dowStar report whether the day of month or day of week
	// field was exactly "*".
	domStar, dowStar bool
}

// field describes one of the five fields of an expression.
type field struct {
	name     string
	min, max int
	starMax  int // largest value of "*" and of the open end of "a/n"
	names    []string
}

var fields = [5]field{
	{name: "minute", min: 0, max: 59, starMax: 59},
	{name: "hour", min: 0, max: 23, starMax: 23},
	{name: "day of month", min: 1, max: 31, starMax: 31},
	{name: "month", min: 1, max: 12, starMax: 12, names: []string{
		"", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day of week", min: 0, max: 7, starMax: 6, names: []string{
		"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

var macros = map[string]string{
	"@hourly":   "0 * * * *",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@weekly":   "0 0 * * 0",
	"@monthly":  "0 0 1 * *",
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
}

// Parse parses a five-field cron expression or a macro such as @daily.
// It rejects expressions with a seconds field, values out of range, empty
// list items, steps of zero, reversed ranges and schedules that can never
// fire, such as "0 0 31 2 *". Errors name the field and the offending text.
func Parse(expr string) (*Schedule, error) {
	f := strings.Fields(expr)
	norm := strings.Join(f, " ")
	errorf := func(format string, args ...any) error {
		return fmt.Errorf("cron %q: "+format, append([]any{norm}, args...)...)
	}
	switch {
	case len(f) == 0:
		return nil, errorf("empty expression")
	case len(f) == 1 && strings.HasPrefix(f[0], "@"):
		std, ok := macros[strings.ToLower(f[0])]
		if !ok {
			return nil, errorf("unknown macro %q (want @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)", f[0])
		}
		s, err := Parse(std)
		if err != nil {
			panic("cron: bad macro: " + err.Error())
		}
		s.expr = norm
		return s, nil
	case len(f) == 6:
		return nil, errorf("6 fields given, want 5 (minute hour day-of-month month day-of-week); a seconds field is not supported")
	case len(f) != 5:
		return nil, errorf("%d fields given, want 5 (minute hour day-of-month month day-of-week)", len(f))
	}

	var masks [5]uint64
	for i, text := range f {
		m, err := parseField(text, &fields[i])
		if err != nil {
			return nil, errorf("%s: %s", fields[i].name, err)
		}
		masks[i] = m
	}
	s := &Schedule{
		expr:    norm,
		minute:  masks[0],
		hour:    masks[1],
		dom:     masks[2],
		month:   masks[3],
		dow:     masks[4],
		domStar: f[2] == "*",
		dowStar: f[4] == "*",
	}
	// Day of week 7 is Sunday.
	if s.dow&(1<<7) != 0 {
		s.dow = s.dow&^(1<<7) | 1
	}
	// Only a restricted day of month combined with an unrestricted day of
	// week can fail to fire: any other combination includes every day of
	// week, which occur in every month.
	if !s.domStar && s.dowStar && !s.fires() {
		return nil, errorf("never fires: no day of month in %q exists in month %q", f[2], f[3])
	}
	return s, nil
}

// maxDays is the largest number of days of each month, in any year.
var maxDays = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// fires reports whether some day of month of s exists in some month of s.
func (s *Schedule) fires() bool {
	for m := 1; m <= 12; m++ {
		if s.month&(1<<m) != 0 && s.dom&(1<<(maxDays[m]+1)-1) != 0 {
			return true
		}
	}
	return false
}

// parseField parses one field into a bit set of its values.
func parseField(text string, f *field) (uint64, error) {
	var mask uint64
	for item := range strings.SplitSeq(text, ",") {
		if item == "" {
			return 0, fmt.Errorf("empty item in list %q", text)
		}
		m, err := parseItem(item, f)
		if err != nil {
			return 0, err
		}
		mask |= m
	}
	return mask, nil
}

// parseItem parses "*", "a", "a-b", "*/n", "a/n" or "a-b/n".
func parseItem(item string, f *field) (uint64, error) {
	rng, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, ok := parseNumber(stepText)
		if !ok {
			return 0, fmt.Errorf("invalid step %q in %q", stepText, item)
		}
		if n == 0 {
			return 0, fmt.Errorf("step 0 in %q, want at least 1", item)
		}
		step = n
	}
	var lo, hi int
	if rng == "*" {
		lo, hi = f.min, f.starMax
	} else {
		loText, hiText, isRange := strings.Cut(rng, "-")
		var err error
		if lo, err = parseValue(loText, item, f); err != nil {
			return 0, err
		}
		switch {
		case isRange:
			if hi, err = parseValue(hiText, item, f); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("range %q is reversed (%d is after %d)", rng, lo, hi)
			}
		case hasStep:
			hi = max(lo, f.starMax)
		default:
			hi = lo
		}
	}
	var mask uint64
	for v := lo; v <= hi; v += step {
		mask |= 1 << v
	}
	return mask, nil
}

// parseValue parses a number or a name of field f, part of item, and checks
// its range.
func parseValue(text, item string, f *field) (int, error) {
	if n, ok := parseNumber(text); ok {
		if n < f.min || n > f.max {
			return 0, fmt.Errorf("%s is out of range %d-%d", text, f.min, f.max)
		}
		return n, nil
	}
	for i, name := range f.names {
		if name != "" && strings.EqualFold(text, name) {
			return i, nil
		}
	}
	if text == "" {
		return 0, fmt.Errorf("missing value in %q", item)
	}
	return 0, fmt.Errorf("invalid value %q", text)
}

// parseNumber parses a non-empty string of ASCII digits. Values too large
// for any field are returned as 1000.
func parseNumber(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = min(n*10+int(c-'0'), 1000)
	}
	return n, true
}

// String returns the expression as given to Parse, with runs of white space
// replaced by single spaces.
func (s *Schedule) String() string { return s.expr }

// Next returns the first fire time of s strictly after t, in t's location.
// The schedule is evaluated in wall-clock time of t.Location(); see the
// package documentation for how daylight saving transitions are handled.
// Next returns the zero Time if there is no fire time within a dozen years
// of t, which can only happen near the limits of the Time range.
func (s *Schedule) Next(t time.Time) time.Time {
	loc := t.Location()
	c := civilOf(t)
	c.sec = 0
	c.min++ // fire times are whole minutes; the one at c is not after t
	limit := c.year + searchYears
	for {
		var ok bool
		if c, ok = s.next(c, limit); !ok {
			return time.Time{}
		}
		if u, ok := resolve(c, loc); ok && u.After(t) {
			return u
		}
		c.min++
	}
}

// Prev returns the last fire time of s strictly before t, in t's location.
// The schedule is evaluated in wall-clock time of t.Location(); see the
// package documentation for how daylight saving transitions are handled.
// Prev returns the zero Time if there is no fire time within a dozen years
// before t, which can only happen near the limits of the Time range.
func (s *Schedule) Prev(t time.Time) time.Time {
	loc := t.Location()
	// If the clocks were set back shortly before t, wall times after t's
	// may have had their first (and only firing) occurrence before t. Start
	// from t's wall time in the larger of the recent offsets.
	_, off := t.Zone()
	if _, o := t.Add(-36 * time.Hour).Zone(); o > off {
		off = o
	}
	c := civilOf(t.UTC().Add(time.Duration(off) * time.Second))
	c.sec = 0
	limit := c.year - searchYears
	for {
		var ok bool
		if c, ok = s.prev(c, limit); !ok {
			return time.Time{}
		}
		if u, ok := resolve(c, loc); ok && u.Before(t) {
			return u
		}
		c.min--
	}
}

// civil is a wall-clock time to the minute. Its fields may be one past
// their range during iteration (for example min == 60 or min == -1).
type civil struct {
	year, month, day, hour, min, sec int
}

func civilOf(t time.Time) civil {
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	return civil{y, int(mo), d, h, mi, sec}
}

// resolve returns the first instant at which the wall clock of loc shows
// c, and false if it never does (c lies in a gap).
func resolve(c civil, loc *time.Location) (time.Time, bool) {
	w := time.Date(c.year, time.Month(c.month), c.day, c.hour, c.min, 0, 0, time.UTC)
	if loc == time.UTC {
		return w, true
	}
	// Every occurrence of w is w-o for some offset o in effect around w.
	var (
		best  time.Time
		found bool
		seen  [3]int
	)
	for i, probe := range [3]time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, o := w.Add(probe).In(loc).Zone()
		seen[i] = o
		if (i > 0 && o == seen[0]) || (i > 1 && o == seen[1]) {
			continue
		}
		u := w.Add(-time.Duration(o) * time.Second).In(loc)
		if _, uo := u.Zone(); uo != o {
			continue
		}
		if !found || u.Before(best) {
			best, found = u, true
		}
	}
	return best, found
}

// next returns the first wall time at or after c that matches s, looking
// no further than the end of year limit.
func (s *Schedule) next(c civil, limit int) (civil, bool) {
	y, mo, d, h, mi := c.year, c.month, c.day, c.hour, c.min
	for y <= limit {
		switch {
		case mo > 12:
			y, mo, d, h, mi = y+1, 1, 1, 0, 0
		case s.month&(1<<mo) == 0:
			if mo = nextBit(s.month, mo); mo > 12 {
				y, mo = y+1, 1
			}
			d, h, mi = 1, 0, 0
		case d > daysIn(y, mo):
			mo, d, h, mi = mo+1, 1, 0, 0
		case !s.dayMatches(y, mo, d):
			d, h, mi = d+1, 0, 0
		case h > 23:
			d, h, mi = d+1, 0, 0
		case s.hour&(1<<h) == 0:
			if h = nextBit(s.hour, h); h > 23 {
				d, h = d+1, 0
			}
			mi = 0
		default:
			if mi = nextBit(s.minute, mi); mi > 59 {
				h, mi = h+1, 0
				continue
			}
			return civil{year: y, month: mo, day: d, hour: h, min: mi}, true
		}
	}
	return civil{}, false
}

// prev returns the last wall time at or before c that matches s, looking
// no further back than the start of year limit.
func (s *Schedule) prev(c civil, limit int) (civil, bool) {
	y, mo, d, h, mi := c.year, c.month, c.day, c.hour, c.min
	for y >= limit {
		switch {
		case mo < 1:
			y, mo, d, h, mi = y-1, 12, 31, 23, 59
		case s.month&(1<<mo) == 0:
			if mo = prevBit(s.month, mo); mo < 1 {
				y, mo = y-1, 12
			}
			d, h, mi = 31, 23, 59
		case d < 1:
			mo, d, h, mi = mo-1, 31, 23, 59
		case d > daysIn(y, mo):
			d, h, mi = daysIn(y, mo), 23, 59
		case !s.dayMatches(y, mo, d):
			d, h, mi = d-1, 23, 59
		case h < 0:
			d, h, mi = d-1, 23, 59
		case s.hour&(1<<h) == 0:
			if h = prevBit(s.hour, h); h < 0 {
				d, h = d-1, 23
			}
			mi = 59
		default:
			if mi = prevBit(s.minute, mi); mi < 0 {
				h, mi = h-1, 59
				continue
			}
			return civil{year: y, month: mo, day: d, hour: h, min: mi}, true
		}
	}
	return civil{}, false
}

// dayMatches reports whether the day of month and day of week fields of s
// accept the date y-mo-d, which must exist.
func (s *Schedule) dayMatches(y, mo, d int) bool {
	domOK := s.dom&(1<<d) != 0
	dowOK := s.dow&(1<<weekday(y, mo, d)) != 0
	if s.domStar || s.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// nextBit returns the smallest set bit of mask at or above x, or 64.
func nextBit(mask uint64, x int) int {
	if x >= 64 {
		return 64
	}
	return bits.TrailingZeros64(mask & (^uint64(0) << x))
}

// prevBit returns the largest set bit of mask at or below x, or -1.
func prevBit(mask uint64, x int) int {
	if x < 0 {
		return -1
	}
	if x < 63 {
		mask &= 1<<(x+1) - 1
	}
	return bits.Len64(mask) - 1
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, mo int) int {
	if mo == 2 && !isLeap(y) {
		return 28
	}
	return maxDays[mo]
}

// weekday returns the day of week of y-mo-d, Sunday being 0.
func weekday(y, mo, d int) int {
	// Days since 1970-01-01 (a Thursday), after Howard Hinnant's
	// days_from_civil.
	if mo <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (mo + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := era*146097 + doe - 719468
	wd := (days + 4) % 7
	if wd < 0 {
		wd += 7
	}
	return wd
}
