package jsrt

import (
	"errors"
	goruntime "runtime"
	"runtime/metrics"
	"time"
)

// DefaultMemoryLimit is the memory one runtime's task may hold before it
// fails, as Cloudflare's 128 MB per isolate.
const DefaultMemoryLimit = 128 << 20

// ErrOverloaded is what a request gets while the process is near its
// memory ceiling (Config.MaxMemory): new work is shed (503) until memory
// falls back.
var ErrOverloaded = errors.New("jsrt: server over its memory ceiling; request shed")

// errMemoryLimit interrupts the task found holding more than the memory
// limit; its runtime then starts afresh, which frees what it held.
var errMemoryLimit = errors.New("Worker exceeded memory limit.")

// memoryTick is how often the memory watch samples the heap. Allocation
// loops reach gigabytes in well under a second, so it is short; a sample
// is a few hundred nanoseconds (runtime/metrics does not stop the world).
const memoryTick = 10 * time.Millisecond

// The memory watch. goja allocates through the Go heap and says nothing
// about who allocated what, so the limit is enforced by observing the heap
// while tasks run. A task is one turn of a runtime's loop (an event and the
// promise jobs it runs); at most one runs per runtime at a time, and
// ordinary ones last milliseconds:
//
//   - the watch notes, for each task it sees running, the live heap when it
//     first saw it (its base: the last collection's live heap, or the heap
//     now if smaller);
//   - every memoryTick it reads the heap's size; while that is under the
//     lowest base of the running tasks plus MemoryLimit nothing happens;
//   - above that it forces a collection (garbage does not count) and, if
//     the live heap still exceeds a running task's base by more than
//     MemoryLimit, interrupts the longest-running of those tasks with
//     errMemoryLimit; its runtime then resets, dropping what it held;
//   - with MaxMemory set, a heap above 90 % of it forces a collection, and
//     a live heap still above 90 % interrupts the longest-running task
//     whatever its size and sheds new requests with ErrOverloaded until the
//     heap is under 80 %.
//
// Limits of the design: it is not exact. The heap is the process's, so
// when two tasks run at once (on different runtimes) the growth of one is
// seen by the other, and the longer-running one is blamed. The overshoot
// is what a task allocates in a tick and a collection (a native operation
// such as concatenating two huge strings, or one huge ArrayBuffer, is not
// interrupted until it returns). Memory kept between tasks (by module
// state or an object's fields, grown a little per event) is no task's:
// only the MaxMemory ceiling bounds it. A forced collection marks the live
// heap each time it grows by MemoryLimit while a task runs.
type memoryWatch struct {
	w       *Worker
	samples []metrics.Sample
	// tasks holds, per runtime, the task last seen running and the live
	// heap when it was first seen.
	tasks []taskBase
	// victim and victimTask are the runtime last interrupted and its task:
	// until that task ends (and its runtime resets), what it held is still
	// live, and no one else is blamed for it.
	victim     *runtime
	victimTask uint64
}

type taskBase struct {
	id   uint64
	base uint64
}

func newMemoryWatch(w *Worker) *memoryWatch {
	return &memoryWatch{w: w, tasks: make([]taskBase, len(w.rts)), samples: []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}}
}

// watchMemory runs the memory watch until the Worker closes. It is a
// goroutine of its own: a forced collection may take a while, and the CPU
// watchdog must not wait for it.
func (w *Worker) watchMemory() {
	defer w.wg.Done()
	m := newMemoryWatch(w)
	tick := time.NewTicker(memoryTick)
	defer tick.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case now := <-tick.C:
			m.check(now)
		}
	}
}

// read returns the heap in use (live and garbage not yet swept) and the
// live heap marked by the last collection.
func (m *memoryWatch) read() (heap, live uint64) {
	metrics.Read(m.samples)
	for i, s := range m.samples {
		if s.Value.Kind() != metrics.KindUint64 {
			continue
		}
		if i == 0 {
			heap = s.Value.Uint64()
		} else {
			live = s.Value.Uint64()
		}
	}
	return heap, live
}

// check runs one sample and acts on it (see memoryWatch).
func (m *memoryWatch) check(now time.Time) {
	if m.victim != nil {
		if id, start := m.victim.loop.Running(); id == m.victimTask && !start.IsZero() {
			return
		}
		// Collect what the reset dropped before new tasks get their base.
		m.victim = nil
		goruntime.GC()
	}
	limit := uint64(m.w.cfg.MemoryLimit)
	ceiling := uint64(m.w.cfg.MaxMemory)
	heap, live := m.read()
	lowest, running := uint64(0), false
	for i, rt := range m.w.rts {
		id, start := rt.loop.Running()
		if start.IsZero() {
			continue
		}
		if m.tasks[i].id != id {
			// live is from the last collection: if memory was freed since
			// (a reset runtime's), the heap now is the better bound.
			m.tasks[i] = taskBase{id: id, base: min(live, heap)}
		}
		if !running || m.tasks[i].base < lowest {
			lowest = m.tasks[i].base
		}
		running = true
	}
	overCeiling := ceiling > 0 && heap > ceiling/10*9
	if !overCeiling && (!running || heap <= lowest+limit) {
		if ceiling > 0 && heap < ceiling/10*8 {
			m.w.overloaded.Store(false)
		}
		return
	}
	goruntime.GC()
	_, live = m.read()
	if ceiling > 0 && live > ceiling/10*9 {
		if !m.w.overloaded.Swap(true) {
			m.w.log.Warn("memory near --max-memory: shedding new requests", "live", live, "max", ceiling)
		}
		m.interruptLongest(func(int) bool { return true }, errMemoryLimit)
		return
	}
	over := func(i int) bool { return live > m.tasks[i].base+limit }

	if m.interruptLongest(over, errMemoryLimit) {
		m.w.log.Warn("a task exceeded the memory limit", "live", live, "limit", limit)
	}
}

// interruptLongest interrupts the longest-running of the running tasks
// for whose runtime (by index) blame is true, and reports whether there
// was one.
func (m *memoryWatch) interruptLongest(blame func(i int) bool, cause error) bool {
	var victim *runtime
	var oldest time.Time
	for i, rt := range m.w.rts {
		if id, start := rt.loop.Running(); !start.IsZero() && m.tasks[i].id == id && blame(i) && (victim == nil || start.Before(oldest)) {
			victim, oldest = rt, start
		}
	}
	if victim == nil {
		return false
	}
	victim.memExceeded.Store(true)
	victim.current.Load().Interrupt(cause)
	m.victim = victim
	m.victimTask, _ = victim.loop.Running()
	return true
}
