package jsrt

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Observer is told about a Worker's failures, for metrics (package metrics
// implements it). Its methods are called on the runtimes' goroutines and
// must not block.
type Observer interface {
	// Exception reports an error thrown by the Worker's code and not
	// caught by it. where says what threw: "fetch" (the fetch handler of
	// a request), "object" (a Durable Object event), "promise" (a
	// rejection nobody handled), "listener" (a timer, WebSocket or abort
	// listener), "waitUntil", "alarm" (an object's alarm handler) or
	// "scheduled" (a cron trigger's handler).
	Exception(where string)
	// Reset reports a runtime started afresh, dropping the state of its
	// objects: cause is "memory" (the memory limit), "stack" (the engine
	// broken by a stack overflow) or "internal" (a panic in cairn); or,
	// with cause "cpu", a task stopped by the CPU limit, which resets only
	// the object (or fails only the request) whose code it ran.
	Reset(cause string)
}

// CPUTime adds up the time a request's code ran on a runtime's thread: the
// tasks it ran in, as the CPU limit counts it (waiting for I/O, timers or
// other requests does not count). A task still running counts until now,
// so a response sent before its task ended is read with that task's time.
// Its zero value is ready to use, and it is safe for concurrent use.
type CPUTime struct {
	mu    sync.Mutex
	total time.Duration
	depth int       // tasks of the request running now
	since time.Time // when the first of them started
}

// Load returns the time so far.
func (c *CPUTime) Load() time.Duration {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.total
	if c.depth > 0 {
		d += time.Since(c.since)
	}
	return d
}

func (c *CPUTime) begin() {
	c.mu.Lock()
	if c.depth == 0 {
		c.since = time.Now()
	}
	c.depth++
	c.mu.Unlock()
}

func (c *CPUTime) end() {
	c.mu.Lock()
	if c.depth--; c.depth == 0 {
		c.total += time.Since(c.since)
	}
	c.mu.Unlock()
}

type cpuTimeKey struct{}

// WithCPUTime returns ctx carrying c: the code of the request whose
// context it is adds its running time to c.
func WithCPUTime(ctx context.Context, c *CPUTime) context.Context {
	return context.WithValue(ctx, cpuTimeKey{}, c)
}

func cpuTimeOf(ctx context.Context) *CPUTime {
	c, _ := ctx.Value(cpuTimeKey{}).(*CPUTime)
	return c
}

// measure counts the time from now until the returned function is called
// in c (nil: measures nothing).
func measure(c *CPUTime) (stop func()) {
	if c == nil {
		return func() {}
	}
	c.begin()
	return c.end
}

// exception reports an uncaught error to the Worker's Observer.
func (w *Worker) exception(where string) {
	if w.cfg.Observer != nil {
		w.cfg.Observer.Exception(where)
	}
}

// resetCause names the cause of a runtime reset for Observer.Reset.
func resetCause(err error) string {
	switch {
	case errors.Is(err, errCPULimit):
		return "cpu"
	case errors.Is(err, errMemoryLimit):
		return "memory"
	case errors.Is(err, errRuntimeBroken):
		return "stack"
	case errors.Is(err, errInternal):
		return "internal"
	}
	return "other"
}
