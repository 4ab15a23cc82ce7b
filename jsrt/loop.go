package jsrt

import (
	"container/heap"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrStopped is returned when work is handed to a runtime that has shut down.
var ErrStopped = errors.New("jsrt: runtime stopped")

// loop is the event loop of one runtime. Tasks (macrotasks) run one at a time on
// the loop's goroutine; promise jobs (microtasks) run when a task's outermost
// JS call returns, inside the same task. After every task the loop calls
// turnEnd, where the runtime commits storage and opens the output gate.
type loop struct {
	mu      sync.Mutex
	queue   []func()
	stopped bool
	wake    chan struct{}
	done    chan struct{}

	// Owned by the loop goroutine.
	timers    timerHeap
	timerByID map[int]*timer
	nextTimer int

	// taskStart is the UnixNano time the running task started, 0 when idle;
	// taskID numbers tasks. The watchdog reads both to enforce the CPU limit.
	taskStart atomic.Int64
	taskID    atomic.Uint64

	turnStart func() // runs before each task
	turnEnd   func() // runs after each task
}

type timer struct {
	id       int
	when     time.Time
	interval time.Duration // 0 for setTimeout
	fn       func()
	index    int // in the heap; -1 once removed
}

func newLoop() *loop {
	return &loop{
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		timerByID: make(map[int]*timer),
	}
}

// submit queues fn to run as a task on the loop. It reports false if the
// loop has stopped, in which case fn will never run.
func (l *loop) submit(fn func()) bool {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return false
	}
	l.queue = append(l.queue, fn)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return true
}

// stop makes the loop exit after the task it is running; queued tasks are
// dropped. It waits for the loop goroutine to finish.
func (l *loop) stop() {
	l.mu.Lock()
	if !l.stopped {
		l.stopped = true
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	l.mu.Unlock()
	<-l.done
}

// run is the loop goroutine.
func (l *loop) run() {
	defer close(l.done)
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	var batch []func()
	for {
		l.mu.Lock()
		if l.stopped {
			l.mu.Unlock()
			return
		}
		batch, l.queue = l.queue, batch[:0]
		l.mu.Unlock()

		for i, fn := range batch {
			l.runTask(fn)
			batch[i] = nil
		}
		if l.fireTimers() || len(batch) > 0 {
			continue
		}

		wait := time.Hour
		if len(l.timers) > 0 {
			wait = time.Until(l.timers[0].when)
		}
		idle.Reset(wait)
		select {
		case <-l.wake:
		case <-idle.C:
		}
	}
}

func (l *loop) runTask(fn func()) {
	l.taskID.Add(1)
	l.taskStart.Store(time.Now().UnixNano())
	if l.turnStart != nil {
		l.turnStart()
	}
	fn()
	if l.turnEnd != nil {
		l.turnEnd()
	}
	l.taskStart.Store(0)
}

// fireTimers runs every due timer as its own task and reports whether any ran.
func (l *loop) fireTimers() bool {
	ran := false
	now := time.Now()
	for len(l.timers) > 0 && !l.timers[0].when.After(now) {
		t := l.timers[0]
		if t.interval > 0 {
			t.when = now.Add(t.interval)
			heap.Fix(&l.timers, 0)
		} else {
			heap.Pop(&l.timers)
			delete(l.timerByID, t.id)
		}
		l.runTask(t.fn)
		ran = true
	}
	return ran
}

// setTimer schedules fn after d (repeating if interval) and returns its id.
// Loop goroutine only.
func (l *loop) setTimer(d time.Duration, repeat bool, fn func()) int {
	if d < 0 {
		d = 0
	}
	l.nextTimer++
	t := &timer{id: l.nextTimer, when: time.Now().Add(d), fn: fn}
	if repeat {
		t.interval = max(d, time.Millisecond)
	}
	heap.Push(&l.timers, t)
	l.timerByID[t.id] = t
	return t.id
}

// clearTimers cancels every timer. Loop goroutine only.
func (l *loop) clearTimers() {
	l.timers = nil
	clear(l.timerByID)
}

// clearTimer cancels a timer; unknown ids are ignored. Loop goroutine only.
func (l *loop) clearTimer(id int) {
	t, ok := l.timerByID[id]
	if !ok {
		return
	}
	delete(l.timerByID, id)
	if t.index >= 0 {
		heap.Remove(&l.timers, t.index)
	}
}

// timerHeap orders timers by due time, then by creation.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].id < h[j].id
	}
	return h[i].when.Before(h[j].when)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
