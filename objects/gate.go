package objects

import (
	"errors"
	"log/slog"
	"time"

	"github.com/cairn-dev/cairn/commit"
)

// ErrBlockTimeout resets an object whose blockConcurrencyWhile section (or
// transaction) lasted longer than its Gate's block timeout (30 s on
// Cloudflare). The text is Cloudflare's.
var ErrBlockTimeout = errors.New("A call to blockConcurrencyWhile() in a Durable Object waited for too long. The call was canceled and the Durable Object was reset.")

// ErrReset is what the storage of a reset instance reports when code of
// the old instance keeps running (a timer, a late promise) and touches it.
var ErrReset = errors.New("Durable Object reset because its code was updated or it was reset: this instance can no longer be used.")

// DefaultBlockTimeout is Cloudflare's limit for blockConcurrencyWhile.
const DefaultBlockTimeout = 30 * time.Second

// ResetError is the error of an event, or of an output-gated action, that
// failed because the object was reset (a failed commit, a broken
// blockConcurrencyWhile, ctx.abort()). A stub that sees it is broken for
// good (spec 10).
type ResetError struct{ Err error }

func (e *ResetError) Error() string { return e.Err.Error() }
func (e *ResetError) Unwrap() error { return e.Err }

// Guest is the code that runs one object's events for its Gate: the JS
// runtime, or the adapter for classes written in Go.
//
// Every object has a thread: the goroutine where its events run one task
// at a time (a JS runtime's event loop, a Go object's own goroutine). The
// Gate and the Guest methods below are used on that thread only.
type Guest interface {
	// Post runs fn on the object's thread as a task of its own, after the
	// tasks already queued there. When the task ends the guest calls
	// EndTurn if the gate was used in it (see Used). Post reports false if
	// the guest has stopped; fn will not run.
	Post(fn func()) bool
	// Used tells the guest that the Gate has work for the end of the
	// current task: it must call EndTurn then.
	Used(g *Gate)
	// Construct creates the user's object before its first event (in JS,
	// new Class(ctx, env)). It may call Block.
	Construct() error
	// Reset drops the user's object after the Gate reset it; the next
	// event constructs it again.
	Reset(err error)
}

// Gate owns the turns of one live Durable Object: which events may run
// (the input gate), when what they produce may leave (the output gate),
// committing the writes of each turn, and resetting the object when
// something it relied on failed. A guest drives it; the rules are the same
// for every guest:
//
//   - A turn is one task on the object's thread: an event, or the
//     continuation of one (a resolved storage read, a timer). The writes of
//     a turn are committed together when it ends (EndTurn), and the commit
//     is handed to the commit log (write coalescing, spec 22).
//   - Input gate: an event runs only when no blockConcurrencyWhile section
//     or transaction is open (Block/Unblock); events held meanwhile run in
//     order, one task each (spec 15, 18). So do the continuations of code
//     that ran outside the open sections: a timer, the response to an
//     outgoing request (Continue).
//   - Output gate: an action (a response, an RPC result, an outgoing
//     message) is released with Hold only once every earlier write of the
//     object that holds the gate is durable; the object keeps serving its
//     next events meanwhile (spec 20, 21, 24).
//   - A failed commit, a failed sync, a broken block section or an abort
//     resets the object: events in flight and held actions fail with a
//     ResetError, uncommitted writes are rolled back, broken storage is
//     reopened, and the next event constructs the object again (spec 16,
//     17). Writes that were acknowledged stay; writes committed but not yet
//     durable keep holding the output gate of the next instance, which may
//     read them.
//
// A Gate is not safe for concurrent use: it belongs to the object's thread.
type Gate struct {
	obj          *Object
	guest        Guest
	durable      commit.Log
	log          *slog.Logger
	blockTimeout time.Duration

	gen         int  // incremented by each reset and by eviction
	constructed bool // the guest's Construct ran for this generation
	evicted     bool // events that still reach the gate fail with ErrEvicted

	// Input gate: while blocked > 0, new events wait in queued, and
	// continuations from outside the open sections in resumed;
	// blockTimer bounds the wait. Sections are numbered as they open
	// (sections counts them); section is the outermost open one.
	blocked    int
	sections   int
	section    int
	queued     []queuedEvent
	resumed    []continuation
	blockTimer *time.Timer

	// inflight are the events not finished yet; a reset fails them.
	inflight map[*Event]struct{}

	// Durability. Commits are numbered from 1; confirmed is the highest
	// the commit log has made durable; mustConfirm the highest whose writes
	// hold the output gate (allowUnconfirmed writes do not).
	committed   uint64
	confirmed   uint64
	mustConfirm uint64
	syncing     int  // commits handed to the log and not reported on yet
	confirmTurn bool // a write of this turn holds the output gate
	used        bool // Guest.Used was called for this turn
	held        []heldAction
	waiters     []heldAction
	broken      error // set during a turn: the object resets at its end

	// Alarms: the turn's change, and the alarm a running handler runs for.
	alarmChange  int
	alarmAt      int64
	runningAlarm int64
}

