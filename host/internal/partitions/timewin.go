package partitions

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/wasmorch/wasmorch/host/internal/cron"
)

// A TimeSpec holds the parameters of a time partitions definition, with
// defaults applied.
type TimeSpec struct {
	Schedule  string         // "hourly", "daily", "weekly" or "monthly"; "" when Cron is set
	Cron      string         // a cron expression, or ""
	Start     time.Time      // as written, in Location
	End       time.Time      // as written, in Location; zero when there is no end
	Location  *time.Location // the time zone; UTC by default
	EndOffset int            // windows added to (or, negative, held back from) the last complete one
	Format    string         // Go time layout of keys

	sched    schedule
	first    time.Time // start of the first window
	endBound time.Time // start of the first window past End, when End is set
	collide  bool      // the format can give two windows the same key (repeated local hour)
}

// A schedule yields the window boundaries of a time definition. Windows run
// from one boundary to the next. The built-in calendar schedules implement it,
// and so does a cron expression (cronSchedule): each fire time is a boundary.
type schedule interface {
	// next returns the first boundary strictly after t.
	next(t time.Time) time.Time
	// prev returns the last boundary strictly before t.
	prev(t time.Time) time.Time
}

// floor returns the last boundary of s at or before t.
func floor(s schedule, t time.Time) time.Time {
	if c, ok := s.(calendar); ok {
		return c.floor(t)
	}
	p := s.prev(t)
	if n := s.next(p); !n.After(t) {
		return n
	}
	return p
}

// calendar is an hourly, daily, weekly (from Monday) or monthly schedule in a
// time zone.
// cronSchedule is a cron expression's fire times, evaluated in the definition's time zone. A wall
// time that a daylight-saving change skips does not fire, and one it repeats fires once (see
// package cron), so boundaries are distinct and a window may be longer than the expression's
// period across a change.
type cronSchedule struct {
	s   *cron.Schedule
	loc *time.Location
}

func (c cronSchedule) next(t time.Time) time.Time { return c.s.Next(t.In(c.loc)) }
func (c cronSchedule) prev(t time.Time) time.Time { return c.s.Prev(t.In(c.loc)) }

type calendar struct {
	unit string
	loc  *time.Location
}

func (c calendar) floor(t time.Time) time.Time {
	l := t.In(c.loc)
	switch c.unit {
	case "hourly":
		return l.Add(-time.Duration(l.Minute())*time.Minute - time.Duration(l.Second())*time.Second - time.Duration(l.Nanosecond()))
	case "daily":
		y, m, d := l.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, c.loc)
	case "weekly":
		y, m, d := l.Date()
		back := (int(l.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-back, 0, 0, 0, 0, c.loc)
	default: // monthly
		y, m, _ := l.Date()
		return time.Date(y, m, 1, 0, 0, 0, 0, c.loc)
	}
}

// step returns the boundary n units after the boundary b (n may be negative).
func (c calendar) step(b time.Time, n int) time.Time {
	l := b.In(c.loc)
	y, m, d := l.Date()
	switch c.unit {
	case "hourly":
		r := c.floor(l.Add(time.Duration(n) * time.Hour))
		if n > 0 && !r.After(b) { // a zone whose offset moved by a fraction of an hour
			r = l.Add(time.Duration(n) * time.Hour)
		}
		return r
	case "daily":
		return time.Date(y, m, d+n, 0, 0, 0, 0, c.loc)
	case "weekly":
		return time.Date(y, m, d+7*n, 0, 0, 0, 0, c.loc)
	default:
		return time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, c.loc)
	}
}

func (c calendar) next(t time.Time) time.Time { return c.step(c.floor(t), 1) }

func (c calendar) prev(t time.Time) time.Time {
	f := c.floor(t)
	if f.Before(t) {
		return f
	}
	return c.step(f, -1)
}

var defaultFormats = map[string]string{
	"hourly":  "2006-01-02-15:04",
	"daily":   "2006-01-02",
	"weekly":  "2006-01-02",
	"monthly": "2006-01",
}

// Layouts accepted for start and end, after the definition's format.
var boundLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
}

