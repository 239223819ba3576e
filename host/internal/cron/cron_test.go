package cron

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func loadLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func mustParse(t testing.TB, expr string) *Schedule {
	t.Helper()
	s, err := Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	return s
}

// bitList returns the set bits of m in increasing order.
func bitList(m uint64) []int {
	var out []int
	for i := range 64 {
		if m&(1<<i) != 0 {
			out = append(out, i)
		}
	}
	return out
}

func span(lo, hi int) []int {
	var out []int
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}

func TestParse(t *testing.T) {
	type sets struct {
		minute, hour, dom, month, dow []int
		domStar, dowStar              bool
	}
	all := sets{span(0, 59), span(0, 23), span(1, 31), span(1, 12), span(0, 6), true, true}
	with := func(f func(*sets)) sets {
		s := all
		f(&s)
		return s
	}
	tests := []struct {
		expr string
		want sets
	}{
		{"* * * * *", all},
		{"5 * * * *", with(func(s *sets) { s.minute = []int{5} })},
		{"0 0 * * *", with(func(s *sets) { s.minute, s.hour = []int{0}, []int{0} })},
		{"1-5 * * * *", with(func(s *sets) { s.minute = span(1, 5) })},
		{"*/15 * * * *", with(func(s *sets) { s.minute = []int{0, 15, 30, 45} })},
		{"10-30/10 * * * *", with(func(s *sets) { s.minute = []int{10, 20, 30} })},
		{"50/3 * * * *", with(func(s *sets) { s.minute = []int{50, 53, 56, 59} })},
		{"1,5,10-12,*/30 * * * *", with(func(s *sets) { s.minute = []int{0, 1, 5, 10, 11, 12, 30} })},
		{"0-59/60 * * * *", with(func(s *sets) { s.minute = []int{0} })},
		{"0 */6 * * *", with(func(s *sets) { s.minute, s.hour = []int{0}, []int{0, 6, 12, 18} })},
		{"* 23 * * *", with(func(s *sets) { s.hour = []int{23} })},
		{"* * 1,15,31 * *", with(func(s *sets) { s.dom, s.domStar = []int{1, 15, 31}, false })},
		{"* * */10 * *", with(func(s *sets) { s.dom, s.domStar = []int{1, 11, 21, 31}, false })},
		{"* * 28-31 * *", with(func(s *sets) { s.dom, s.domStar = span(28, 31), false })},
		{"* * 1-31 * *", with(func(s *sets) { s.domStar = false })},
		{"* * * JAN,mar-May *", with(func(s *sets) { s.month = []int{1, 3, 4, 5} })},
		{"* * * jan-dec/3 *", with(func(s *sets) { s.month = []int{1, 4, 7, 10} })},
		{"* * * 2 *", with(func(s *sets) { s.month = []int{2} })},
		{"* * * Dec *", with(func(s *sets) { s.month = []int{12} })},
		{"* * * * MON-FRI", with(func(s *sets) { s.dow, s.dowStar = span(1, 5), false })},
		{"* * * * 1-5", with(func(s *sets) { s.dow, s.dowStar = span(1, 5), false })},
		{"* * * * 0", with(func(s *sets) { s.dow, s.dowStar = []int{0}, false })},
		{"* * * * 7", with(func(s *sets) { s.dow, s.dowStar = []int{0}, false })},
		{"* * * * sun", with(func(s *sets) { s.dow, s.dowStar = []int{0}, false })},
		{"* * * * 5-7", with(func(s *sets) { s.dow, s.dowStar = []int{0, 5, 6}, false })},
		{"* * * * 0-7", with(func(s *sets) { s.dowStar = false })},
		{"* * * * */2", with(func(s *sets) { s.dow, s.dowStar = []int{0, 2, 4, 6}, false })},
		{"* * * * 1/2", with(func(s *sets) { s.dow, s.dowStar = []int{1, 3, 5}, false })},
		{"* * * * SAT,sun,Wed", with(func(s *sets) { s.dow, s.dowStar = []int{0, 3, 6}, false })},
		{"* * * * FRI-7", with(func(s *sets) { s.dow, s.dowStar = []int{0, 5, 6}, false })},
		{"0 0 13 * 5", with(func(s *sets) {
			s.minute, s.hour, s.dom, s.dow, s.domStar, s.dowStar = []int{0}, []int{0}, []int{13}, []int{5}, false, false
		})},
		{"007 * * * *", with(func(s *sets) { s.minute = []int{7} })},
		{"@hourly", with(func(s *sets) { s.minute = []int{0} })},
		{"@daily", with(func(s *sets) { s.minute, s.hour = []int{0}, []int{0} })},
		{"@midnight", with(func(s *sets) { s.minute, s.hour = []int{0}, []int{0} })},
		{"@DAILY", with(func(s *sets) { s.minute, s.hour = []int{0}, []int{0} })},
		{"@weekly", with(func(s *sets) { s.minute, s.hour, s.dow, s.dowStar = []int{0}, []int{0}, []int{0}, false })},
		{"@monthly", with(func(s *sets) { s.minute, s.hour, s.dom, s.domStar = []int{0}, []int{0}, []int{1}, false })},
		{"@yearly", with(func(s *sets) {
			s.minute, s.hour, s.dom, s.domStar, s.month = []int{0}, []int{0}, []int{1}, false, []int{1}
		})},
		{"@annually", with(func(s *sets) {
			s.minute, s.hour, s.dom, s.domStar, s.month = []int{0}, []int{0}, []int{1}, false, []int{1}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			s := mustParse(t, tt.expr)
			got := sets{bitList(s.minute), bitList(s.hour), bitList(s.dom), bitList(s.month), bitList(s.dow), s.domStar, s.dowStar}
			for _, c := range []struct {
				name      string
				got, want []int
			}{
				{"minute", got.minute, tt.want.minute},
				{"hour", got.hour, tt.want.hour},
				{"day of month", got.dom, tt.want.dom},
				{"month", got.month, tt.want.month},
				{"day of week", got.dow, tt.want.dow},
			} {
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
			if got.domStar != tt.want.domStar || got.dowStar != tt.want.dowStar {
				t.Errorf("domStar, dowStar = %v, %v, want %v, %v", got.domStar, got.dowStar, tt.want.domStar, tt.want.dowStar)
			}
			if s.String() != tt.expr {
				t.Errorf("String() = %q, want %q", s.String(), tt.expr)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0 0 * * *", "0 0 * * *"},
		{"  0\t0  *\n* *  ", "0 0 * * *"},
		{" @Weekly ", "@Weekly"},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.in).String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", `cron "": empty expression`},
		{"   ", `cron "": empty expression`},
		{"0 0 0 * * *", `cron "0 0 0 * * *": 6 fields given, want 5 (minute hour day-of-month month day-of-week); a seconds field is not supported`},
		{"* * * *", `cron "* * * *": 4 fields given, want 5 (minute hour day-of-month month day-of-week)`},
		{"* * * * * * *", `cron "* * * * * * *": 7 fields given, want 5 (minute hour day-of-month month day-of-week)`},
		{"@reboot", `cron "@reboot": unknown macro "@reboot" (want @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)`},
		{"@every 5m", `cron "@every 5m": 2 fields given, want 5 (minute hour day-of-month month day-of-week)`},
		{"0 25 * * *", `cron "0 25 * * *": hour: 25 is out of range 0-23`},
		{"60 * * * *", `cron "60 * * * *": minute: 60 is out of range 0-59`},
		{"* * 0 * *", `cron "* * 0 * *": day of month: 0 is out of range 1-31`},
		{"* * 32 * *", `cron "* * 32 * *": day of month: 32 is out of range 1-31`},
		{"* * * 0 *", `cron "* * * 0 *": month: 0 is out of range 1-12`},
		{"* * * 13 *", `cron "* * * 13 *": month: 13 is out of range 1-12`},
		{"* * * * 8", `cron "* * * * 8": day of week: 8 is out of range 0-7`},
		{"1-60 * * * *", `cron "1-60 * * * *": minute: 60 is out of range 0-59`},
		{"99999999999999999999 * * * *", `cron "99999999999999999999 * * * *": minute: 99999999999999999999 is out of range 0-59`},
		{"*/0 * * * *", `cron "*/0 * * * *": minute: step 0 in "*/0", want at least 1`},
		{"* 1-5/0 * * *", `cron "* 1-5/0 * * *": hour: step 0 in "1-5/0", want at least 1`},
		{"*/x * * * *", `cron "*/x * * * *": minute: invalid step "x" in "*/x"`},
		{"*/ * * * *", `cron "*/ * * * *": minute: invalid step "" in "*/"`},
		{"1/2/3 * * * *", `cron "1/2/3 * * * *": minute: invalid step "2/3" in "1/2/3"`},
		{"*/-1 * * * *", `cron "*/-1 * * * *": minute: invalid step "-1" in "*/-1"`},
		{"5-2 * * * *", `cron "5-2 * * * *": minute: range "5-2" is reversed (5 is after 2)`},
		{"* * * * FRI-MON", `cron "* * * * FRI-MON": day of week: range "FRI-MON" is reversed (5 is after 1)`},
		{"* * * DEC-JAN *", `cron "* * * DEC-JAN *": month: range "DEC-JAN" is reversed (12 is after 1)`},
		{"1,,2 * * * *", `cron "1,,2 * * * *": minute: empty item in list "1,,2"`},
		{",1 * * * *", `cron ",1 * * * *": minute: empty item in list ",1"`},
		{"* 1, * * *", `cron "* 1, * * *": hour: empty item in list "1,"`},
		{"-5 * * * *", `cron "-5 * * * *": minute: missing value in "-5"`},
		{"1- * * * *", `cron "1- * * * *": minute: missing value in "1-"`},
		{"/5 * * * *", `cron "/5 * * * *": minute: missing value in "/5"`},
		{"1-2-3 * * * *", `cron "1-2-3 * * * *": minute: invalid value "2-3"`},
		{"*-5 * * * *", `cron "*-5 * * * *": minute: invalid value "*"`},
		{"+5 * * * *", `cron "+5 * * * *": minute: invalid value "+5"`},
		{"x * * * *", `cron "x * * * *": minute: invalid value "x"`},
		{"? * * * *", `cron "? * * * *": minute: invalid value "?"`},
		{"JAN * * * *", `cron "JAN * * * *": minute: invalid value "JAN"`},
		{"* * * JANUARY *", `cron "* * * JANUARY *": month: invalid value "JANUARY"`},
		{"* * * * MONDAY", `cron "* * * * MONDAY": day of week: invalid value "MONDAY"`},
		{"* * * * L", `cron "* * * * L": day of week: invalid value "L"`},
		{"* * MON * *", `cron "* * MON * *": day of month: invalid value "MON"`},
		{"0 0 31 2 *", `cron "0 0 31 2 *": never fires: no day of month in "31" exists in month "2"`},
		{"0 0 30,31 FEB *", `cron "0 0 30,31 FEB *": never fires: no day of month in "30,31" exists in month "FEB"`},
		{"0 0 31 4,6,9,11 *", `cron "0 0 31 4,6,9,11 *": never fires: no day of month in "31" exists in month "4,6,9,11"`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			s, err := Parse(tt.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error %q", tt.expr, s, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.expr, err, tt.want)
			}
		})
	}
}

// Expressions that look like they might never fire but do.
func TestParseRareButValid(t *testing.T) {
	for _, expr := range []string{
		"0 0 29 2 *",         // leap years only
		"0 0 31 2 1",         // both restricted: every Monday in February
		"0 0 30,31 2,4 *",    // April 30
		"0 0 31 2,3 *",       // March 31
		"0 0 31 2 */1",       // day of week restricted: every day in February
		"59 23 31 DEC *",     // last minute of the year
		"0 0 1-31/31 2 *",    // February 1
		"0 0 */30 FEB-MAR *", // Mar 1, Mar 31
	} {
		if _, err := Parse(expr); err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
		}
	}
}

type fireCase struct {
	expr, zone, from, want string
}

func (c fireCase) run(t *testing.T, next bool) {
	t.Helper()
	loc := time.UTC
	if c.zone != "" {
		loc = loadLoc(t, c.zone)
	}
	from, err := time.Parse(time.RFC3339Nano, c.from)
	if err != nil {
		t.Fatal(err)
	}
	want, err := time.Parse(time.RFC3339, c.want)
	if err != nil {
		t.Fatal(err)
	}
	from = from.In(loc)
	s := mustParse(t, c.expr)
	var got time.Time
	name := "Next"
	if next {
		got = s.Next(from)
	} else {
		got, name = s.Prev(from), "Prev"
	}
	if !got.Equal(want) || got.Location() != loc {
		t.Errorf("%q.%s(%s) in %v = %s, want %s",
			c.expr, name, from.Format(time.RFC3339Nano), loc, got.Format(time.RFC3339), want.In(loc).Format(time.RFC3339))
	}
}

func TestNext(t *testing.T) {
	tests := []fireCase{
		// hourly
		{"0 * * * *", "", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"},
		{"0 * * * *", "", "2026-01-01T00:30:00Z", "2026-01-01T01:00:00Z"},
		{"0 * * * *", "", "2025-12-31T23:59:59.999999999Z", "2026-01-01T00:00:00Z"},
		{"@hourly", "", "2026-12-31T23:00:00Z", "2027-01-01T00:00:00Z"},
		{"* * * * *", "", "2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z"},
		{"* * * * *", "", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"},
		// daily
		{"0 0 * * *", "", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
		{"@daily", "", "2026-02-28T12:00:00Z", "2026-03-01T00:00:00Z"},
		{"30 17 * * *", "", "2026-01-01T17:29:00Z", "2026-01-01T17:30:00Z"},
		{"30 17 * * *", "", "2026-01-01T17:30:00Z", "2026-01-02T17:30:00Z"},
		// weekly: 2026-01-01 is a Thursday
		{"@weekly", "", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
		{"0 0 * * 7", "", "2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"},
		// monthly
		{"@monthly", "", "2026-01-15T00:00:00Z", "2026-02-01T00:00:00Z"},
		{"0 0 1 * *", "", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		// yearly
		{"@yearly", "", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"@annually", "", "2025-12-31T23:59:59Z", "2026-01-01T00:00:00Z"},
		{"59 23 31 12 *", "", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"},
		// every 6 hours
		{"0 */6 * * *", "", "2026-01-01T05:59:00Z", "2026-01-01T06:00:00Z"},
		{"0 */6 * * *", "", "2026-01-01T18:00:00Z", "2026-01-02T00:00:00Z"},
		{"0 */6 * * *", "", "2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z"},
		// weekdays only: 2026-01-02 is a Friday
		{"0 9 * * 1-5", "", "2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z"},
		{"0 9 * * MON-FRI", "", "2026-01-03T12:00:00Z", "2026-01-05T09:00:00Z"},
		{"0 9 * * MON-FRI", "", "2026-01-05T08:00:00Z", "2026-01-05T09:00:00Z"},
		// last days of month
		{"0 0 28-31 * *", "", "2026-02-27T00:00:00Z", "2026-02-28T00:00:00Z"},
		{"0 0 28-31 * *", "", "2026-02-28T00:00:00Z", "2026-03-28T00:00:00Z"},
		{"0 0 31 * *", "", "2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z"},
		{"0 0 31 * *", "", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"},
		{"0 0 30 * *", "", "2026-01-30T00:00:00Z", "2026-03-30T00:00:00Z"},
		// February 29
		{"0 0 29 2 *", "", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"0 0 29 2 *", "", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"},
		{"0 0 29 2 *", "", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"}, // 2100 is not a leap year
		{"0 0 29 2 *", "", "1999-01-01T00:00:00Z", "2000-02-29T00:00:00Z"}, // 2000 is
		// day of month OR day of week when both are restricted
		{"0 0 13 * 5", "", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},  // Friday 2nd
		{"0 0 13 * 5", "", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z"},  // Tuesday 13th
		{"0 0 13 * 5", "", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"},  // Friday 16th
		{"0 0 */2 * 1", "", "2026-01-11T00:00:00Z", "2026-01-12T00:00:00Z"}, // Monday 12th (not odd)
		{"0 0 31 2 1", "", "2026-01-01T00:00:00Z", "2026-02-02T00:00:00Z"},  // Mondays in February
		// only one applies when the other is *
		{"0 0 13 * *", "", "2026-01-01T00:00:00Z", "2026-01-13T00:00:00Z"},
		{"0 0 * * 5", "", "2026-01-09T00:00:00Z", "2026-01-16T00:00:00Z"},
		{"0 0 1-7 * 1", "", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"}, // the 2nd, not "first Monday"
		// month names and skipping months
		{"0 12 1 JUN,DEC *", "", "2026-06-01T12:00:00Z", "2026-12-01T12:00:00Z"},
		{"0 12 1 JUN,DEC *", "", "2026-12-01T12:00:00Z", "2027-06-01T12:00:00Z"},
		// a location other than UTC without DST changes
		{"0 0 * * *", "Asia/Tokyo", "2026-01-01T00:00:00+09:00", "2026-01-02T00:00:00+09:00"},
		{"0 0 * * *", "Asia/Kolkata", "2026-01-01T18:30:00Z", "2026-01-02T18:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.expr+" "+tt.zone+" "+tt.from, func(t *testing.T) { tt.run(t, true) })
	}
}

func TestPrev(t *testing.T) {
	tests := []fireCase{
		{"0 * * * *", "", "2026-01-01T01:00:00Z", "2026-01-01T00:00:00Z"},
		{"0 * * * *", "", "2026-01-01T01:00:00.000000001Z", "2026-01-01T01:00:00Z"},
		{"0 * * * *", "", "2026-01-01T00:00:00Z", "2025-12-31T23:00:00Z"},
		{"* * * * *", "", "2026-01-01T00:00:30Z", "2026-01-01T00:00:00Z"},
		{"* * * * *", "", "2026-01-01T00:00:00Z", "2025-12-31T23:59:00Z"},
		{"0 0 * * *", "", "2026-03-01T00:00:00Z", "2026-02-28T00:00:00Z"},
		{"@weekly", "", "2026-01-04T00:00:00Z", "2025-12-28T00:00:00Z"},
		{"@monthly", "", "2026-01-01T00:00:00Z", "2025-12-01T00:00:00Z"},
		{"@yearly", "", "2026-01-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"0 */6 * * *", "", "2026-01-01T00:00:00Z", "2025-12-31T18:00:00Z"},
		{"0 */6 * * *", "", "2026-01-01T11:59:59Z", "2026-01-01T06:00:00Z"},
		{"0 9 * * 1-5", "", "2026-01-05T09:00:00Z", "2026-01-02T09:00:00Z"},
		{"0 9 * * 1-5", "", "2026-01-05T09:01:00Z", "2026-01-05T09:00:00Z"},
		{"0 0 28-31 * *", "", "2026-03-28T00:00:00Z", "2026-02-28T00:00:00Z"},
		{"0 0 31 * *", "", "2026-03-30T00:00:00Z", "2026-01-31T00:00:00Z"},
		{"0 0 31 * *", "", "2026-07-31T00:00:00Z", "2026-05-31T00:00:00Z"},
		{"0 0 29 2 *", "", "2026-01-01T00:00:00Z", "2024-02-29T00:00:00Z"},
		{"0 0 29 2 *", "", "2104-02-28T00:00:00Z", "2096-02-29T00:00:00Z"},
		{"0 0 13 * 5", "", "2026-01-13T00:00:00Z", "2026-01-09T00:00:00Z"},
		{"0 0 13 * 5", "", "2026-01-16T00:00:00Z", "2026-01-13T00:00:00Z"},
		{"0 0 13 * *", "", "2026-01-13T00:00:00Z", "2025-12-13T00:00:00Z"},
		{"0 0 */2 * 1", "", "2026-01-13T00:00:00Z", "2026-01-12T00:00:00Z"},
		{"0 12 1 JUN,DEC *", "", "2026-06-01T12:00:00Z", "2025-12-01T12:00:00Z"},
		{"59 23 31 12 *", "", "2026-12-31T23:58:00Z", "2025-12-31T23:59:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.expr+" "+tt.zone+" "+tt.from, func(t *testing.T) { tt.run(t, false) })
	}
}

// New York: 2026-03-08 02:00 EST becomes 03:00 EDT, 2026-11-01 02:00 EDT
// becomes 01:00 EST. Berlin: 2026-03-29 02:00 CET becomes 03:00 CEST,
// 2026-10-25 03:00 CEST becomes 02:00 CET.
func TestDST(t *testing.T) {
	const ny, berlin = "America/New_York", "Europe/Berlin"
	next := []fireCase{
		// Spring forward: 02:30 does not exist on the day and is skipped.
		{"30 2 * * *", ny, "2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00"},
		{"30 2 * * *", ny, "2026-03-08T01:59:00-05:00", "2026-03-09T02:30:00-04:00"},
		{"0 * * * *", ny, "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"},
		{"*/30 * * * *", ny, "2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00"},
		{"0 2 * * *", ny, "2026-03-07T12:00:00-05:00", "2026-03-09T02:00:00-04:00"},
		{"0 3 * * *", ny, "2026-03-07T12:00:00-05:00", "2026-03-08T03:00:00-04:00"},
		// Fall back: 01:xx occurs twice and fires at the first occurrence.
		{"30 1 * * *", ny, "2026-11-01T00:00:00-04:00", "2026-11-01T01:30:00-04:00"},
		{"30 1 * * *", ny, "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"},
		{"30 1 * * *", ny, "2026-11-01T01:10:00-05:00", "2026-11-02T01:30:00-05:00"},
		{"30 2 * * *", ny, "2026-11-01T00:00:00-04:00", "2026-11-01T02:30:00-05:00"},
		{"30 2 * * *", ny, "2026-10-31T02:30:00-04:00", "2026-11-01T02:30:00-05:00"},
		{"0 * * * *", ny, "2026-11-01T00:00:00-04:00", "2026-11-01T01:00:00-04:00"},
		{"0 * * * *", ny, "2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00"},
		{"0 * * * *", ny, "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"},
		{"*/15 * * * *", ny, "2026-11-01T01:45:00-04:00", "2026-11-01T02:00:00-05:00"},
		{"*/15 * * * *", ny, "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"},
		// Berlin
		{"30 2 * * *", berlin, "2026-03-28T02:30:00+01:00", "2026-03-30T02:30:00+02:00"},
		{"30 2 * * *", berlin, "2026-10-25T00:00:00+02:00", "2026-10-25T02:30:00+02:00"},
		{"30 2 * * *", berlin, "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"},
		{"30 2 * * *", berlin, "2026-10-25T02:10:00+01:00", "2026-10-26T02:30:00+01:00"},
		{"0 * * * *", berlin, "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00"},
		{"0 * * * *", berlin, "2026-10-25T02:00:00+02:00", "2026-10-25T03:00:00+01:00"},
		{"0 * * * *", berlin, "2026-10-25T02:30:00+01:00", "2026-10-25T03:00:00+01:00"},
		{"0 0 * * *", berlin, "2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00"},
		{"0 0 * * *", berlin, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"},
	}
	prev := []fireCase{
		{"30 2 * * *", ny, "2026-03-09T00:00:00-04:00", "2026-03-07T02:30:00-05:00"},
		{"0 * * * *", ny, "2026-03-08T03:00:00-04:00", "2026-03-08T01:00:00-05:00"},
		{"0 * * * *", ny, "2026-03-08T03:00:01-04:00", "2026-03-08T03:00:00-04:00"},
		{"30 1 * * *", ny, "2026-11-02T00:00:00-05:00", "2026-11-01T01:30:00-04:00"},
		// t in the second 01:xx: the first 01:30 was before t.
		{"30 1 * * *", ny, "2026-11-01T01:10:00-05:00", "2026-11-01T01:30:00-04:00"},
		{"45 1 * * *", ny, "2026-11-01T01:30:00-05:00", "2026-11-01T01:45:00-04:00"},
		{"30 1 * * *", ny, "2026-11-01T01:30:00-04:00", "2026-10-31T01:30:00-04:00"},
		{"0 * * * *", ny, "2026-11-01T02:00:00-05:00", "2026-11-01T01:00:00-04:00"},
		{"0 * * * *", ny, "2026-11-01T01:30:00-05:00", "2026-11-01T01:00:00-04:00"},
		{"*/15 * * * *", ny, "2026-11-01T02:00:00-05:00", "2026-11-01T01:45:00-04:00"},
		{"30 2 * * *", ny, "2026-11-01T03:00:00-05:00", "2026-11-01T02:30:00-05:00"},
		{"30 2 * * *", berlin, "2026-03-30T00:00:00+02:00", "2026-03-28T02:30:00+01:00"},
		{"30 2 * * *", berlin, "2026-10-25T02:40:00+01:00", "2026-10-25T02:30:00+02:00"},
		{"30 2 * * *", berlin, "2026-10-26T00:00:00+01:00", "2026-10-25T02:30:00+02:00"},
		{"0 * * * *", berlin, "2026-03-29T03:00:00+02:00", "2026-03-29T01:00:00+01:00"},
		{"0 * * * *", berlin, "2026-10-25T03:00:00+01:00", "2026-10-25T02:00:00+02:00"},
	}
	for _, tt := range next {
		t.Run("Next "+tt.expr+" "+tt.zone+" "+tt.from, func(t *testing.T) { tt.run(t, true) })
	}
	for _, tt := range prev {
		t.Run("Prev "+tt.expr+" "+tt.zone+" "+tt.from, func(t *testing.T) { tt.run(t, false) })
	}
}

// TestHourlyForAYear counts the fire times of "0 * * * *" in 2026. A zone
// with daylight saving time has one wall-clock hour fewer than UTC: the hour
// skipped in spring does not fire, and the hour repeated in autumn fires
// once.
func TestHourlyForAYear(t *testing.T) {
	s := mustParse(t, "0 * * * *")
	for _, tt := range []struct {
		zone string
		want int
	}{
		{"UTC", 8760},
		{"America/New_York", 8759},
		{"Europe/Berlin", 8759},
		{"Asia/Tokyo", 8760},
	} {
		t.Run(tt.zone, func(t *testing.T) {
			loc := loadLoc(t, tt.zone)
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
			end := time.Date(2027, 1, 1, 0, 0, 0, 0, loc)

			// Independently, count the distinct wall-clock hours.
			labels := map[string]bool{}
			for u := start; u.Before(end); u = u.Add(time.Hour) {
				labels[u.Format("2006-01-02 15")] = true
			}
			if len(labels) != tt.want {
				t.Fatalf("zone has %d wall-clock hours in 2026, test wants %d", len(labels), tt.want)
			}

			n := 0
			prev := time.Time{}
			for u := s.Next(start.Add(-time.Nanosecond)); u.Before(end); u = s.Next(u) {
				if u.Minute() != 0 || u.Second() != 0 {
					t.Fatalf("fire time %s is not on the hour", u)
				}
				if !prev.IsZero() {
					if !u.After(prev) {
						t.Fatalf("fire times not increasing: %s then %s", prev, u)
					}
					if p := s.Prev(u); !p.Equal(prev) {
						t.Fatalf("Prev(%s) = %s, want %s", u, p, prev)
					}
				}
				prev = u
				n++
			}
			if n != tt.want {
				t.Errorf("%d fire times in 2026, want %d", n, tt.want)
			}
		})
	}
}

// matches reports whether the wall time w (seconds ignored) matches s,
// without using the iteration code.
func (s *Schedule) matches(w time.Time) bool {
	if s.minute&(1<<w.Minute()) == 0 || s.hour&(1<<w.Hour()) == 0 || s.month&(1<<int(w.Month())) == 0 {
		return false
	}
	domOK := s.dom&(1<<w.Day()) != 0
	dowOK := s.dow&(1<<int(w.Weekday())) != 0
	if s.domStar || s.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// TestBruteForce compares Next and Prev with a minute-by-minute walk over
// windows around daylight saving transitions and month ends.
func TestBruteForce(t *testing.T) {
	exprs := []string{
		"* * * * *",
		"0 * * * *",
		"30 2 * * *",
		"*/7 1-3 * * *",
		"15,45 0-4 * * 0",
		"0 0 1,31 * *",
		"59 23 * * *",
		"*/20 * 1 * 1",
		"0 2,3 * * *",
	}
	windows := []struct {
		zone       string
		start, end string
	}{
		{"UTC", "2026-02-26T00:00:00Z", "2026-03-03T00:00:00Z"},
		{"America/New_York", "2026-03-06T00:00:00Z", "2026-03-10T00:00:00Z"},
		{"America/New_York", "2026-10-30T00:00:00Z", "2026-11-03T00:00:00Z"},
		{"Europe/Berlin", "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z"},
		{"Europe/Berlin", "2026-10-23T00:00:00Z", "2026-10-27T00:00:00Z"},
		{"Australia/Lord_Howe", "2026-04-03T00:00:00Z", "2026-04-07T00:00:00Z"}, // 30-minute shift
		{"Australia/Lord_Howe", "2026-10-02T00:00:00Z", "2026-10-06T00:00:00Z"},
	}
	for _, expr := range exprs {
		s := mustParse(t, expr)
		for _, w := range windows {
			loc := loadLoc(t, w.zone)
			start, _ := time.Parse(time.RFC3339, w.start)
			end, _ := time.Parse(time.RFC3339, w.end)
			// Fire times: each matching wall minute at its first occurrence.
			seen := map[string]bool{}
			var fires []time.Time
			for u := start.In(loc); u.Before(end); u = u.Add(time.Minute) {
				label := u.Format("2006-01-02 15:04")
				if seen[label] {
					continue
				}
				seen[label] = true
				if s.matches(u) {
					fires = append(fires, u)
				}
			}
			if len(fires) < 2 {
				continue
			}
			// Between consecutive fire times, Next and Prev must agree.
			for i := 0; i+1 < len(fires); i++ {
				a, b := fires[i], fires[i+1]
				for _, u := range []time.Time{a, a.Add(time.Second), b.Add(-time.Second), a.Add(b.Sub(a) / 2)} {
					if !u.After(a) || !u.Before(b) {
						if got := s.Next(a); !got.Equal(b) {
							t.Errorf("%q in %s: Next(%s) = %s, want %s", expr, w.zone, a, got, b)
						}
						continue
					}
					if got := s.Next(u); !got.Equal(b) {
						t.Errorf("%q in %s: Next(%s) = %s, want %s", expr, w.zone, u, got, b)
					}
					if got := s.Prev(u); !got.Equal(a) {
						t.Errorf("%q in %s: Prev(%s) = %s, want %s", expr, w.zone, u, got, a)
					}
				}
				if got := s.Prev(b); !got.Equal(a) {
					t.Errorf("%q in %s: Prev(%s) = %s, want %s", expr, w.zone, b, got, a)
				}
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	exprs := []string{
		"* * * * *", "@hourly", "@daily", "@weekly", "@monthly", "@yearly",
		"0 */6 * * *", "30 2 * * *", "0 9 * * MON-FRI", "0 0 28-31 * *", "0 0 29 2 *",
		"0 0 13 * 5", "*/15 1 * * *", "5 4 * JUN,DEC SUN",
	}
	zones := []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"}
	times := []string{
		"2026-01-01T00:00:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z",
		"2026-11-01T05:30:00Z", "2026-11-01T06:10:00Z", "2026-11-01T06:59:59Z",
		"2026-03-29T01:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:10:00Z",
		"2026-07-15T12:34:56.789Z", "2028-02-29T00:00:00Z", "2099-12-31T23:59:59Z",
	}
	for _, expr := range exprs {
		s := mustParse(t, expr)
		for _, zone := range zones {
			loc := loadLoc(t, zone)
			for _, ts := range times {
				u0, _ := time.Parse(time.RFC3339Nano, ts)
				u := u0.In(loc)
				n, p := s.Next(u), s.Prev(u)
				if !n.After(u) || !p.Before(u) {
					t.Fatalf("%q in %s at %s: Next = %s, Prev = %s", expr, zone, u, n, p)
				}
				if got := s.Prev(n); !got.Equal(p) && !got.Equal(u) {
					t.Errorf("%q in %s at %s: Prev(Next) = %s, want %s", expr, zone, u, got, p)
				}
				if got := s.Next(p); !got.Equal(n) && !got.Equal(u) {
					t.Errorf("%q in %s at %s: Next(Prev) = %s, want %s", expr, zone, u, got, n)
				}
				// Fire times round-trip exactly.
				if got := s.Next(s.Prev(n)); !got.Equal(n) {
					t.Errorf("%q in %s: Next(Prev(%s)) = %s", expr, zone, n, got)
				}
				if got := s.Prev(s.Next(p)); !got.Equal(p) {
					t.Errorf("%q in %s: Prev(Next(%s)) = %s", expr, zone, p, got)
				}
				if !s.matches(n) || !s.matches(p) {
					t.Errorf("%q in %s at %s: Next %s or Prev %s does not match", expr, zone, u, n, p)
				}
			}
		}
	}
}

func TestWeekday(t *testing.T) {
	for d := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2500; d = d.AddDate(0, 0, 13) {
		if got, want := weekday(d.Year(), int(d.Month()), d.Day()), int(d.Weekday()); got != want {
			t.Fatalf("weekday(%s) = %d, want %d", d.Format(time.DateOnly), got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"* * * * *", "0 */6 * * *", "0 0 29 2 *", "0 0 31 2 *", "0 0 31 2 1",
		"30 2 * * *", "0 9 * * MON-FRI", "5-2 * * * *", "*/0 * * * *", "1,,2 * * * *",
		"@daily", "@reboot", "0 0 0 * * *", "59 23 31 12 *", "0 0 13 * 5",
		"1/2/3 * * * *", "* * * JAN-DEC/5 0-7/3", "0 1 29-31 2,4 *",
	} {
		f.Add(seed)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	fixed := []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 1, 6, 10, 0, 0, time.UTC).In(ny), // second 01:10
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			return
		}
		if _, err := Parse(s.String()); err != nil {
			t.Fatalf("Parse(%q) ok but Parse(String() = %q): %v", expr, s.String(), err)
		}
		for _, u := range fixed {
			n, p := s.Next(u), s.Prev(u)
			if !n.After(u) {
				t.Fatalf("%q: Next(%s) = %s, not after", expr, u, n)
			}
			if !p.Before(u) {
				t.Fatalf("%q: Prev(%s) = %s, not before", expr, u, p)
			}
			if !s.matches(n) || !s.matches(p) {
				t.Fatalf("%q: Next %s or Prev %s does not match", expr, n, p)
			}
			if got := s.Prev(n); got.Before(p) || !got.Before(n) {
				t.Fatalf("%q: Prev(Next(%s)) = %s, Prev = %s", expr, u, got, p)
			}
		}
	})
}

func BenchmarkNext(b *testing.B) {
	ny := loadLoc(b, "America/New_York")
	for _, bc := range []struct {
		expr string
		loc  *time.Location
	}{
		{"0 * * * *", time.UTC},
		{"0 */6 * * *", time.UTC},
		{"0 9 * * MON-FRI", time.UTC},
		{"0 0 29 2 *", time.UTC},
		{"0 * * * *", ny},
		{"30 2 * * *", ny},
	} {
		s := mustParse(b, bc.expr)
		b.Run(fmt.Sprintf("%s/%s", bc.expr, bc.loc), func(b *testing.B) {
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, bc.loc)
			u := start
			for b.Loop() {
				if u = s.Next(u); u.Year() > 2400 {
					u = start
				}
			}
		})
	}
}