type queuedEvent struct {
	run  func()
	fail func(error)
	// inspect: the event is the Host's (Host.Inspect), not the user's
	// object's, so it does not construct the object.
	inspect bool
}

// continuation is one held by the input gate: fn continues code that ran
// in section.
type continuation struct {
	section int
	fn      func()
}

// heldAction is an output-gated action: it runs once commit seq is durable
// (all: every write of the turn, allowUnconfirmed ones included).
type heldAction struct {
	all bool
	seq uint64
	fn  func(error)
}

// alarm changes made in a turn, applied to the Host's alarm index at commit.
const (
	alarmUnchanged = iota
	alarmWasSet
	alarmWasDeleted
)

// GateConfig is what a guest gives NewGate.
type GateConfig struct {
	Guest Guest
	// Commit makes the object's commits durable; default the Host's log
	// (see Host.SetCommitLog).
	Commit commit.Log
	// BlockTimeout bounds a Block section before the object is reset;
	// default DefaultBlockTimeout.
	BlockTimeout time.Duration
	Logger       *slog.Logger // default the Host's
}

// NewGate returns the gate of o, driven by cfg.Guest. A guest calls it from
// Class.NewInstance.
func NewGate(o *Object, cfg GateConfig) *Gate {
	g := &Gate{obj: o, guest: cfg.Guest, durable: cfg.Commit, log: cfg.Logger, blockTimeout: cfg.BlockTimeout, inflight: make(map[*Event]struct{})}
	if g.durable == nil {
		g.durable = o.durable
	}
	if g.log == nil {
		g.log = o.log
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	o.gate = g
	if g.blockTimeout <= 0 {
		g.blockTimeout = DefaultBlockTimeout
	}
	return g
}

// Generation numbers the object's instances: it changes when the object is
// reset or evicted. Natives handed to an instance remember it and refuse to
// work once it changed (ErrReset).
func (g *Gate) Generation() int { return g.gen }

// Event is one event in flight on an object: a request, an RPC call, an
// alarm. A reset of the object fails every event in flight.
type Event struct {
	g    *Gate
	fail func(error)
}

// Done marks the event finished. It reports false if the event had already
// ended: failed by a reset, or done before.
func (e *Event) Done() bool {
	if _, ok := e.g.inflight[e]; !ok {
		return false
	}
	delete(e.g.inflight, e)
	return true
}

// Deliver admits an event: run runs it once the input gate lets it in,
// after the guest's object was constructed. fail is called instead if the
// constructor fails, or if the object is reset before the event is Done.
// Deliver returns ErrEvicted, and runs nothing, if the instance was evicted:
// the caller asks the Host for the new one.
func (g *Gate) Deliver(run func(ev *Event), fail func(error)) error {
	if g.evicted {
		return ErrEvicted
	}
	ev := &Event{g: g, fail: fail}
	g.inflight[ev] = struct{}{}
	q := queuedEvent{run: func() { run(ev) }, fail: func(err error) {
		if ev.Done() {
			fail(err)
		}
	}}
	if g.blocked > 0 || len(g.queued) > 0 {
		g.queued = append(g.queued, q)
		return nil
	}
	g.deliverNow(q)
	return nil
}

// deliverNow runs an event, constructing the object first if needed; if the
// constructor blocks, the event goes first in the queue.
func (g *Gate) deliverNow(q queuedEvent) {
	if !g.constructed && !q.inspect {
		g.constructed = true
		if err := g.guest.Construct(); err != nil {
			g.constructed = false
			q.fail(err)
			return
		}
		if g.blocked > 0 {
			g.queued = append([]queuedEvent{q}, g.queued...)
			return
		}
	}
	q.run()
}

// drain delivers the held events in order, each as its own task, so that
// the work of one (a JS event's promise jobs) finishes before the next
// starts.
func (g *Gate) drain() {
	gen := g.gen
	g.guest.Post(func() {
		if g.gen != gen || g.blocked > 0 || len(g.queued) == 0 {
			return // reset, blocked again (Unblock drains again), or done
		}
		q := g.queued[0]
		g.queued = g.queued[1:]
		if len(g.queued) > 0 {
			g.drain()
		}
		g.deliverNow(q)
	})
}

// Block opens a blockConcurrencyWhile section (or a transaction) and
// returns its number: until the matching Unblock, no new event runs, nor
// any continuation of code that ran outside the section (see Continue).
// The guest runs the rest of the current task in the section. A section
// open longer than the block timeout resets the object with
// ErrBlockTimeout.
func (g *Gate) Block() int {
	g.sections++
	g.blocked++
	if g.blocked > 1 {
		return g.sections // nested in the open one
	}
	g.section = g.sections
	gen := g.gen
	g.blockTimer = time.AfterFunc(g.blockTimeout, func() {
		g.guest.Post(func() {
			if g.gen == gen && g.blocked > 0 {
				g.log.Error("blockConcurrencyWhile timed out; resetting object", "class", g.obj.Class, "id", g.obj.ID.String())
				g.Reset(ErrBlockTimeout)
			}
		})
	})
	return g.sections
}

// Unblock closes a section opened by Block and, once none remains open,
// lets the held continuations and then the held events in.
func (g *Gate) Unblock() {
	if g.blocked == 0 {
		return
	}
	g.blocked--
	if g.blocked > 0 {
		return
	}
	g.blockTimer.Stop()
	g.resume()
	if len(g.queued) > 0 {
		g.drain()
	}
}

// Continue runs fn, which continues code that ran in section (0: in none)
// — a timer's callback, the response to an outgoing fetch or RPC — if the
// input gate lets it in: when no section is open, or section is one of
// those open (they nest). Otherwise fn waits until they close, as a new
// event would: the input gate holds the responses to outgoing requests
// and the timers of other events too (spec 15, §4.2). Without this, code
// of another event would run inside a transaction and be rolled back
// with it.
func (g *Gate) Continue(section int, fn func()) {
	if g.blocked == 0 || section >= g.section {
		fn()
		return
	}
	g.resumed = append(g.resumed, continuation{section, fn})
}

// resume posts the held continuations, in order, each as a task that asks
// the input gate again (a section may have opened meanwhile).
func (g *Gate) resume() {
	resumed := g.resumed
	g.resumed = nil
	for _, c := range resumed {
		g.guest.Post(func() { g.Continue(c.section, c.fn) })
	}
}

// Use marks the object's storage as used by the current turn, so that the
// turn's writes are committed when it ends. confirm says the use may write
// and holds the output gate until durable (false for reads and for
// allowUnconfirmed writes).
func (g *Gate) Use(confirm bool) {
	g.markUsed()
	if confirm {
		g.confirmTurn = true
	}
}

func (g *Gate) markUsed() {
	if !g.used {
		g.used = true
		g.guest.Used(g)
	}
}

// Hold runs fn once the object's writes so far — this turn's included,
// after its commit — are durable: the writes that hold the output gate, or
// with all every write (allowUnconfirmed ones too, for storage.sync()). If
// they fail to become durable, the object is reset and fn gets the
// ResetError. fn runs on the object's thread.
func (g *Gate) Hold(all bool, fn func(err error)) {
	g.markUsed()
	g.held = append(g.held, heldAction{all: all, fn: fn})
}

// Break makes the object reset when the current turn ends, with err: a
// blockConcurrencyWhile callback that failed, ctx.abort().
func (g *Gate) Break(err error) {
	g.broken = err
	g.markUsed()
}

// Broken reports the error the object will be reset with at the end of
// the turn, if any.
func (g *Gate) Broken() error { return g.broken }

// EndTurn commits the writes of the turn and hands the commit to the
// commit log; then it puts the actions held in the turn behind the
// commits they wait for. A failed commit resets the object and fails them.
// The guest calls it when a task in which the gate was used ends.
func (g *Gate) EndTurn() {
	g.used = false
	held := g.held
	g.held = nil
	err := g.commit()
	for _, h := range held {
		if err != nil {
			h.fn(err)
			continue
		}
		h.seq = g.mustConfirm
		if h.all {
			h.seq = g.committed
		}
		g.afterConfirm(h)
	}
}

// commit commits the turn's writes and submits them to the commit log. A
// failed commit resets the object; the error is returned as a ResetError.
func (g *Gate) commit() error {
	if g.broken != nil {
		err := g.broken
		g.Reset(err)
		return &ResetError{err}
	}
	confirm := g.confirmTurn
	g.confirmTurn = false
	db := g.obj.Storage
	if db.InSavepoint() {
		return nil // a transaction spans turns: it commits with the turn that ends it
	}
	if err := g.indexAlarm(true); err != nil {
		g.log.Error("indexing the alarm failed; resetting object", "class", g.obj.Class, "id", g.obj.ID.String(), "error", err)
		g.Reset(err)
		return &ResetError{err}
	}
	wrote, err := db.Commit()
	if err != nil {
		g.log.Error("commit failed; resetting object", "class", g.obj.Class, "id", g.obj.ID.String(), "error", err)
		g.Reset(err)
		return &ResetError{err}
	}
	_ = g.indexAlarm(false)
	g.alarmChange = alarmUnchanged
	if !wrote {
		return nil
	}
	g.committed++
	if confirm {
		g.mustConfirm = g.committed
	}
	g.sync(g.committed)
	return nil
}

// sync asks the commit log to make the storage durable up to commit seq.
func (g *Gate) sync(seq uint64) {
	g.syncing++
	g.durable.Submit(g.obj.Storage, func(err error) {
		g.guest.Post(func() { g.durableAt(seq, err) })
	})
}

// durableAt records that commit seq is durable (or failed to become so)
// and releases the actions that waited for it. A failed sync resets the
// object: what it may have read from the lost writes must not leave.
func (g *Gate) durableAt(seq uint64, err error) {
	g.syncing--
	if err != nil {
		g.log.Error("making a commit durable failed; resetting object", "class", g.obj.Class, "id", g.obj.ID.String(), "error", err)
		g.Reset(err)
		return
	}
	g.confirmed = max(g.confirmed, seq)
	n := 0
	for n < len(g.waiters) && g.waiters[n].seq <= g.confirmed {
		n++
	}
	ready := g.waiters[:n]
	g.waiters = g.waiters[n:]
	for _, w := range ready {
		w.fn(nil)
	}
}

// afterConfirm runs h once commit h.seq is durable.
func (g *Gate) afterConfirm(h heldAction) {
	if g.confirmed >= h.seq {
		h.fn(nil)
		return
	}
	g.waiters = append(g.waiters, h)
	if g.syncing == 0 {
		// No sync under way will make it durable: the last one failed (and
		// reset the object), but what it was for is still in the
		// database, and this instance may have read it. Sync again.
		g.sync(g.committed)
	}
}

// Reset drops the object's instance and its uncommitted writes: queued and
// in-flight events fail with a ResetError of err, output-gated actions
// waiting on the object fail too, and storage that broke is reopened. The
// next event constructs the object again.
func (g *Gate) Reset(err error) {
	g.gen++
	g.constructed = false
	g.broken = nil
	g.used = false
	if g.blocked > 0 {
		g.blockTimer.Stop()
	}
	g.blocked = 0
	g.resume() // the code of the old instance fails on its own (ErrReset)
	rerr := &ResetError{err}
	queued := g.queued
	g.queued = nil
	for _, q := range queued {
		q.fail(rerr)
	}
	for ev := range g.inflight {
		if ev.Done() {
			ev.fail(rerr)
		}
	}
	waiters := append(g.held, g.waiters...)
	g.held, g.waiters = nil, nil
	g.confirmTurn = false
	g.alarmChange = alarmUnchanged
	g.runningAlarm = 0
	// mustConfirm stays: the commits not durable yet are in the database,
	// and the next instance reads them, so its output waits for them too.
	for _, w := range waiters {
		w.fn(rerr)
	}
	g.guest.Reset(err)
	if rerr := g.obj.Storage.Rollback(); rerr != nil || g.obj.Storage.Broken() != nil || g.obj.Storage.RestorePending() {
		// A broken DB stays broken until reopened: that is the restart.
		// A restore asked for (onNextSessionRestoreBookmark) runs then.
		g.obj.ReopenStorage()
	}
}

// Idle reports whether the object has nothing in progress: no event in
// flight or held, no open block section or transaction, no write waiting
// to become durable. Only an idle object may be evicted.
func (g *Gate) Idle() bool {
	return len(g.inflight) == 0 && len(g.queued) == 0 && g.blocked == 0 && len(g.waiters) == 0 &&
		len(g.held) == 0 && g.committed == g.confirmed && !g.obj.Storage.InTx()
}

// Evict marks the instance evicted if it is idle and reports whether it
// did: events that reach it later get ErrEvicted from Deliver and the Host
// activates a new instance. The guest drops its object when Evict returns
// true.
func (g *Gate) Evict() bool {
	if !g.Idle() {
		return false
	}
	g.evicted = true
	g.gen++ // natives of the old instance stop working
	g.constructed = false
	return true
}
