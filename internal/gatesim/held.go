package gatesim

import (
	"sync"
	"sync/atomic"

	"github.com/cairn-dev/cairn/commit"
)

// HeldLog is a commit log over a real commit.Local whose syncs a test can
// hold back (Hold, Release) or make fail (FailNext), to watch the output
// gate of a single object step by step: while held, nothing becomes
// durable.
type HeldLog struct {
	inner    *commit.Local
	failErr  error
	failures atomic.Int32 // how many of the next syncs fail with failErr
	submits  atomic.Int64

	mu    sync.Mutex
	held  bool
	queue []func()
}

// NewHeldLog returns a HeldLog that lets syncs through until Hold.
func NewHeldLog() *HeldLog { return &HeldLog{inner: commit.NewLocal(0)} }

// Submit passes f to the real log, or queues it while held, or fails it.
func (l *HeldLog) Submit(f commit.Syncer, done func(error)) {
	l.submits.Add(1)
	if l.failures.Add(-1) >= 0 {
		go done(l.failErr)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held {
		l.queue = append(l.queue, func() { l.inner.Submit(f, done) })
		return
	}
	l.inner.Submit(f, done)
}

// Close closes the real log.
func (l *HeldLog) Close() error { return l.inner.Close() }

// Hold holds every sync submitted from now on until Release.
func (l *HeldLog) Hold() { l.mu.Lock(); l.held = true; l.mu.Unlock() }

// Release lets the held syncs through, and the later ones.
func (l *HeldLog) Release() {
	l.mu.Lock()
	q := l.queue
	l.queue, l.held = nil, false
	l.mu.Unlock()
	for _, fn := range q {
		fn()
	}
}

// FailNext makes the next n syncs fail with err. Call it before the syncs
// start.
func (l *HeldLog) FailNext(n int, err error) {
	l.failErr = err
	l.failures.Store(int32(n))
}

// Submits counts the syncs submitted so far.
func (l *HeldLog) Submits() int64 { return l.submits.Load() }

// Record keeps no record (commit.Log).
func (l *HeldLog) Record(commit.Syncer, *commit.Record) error { return nil }
