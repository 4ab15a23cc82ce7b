package jsrt

import (
	"context"
	"errors"
	"net/http"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/objects"
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
	return &instance{rt: c.w.runtimeFor(o.ID), class: c.name, obj: o}, nil
}

// instance is one live Durable Object in a runtime. Its fields are owned by
// the runtime's loop goroutine.
type instance struct {
	rt    *runtime
	class string
	obj   *objects.Object

	this *goja.Object // the JS object; nil until constructed

	// blockConcurrencyWhile: while blocked > 0, new events wait in queued.
	blocked int
	queued  []queuedEvent
}

type queuedEvent struct {
	event func()
	fail  func(error)
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

// deliver runs an event for this object on the loop: it constructs the
// object first if needed and holds the event while blockConcurrencyWhile is
// in progress. fail reports a constructor error to the event's caller.
func (i *instance) deliver(event func(), fail func(error)) {
	if i.blocked > 0 {
		i.queued = append(i.queued, queuedEvent{event, fail})
		return
	}
	if i.this == nil {
		if err := i.construct(); err != nil {
			fail(err)
			return
		}
		if i.blocked > 0 { // the constructor called blockConcurrencyWhile
			i.queued = append(i.queued, queuedEvent{event, fail})
			return
		}
	}
	event()
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
	this, err := ctor(nil, state, rt.env)
	if err != nil {
		return jsError(err)
	}
	i.this = this
	rt.instances[i] = struct{}{}
	return nil
}

// unblock ends one blockConcurrencyWhile section and releases queued events
// when none remain.
func (i *instance) unblock() {
	i.blocked--
	if i.blocked > 0 {
		return
	}
	queued := i.queued
	i.queued = nil
	for _, q := range queued {
		i.deliver(q.event, q.fail)
	}
}

// reset drops the object's JS state and uncommitted writes; queued events
// fail with err. The next event constructs it again.
func (i *instance) reset(err error) {
	i.this = nil
	i.blocked = 0
	queued := i.queued
	i.queued = nil
	for _, q := range queued {
		q.fail(err)
	}
	if rerr := i.obj.Storage.Rollback(); rerr != nil {
		i.rt.log.Error("roll back after reset", "class", i.class, "id", i.obj.ID.String(), "error", rerr)
	}
}

// commit makes the writes of this turn durable.
func (i *instance) commit() error {
	return i.obj.Storage.Commit()
}

// touch marks the object's storage as used in this turn, so it is committed
// at the end of the turn.
func (i *instance) touch() {
	i.rt.dirty[i] = struct{}{}
}

// stateNatives builds the natives behind a DurableObjectState (ctx).
func (i *instance) stateNatives() *goja.Object {
	vm := i.rt.vm
	n := vm.NewObject()
	_ = n.Set("id", i.obj.ID.String())
	if i.obj.Name != "" {
		_ = n.Set("name", i.obj.Name)
	}
	_ = n.Set("block", func() { i.blocked++ })
	_ = n.Set("unblock", i.unblock)
	_ = n.Set("storage", i.storageNatives())
	return n
}
