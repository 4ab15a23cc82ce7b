// Package gatesim is the test bench of the simulation tests of a Durable
// Object's gates (objects.Gate), shared by its guests (Go objects in package
// objects, JS objects in package jsrt): a commit log whose disk the test
// drives (Log), and a model of what the objects' callers may observe that
// checks every answer against it (Model).
//
// The tests run seeded random interleavings of events, writes, awaits,
// commits held back and syncs that fail, and check three invariants:
//
//  1. no output before its writes are durable: an answer never reaches its
//     caller while a write of its event, a write an earlier event of the
//     object made, or a write the answer shows, is not durable;
//  2. no event sees another's half-done turn: writes made without an
//     await, or in a transaction, are all or nothing to every reader, and
//     writes made while the input gate is held are never seen half done
//     by another event of the same instance;
//  3. a reset loses only unacknowledged writes: an acknowledged write is
//     found by every later read, across resets, evictions and restarts; a
//     failed event's writes may be gone but an atomic group never half
//     applied; rolled-back writes are never seen.
package gatesim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/cairn-dev/cairn/commit"
)

// ErrInjected is the error of a sync the Log fails on purpose.
var ErrInjected = errors.New("gatesim: injected sync failure (EIO)")

// Log is a commit.Log whose disk is the test: every submission is held
// until the test releases it (Step, ReleaseAll), in batches of one file's
// oldest submissions, made durable or failed. It knows, for every write a
// test registered (Wrote), which submission carried it and whether that
// is durable yet.
//
// Durability follows the commit.Log contract: a submission asks for
// everything written to its file before it to be made durable, so a
// successful one also makes the earlier submissions of the file durable,
// failed ones included.
type Log struct {
	// CallSync makes a successful release call the file's Sync, as a real
	// log would, concurrently with the object's next writes.
	CallSync bool

	release sync.Mutex // one release at a time: completions stay in order per file

	mu      sync.Mutex
	seq     uint64
	queue   []*submission            // submitted, not completed, in order
	keyOf   map[commit.Syncer]string // the file of each attached Syncer
	pending map[string][]*Write      // registered, not submitted yet, per file
	durable map[string]uint64        // per file: the last submission made durable
	closed  bool
	stats   Stats
}

// Stats counts what a Log did, to show what a simulation exercised.
type Stats struct {
	Submits    int // submissions
	Durable    int // submissions reported durable
	Failed     int // submissions reported failed
	Batches    int // releases
	MaxPending int // most submissions held at once
	RolledBack int // registered writes discarded by a reconstruction
}

func (s Stats) String() string {
	return fmt.Sprintf("%d submissions (%d durable, %d failed) in %d releases, up to %d held at once; %d writes rolled back",
		s.Submits, s.Durable, s.Failed, s.Batches, s.MaxPending, s.RolledBack)
}

type submission struct {
	seq    uint64
	f      commit.Syncer
	key    string
	done   func(error)
	failed bool // completed with an error
}

// Write is a write registered with Wrote: one or more storage writes made
// in one turn of an object.
type Write struct {
	key        string // file
	gating     bool   // holds the output gate (not allowUnconfirmed)
	sub        *submission
	rolledBack bool
}

// NewLog returns an empty Log.
func NewLog() *Log {
	return &Log{keyOf: make(map[commit.Syncer]string), pending: make(map[string][]*Write), durable: make(map[string]uint64)}
}

// Attach names the file f is the database of, and tells the Log that the
// object owning it was just constructed: the writes registered for the file
// and not submitted yet were rolled back by the reset that preceded. Call it
// from the object's constructor, on its thread.
func (l *Log) Attach(f commit.Syncer, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keyOf[f] = key
	for _, w := range l.pending[key] {
		w.rolledBack = true
		l.stats.RolledBack++
	}
	delete(l.pending, key)
}

// Wrote registers a write made through f in the current turn, on the
// object's thread: the next submission of f carries it. gating is false for
// allowUnconfirmed writes.
func (l *Log) Wrote(f commit.Syncer, gating bool) *Write {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := &Write{key: l.keyLocked(f), gating: gating}
	l.pending[w.key] = append(l.pending[w.key], w)
	return w
}

func (l *Log) keyLocked(f commit.Syncer) string {
	if k, ok := l.keyOf[f]; ok {
		return k
	}
	return fmt.Sprintf("%p", f)
}

