package crons

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNext(t *testing.T) {
	// 2026-12-01 is a Tuesday.
	tests := []struct {
		expr, from string
		want       []string
	}{
		{"*/5 * * * *", "2026-12-01 10:02", []string{"2026-12-01 10:05", "2026-12-01 10:10"}},
		{"0 9 * * MON-FRI", "2026-12-04 10:00", []string{"2026-12-07 09:00", "2026-12-08 09:00"}},
		{"0 0 * * 1", "2026-12-01 00:00", []string{"2026-12-06 00:00", "2026-12-13 00:00"}},   // 1 = Sunday
		{"0 0 * * 2-6", "2026-12-05 12:00", []string{"2026-12-07 00:00", "2026-12-08 00:00"}}, // Mon-Fri
		{"0 0 * * 7", "2026-12-01 00:00", []string{"2026-12-05 00:00"}},                       // 7 = Saturday
		{"0 0 * * 0", "2026-12-01 00:00", []string{"2026-12-06 00:00"}},                       // 0 read as Sunday
		{"30 2 1 * *", "2026-12-01 03:00", []string{"2027-01-01 02:30", "2027-02-01 02:30"}},
		{"0 9 L * *", "2026-12-01 00:00", []string{"2026-12-31 09:00", "2027-01-31 09:00", "2027-02-28 09:00"}},
		{"0 0 LW * *", "2027-01-01 00:00", []string{"2027-01-29 00:00", "2027-02-26 00:00"}}, // Jan 31 2027 is a Sunday
		{"0 0 15W * *", "2027-05-01 00:00", []string{"2027-05-14 00:00"}},                    // May 15 2027 is a Saturday
		{"0 10 * * MON#2", "2026-12-01 00:00", []string{"2026-12-14 10:00", "2027-01-11 10:00"}},
		{"0 10 * * 6L", "2026-12-01 00:00", []string{"2026-12-25 10:00", "2027-01-29 10:00"}}, // last Friday
		{"0 0 29 2 *", "2026-12-01 00:00", []string{"2028-02-29 00:00"}},
		{"0 0 1 JAN-JUN FRI", "2026-12-01 00:00", []string{"2027-01-01 00:00"}},
	}
	for _, tt := range tests {
		s, err := Parse(tt.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.expr, err)
			continue
		}
		got := at(tt.from)
		for _, w := range tt.want {
			got = s.Next(got)
			if !got.Equal(at(w)) {
				t.Errorf("%q from %s: next %s, want %s", tt.expr, tt.from, got.Format("2006-01-02 15:04 Mon"), w)
				break
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, expr := range []string{"", "* * * *", "* * * * * *", "61 * * * *", "* * * * 8", "* * L * MON", "nonsense * * * *"} {
		if _, err := Parse(expr); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v, want ErrSyntax", expr, err)
		}
	}
}

func TestRun(t *testing.T) {
	a, _ := Parse("*/10 * * * *")
	b, _ := Parse("0 * * * *")
	// A fake clock: each of the first three waits returns at once and
	// moves the clock on; the fourth never returns.
	var mu sync.Mutex
	now := at("2026-12-01 09:41")
	var waits []time.Duration
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	after := func(d time.Duration) <-chan time.Time {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		if len(waits) > 3 {
			return nil // the clock stops after three waits
		}
		now = now.Add(d)
		ch := make(chan time.Time, 1)
		ch <- now
		return ch
	}
	ctx, cancel := context.WithCancel(context.Background())
	type firing struct {
		cron string
		at   string
	}
	var got []firing
	fired := make(chan firing, 100)
	go run(ctx, []*Schedule{a, b}, func(cron string, when time.Time) {
		fired <- firing{cron, when.Format("15:04")}
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), clock, after)
	want := []firing{{"*/10 * * * *", "09:50"}, {"*/10 * * * *", "10:00"}, {"0 * * * *", "10:00"}, {"*/10 * * * *", "10:10"}}
	for len(got) < len(want) {
		select {
		case f := <-fired:
			got = append(got, f)
		case <-time.After(5 * time.Second):
			t.Fatalf("fired %v, want %v", got, want)
		}
	}
	cancel()
	// Each firing runs on its own goroutine: compare in time order.
	slices.SortFunc(got, func(a, b firing) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.cron, b.cron)) })
	if !slices.Equal(got, want) {
		t.Errorf("fired %v, want %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if waits[0] != 9*time.Minute || waits[1] != 10*time.Minute {
		t.Errorf("waits %v, want 9m then 10m", waits[:2])
	}
}
