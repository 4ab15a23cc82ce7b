package eventloop_test

import (
	"slices"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/jsrt/eventloop"
)

// runLoop starts l and stops it when the test ends.
func runLoop(t *testing.T, l *eventloop.Loop) {
	t.Helper()
	go l.Run()
	t.Cleanup(l.Stop)
}

func TestLoopTimersFireInDueOrder(t *testing.T) {
	l := eventloop.New()
	runLoop(t, l)
	got := make(chan int, 4)
	l.Submit(func() {
		for _, d := range []int{30, 10, 20, 10} {
			d := d
			l.SetTimer(time.Duration(d)*time.Millisecond, false, func() { got <- d })
		}
	})
	var order []int
	for range 4 {
		select {
		case d := <-got:
			order = append(order, d)
		case <-time.After(2 * time.Second):
			t.Fatalf("timers did not fire; got %v", order)
		}
	}
	if want := []int{10, 10, 20, 30}; !slices.Equal(order, want) {
		t.Errorf("order = %v, want %v", order, want)
	}
}

func TestLoopClearTimerAndInterval(t *testing.T) {
	l := eventloop.New()
	runLoop(t, l)
	ticks := make(chan struct{}, 10)
	cleared := make(chan struct{}, 1)
	l.Submit(func() {
		id := l.SetTimer(5*time.Millisecond, false, func() { cleared <- struct{}{} })
		l.ClearTimer(id)
		l.ClearTimer(9999) // unknown ids are ignored
		var iv int
		n := 0
		iv = l.SetTimer(time.Millisecond, true, func() {
			n++
			ticks <- struct{}{}
			if n == 3 {
				l.ClearTimer(iv)
			}
		})
	})
	for range 3 {
		select {
		case <-ticks:
		case <-time.After(2 * time.Second):
			t.Fatal("interval did not tick 3 times")
		}
	}
	select {
	case <-ticks:
		t.Error("interval ticked after clearInterval")
	case <-cleared:
		t.Error("cleared timeout fired")
	case <-time.After(50 * time.Millisecond):
	}
}

func TestLoopTurnEndAfterEveryTask(t *testing.T) {
	l := eventloop.New()
	var trace []string
	l.TurnEnd = func() { trace = append(trace, "end") }
	runLoop(t, l)
	done := make(chan struct{})
	l.Submit(func() { trace = append(trace, "a") })
	l.Submit(func() { trace = append(trace, "b"); close(done) })
	<-done
	var got []string
	fin := make(chan struct{})
	l.Submit(func() { got = slices.Clone(trace); close(fin) })
	<-fin
	if want := []string{"a", "end", "b", "end"}; !slices.Equal(got, want) {
		t.Errorf("trace = %v, want %v", got, want)
	}
}

func TestLoopSubmitAfterStop(t *testing.T) {
	l := eventloop.New()
	go l.Run()
	l.Stop()
	if l.Submit(func() {}) {
		t.Error("Submit after Stop = true, want false")
	}
}

func TestLoopRunning(t *testing.T) {
	l := eventloop.New()
	if id, start := l.Running(); id != 0 || !start.IsZero() {
		t.Errorf("before Run: Running() = %d, %v; want 0 and zero time", id, start)
	}
	var starts []bool
	l.TurnStart = func() { _, s := l.Running(); starts = append(starts, !s.IsZero()) }
	runLoop(t, l)
	type seen struct {
		id    uint64
		start time.Time
	}
	got := make(chan seen, 2)
	before := time.Now()
	for range 2 {
		l.Submit(func() { id, s := l.Running(); got <- seen{id, s} })
	}
	for want := uint64(1); want <= 2; want++ {
		s := <-got
		if s.id != want || s.start.Before(before) || s.start.After(time.Now()) {
			t.Errorf("task %d: Running() = %d, %v (submitted at %v)", want, s.id, s.start, before)
		}
	}
	// After the last task the loop is idle: the id stays, the start clears.
	deadline := time.Now().Add(2 * time.Second)
	for {
		id, start := l.Running()
		if start.IsZero() {
			if id != 2 {
				t.Errorf("idle: id = %d, want 2", id)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Running() never went idle")
		}
		time.Sleep(time.Millisecond)
	}
	fin := make(chan []bool)
	l.Submit(func() { fin <- slices.Clone(starts) })
	if got := <-fin; !slices.Equal(got, []bool{true, true, true}) {
		t.Errorf("TurnStart saw a start time: %v, want all true", got)
	}
}

// A panic in a task or in TurnEnd goes to Recover, and the loop runs on.
func TestLoopRecoversPanics(t *testing.T) {
	l := eventloop.New()
	recovered := make(chan any, 4)
	l.Recover = func(v any) { recovered <- v }
	failEnd := false
	l.TurnEnd = func() {
		if failEnd {
			failEnd = false
			panic("in turn end")
		}
	}
	runLoop(t, l)
	ran := make(chan string, 4)
	l.Submit(func() { var m map[string]int; m["x"] = 1 })
	l.Submit(func() { ran <- "after task panic"; failEnd = true })
	l.Submit(func() { ran <- "after turn-end panic" })
	for _, want := range []string{"after task panic", "after turn-end panic"} {
		select {
		case got := <-ran:
			if got != want {
				t.Errorf("ran %q, want %q", got, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("loop stopped before %q", want)
		}
	}
	for range 2 {
		select {
		case <-recovered:
		case <-time.After(2 * time.Second):
			t.Fatal("Recover not called")
		}
	}
}
