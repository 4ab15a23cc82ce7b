// Package crons owns a Worker's cron triggers (triggers.crons): parsing
// Cloudflare's cron syntax and calling a function at each scheduled time.
//
// The syntax is five fields, minute hour day-of-month month day-of-week,
// always in UTC, with Cloudflare's (Quartz's) extensions: day-of-week is
// 1-7 or SUN-SAT with 1 = Sunday (0 is also read as Sunday); L in
// day-of-month is the month's last day and LW its last weekday, nW the
// weekday nearest day n; in day-of-week nL is the month's last such day and
// n#k its k-th. The standard fields are parsed by github.com/robfig/cron;
// the extensions filter the days it proposes.
package crons

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ErrSyntax is wrapped by Parse's errors.
var ErrSyntax = errors.New("invalid cron expression")

// Schedule is one parsed cron expression.
type Schedule struct {
	Expr  string // as written
	std   cron.Schedule
	extra func(day time.Time) bool // the extensions' day filter; nil for none
}

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

var (
	dowNumber = regexp.MustCompile(`\d+`)
	dowLast   = regexp.MustCompile(`^([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)L$`)
	dowNth    = regexp.MustCompile(`^([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)#([1-5])$`)
	domNear   = regexp.MustCompile(`^([1-9]|[12]\d|3[01])W$`)
)

var dayNames = map[string]time.Weekday{"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}

// weekday reads a day-of-week token of Cloudflare's syntax.
func weekday(s string) time.Weekday {
	if d, ok := dayNames[s]; ok {
		return d
	}
	n, _ := strconv.Atoi(s)
	return time.Weekday((n + 6) % 7) // 1 = Sunday
}

// Parse parses a cron expression of Cloudflare's syntax.
func Parse(expr string) (*Schedule, error) {
	f := strings.Fields(strings.ToUpper(expr))
	if len(f) != 5 {
		return nil, fmt.Errorf("%w %q: want 5 fields (minute hour day-of-month month day-of-week), got %d", ErrSyntax, expr, len(f))
	}
	s := &Schedule{Expr: expr}
	var filters []func(time.Time) bool
	dom, dow := f[2], f[4]
	switch m := domNear.FindStringSubmatch(dom); {
	case dom == "L":
		filters = append(filters, func(d time.Time) bool { return d.Day() == daysIn(d) })
		dom = "*"
	case dom == "LW":
		filters = append(filters, func(d time.Time) bool { return d.Day() == nearestWeekday(d, daysIn(d)) })
		dom = "*"
	case m != nil:
		n, _ := strconv.Atoi(m[1])
		filters = append(filters, func(d time.Time) bool { return d.Day() == nearestWeekday(d, min(n, daysIn(d))) })
		dom = "*"
	case dom == "?":
		dom = "*"
	}
	switch last, nth := dowLast.FindStringSubmatch(dow), dowNth.FindStringSubmatch(dow); {
	case last != nil:
		wd := weekday(last[1])
		filters = append(filters, func(d time.Time) bool { return d.Weekday() == wd && d.Day()+7 > daysIn(d) })
		dow = "*"
	case nth != nil:
		wd, k := weekday(nth[1]), int(nth[2][0]-'0')
		filters = append(filters, func(d time.Time) bool { return d.Weekday() == wd && (d.Day()-1)/7+1 == k })
		dow = "*"
	case dow == "?":
		dow = "*"
	default:
		// Cloudflare counts 1-7 from Sunday, robfig/cron 0-6: shift the
		// numbers that are days (not the step after a slash).
		var err error
		dow, err = shiftDays(dow)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrSyntax, expr, err)
		}
	}
	if len(filters) > 0 && (dom != "*" || dow != "*") {
		return nil, fmt.Errorf("%w %q: L, W and # cannot be combined with another day restriction", ErrSyntax, expr)
	}
	std, err := parser.Parse(strings.Join([]string{f[0], f[1], dom, f[3], dow}, " "))
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrSyntax, expr, err)
	}
	s.std = std
	if len(filters) > 0 {
		s.extra = func(d time.Time) bool {
			for _, f := range filters {
				if !f(d) {
					return false
				}
			}
			return true
		}
	}
	return s, nil
}

// shiftDays rewrites the day numbers of a day-of-week field from 1-7
// (Sunday first) to 0-6.
func shiftDays(field string) (string, error) {
	var out []string
	for _, part := range strings.Split(field, ",") {
		rng, step, hasStep := strings.Cut(part, "/")
		var err error
		rng = dowNumber.ReplaceAllStringFunc(rng, func(n string) string {
			v, _ := strconv.Atoi(n)
			if v > 7 {
				err = fmt.Errorf("day of week %d is out of range 1-7", v)
			}
			if v == 0 {
				return "0"
			}
			return strconv.Itoa(v - 1)
		})
		if err != nil {
			return "", err
		}
		if hasStep {
			rng += "/" + step
		}
		out = append(out, rng)
	}
	return strings.Join(out, ","), nil
}

func daysIn(d time.Time) int {
	return time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// nearestWeekday returns the day of d's month nearest to day n that is a
// weekday, staying within the month.
func nearestWeekday(d time.Time, n int) int {
	t := time.Date(d.Year(), d.Month(), n, 0, 0, 0, 0, time.UTC)
	switch t.Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == daysIn(d) {
			return n - 2
		}
		return n + 1
	}
	return n
}

// Next returns the first scheduled time after t (in UTC), or the zero
// time if there is none within five years.
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.UTC()
	limit := t.AddDate(5, 0, 0)
	for {
		n := s.std.Next(t)
		if n.IsZero() || n.After(limit) {
			return time.Time{}
		}
		if s.extra == nil || s.extra(n) {
			return n
		}
		// Not this day: go on from its last second.
		t = time.Date(n.Year(), n.Month(), n.Day(), 23, 59, 59, 0, time.UTC)
	}
}

// Run calls fire for each schedule at each of its times until ctx is
// done. fire runs on its own goroutine; a slow one does not delay others.
func Run(ctx context.Context, schedules []*Schedule, fire func(cron string, at time.Time), log *slog.Logger) {
	run(ctx, schedules, fire, log, time.Now, time.After)
}

// run is Run with its clock given, for tests.
func run(ctx context.Context, schedules []*Schedule, fire func(string, time.Time), log *slog.Logger,
	clock func() time.Time, after func(time.Duration) <-chan time.Time) {
	if len(schedules) == 0 {
		return
	}
	now := clock()
	next := make([]time.Time, len(schedules))
	for i, s := range schedules {
		next[i] = s.Next(now)
	}
	for {
		soonest := time.Time{}
		for _, n := range next {
			if !n.IsZero() && (soonest.IsZero() || n.Before(soonest)) {
				soonest = n
			}
		}
		if soonest.IsZero() {
			log.Warn("no cron trigger will fire again")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-after(soonest.Sub(clock())):
		}
		for i, s := range schedules {
			if !next[i].IsZero() && !next[i].After(soonest) {
				go fire(s.Expr, next[i])
				next[i] = s.Next(next[i])
			}
		}
	}
}