// Durable reports whether w was reported durable.
func (l *Log) Durable(w *Write) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.durableLocked(w)
}

func (l *Log) durableLocked(w *Write) bool {
	return w.sub != nil && l.durable[w.key] >= w.sub.seq
}

// stateLocked describes where w is on its way to the disk. l.mu is held.
func (l *Log) stateLocked(w *Write) string {
	switch {
	case w.rolledBack:
		return "rolled back"
	case w.sub == nil:
		return "not committed yet"
	case l.durableLocked(w):
		return "durable"
	case w.sub.failed:
		return "its sync failed"
	}
	return "its sync is held"
}

// RolledBack reports whether w was discarded before it was submitted.
func (l *Log) RolledBack(w *Write) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return w.rolledBack
}

// Submit holds f's sync until the test releases it (commit.Log).
func (l *Log) Submit(f commit.Syncer, done func(error)) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		done(commit.ErrClosed)
		return
	}
	l.seq++
	s := &submission{seq: l.seq, f: f, key: l.keyLocked(f), done: done}
	l.durable[s.key] += 0 // the file is known to Closed
	for _, w := range l.pending[s.key] {
		w.sub = s
	}
	delete(l.pending, s.key)
	l.queue = append(l.queue, s)
	l.stats.Submits++
	l.stats.MaxPending = max(l.stats.MaxPending, len(l.queue))
	l.mu.Unlock()
}

// Held returns how many submissions wait to be released.
func (l *Log) Held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue)
}

// Step releases one batch, chosen with r: the oldest submissions (one or
// more) of a file picked at random among those with submissions held. The
// batch fails with ErrInjected with probability failRate, else it is made
// durable. It reports false if nothing was held.
func (l *Log) Step(r *rand.Rand, failRate float64) bool {
	l.release.Lock()
	defer l.release.Unlock()
	l.mu.Lock()
	if len(l.queue) == 0 {
		l.mu.Unlock()
		return false
	}
	f := l.queue[r.IntN(len(l.queue))].f
	n := 0
	for _, s := range l.queue {
		if s.f == f {
			n++
		}
	}
	n = 1 + r.IntN(n)
	fail := r.Float64() < failRate
	l.mu.Unlock()
	var err error
	if fail {
		err = ErrInjected
	}
	l.complete(f, n, err)
	return true
}

// ReleaseAll makes everything held durable.
func (l *Log) ReleaseAll() {
	l.release.Lock()
	defer l.release.Unlock()
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.mu.Unlock()
			return
		}
		f := l.queue[0].f
		l.mu.Unlock()
		l.complete(f, -1, nil)
	}
}

// complete completes the n oldest held submissions of f (all if n < 0)
// with err, syncing f first if CallSync is set and err is nil. l.release
// is held.
func (l *Log) complete(f commit.Syncer, n int, err error) {
	if err == nil && l.CallSync {
		err = f.Sync()
	}
	l.mu.Lock()
	var batch []*submission
	rest := l.queue[:0]
	for _, s := range l.queue {
		if s.f == f && (n < 0 || len(batch) < n) {
			batch = append(batch, s)
			continue
		}
		rest = append(rest, s)
	}
	clear(l.queue[len(rest):])
	l.queue = rest
	l.stats.Batches++
	for _, s := range batch {
		if err == nil {
			l.durable[s.key] = max(l.durable[s.key], s.seq)
			l.stats.Durable++
		} else {
			s.failed = true
			l.stats.Failed++
		}
	}
	l.mu.Unlock()
	for _, s := range batch {
		s.done(err)
	}
}

// Stats returns the counters so far.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Closed tells the Log that the test closed every file, which makes it
// durable: closing a SQLite database in WAL mode checkpoints it, and a
// checkpoint syncs the WAL and the database. Every submission so far, failed
// ones included, counts as durable; writes registered and not submitted
// were rolled back. Call it after ReleaseAll, once the objects are closed.
func (l *Log) Closed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key := range l.durable {
		l.durable[key] = l.seq
	}
	for key, ws := range l.pending {
		for _, w := range ws {
			w.rolledBack = true
			l.stats.RolledBack++
		}
		delete(l.pending, key)
	}
}

// Close makes everything held durable; later submissions fail with
// commit.ErrClosed (commit.Log).
func (l *Log) Close() error {
	l.ReleaseAll()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return nil
}

// Record keeps no record (commit.Log).
func (l *Log) Record(commit.Syncer, *commit.Record) error { return nil }
