package jsrt

import (
	"slices"
	"testing"
	"time"
)

// runLoop starts l and stops it when the test ends.
func runLoop(t *testing.T, l *loop) {
	t.Helper()
	go l.run()
	t.Cleanup(l.stop)
}

func TestLoopTimersFireInDueOrder(t *testing.T) {
	l := newLoop()
	runLoop(t, l)
	got := make(chan int, 4)
	l.submit(func() {
		for _, d := range []int{30, 10, 20, 10} {
			d := d
			l.setTimer(time.Duration(d)*time.Millisecond, false, func() { got <- d })
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
	l := newLoop()
	runLoop(t, l)
	ticks := make(chan struct{}, 10)
	cleared := make(chan struct{}, 1)
	l.submit(func() {
		id := l.setTimer(5*time.Millisecond, false, func() { cleared <- struct{}{} })
		l.clearTimer(id)
		l.clearTimer(9999) // unknown ids are ignored
		var iv int
		n := 0
		iv = l.setTimer(time.Millisecond, true, func() {
			n++
			ticks <- struct{}{}
			if n == 3 {
				l.clearTimer(iv)
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
	l := newLoop()
	var trace []string
	l.turnEnd = func() { trace = append(trace, "end") }
	runLoop(t, l)
	done := make(chan struct{})
	l.submit(func() { trace = append(trace, "a") })
	l.submit(func() { trace = append(trace, "b"); close(done) })
	<-done
	var got []string
	fin := make(chan struct{})
	l.submit(func() { got = slices.Clone(trace); close(fin) })
	<-fin
	if want := []string{"a", "end", "b", "end"}; !slices.Equal(got, want) {
		t.Errorf("trace = %v, want %v", got, want)
	}
}

func TestLoopSubmitAfterStop(t *testing.T) {
	l := newLoop()
	go l.run()
	l.stop()
	if l.submit(func() {}) {
		t.Error("submit after stop = true, want false")
	}
}
