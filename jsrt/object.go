package jsrt

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/objects"
)

// Errors an object's callers see when the object is reset.
var (
	// errBlockTimeout resets an object whose blockConcurrencyWhile callback
	// ran longer than the limit (30 s on Cloudflare).
	errBlockTimeout = errors.New("A call to blockConcurrencyWhile() in a Durable Object waited for too long. The call was canceled and the Durable Object was reset.")
	// errReset is thrown by the storage of an object instance that was reset
	// while its JS kept running (a timer, a late promise).
	errReset = errors.New("Durable Object reset because its code was updated or it was reset: this instance can no longer be used.")
)

// doClass is a Durable Object class exported by the Worker script; it
// implements objects.Class.
type doClass struct {
	w    *Worker
	name string
}

// NewInstance pins the object to a runtime. The JS constructor runs on the
// object's first event.
func (c *doClass) NewInstance(o *objects.Object) (objects.Instance, error) {
	return &instance{rt: c.w.runtimeFor(o.ID), class: c.name, obj: o, inflight: make(map[*func(error)]struct{})}, nil
}

// instance is one live Durable Object in a runtime. Its fields are owned by
// the runtime's loop goroutine.
//
// # Gates
//
// Input gate: storage calls run synchronously on the loop and their promises
// resolve within the same task, so no other event reaches the object while
// one is outstanding; blockConcurrencyWhile and transaction() hold events in
// queued. Output gate: the writes of a turn are committed when the turn ends
// and handed to the commit log; a response (or outgoing fetch) produced in
// the turn is released when the log has made every earlier write of the
// object durable, while the object goes on serving its next events.
type instance struct {
	rt    *runtime
	class string
	obj   *objects.Object

	this *goja.Object // the JS object; nil until constructed
	gen  int          // incremented by reset; natives of older generations refuse to work

	// blockConcurrencyWhile and transaction(): while blocked > 0, new events
	// wait in queued; blockTimer bounds the wait.
	blocked    int
	queued     []queuedEvent
	blockTimer int

	// inflight are the requests to this object not answered yet; a reset
	// fails them.
	inflight map[*func(error)]struct{}

	// Durability. Commits are numbered from 1; confirmed is the highest the
	// commit log has made durable; mustConfirm the highest whose writes hold
	// the output gate (allowUnconfirmed writes do not).
	committed   uint64
	confirmed   uint64
	mustConfirm uint64
	confirmTurn bool // a write of this turn holds the output gate
	waiters     []confirmWaiter
	broken      error // set during a turn (ctx.abort, a failed blockConcurrencyWhile): reset at its end

	evicted bool         // by the Host when idle; events that still reach it fail with objects.ErrEvicted
	timers  atomic.Int32 // timers pending that this generation set (read by the Host's sweeper)

	// Alarms (alarm.go): the turn's change, and the alarm a running handler
	// runs for.
	alarmChange  int
	alarmAt      int64
	runningAlarm int64
}

type queuedEvent struct {
	event func()
	fail  func(error)
}

// confirmWaiter is an output-gated action waiting for commit seq to be durable.
type confirmWaiter struct {
	seq  uint64
	done func(error)
}

// Fetch delivers a request to the object's fetch handler.
func (i *instance) Fetch(ctx context.Context, req *http.Request) (*http.Response, error) {
	return i.rt.serve(ctx, req, i, func(jsReq goja.Value) (goja.Value, error) {
		fetch, ok := goja.AssertFunction(i.this.Get("fetch"))
		if !ok {
			return nil, errNoFetch
		}
		return fetch(i.this, jsReq)
	})
}

// Close does nothing: the JS object goes with its runtime, and the Host
// closes the storage.
func (i *instance) Close() {}

// Hibernatable reports whether all the object keeps is hibernatable
// WebSockets (objects.Hibernator): no timer pending either (spec 14).
func (i *instance) Hibernatable() bool {
	return i.timers.Load() == 0 && i.rt.w.WebSocketsHibernatable(i.class, i.obj.ID)
}

// Evict drops the object's JS state if it has nothing in progress
// (objects.Evicter). It runs on the object's loop.
func (i *instance) Evict() bool {
	rt := i.rt
	ch := make(chan bool, 1)
	if !rt.loop.submit(func() { ch <- i.evictNow() }) {
		return true // the runtime has stopped: nothing of it is left
	}
	return <-ch
}