func parseTime(path string, obj map[string]json.RawMessage) (*Definition, error) {
	if err := allow(path, obj, "time partitions", "type", "schedule", "cron", "start", "end", "timezone", "end_offset", "format"); err != nil {
		return nil, err
	}
	ts := &TimeSpec{}
	var start, end, tz string
	for _, f := range []struct {
		name string
		v    *string
	}{{"schedule", &ts.Schedule}, {"cron", &ts.Cron}, {"start", &start}, {"end", &end}, {"timezone", &tz}, {"format", &ts.Format}} {
		if err := field(path, obj, f.name, f.v, "a string"); err != nil {
			return nil, err
		}
	}
	if err := field(path, obj, "end_offset", &ts.EndOffset, "an integer"); err != nil {
		return nil, err
	}

	switch {
	case ts.Schedule != "" && ts.Cron != "":
		return nil, errorf(path, "give schedule or cron, not both")
	case ts.Schedule == "" && ts.Cron == "":
		return nil, errorf(path, "missing schedule (want hourly, daily, weekly or monthly) or cron")
	case ts.Schedule != "":
		if _, ok := defaultFormats[ts.Schedule]; !ok {
			return nil, errorf(path+".schedule", "unknown schedule %q (want hourly, daily, weekly or monthly)", ts.Schedule)
		}
	}

	if tz == "" {
		tz = "UTC"
	}
	if tz == "Local" {
		return nil, errorf(path+".timezone", "%q depends on the machine; give an IANA time zone such as \"Europe/Paris\"", tz)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, errorf(path+".timezone", "unknown time zone %q", tz)
	}
	ts.Location = loc

	if ts.Format == "" {
		if ts.Cron != "" {
			ts.Format = "2006-01-02T15:04"
		} else {
			ts.Format = defaultFormats[ts.Schedule]
		}
	}

	if start == "" {
		return nil, errorf(path+".start", "time partitions need a start")
	}
	if ts.Start, err = parseBound(start, ts.Format, loc); err != nil {
		return nil, errorf(path+".start", "%v", err)
	}
	if end != "" {
		if ts.End, err = parseBound(end, ts.Format, loc); err != nil {
			return nil, errorf(path+".end", "%v", err)
		}
		if ts.EndOffset != 0 {
			return nil, errorf(path+".end_offset", "end_offset %d has no effect with an end; give one or the other", ts.EndOffset)
		}
	}

	if ts.Cron != "" {
		cs, err := cron.Parse(ts.Cron)
		if err != nil {
			return nil, errorf(path+".cron", "%v", err)
		}
		ts.sched = cronSchedule{cs, loc}
	} else {
		ts.sched = calendar{unit: ts.Schedule, loc: loc}
	}
	if err := ts.init(); err != nil {
		return nil, errorf(path, "%v", err)
	}
	// The format must give valid, distinct keys that read back as their windows.
	w0 := ts.first
	w1 := ts.sched.next(w0)
	k0, k1 := ts.key(w0), ts.key(w1)
	if err := ValidKey(k0); err != nil {
		return nil, errorf(path+".format", "format %q gives keys that are not valid: %v", ts.Format, err)
	}
	for _, w := range []time.Time{w0, w1} {
		if back, err := ts.parseKey(ts.key(w)); err != nil || !back.Equal(w) {
			return nil, errorf(path+".format", "format %q does not identify %s windows: the window starting %s has the key %q, which does not read back as that window",
				ts.Format, ts.Schedule, w.Format(time.RFC3339), ts.key(w))
		}
	}
	if k0 == k1 {
		return nil, errorf(path+".format", "format %q gives consecutive %s windows the same key %q", ts.Format, ts.Schedule, k0)
	}
	endDesc := ""
	if !ts.End.IsZero() {
		endDesc = ts.endBound.Format(time.RFC3339)
	}
	canon := fmt.Sprintf("time(%s,%q,first=%s,end=%s,tz=%s,end_offset=%d,format=%q)",
		ts.Schedule, ts.Cron, ts.first.Format(time.RFC3339), endDesc, loc, ts.EndOffset, ts.Format)
	return &Definition{kind: Time, tm: ts, canon: canon}, nil
}

// init computes the first window and the end bound.
func (ts *TimeSpec) init() error {
	ts.collide = ts.Location.String() != "UTC" && (ts.Schedule == "hourly" || ts.Cron != "")
	ts.first = floor(ts.sched, ts.Start)
	if ts.first.Before(ts.Start) {
		ts.first = ts.sched.next(ts.first)
	}
	ts.first = ts.first.In(ts.Location)
	if !ts.End.IsZero() {
		ts.endBound = floor(ts.sched, ts.End).In(ts.Location)
		if !ts.endBound.After(ts.first) {
			return fmt.Errorf("end %s leaves no complete window after start %s", ts.End.Format(time.RFC3339), ts.Start.Format(time.RFC3339))
		}
	}
	return nil
}

