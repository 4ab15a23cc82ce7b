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
// about who allocated what, so the limit is enforced by observing the heap:
//
//   - every memoryTick the watch reads the heap's size; while it is under
//     baseline + MemoryLimit nothing happens (baseline is the live heap
//     after the last collection the watch saw or forced);
//   - above that, it forces a collection (garbage does not count) and reads
//     the live heap; if that still exceeds baseline + MemoryLimit, the
//     runtime whose current task has run longest is taken as the one
//     allocating, and is interrupted with errMemoryLimit (its runtime then
//     resets, dropping everything it held); otherwise the live heap becomes
//     the new baseline (objects and caches that legitimately grew);
//   - with MaxMemory set, a live heap above 90 % of it interrupts the
//     longest-running task whatever its size, and new requests are shed
//     with ErrOverloaded until the live heap is under 80 %.
//
// Limits of the design: it is not exact (the heap is the process's, so a
// task that allocates slowly while another runs longer can get the other
// blamed; the overshoot is what one task allocates in a tick plus a forced
// collection, and one native allocation, such as a huge ArrayBuffer, is
// not interrupted until it returns); memory held by objects between
// events (not by a running task) is never blamed on anyone, only raises
// the baseline; and a forced collection costs a mark of the live heap each
// time the heap grows by MemoryLimit past the baseline.
type memoryWatch struct {
	w        *Worker
	samples  []metrics.Sample
	baseline uint64
	// victim and victimTask are the runtime last interrupted and its task:
	// until that task ends (and its runtime resets), what it held is still
	// live, and no one else is blamed for it.
	victim     *runtime
	victimTask uint64
}

func newMemoryWatch(w *Worker) *memoryWatch {
	m := &memoryWatch{w: w, samples: []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}}
	_, m.baseline = m.read()
	return m
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
		m.victim = nil
	}
	limit := uint64(m.w.cfg.MemoryLimit)
	ceiling := uint64(m.w.cfg.MaxMemory)
	heap, live := m.read()
	if live < m.baseline {
		m.baseline = live // a collection freed memory
	}
	overCeiling := ceiling > 0 && heap > ceiling/10*9
	if heap <= m.baseline+limit && !overCeiling {
		if ceiling > 0 && m.w.overloaded.Load() && heap < ceiling/10*8 {
			m.w.overloaded.Store(false)
		}
		return
	}
	goruntime.GC()
	_, live = m.read()

	if ceiling > 0 {
		if live > ceiling/10*9 {
			if !m.w.overloaded.Swap(true) {
				m.w.log.Warn("memory near --max-memory: shedding new requests", "live", live, "max", ceiling)
			}
			m.interruptLongest(now, errMemoryLimit)
			return
		}
		if live < ceiling/10*8 {
			m.w.overloaded.Store(false)
		}
	}
	if live > m.baseline+limit && m.interruptLongest(now, errMemoryLimit) {
		m.w.log.Warn("a task exceeded the memory limit", "live", live, "baseline", m.baseline, "limit", limit)
		return
	}
	m.baseline = live
}

// interruptLongest interrupts the task that has run longest, if any
// runtime is running one, and reports whether it did.
func (m *memoryWatch) interruptLongest(now time.Time, cause error) bool {
	var victim *runtime
	var oldest time.Time
	for _, rt := range m.w.rts {
		if _, start := rt.loop.Running(); !start.IsZero() && (victim == nil || start.Before(oldest)) {
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