func (i *instance) evictNow() bool {
	if _, accepted := i.rt.w.socketCounts(i.class, i.obj.ID); accepted > 0 ||
		len(i.inflight) > 0 || len(i.queued) > 0 || i.blocked > 0 || len(i.waiters) > 0 ||
		i.committed > i.confirmed || i.obj.Storage.InTx() {
		return false
	}
	i.evicted = true
	i.gen++ // its natives stop working: timers of the old instance cannot touch storage
	i.timers.Store(0)
	i.this = nil
	delete(i.rt.instances, i)
	delete(i.rt.dirty, i)
	return true
}

// deliver runs an event for this object on the loop: it constructs the
// object first if needed and holds the event while blockConcurrencyWhile is
// in progress (or earlier held events wait). fail reports a constructor
// error to the event's caller.
func (i *instance) deliver(event func(), fail func(error)) {
	if i.blocked > 0 || len(i.queued) > 0 {
		i.queued = append(i.queued, queuedEvent{event, fail})
		return
	}
	i.deliverNow(queuedEvent{event, fail})
}

// drain delivers the held events in order, each as its own task, so that
// the promise jobs of one run before the next starts (the input gate).
func (i *instance) drain() {
	gen := i.gen
	i.rt.loop.submit(i.rt.as(i, func() {
		if i.gen != gen || i.blocked > 0 || len(i.queued) == 0 {
			return // reset, blocked again (unblock drains again), or done
		}
		q := i.queued[0]
		i.queued = i.queued[1:]
		if len(i.queued) > 0 {
			i.drain()
		}
		i.deliverNow(q)
	}))
}

// deliverNow runs an event, constructing the object first if needed; if the
// constructor blocks, the event goes first in the queue.
func (i *instance) deliverNow(q queuedEvent) {
	if i.this == nil {
		if err := i.construct(); err != nil {
			q.fail(err)
			return
		}
		if i.blocked > 0 {
			i.queued = append([]queuedEvent{q}, i.queued...)
			return
		}
	}
	q.event()
}

// construct runs `new Class(ctx, env)`.
func (i *instance) construct() error {
	rt := i.rt
	ctor, ok := goja.AssertConstructor(rt.exports.Get(i.class))
	if !ok {
		return errors.New("Durable Object class " + i.class + " is not exported")
	}
	state, err := rt.makeState(goja.Undefined(), i.stateNatives())
	if err != nil {
		return jsError(err)
	}
	rt.instances[i] = struct{}{}
	this, err := ctor(nil, state, rt.env)
	if err != nil {
		return jsError(err)
	}
	i.this = this
	return nil
}

// block starts a blockConcurrencyWhile section (or a transaction), which
// resets the object if it lasts longer than the Worker's limit.
func (i *instance) block() {
	i.blocked++
	if i.blocked == 1 {
		gen := i.gen
		i.blockTimer = i.rt.loop.setTimer(i.rt.w.cfg.BlockTimeout, false, func() {
			if i.gen == gen && i.blocked > 0 {
				i.rt.log.Error("blockConcurrencyWhile timed out; resetting object", "class", i.class, "id", i.obj.ID.String())
				i.reset(errBlockTimeout)
			}
		})
	}
}

// unblock ends one blockConcurrencyWhile section and releases queued events
// when none remain.
func (i *instance) unblock() {
	i.blocked--
	if i.blocked > 0 {
		return
	}
	i.rt.loop.clearTimer(i.blockTimer)
	if len(i.queued) > 0 {
		i.drain()
	}
}

// reset drops the object's JS state and uncommitted writes: queued and
// in-flight events fail with err, output-gated actions waiting on the
// object fail too, and storage that broke is reopened. The next event
// constructs the object again.
func (i *instance) reset(err error) {
	rt := i.rt
	i.gen++
	i.timers.Store(0) // the old generation's timers no longer count
	i.this = nil
	i.broken = nil
	if i.blocked > 0 {
		rt.loop.clearTimer(i.blockTimer)
	}
	i.blocked = 0
	queued := i.queued
	i.queued = nil
	rerr := &resetError{err}
	for _, q := range queued {
		q.fail(rerr)
	}
	for fail := range i.inflight {
		(*fail)(rerr)
	}
	waiters := i.waiters
	i.waiters = nil
	i.confirmTurn = false
	i.alarmChange = alarmUnchanged
	i.mustConfirm = i.confirmed // nothing more to wait for: whoever waited has failed
	for _, w := range waiters {
		w.done(rerr)
	}
	delete(rt.instances, i)
	delete(rt.dirty, i)
	if rerr := i.obj.Storage.Rollback(); rerr != nil || i.obj.Storage.Broken() != nil {
		// A broken DB stays broken until reopened: that is the restart.
		i.obj.ReopenStorage()
	}
}

