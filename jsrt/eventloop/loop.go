package eventloop

import (
	"container/heap"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// ErrStopped is the error for work handed to a runtime whose loop has
// stopped: Submit reports false and the caller fails the work with it. Its
// text names the runtime because that is what callers of jsrt see
// (jsrt.ErrStopped is this value).
var ErrStopped = errors.New("jsrt: runtime stopped")

// Loop is the event loop of one runtime (see the package doc). Submit,
// Stop and Running may be called from any goroutine; SetTimer, ClearTimer
// and ClearTimers only on the loop goroutine (from a task) or before Run.
type Loop struct {
	// TurnStart, if set, runs on the loop goroutine before each task.
	// Set it before Run; it is not synchronised.
	TurnStart func()
	// TurnEnd, if set, runs on the loop goroutine after each task, once the
	// task's promise jobs have run: the runtime commits storage there. Set
	// it before Run; it is not synchronised.
	TurnEnd func()
	// Recover, if set, is called on the loop goroutine with the value of a
	// panic that escaped a task or TurnEnd, instead of letting it end the
	// process; the loop then goes on with the next task. Set it before Run.
	Recover func(v any)

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
	// taskID numbers tasks. Running reads both.
	taskStart atomic.Int64
	taskID    atomic.Uint64
	// taskThread is the OS thread the running task is locked to, and
	// taskCPU that thread's CPU clock when the task started (TaskCPU).
	taskThread atomic.Int32
	taskCPU    atomic.Int64
}

type timer struct {
	id       int
	when     time.Time
	interval time.Duration // 0 for setTimeout
	fn       func()
	index    int // in the heap; -1 once removed
}

// New returns a loop that runs nothing until Run is called.
func New() *Loop {
	return &Loop{
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		timerByID: make(map[int]*timer),
	}
}

// Submit queues fn to run as a task on the loop. It reports false if the
// loop has stopped, in which case fn will never run (callers report
// ErrStopped). Safe from any goroutine.
func (l *Loop) Submit(fn func()) bool {
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

// Stop makes the loop exit after the task it is running; queued tasks and
// timers are dropped. It waits for Run to return, so it must not be called
// from a task, and Run must have been started.
func (l *Loop) Stop() {
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

// Run runs tasks and due timers, one at a time, until Stop. The goroutine
// that calls it is the loop goroutine.
func (l *Loop) Run() {
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

// runTask runs fn and the hooks around it as one task. The goroutine is
// locked to its OS thread for the task (not while the loop waits, which
// would make every wake-up a hand-off between threads), so the thread's
// CPU clock measures the task: TaskCPU reads it from any goroutine.
func (l *Loop) runTask(fn func()) {
	runtime.LockOSThread()
	l.taskID.Add(1)
	tid := threadID()
	cpu, _ := threadClock(tid)
	l.taskThread.Store(tid)
	l.taskCPU.Store(int64(cpu))
	l.taskStart.Store(time.Now().UnixNano()) // last: marks the task running
	if l.TurnStart != nil {
		l.TurnStart()
	}
	l.guard(fn)
	if l.TurnEnd != nil {
		l.guard(l.TurnEnd)
	}
	l.taskStart.Store(0)
	l.taskThread.Store(0)
	runtime.UnlockOSThread()
}

// guard runs fn, handing a panic to Recover if it is set.
func (l *Loop) guard(fn func()) {
	if l.Recover == nil {
		fn()
		return
	}
	defer func() {
		if v := recover(); v != nil {
			l.Recover(v)
		}
	}()
	fn()
}

// Running returns the number of the task running now, or of the last one
// when idle (tasks are numbered from 1 in the order they start), and when
// the running task started, zero when idle. Safe from any goroutine: a watchdog uses it
// to find a task over its CPU limit, and the id to interrupt each task once.
func (l *Loop) Running() (id uint64, start time.Time) {
	id = l.taskID.Load()
	if ns := l.taskStart.Load(); ns != 0 {
		start = time.Unix(0, ns)
	}
	return id, start
}

// TaskCPU returns the number of the running task and the CPU time its
// thread has used since the task started (ok false when the loop is idle).
// Time the task spends waiting (a blocking call, or runnable while other
// threads have the cores) does not count, as on Cloudflare, where the CPU
// limit counts CPU and not wall time. Where threads have no CPU clock
// (ThreadClocks false) it is the wall time the task has run. Safe from any
// goroutine: the CPU-limit watchdog calls it.
func (l *Loop) TaskCPU() (id uint64, used time.Duration, ok bool) {
	id = l.taskID.Load()
	start := l.taskStart.Load()
	if start == 0 {
		return id, 0, false
	}
	// Stored before taskStart, so these are the task's (see runTask).
	tid, begin := l.taskThread.Load(), time.Duration(l.taskCPU.Load())
	now, clock := time.Duration(0), false
	if tid != 0 {
		now, clock = threadClock(tid)
	}
	if !clock {
		now, begin = time.Duration(time.Now().UnixNano()), time.Duration(start)
	}
	if l.taskID.Load() != id || l.taskStart.Load() == 0 {
		return id, 0, false // the task ended meanwhile
	}
	return id, max(now-begin, 0), true
}

// fireTimers runs every due timer as its own task and reports whether any ran.
func (l *Loop) fireTimers() bool {
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

// SetTimer schedules fn to run as a task after d, and then every d (at
// least 1ms) if repeat, and returns the timer's id for ClearTimer. Ids start
// at 1 and are not reused. Loop goroutine only (or before Run).
func (l *Loop) SetTimer(d time.Duration, repeat bool, fn func()) int {
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

// ClearTimers cancels every timer, as when the runtime's engine is replaced.
// Loop goroutine only (or before Run).
func (l *Loop) ClearTimers() {
	l.timers = nil
	clear(l.timerByID)
}

// ClearTimer cancels a timer; unknown or already fired ids are ignored.
// Loop goroutine only (or before Run).
// HasTimer reports whether timer id is still pending (a repeating timer
// stays pending until cleared). Loop goroutine only.
func (l *Loop) HasTimer(id int) bool {
	_, ok := l.timerByID[id]
	return ok
}

func (l *Loop) ClearTimer(id int) {
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