func parseBound(s, format string, loc *time.Location) (time.Time, error) {
	for _, layout := range append([]string{format}, boundLayouts...) {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.In(loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time (want the format %q, RFC 3339 or 2006-01-02[T15:04[:05]])", s, format)
}

// String describes the definition, for example "time daily from 2026-01-01 (UTC)".
func (ts *TimeSpec) String() string {
	s := ts.Schedule
	if ts.Cron != "" {
		s = fmt.Sprintf("cron %q", ts.Cron)
	}
	out := fmt.Sprintf("time %s from %s", s, ts.key(ts.first))
	if !ts.End.IsZero() {
		out += fmt.Sprintf(" to %s", ts.key(ts.endBound))
	}
	if ts.EndOffset != 0 {
		out += fmt.Sprintf(" end_offset %d", ts.EndOffset)
	}
	return out + fmt.Sprintf(" (%s)", ts.Location)
}

// key returns the key of the window starting at the boundary w.
func (ts *TimeSpec) key(w time.Time) string {
	l := w.In(ts.Location)
	k := l.Format(ts.Format)
	if ts.collide && l.Format(ts.Format) == ts.sched.prev(w).In(ts.Location).Format(ts.Format) {
		k += l.Format("-07:00")
	}
	return k
}

// parseKey returns the start of the window whose key is key.
func (ts *TimeSpec) parseKey(key string) (time.Time, error) {
	t, err := time.ParseInLocation(ts.Format, key, ts.Location)
	if err != nil && ts.collide {
		t, err = time.ParseInLocation(ts.Format+"-07:00", key, ts.Location)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("partition key %q does not match the format %q of %s: %v", key, ts.Format, ts, err)
	}
	w := floor(ts.sched, t)
	if !w.Equal(t) {
		return time.Time{}, fmt.Errorf("partition key %q is not the start of a %s window of %s (the window containing it is %q)", key, ts.unitName(), ts, ts.key(w))
	}
	if k := ts.key(w); k != key {
		// A repeated local hour: the parse may have picked the other instant.
		if p := ts.sched.prev(w); ts.key(p) == key {
			return p.In(ts.Location), nil
		}
		if n := ts.sched.next(w); ts.key(n) == key {
			return n.In(ts.Location), nil
		}
		return time.Time{}, fmt.Errorf("partition key %q is not written as %s writes it (want %q)", key, ts, k)
	}
	return w.In(ts.Location), nil
}

func (ts *TimeSpec) unitName() string {
	if ts.Cron != "" {
		return "cron"
	}
	if ts.Schedule == "weekly" {
		return "weekly (Monday to Monday)"
	}
	return ts.Schedule
}

// bound returns the start of the first window past the last key at time now.
func (ts *TimeSpec) bound(now time.Time) time.Time {
	if !ts.End.IsZero() {
		return ts.endBound
	}
	b := floor(ts.sched, now)
	for i := 0; i < ts.EndOffset; i++ {
		b = ts.sched.next(b)
	}
	for i := 0; i > ts.EndOffset; i-- {
		b = ts.sched.prev(b)
	}
	return b.In(ts.Location)
}

func (ts *TimeSpec) boundDesc(now time.Time) string {
	if !ts.End.IsZero() {
		return fmt.Sprintf("the end %s", ts.endBound.Format(time.RFC3339))
	}
	return fmt.Sprintf("%s (now %s with end_offset %d)", ts.bound(now).Format(time.RFC3339), now.In(ts.Location).Format(time.RFC3339), ts.EndOffset)
}

// contains returns the window start of key if key is within the bounds at now.
func (ts *TimeSpec) contains(key string, now time.Time) (time.Time, error) {
	w, err := ts.parseKey(key)
	if err != nil {
		return w, err
	}
	if w.Before(ts.first) {
		return w, fmt.Errorf("partition key %q is before the first partition %q (start %s) of %s", key, ts.key(ts.first), ts.Start.Format(time.RFC3339), ts)
	}
	if b := ts.bound(now); !w.Before(b) {
		last := "none"
		if b.After(ts.first) {
			last = fmt.Sprintf("%q", ts.key(ts.sched.prev(b)))
		}
		return w, fmt.Errorf("partition key %q is not before %s of %s; the last partition is %s", key, ts.boundDesc(now), ts, last)
	}
	return w, nil
}

// keys returns the keys of the windows in [first, bound(now)).
func (ts *TimeSpec) keys(now time.Time, limit int) ([]string, error) {
	return ts.keysBetween(ts.first, ts.bound(now), limit)
}

func (ts *TimeSpec) keysBetween(from, to time.Time, limit int) ([]string, error) {
	var out []string
	if d := to.Sub(from); d > 0 {
		n := 0
		switch ts.Schedule {
		case "hourly":
			n = int(d/time.Hour) + 2
		case "daily":
			n = int(d/(24*time.Hour)) + 2
		case "weekly":
			n = int(d/(7*24*time.Hour)) + 2
		case "monthly":
			n = int(d/(28*24*time.Hour)) + 2
		}
		out = make([]string, 0, min(n, limit))
	}
	prev := ""
	if ts.collide {
		prev = ts.sched.prev(from).In(ts.Location).Format(ts.Format)
	}
	for w := from; w.Before(to); w = ts.sched.next(w) {
		if len(out) >= limit {
			return nil, fmt.Errorf("%s has more than %d partitions", ts, limit)
		}
		l := w.In(ts.Location)
		k := l.Format(ts.Format)
		raw := k
		if ts.collide && k == prev {
			k += l.Format("-07:00")
		}
		prev = raw
		out = append(out, k)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

func (ts *TimeSpec) rangeKeys(from, to string, now time.Time) ([]string, error) {
	a, err := ts.contains(from, now)
	if err != nil {
		return nil, fmt.Errorf("range start: %w", err)
	}
	b, err := ts.contains(to, now)
	if err != nil {
		return nil, fmt.Errorf("range end: %w", err)
	}
	if a.After(b) {
		return nil, fmt.Errorf("range start %q is after range end %q", from, to)
	}
	return ts.keysBetween(a, ts.sched.next(b), MaxKeys)
}