// touch marks the object's storage as used in this turn, so it is committed
// at the end of the turn. confirm says the use may write and must hold the
// output gate until durable.
func (i *instance) touch(confirm bool) {
	i.rt.dirty[i] = struct{}{}
	if confirm {
		i.confirmTurn = true
	}
}

// commit commits the turn's writes and hands them to the commit log. A
// failed commit resets the object. It reports the commit error, if any.
func (i *instance) commit() error {
	rt := i.rt
	if i.broken != nil {
		err := i.broken
		i.reset(err)
		return &resetError{err}
	}
	confirm := i.confirmTurn
	i.confirmTurn = false
	if i.obj.Storage.InSavepoint() {
		return nil // a transaction spans turns: it commits with the turn that ends it
	}
	if err := i.indexAlarm(true); err != nil {
		rt.log.Error("indexing the alarm failed; resetting object", "class", i.class, "id", i.obj.ID.String(), "error", err)
		i.reset(err)
		return &resetError{err}
	}
	wrote, err := i.obj.Storage.Commit()
	if err != nil {
		rt.log.Error("commit failed; resetting object", "class", i.class, "id", i.obj.ID.String(), "error", err)
		i.reset(err)
		return &resetError{err}
	}
	_ = i.indexAlarm(false)
	i.alarmChange = alarmUnchanged
	if !wrote {
		return nil
	}
	i.committed++
	seq := i.committed
	if confirm {
		i.mustConfirm = seq
	}
	rt.w.durable.Submit(i.obj.Storage, func(err error) {
		rt.loop.submit(rt.as(i, func() { i.durable(seq, err) }))
	})
	return nil
}

// durable records that commit seq is durable (or failed to become so) and
// releases the actions that waited for it. A failed sync resets the object.
func (i *instance) durable(seq uint64, err error) {
	if err != nil {
		i.rt.log.Error("making a commit durable failed; resetting object", "class", i.class, "id", i.obj.ID.String(), "error", err)
		i.reset(err)
		return
	}
	i.confirmed = max(i.confirmed, seq)
	n := 0
	for n < len(i.waiters) && i.waiters[n].seq <= i.confirmed {
		n++
	}
	ready := i.waiters[:n]
	i.waiters = i.waiters[n:]
	for _, w := range ready {
		w.done(nil)
	}
}

// afterConfirm calls done once commit seq of the object is durable.
func (i *instance) afterConfirm(seq uint64, done func(error)) {
	if i.confirmed >= seq {
		done(nil)
		return
	}
	i.waiters = append(i.waiters, confirmWaiter{seq, done})
}

// stateNatives builds the natives behind a DurableObjectState (ctx).
func (i *instance) stateNatives() *goja.Object {
	rt := i.rt
	vm := rt.vm
	gen := i.gen
	n := vm.NewObject()
	_ = n.Set("id", i.obj.ID.String())
	if i.obj.Name != "" {
		_ = n.Set("name", i.obj.Name)
	}
	if ns, err := rt.w.cfg.Host.Namespace(i.class); err == nil {
		if j := ns.Jurisdiction(i.obj.ID); j != "" {
			_ = n.Set("jurisdiction", j)
		}
	}
	live := func() bool { return i.gen == gen }
	_ = n.Set("block", func() {
		if live() {
			i.block()
		}
	})
	_ = n.Set("unblock", func() {
		if live() {
			i.unblock()
		}
	})
	// breakObject resets the object at the end of the turn: a failed
	// blockConcurrencyWhile callback, or ctx.abort().
	_ = n.Set("breakObject", func(reason goja.Value) {
		if !live() {
			return
		}
		i.broken = rejection(reason)
		rt.dirty[i] = struct{}{}
	})
	_ = n.Set("storage", i.storageNatives(live))
	_ = n.Set("webSockets", i.webSocketNatives(live))
	return n
}

// defaultBlockTimeout is Cloudflare's limit for blockConcurrencyWhile.
const defaultBlockTimeout = 30 * time.Second
